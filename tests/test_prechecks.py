"""Everything that can be known before a sweep writes is checked first: files that cannot be
read, memory, the results place, the data against a journal being resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.config import load_config
from wdcli.errors import ConfigError, DataError, read_text
from wdcli.store.destination import open_destination
from wdcli.store.journal import read_journal
from wdcli.sweep import budget, prepare


def run(*args: str):
    return CliRunner().invoke(app, list(args))


# --------------------------------------------------------------------------- reading files


@pytest.mark.parametrize("command", ["validate", "show"])
def test_a_device_is_refused_not_read_forever(command):
    result = run(command, "/dev/zero")
    kind = "config file" if command == "validate" else "results file"
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"/dev/zero: is not a regular file (a device, pipe or socket), not a {kind}\n"
    )


def test_a_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    result = run("validate", str(fifo))
    assert (result.exit_code, result.stderr) == (
        2,
        f"{fifo}: is not a regular file (a device, pipe or socket), not a config file\n",
    )


def test_a_fresh_pipe_as_the_csv_is_refused_without_blocking(tmp_path):
    # a CSV modified in the last seconds is hashed for the cache key: that read blocked
    # forever on a pipe made just before the command, before the regular-file check
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: f\ndataset: {name: csv, path: fifo.csv, target: y}\nmodel: {name: linear}\n"
        "lambdas: [1]\n"
    )
    command = [sys.executable, "-m", "wdcli", "validate", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (
        2,
        f"{fifo}: is not a regular file (a device, pipe or socket), not a CSV file\n",
    )


def test_a_file_larger_than_its_limit_is_refused(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,y\n" + b"1,2\n" * 300)
    with pytest.raises(DataError) as info:
        read_text(path, DataError, "CSV file", limit=1024)
    assert str(info.value) == f"{path}: larger than 0.000976562 MB, too large for a CSV file"
    assert read_text(path, DataError, "CSV file", limit=2048).startswith("a,y\n")


def test_a_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\n", encoding="utf-8-sig")
    assert read_text(path, ConfigError, "config file") == "name: x\n"


# --------------------------------------------------------------------------- memory and time

CONFIG = """\
name: m
dataset: {name: friedman1, n_samples: 100}
model: {name: mlp, hidden: [16], epochs: 5}
lambdas: [0, 1.0e-3, 1.0e-1]
seeds: 2
"""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.hidden=[100000,100000]"], "model.hidden: the sweep would need about 1.75 TB of memory for 1e+10 weights × 3 networks, with their gradients and optimiser state, more than the 1 GB available; make it smaller"),
        (["model.epochs=1000000000"], "model.epochs: the sweep would need about 79.5 GB of memory for the loss curves, 111111113 points per run (raise model.eval_every to keep fewer), more than the 1 GB available; make it smaller"),
        (["dataset.n_samples=100000000"], "dataset.n_samples: the sweep would need about 29.8 GB of memory for the data, 100000000 × 10 numbers, more than the 1 GB available; make it smaller"),
        (["dataset.n_features=200000000"], "dataset.n_features: the sweep would need about 596 GB of memory for the data, 100 × 200000000 numbers, more than the 1 GB available; make it smaller"),
        (["lambdas={start: 1.0e-6, stop: 1, num: 10000}", "seeds=100"], "lambdas, seeds: the sweep would need about 2.32 GB of memory (1.86 GB of it for the records of 1000000 runs), more than the 1 GB available; make it smaller"),
    ],
)  # fmt: skip
def test_a_sweep_that_cannot_fit_in_memory_is_refused(
    write_config, tmp_path, monkeypatch, overrides, message
):
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)
    path = write_config(CONFIG)
    out = tmp_path / "out" / "r.json"
    out.parent.mkdir()
    sets = [arg for item in overrides for arg in ("--set", item)]
    # (one process: the default takes 2 on 2 cores, each unit's memory twice)
    result = run("sweep", str(path), *sets, "--out", str(out), "--jobs", "1")
    assert (result.exit_code, result.stderr) == (2, f"{path}: {message}\n")
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("command", ["validate", "sweep"])
@pytest.mark.parametrize(
    ("axis", "message"),
    [
        ("model.hidden=[16],[100000,100000]", "point model.hidden=[100000, 100000]: model.hidden: the sweep would need about 1.75 TB of memory for 1e+10 weights × 3 networks, with their gradients and optimiser state, more than the 1 GB available; make it smaller"),
        ("dataset.n_samples=100,100000000", "point dataset.n_samples=100000000: dataset.n_samples: the sweep would need about 29.8 GB of memory for the data, 100000000 × 10 numbers, more than the 1 GB available; make it smaller"),
    ],
)  # fmt: skip
def test_every_grid_point_is_checked_for_memory(
    write_config, tmp_path, monkeypatch, command, axis, message
):
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)
    path = write_config(CONFIG)
    out = tmp_path / "out" / "r.json"
    out.parent.mkdir()
    more = ["--out", str(out)] if command == "sweep" else []
    result = run(command, str(path), "--grid", axis, *more)
    assert (result.exit_code, result.stderr) == (2, f"{path}: {message}\n")
    assert list(out.parent.iterdir()) == []


def test_a_base_value_that_every_grid_point_replaces_is_not_checked(write_config, monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)
    path = write_config(CONFIG.replace("hidden: [16]", "hidden: [100000, 100000]"))
    result = run("validate", str(path), "--grid", "model.hidden=[8],[16]")
    assert (result.exit_code, result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("option", "hidden", "runs", "time"),
    [
        ("--set", "[2000,2000]", "6 runs (3 λ × 2 seeds)", "1.3 days"),
        ("--set", "[3000,3000]", "6 runs (3 λ × 2 seeds)", "2.8 days"),
        ("--grid", "[2000,2000],[3000,3000]", "12 runs (2 points × 3 λ × 2 seeds)", "4.1 days"),
        ("--grid", "[8],[3000,3000]", "12 runs (2 points × 3 λ × 2 seeds)", "2.8 days"),
    ],
)  # fmt: skip
def test_a_long_grid_is_announced_with_every_points_runs_and_time(
    write_config, option, hidden, runs, time
):
    path = write_config(CONFIG)
    result = run(
        "validate", str(path), option, f"model.hidden={hidden}", "--set", "model.epochs=100000"
    )
    assert result.exit_code == 0
    assert result.stderr == (
        f"note: {runs} will take roughly {time} here (a coarse estimate); Ctrl-C stops it and "
        "--resume continues\n"
    )


def test_tune_candidates_are_counted_in_the_announced_time(write_config):
    # they each train: 2 candidates take twice as long (it announced one candidate's time)
    path = write_config(CONFIG)
    sets = ["--set", "model.hidden=[2000,2000]", "--set", "model.epochs=100000"]
    result = run("validate", str(path), *sets, "--tune", "model.lr=1e-3,1e-2")
    assert (result.exit_code, result.stderr) == (
        0,
        "note: 6 runs (3 λ × 2 seeds, each tuned over 2 candidates) will take roughly 2.5 days "
        "here (a coarse estimate); Ctrl-C stops it and --resume continues\n",
    )


@pytest.mark.parametrize("command", ["validate", "sweep"])
@pytest.mark.parametrize("option", ["--tune", "--grid"])
def test_learning_rates_trained_in_one_stack_are_counted_in_its_memory(
    write_config, tmp_path, monkeypatch, command, option
):
    # 3 networks of 4e6 weights fit in 1 GB; 4 learning rates train 12 of them in one stack
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)
    path = write_config(CONFIG.replace("hidden: [16]", "hidden: [2000, 2000]"))
    out = tmp_path / "out" / "r.json"
    out.parent.mkdir()
    more = ["--out", str(out), "--jobs", "1"] if command == "sweep" else []
    assert run("validate", str(path)).exit_code == 0
    result = run(command, str(path), option, "model.lr=1e-4,1e-3,1e-2,1e-1", *more)
    where = f"{path}: point model.lr=0.0001: " if option == "--grid" else f"{path}: "
    assert (result.exit_code, result.stderr) == (
        2,
        f"{where}model.hidden: the sweep would need about 2.91 GB of memory for 4.03e+06 weights "
        "× 12 networks, with their gradients and optimiser state, more than the 1 GB available; "
        "make it smaller\n",
    )
    assert list(out.parent.iterdir()) == []


def test_the_units_that_local_workers_run_at_once_are_counted_in_the_memory(
    write_config, tmp_path, monkeypatch
):
    # 3 networks of 4e6 weights a unit fit in 1 GB; two worker processes ran a unit each,
    # twice that, and the check of one unit passed
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)
    path = write_config(CONFIG.replace("hidden: [16]", "hidden: [2000, 2000]"))
    assert run("validate", str(path)).exit_code == 0
    serial = run("sweep", str(path), "--jobs", "1", "--out", str(tmp_path / "a.json"), "-q")
    assert serial.exit_code == 0, serial.stderr
    result = run("sweep", str(path), "--jobs", "2", "--out", str(tmp_path / "b.json"))
    assert (result.exit_code, result.stderr) == (2, (
        f"{path}: model.hidden: the sweep would need about 1.46 GB of memory for 4.03e+06 "
        "weights × 3 networks, with their gradients and optimiser state, in each of 2 worker "
        "processes, more than the 1 GB available; make it smaller\n"))  # fmt: skip
    assert not (tmp_path / "b.json").exists()


def test_running_out_of_memory_while_training_is_one_line_and_keeps_the_journal(
    write_config, tmp_path, monkeypatch
):
    import wdcli.sweep.run

    real = wdcli.sweep.run.run_unit

    def second_unit_runs_out(config, unit, data=None):
        if unit.seed == 1:
            raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (10, 20000, "
                              "50000) and data type float64")  # fmt: skip
        return real(config, unit, data)

    monkeypatch.setattr(wdcli.sweep.run, "run_unit", second_unit_runs_out)
    path, out = write_config(CONFIG), tmp_path / "r.json"
    journal = tmp_path / "r.journal.jsonl"
    result = run("sweep", str(path), "--out", str(out), "-e", "serial", "-q")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "out of memory while training: Unable to allocate 74.5 GiB for an array with shape "
        "(10, 20000, 50000) and data type float64\n"
        f"finished runs are in {journal}; continue with: wdcli sweep {path} --executor serial "
        f"--resume --out {out}\n"
    )
    assert [r["seed"] for r in read_journal(journal).runs] == [0, 0, 0]
    assert not out.exists()
    monkeypatch.setattr(wdcli.sweep.run, "run_unit", real)
    resumed = run("sweep", str(path), "--out", str(out), "-e", "serial", "-q", "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert not journal.exists()


def test_an_executor_lost_mid_sweep_prints_the_command_that_resumes(
    write_config, tmp_path, monkeypatch
):
    # a lost scheduler said "continue with --resume", without the command every other stop gives
    import wdcli.sweep.run
    from wdcli.errors import ExecutorError

    real = wdcli.sweep.run.run_unit

    def scheduler_lost(config, unit, data=None):
        if unit.seed == 1:
            raise ExecutorError("--address tcp://10.0.0.5:8786: lost the Dask scheduler")
        return real(config, unit, data)

    monkeypatch.setattr(wdcli.sweep.run, "run_unit", scheduler_lost)
    path, out = write_config(CONFIG), tmp_path / "r.json"
    journal = tmp_path / "r.journal.jsonl"
    result = run("sweep", str(path), "--out", str(out), "-e", "serial", "-q")
    assert (result.exit_code, result.stderr) == (
        2,
        "--address tcp://10.0.0.5:8786: lost the Dask scheduler\n"
        f"finished runs are in {journal}; continue with: wdcli sweep {path} --executor serial "
        f"--resume --out {out}\n",
    )
    assert [r["seed"] for r in read_journal(journal).runs] == [0, 0, 0]


def test_log_spaced_curves_need_memory_for_their_points_only(write_config, monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)
    path = write_config(CONFIG)
    sets = ["--set", "model.epochs=1000000000", "--set", "model.eval_points=100"]
    result = run("validate", str(path), *sets)
    assert result.exit_code == 0, result.stderr  # ~100 points a run, not 1e9 / stride
    assert "loss curves" not in result.stderr


def test_a_long_sweep_is_announced_with_its_time(write_config):
    path = write_config(
        "name: long\ndataset: {name: poly}\nmodel: {name: linear}\n"
        "lambdas: {start: 1.0e-6, stop: 1, num: 1000}\nseeds: 1000\n"
    )
    result = run("validate", str(path))
    assert result.exit_code == 0
    assert result.stderr == (
        "note: 1000000 runs (1000 λ × 1000 seeds) will take roughly 50 minutes here (a coarse "
        "estimate); Ctrl-C stops it and --resume continues\n"
    )


def test_a_small_sweep_gets_no_note(write_config):
    result = run("validate", str(write_config(CONFIG)))
    assert (result.exit_code, result.stderr) == (0, "")


# --------------------------------------------------------------------------- the results place


def test_results_being_a_file_is_refused_first(write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("results").write_text("not a folder")
    result = run("sweep", str(write_config(CONFIG)))
    assert (result.exit_code, result.stderr) == (
        2,
        "results: not a folder; move it away or pass --out\n",
    )
    assert Path("results").read_text() == "not a folder"


@pytest.mark.parametrize("name", ["r.csv", "r"])
def test_out_must_be_a_json_file_name(write_config, tmp_path, monkeypatch, name):
    # `-o r.csv` wrote JSON into a .csv file; `-o r` and `-o r.json` shared one journal
    monkeypatch.chdir(tmp_path)
    result = run("sweep", str(write_config(CONFIG)), "--out", name)
    suggested = {"r.csv": "r.json", "r": "r.json"}[name]
    assert (result.exit_code, result.stderr) == (
        2,
        f"{name}: --out takes a .json file name (results files are JSON), such as {suggested}; "
        "the table is printed on stdout (--format csv for CSV)\n",
    )
    assert {p.suffix for p in tmp_path.iterdir()} == {".yaml"}  # no journal, no results


def test_out_dash_is_not_standard_output(write_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("sweep", str(write_config(CONFIG)), "--out", "-")
    assert (result.exit_code, result.stderr) == (
        2,
        "-: --out takes a file name, not standard output; the results are printed on stdout "
        "anyway (--format json or csv for a machine-readable form)\n",
    )
    assert {p.suffix for p in tmp_path.iterdir()} == {".yaml"}


def test_out_inside_a_file_is_refused(write_config, tmp_path):
    (tmp_path / "plain").write_text("x")
    result = run("sweep", str(write_config(CONFIG)), "--out", str(tmp_path / "plain" / "r.json"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"{tmp_path / 'plain'}: not a folder\n",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused_first(write_config, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = run("sweep", str(write_config(CONFIG)), "--out", str(folder / "r.json"))
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 2
    assert result.stderr == f"{folder}: cannot write there: Permission denied\n"
    assert list(folder.iterdir()) == []


# --------------------------------------------------------------------------- resume and data


def _csv(path: Path, shift: float = 0.0) -> None:
    rows = [f"{i},{(i * 7) % 11},{i * 0.5 + shift}" for i in range(30)]
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")


def _interrupted(config_path: Path, out: Path) -> Path:
    """A journal as a sweep killed before its first run leaves it."""
    config = load_config(config_path)
    destination = open_destination(config, out, data=prepare(config).data)
    destination.journal.close()
    return destination.journal.path


def test_the_journal_header_records_the_data_fingerprint(write_config, tmp_path):
    _csv(tmp_path / "d.csv")
    path = write_config("name: c\ndataset: {name: csv, path: d.csv, target: y}\nmodel: {name: linear}\nlambdas: [0, 1]\nseeds: 2\n")  # fmt: skip
    journal = _interrupted(path, tmp_path / "r.json")
    header = read_journal(journal).header
    assert header["data_fingerprint"] == prepare(load_config(path)).data.combined
    result = run("sweep", str(path), "--out", str(tmp_path / "r.json"), "--resume", "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["data_fingerprint"] == header["data_fingerprint"]


def test_resume_refuses_data_that_changed(write_config, tmp_path):
    _csv(tmp_path / "d.csv")
    path = write_config("name: c\ndataset: {name: csv, path: d.csv, target: y}\nmodel: {name: linear}\nlambdas: [0, 1]\n")  # fmt: skip
    journal = _interrupted(path, tmp_path / "r.json")
    before = read_journal(journal).header["data_fingerprint"]
    _csv(tmp_path / "d.csv", shift=1.0)
    after = prepare(load_config(path)).data.combined
    result = run("sweep", str(path), "--out", str(tmp_path / "r.json"), "--resume")
    assert result.exit_code == 2
    assert result.stderr == (
        f"{journal}: was written for other data (fingerprint {before}, the data now give "
        f"{after}): a data file changed since; restore it, or pass --force instead of --resume to start over\n"
    )
    assert read_journal(journal).header["data_fingerprint"] == before  # left as it was
    _csv(tmp_path / "d.csv")  # restored: the same command continues
    assert run("sweep", str(path), "--out", str(tmp_path / "r.json"), "--resume").exit_code == 0
    _interrupted(path, tmp_path / "s.json")
    _csv(tmp_path / "d.csv", shift=1.0)  # what the message says works (it sent users in a loop)
    assert run("sweep", str(path), "--out", str(tmp_path / "s.json"), "--force").exit_code == 0


def test_resume_of_a_journal_without_a_header_fingerprint_checks_its_runs(write_config, tmp_path):
    _csv(tmp_path / "d.csv")
    path = write_config("name: c\ndataset: {name: csv, path: d.csv, target: y}\nmodel: {name: linear}\nlambdas: [0, 1]\n")  # fmt: skip
    config = load_config(path)
    destination = open_destination(config, tmp_path / "r.json")  # no fingerprint: older wdcli
    done = run("sweep", str(path), "--out", str(tmp_path / "done.json"), "-f", "json")
    record = json.loads(done.stdout)["runs"][0]
    destination.journal.append({**record, "data_fingerprint": "0123456789abcdef"})
    destination.journal.close()
    result = run("sweep", str(path), "--out", str(tmp_path / "r.json"), "--resume")
    now = prepare(config).data.combined
    assert (result.exit_code, result.stderr) == (
        2,
        f"{destination.journal.path}: was written for other data (the data now give {now}): "
        "a data file changed since; restore it, or pass --force instead of --resume to start over\n",
    )


def test_a_broken_file_fixed_runs_with_the_same_command(write_config, tmp_path):
    """The error comes before the journal, so fixing the file is all it takes."""
    (tmp_path / "d.csv").write_text("a;b;y\n1;2;inf\n")
    path = write_config("name: c\ndataset: {name: csv, path: d.csv, target: y}\nmodel: {name: linear}\nlambdas: [0, 1]\n")  # fmt: skip
    out = tmp_path / "r.json"
    first = run("sweep", str(path), "--out", str(out))
    assert (first.exit_code, first.stderr) == (
        2,
        f"{tmp_path / 'd.csv'}: line 2: column 'y' is inf, not a finite number\n",
    )
    _csv(tmp_path / "d.csv")
    assert run("sweep", str(path), "--out", str(out)).exit_code == 0
    assert out.exists()


def test_lambda_zero_on_ill_conditioned_features_is_announced(write_config):
    # x, x², …, x¹⁵ on 30 points: cond ≈ 1e12, far past 1/√eps; degree 3 is well conditioned
    base = "name: z\ndataset: {name: poly, degree: %d, n_samples: 60, n_train: 30}\n"
    grid = "model: {name: linear}\nlambdas: [0, 1.0e-3]\nseeds: 1\n"
    result = run("validate", str(write_config(base % 15 + grid)))
    assert result.exit_code == 0
    assert result.stderr.startswith("note: λ = 0: the training features have condition number ")
    assert result.stderr.endswith(
        " (above 1/√eps ≈ 7e+07), so the unpenalised fit is fixed only up to rounding and "
        "differs between machines and BLAS builds\n"
    )
    assert run("validate", str(write_config(base % 3 + grid))).stderr == ""
    no_zero = grid.replace("[0, 1.0e-3]", "[1.0e-9, 1.0e-3]")
    assert run("validate", str(write_config(base % 15 + no_zero))).stderr == ""


def test_a_mini_batch_larger_than_the_training_split_is_announced(write_config):
    config = (
        "name: b\ndataset: {name: friedman1, n_samples: 80, n_train: 60}\n"
        "model: {name: mlp, hidden: [4], epochs: 2, batch_size: %s}\nlambdas: [0]\nseeds: 1\n"
    )
    result = run("validate", str(write_config(config % 1000)))
    assert (result.exit_code, result.stderr) == (
        0,
        "note: model.batch_size 1000 is more than the 60 training rows: every step takes all "
        "of them\n",
    )
    assert run("validate", str(write_config(config % 60))).stderr == ""
    assert run("validate", str(write_config(config % "full"))).stderr == ""
