"""The command line end to end: exit codes, stdout and stderr, files on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wdcli.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_sweep_prints_a_table_and_writes_results(ridge_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("sweep", str(ridge_config))
    assert result.exit_code == 0, result.stderr
    assert "tiny-ridge: linear on regression, 4 λ × 2 seeds" in result.stdout
    assert "J = mean data loss + λ·Σw²" in result.stdout
    assert "λ_min" in result.stdout
    files = list((tmp_path / "results").glob("tiny-ridge-*.json"))
    assert len(files) == 1
    assert result.stderr.strip() == f"wrote results/{files[0].name}"
    assert not list((tmp_path / "results").glob("*.journal.jsonl"))
    document = json.loads(files[0].read_text())
    assert document["schema_version"] == 2
    assert len(document["runs"]) == 8 and len(document["summary"]) == 4


def test_sweep_json_has_the_design_names(ridge_config, tmp_path):
    out = tmp_path / "r.json"
    result = run("sweep", str(ridge_config), "--out", str(out), "--format", "json", "--quiet")
    assert result.exit_code == 0 and result.stderr == ""
    document = json.loads(result.stdout)
    assert document == json.loads(out.read_text())
    for key in (
        "schema_version",
        "wdcli_version",
        "config",
        "config_hash",
        "data_fingerprint",
        "environment",
        "started_at",
        "finished_at",
        "runs",
        "summary",
        "best_lambda",
        "lambda_1se",
    ):
        assert key in document
    run0 = document["runs"][0]
    for key in (
        "lambda",
        "seed",
        "train_loss",
        "test_loss",
        "penalty",
        "weight_sq_norm",
        "status",
        "seconds",
        "df",
    ):
        assert key in run0
    assert run0["penalty"] == pytest.approx(run0["lambda"] * run0["weight_sq_norm"])
    row = document["summary"][0]
    for key in (
        "lambda",
        "train_loss_mean",
        "train_loss_std",
        "test_loss_mean",
        "test_loss_std",
        "test_loss_se",
        "regime",
    ):
        assert key in row
    assert document["best_lambda"] in [r["lambda"] for r in document["summary"]]


def test_markdown_and_csv_formats(ridge_config, tmp_path):
    md = run("sweep", str(ridge_config), "-o", str(tmp_path / "a.json"), "-f", "markdown", "-q")
    assert md.exit_code == 0
    assert (
        "| λ | train loss | test loss | gap | Δ ± paired SE | Σw² | df | regime |  |" in md.stdout
    )
    csv = run("show", str(tmp_path / "a.json"), "--format", "csv")
    assert csv.exit_code == 0
    lines = csv.stdout.splitlines()
    assert lines[0].startswith("lambda,n_runs,n_diverged,n_not_converged,n_no_fit,train_loss_mean")
    assert len(lines) == 5


def test_existing_results_file_is_never_overwritten_silently(ridge_config, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("precious")
    result = run("sweep", str(ridge_config), "--out", str(out))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"{out}: already exists; pass --force to overwrite it or --out another file\n"
    )
    assert out.read_text() == "precious"
    assert run("sweep", str(ridge_config), "--out", str(out), "--force", "-q").exit_code == 0
    assert json.loads(out.read_text())["schema_version"] == 2


def test_overrides_reach_the_sweep(ridge_config, tmp_path):
    result = run(
        "sweep",
        str(ridge_config),
        "--set",
        "lambdas=[0.5]",
        "--set",
        "seeds=1",
        "-o",
        str(tmp_path / "r.json"),
        "-f",
        "json",
        "-q",
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert [r["lambda"] for r in document["runs"]] == [0.5]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.solvr=svd"], "{p}: model.solvr: unknown key (did you mean 'solver'?)\n"),
        (  # errors found once the data are built name the config too, as the schema's do
            ["dataset={name: moons}"],
            "{p}: model.name: 'linear' is for regression, but dataset 'moons' is "
            "classification; use logistic or mlp\n",
        ),
        (
            ["dataset.n_train=1000"],
            "{p}: dataset.n_train: must be < the number of samples (60), got 1000\n",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    ridge_config, tmp_path, overrides, message
):
    args = ["sweep", str(ridge_config), "-o", str(tmp_path / "r.json")]
    for item in overrides:
        args += ["--set", item]
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == message.format(p=ridge_config)
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.json").exists()


def test_missing_config_file(tmp_path):
    result = run("sweep", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'nope.yaml'}: no such file\n"


def test_validate(ridge_config):
    result = run("validate", str(ridge_config))
    assert result.exit_code == 0
    assert result.stdout == f"{ridge_config}: ok (linear on regression, 4 λ × 2 seeds = 8 runs)\n"


def test_init_prints_a_config_that_validates(tmp_path):
    for model in ("mlp", "linear", "logistic"):
        result = run("init", "--model", model)
        assert result.exit_code == 0
        path = tmp_path / f"{model}.yaml"
        path.write_text(result.stdout)
        assert run("validate", str(path)).exit_code == 0


def test_schema_is_json():
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "wdcli config"


@pytest.mark.parametrize("what", ["datasets", "models"])
def test_list(what):
    result = run("list", what)
    assert result.exit_code == 0
    names = (
        ["poly", "friedman1", "digits", "csv"]
        if what == "datasets"
        else ["linear", "logistic", "mlp"]
    )
    for name in names:
        assert name in result.stdout


def test_show_refuses_a_bad_results_file(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    result = run("show", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"{path}: not a results file (a JSON array, not an object)\n"


def _commands():
    return sorted(c.name or c.callback.__name__ for c in app.registered_commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert "Example:" in result.stdout


@pytest.mark.parametrize(
    ("command", "default"),
    [
        ("sweep", "[default: results/NAME-TIME.json]"),
        ("sweep", "[default: measured best]"),
        ("plot", "[default: RESULTS.png, RESULTS-curves.png with --curves, FIRST-overlay.png"),
    ],
)
def test_defaults_written_in_help_texts_are_shown(command, default):
    """Help is rich markup: an unescaped `[default: …]` would vanish as an unknown tag."""
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert default in result.stdout


def test_main_help_and_version():
    assert "sweep" in run("--help").stdout


def test_each_command_has_a_one_line_summary_in_the_main_help():
    """A docstring's first paragraph keeps its line breaks there: a summary broken mid-sentence."""
    text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout
    panel = text[text.index("Commands") :].splitlines()[1:]
    rows = [line.strip("│ ") for line in panel if line.startswith("│")]
    names = [row.split()[0] for row in rows]
    assert names == ["sweep", "show", "compare", "plot", "validate", "schema", "init", "list"]
    assert all(row.endswith(".") for row in rows), rows
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("wdcli ")


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "wdcli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("wdcli ")


def test_plot_writes_a_png_and_refuses_other_extensions(ridge_config, tmp_path):
    results = tmp_path / "r.json"
    assert run("sweep", str(ridge_config), "-o", str(results), "-q").exit_code == 0
    result = run("plot", str(results))
    assert result.exit_code == 0
    png = tmp_path / "r.png"
    assert result.stderr == f"wrote {png}\n"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = run("plot", str(results), "-o", str(tmp_path / "r.pdf"))
    assert bad.exit_code == 2
    assert bad.stderr == f"{tmp_path / 'r.pdf'}: the figure file must end in .png or .svg\n"
    # two files overlaid: not r.png, which held r's own figure and was overwritten
    overlay = run("plot", str(results), str(results))
    assert overlay.stderr == f"wrote {tmp_path / 'r-overlay.png'}\n"
    assert run("plot", str(results), "-o", str(tmp_path / "x.png")).exit_code == 0
    assert (tmp_path / "x.png").read_bytes() == png.read_bytes()  # r.png is still r's figure
    curves = run("plot", str(results), "--curves", "-o", str(tmp_path / "c.svg"))
    assert curves.exit_code == 2
    assert curves.stderr == (
        f"{results}: no per-epoch curves in these results (model 'linear'; "
        "only mlp sweeps record them)\n"
    )
    ignored = run("plot", str(results), "--lambda", "0.1", "-o", str(tmp_path / "v.svg"))
    assert (ignored.exit_code, ignored.stderr) == (  # it was ignored, with exit 0
        2,
        "--lambda: picks the λ of --curves; the validation curve draws them all\n",
    )


def test_show_can_draw_the_chart_under_the_table(ridge_config, tmp_path):
    results = tmp_path / "r.json"
    run("sweep", str(ridge_config), "-o", str(results), "-q")
    with_chart = run("show", str(results), "--chart")
    assert with_chart.exit_code == 0
    assert "○ train   ● test" in with_chart.stdout
    assert "○ train" not in run("show", str(results)).stdout  # not a terminal: no chart by default


def test_results_file_is_readable_by_others(ridge_config, tmp_path):
    out = tmp_path / "r.json"
    run("sweep", str(ridge_config), "-o", str(out), "-q")
    assert out.stat().st_mode & 0o777 == 0o666 & ~_current_umask()


def _current_umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("command", ["show", "compare"])
def test_a_narrow_terminal_wraps_the_table_and_never_cuts_a_number(monkeypatch, command):
    # rich shortened cells that did not fit to '0.0…' and '6.5…' (λ itself included):
    # numbers that still look plausible. Cells now wrap between words; a table wider than
    # the terminal is printed whole, for the terminal to wrap.
    import importlib
    from pathlib import Path

    from rich.console import Console

    cli_module = importlib.import_module("wdcli.cli.app")  # the module, not the Typer app

    monkeypatch.setattr(cli_module, "_stdout", lambda: Console(width=60, highlight=False))
    fixture = str(Path(__file__).parent / "fixtures" / "mlp_curves.json")
    args = [command, fixture] + ([fixture] if command == "compare" else ["--no-chart"])
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert (" regime " if command == "show" else " verdict ") in result.stdout  # not "regim|e"
    lambdas = [row["lambda"] for row in json.loads(Path(fixture).read_text())["summary"]]
    from wdcli.report.table import format_lambda

    for lam in lambdas:
        assert f" {format_lambda(lam)} " in result.stdout


@pytest.mark.parametrize("command", ["show", "compare"])
def test_a_closed_stdout_pipe_is_a_quiet_exit_141_not_a_failed_check(command):
    # `compare` exits 1 when a candidate is worse: a reader that stops early (`| head`) made a
    # passing gate look failed
    from pathlib import Path

    fixture = str(Path(__file__).parent / "fixtures" / "mlp_curves.json")
    args = [command, fixture] + ([fixture] if command == "compare" else [])
    proc = subprocess.Popen([sys.executable, "-m", "wdcli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    proc.stdout.close()  # the reader is gone before wdcli writes
    _, stderr = proc.communicate(timeout=120)
    assert (proc.returncode, stderr) == (141, "")


def test_a_closed_stderr_pipe_is_exit_141_too_and_a_full_one_2(tmp_path):
    # `wdcli sweep … 2>&1 | head`: the reader gone before "wrote …", Typer made it exit 1
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "wdcli", "sweep", "configs/poly.yaml", "-o",
                             str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert out.exists()  # the results were written; only the line saying so was lost
    if os.path.exists("/dev/full"):  # a full disk under stderr: a traceback and exit 1
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "wdcli", "sweep", "configs/poly.yaml",
                                   "-o", str(out), "--force"], stdout=subprocess.PIPE,
                                  stderr=full, timeout=120)  # fmt: skip
        assert done.returncode == 2 and done.stdout.startswith(b" ")  # the table still printed
        assert json.loads(out.read_text())["runs"]


ALL_THAT_PRINT = [
    ["list", "datasets"],
    ["list", "models"],
    ["schema"],
    ["init"],
    ["validate", "configs/poly.yaml"],
    ["--version"],
    ["--help"],
    ["sweep", "--help"],
]  # fmt: skip  (those three
# are Typer's and rich's: exit 1, and a traceback on a full disk)


@pytest.mark.parametrize("args", ALL_THAT_PRINT, ids=" ".join)
def test_every_command_that_prints_exits_141_on_a_closed_pipe_and_2_on_a_full_disk(args):
    # they printed a traceback and exited 1 ("a check failed")
    proc = subprocess.Popen([sys.executable, "-m", "wdcli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert (proc.returncode, stderr) == (141, "")
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            result = subprocess.run([sys.executable, "-m", "wdcli", *args], stdout=full,
                                    stderr=subprocess.PIPE, text=True, timeout=120)  # fmt: skip
        assert (result.returncode, result.stderr) == (
            2,
            "stdout: cannot write: No space left on device\n",
        )


def test_a_reader_that_stops_early_in_a_large_output_gives_141(tmp_path):
    # one write of 155 KB, cut by the closed pipe after 64 KiB, was dropped without an error:
    # `| head` saw exit 0
    document = json.loads((Path(__file__).parent / "fixtures" / "mlp_curves.json").read_text())
    for run in document["runs"]:  # long curves: some 300 KB in all
        run["curve"] = {key: list(range(1000)) for key in run["curve"]}
    big = tmp_path / "big.json"
    big.write_text(json.dumps(document))
    proc = subprocess.Popen([sys.executable, "-m", "wdcli", "show", str(big), "-f", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    proc.stdout.read(10)
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert (proc.returncode, stderr) == (141, b"")


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback_before_or_after_the_command(tmp_path, where):
    # `wdcli sweep x.yaml --debug` was "No such option: --debug", exit 2
    args = ["validate", str(tmp_path / "nope.yaml")]
    args = ["--debug", *args] if where == "before" else [*args, "--debug"]
    result = subprocess.run([sys.executable, "-m", "wdcli", *args], capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert "Traceback" in result.stderr
    assert " ".join(result.stderr.split()).endswith(f"{tmp_path / 'nope.yaml'}: no such file")
    assert result.returncode == 2  # still the input's fault (it was 1: "a check failed")


def test_a_results_table_fits_an_80_column_terminal():
    # rich laid it out 83 wide on 80 columns, and every row wrapped
    import io

    from rich.cells import cell_len
    from rich.console import Console

    from wdcli.cli.app import _print_fitting
    from wdcli.report.table import rich_table
    from wdcli.store.results import load_results

    document = load_results(Path(__file__).parent / "fixtures" / "regression.json")
    for width in (80, 120):
        out = io.StringIO()
        _print_fitting(Console(file=out, width=width, highlight=False), rich_table(document))
        assert max(cell_len(line) for line in out.getvalue().splitlines()) <= width
    wide = io.StringIO()  # where it fits, as rich lays it out itself
    Console(file=wide, width=120, highlight=False).print(rich_table(document), crop=False)
    assert out.getvalue() == wide.getvalue()
