"""Nothing is lost: kill -9 and resume, Ctrl-C, torn journals, concurrent sweeps."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.config import load_config
from wdcli.errors import ResultsError
from wdcli.store.journal import read_journal

runner = CliRunner()

# Slow enough (many seeds of a mid-sized ridge problem) that a signal lands mid-sweep.
SLOW_CONFIG = """\
name: slow
dataset: {name: regression, n_samples: 2000, n_features: 200, noise: 5.0}
model: {name: linear, solver: svd}
lambdas: {start: 1e-3, stop: 10, num: 8}
seeds: 40
"""


def _start(config: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wdcli",
            "sweep",
            str(config),
            "--out",
            str(out),
            "-q",
            "-f",
            "json",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=config.parent,
    )


def _without_times(document: dict) -> list[dict]:
    return [{k: v for k, v in run.items() if k != "seconds"} for run in document["runs"]]


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_uninterrupted_numbers(wait_for_runs, write_config, tmp_path):
    config = write_config(SLOW_CONFIG)
    killed, whole = tmp_path / "killed.json", tmp_path / "whole.json"
    journal = tmp_path / "killed.journal.jsonl"
    process = _start(config, killed)
    wait_for_runs(journal, at_least=16)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not killed.exists()
    done = len(read_journal(journal).runs)
    assert 16 <= done < 320

    resumed = runner.invoke(app, ["sweep", str(config), "--out", str(killed), "--resume"])
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stderr.startswith(f"resuming {journal}: {done} runs already done\n")
    assert not journal.exists()
    assert runner.invoke(app, ["sweep", str(config), "--out", str(whole), "-q"]).exit_code == 0
    a, b = json.loads(killed.read_text()), json.loads(whole.read_text())
    assert _without_times(a) == _without_times(b)  # bit-identical numbers, only times differ
    assert a["summary"] == b["summary"] and a["best_lambda"] == b["best_lambda"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "said"),
    [
        (signal.SIGINT, "interrupted"),  # Ctrl-C
        (signal.SIGTERM, "interrupted by SIGTERM"),  # timeout, CI cancellation, kill
        (signal.SIGHUP, "interrupted by SIGHUP"),  # the terminal closed
    ],
)
def test_a_signal_stops_cleanly_with_a_way_to_resume(
    sig, said, wait_for_runs, write_config, tmp_path
):
    config = write_config(SLOW_CONFIG)
    out = tmp_path / "r.json"
    journal = tmp_path / "r.journal.jsonl"
    process = _start(config, out)  # serial: ridge sweeps default to it
    wait_for_runs(journal, at_least=8)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + sig
    assert stderr == (
        f"{said}; finished runs are in {journal}\n"
        f"continue with: wdcli sweep {config} --resume --out {out}\n"
    )
    assert len(read_journal(journal).runs) >= 8
    assert not out.exists()


def _swept_then_unfinished(config: Path, tmp_path: Path) -> tuple[Path, Path, dict]:
    """(results path, journal path, document) of a sweep run whole, its results file removed:
    a journal written by hand from its runs then stands for an unfinished sweep."""
    out = tmp_path / "r.json"
    complete = runner.invoke(app, ["sweep", str(config), "--out", str(out), "-q", "-f", "json"])
    out.unlink()
    return out, tmp_path / "r.journal.jsonl", json.loads(complete.stdout)


def test_a_torn_last_line_is_ignored_and_rerun(ridge_config, tmp_path):
    out, journal, document = _swept_then_unfinished(ridge_config, tmp_path)
    header = {
        "kind": "header",
        "name": "tiny-ridge",
        "config_hash": document["config_hash"],
        "started_at": "2026-01-01T00:00:00+00:00",
    }
    lines = [json.dumps(header)] + [
        json.dumps({"kind": "run", "run": r}) for r in document["runs"][:3]
    ]
    journal.write_text("\n".join(lines) + "\n" + lines[-1][:25])  # a crash mid-write
    result = runner.invoke(
        app, ["sweep", str(ridge_config), "--out", str(out), "--resume", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert "3 runs already done" in result.stderr  # seed 0's λ = 0 and 1e-3, seed 1's λ = 0
    resumed = json.loads(result.stdout)
    assert _without_times(resumed) == _without_times(document)
    assert resumed["started_at"] == "2026-01-01T00:00:00+00:00"


def test_a_run_recorded_twice_must_hold_the_same_numbers(ridge_config, tmp_path):
    # the last of two lines won: a hand-edited test_loss of 999 became the run's, exit 0
    out, journal, document = _swept_then_unfinished(ridge_config, tmp_path)
    header = {"kind": "header", "name": "tiny-ridge", "config_hash": document["config_hash"]}
    first = document["runs"][1]
    again = {**first, "seconds": first["seconds"] + 1}  # a unit cut off and run again
    lines = [header, *({"kind": "run", "run": r} for r in [*document["runs"][:3], again])]
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = ["sweep", str(ridge_config), "--out", str(out), "--resume", "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and _without_times(json.loads(result.stdout)) == _without_times(
        document
    )
    out.unlink()
    edited = {**again, "test_loss": 999.0}
    journal.write_text(
        "".join(json.dumps(line) + "\n" for line in [*lines[:-1], {"kind": "run", "run": edited}])
    )
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr) == (2, (
        f"{journal}: line 5: the run of line 3 again, with other numbers (test_loss: "
        f"{json.dumps(first['test_loss'])} → 999.0): edited by hand? Delete one of the two "
        "lines, or pass --force instead of --resume to start over\n"))  # fmt: skip


def test_a_journal_of_another_config_is_refused(ridge_config, tmp_path):
    out = tmp_path / "r.json"
    journal = tmp_path / "r.journal.jsonl"
    journal.write_text(
        json.dumps({"kind": "header", "name": "tiny-ridge", "config_hash": "abc"}) + "\n"
    )
    result = runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out), "--resume"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"{journal}: was written for a different config (hash abc, this config is "
    )
    assert journal.read_text().count("\n") == 1  # untouched


def test_a_changed_config_names_what_changed_and_the_way_out(ridge_config, tmp_path):
    # the message used to give two hashes and say "run without --resume", which in turn
    # says "pass --resume": a loop
    out, journal, config = (
        tmp_path / "r.json",
        tmp_path / "r.journal.jsonl",
        load_config(ridge_config),
    )
    header = {"kind": "header", "name": config.name, "config_hash": config.hash(),
              "config": config.resolved()}  # fmt: skip
    journal.write_text(json.dumps(header) + "\n")  # a sweep stopped before its first run
    args = ["sweep", str(ridge_config), "--out", str(out), "--set", "dataset.noise=0.5"]
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 2
    old = config.dataset.noise
    assert result.stderr == (
        f"{journal}: was written for a different config (dataset.noise: {old} → 0.5); pass "
        "--force instead of --resume to start over, or --out for a new file\n"
    )
    assert runner.invoke(app, [*args, "--force", "-q"]).exit_code == 0


def test_a_journal_of_another_install_is_refused_and_one_of_this_install_resumes(
    ridge_config, tmp_path
):
    # a resume mixed runs of another wdcli (other numbers) into a file claiming this one
    from wdcli import versions

    out, journal, config = (
        tmp_path / "r.json",
        tmp_path / "r.journal.jsonl",
        load_config(ridge_config),
    )
    header = {"kind": "header", "name": config.name, "config_hash": config.hash(),
              "config": config.resolved(), "versions": {**versions(), "numpy": "1.0.0"}}  # fmt: skip
    journal.write_text(json.dumps(header) + "\n")
    args = ["sweep", str(ridge_config), "--out", str(out), "--resume", "-q"]
    result = runner.invoke(app, args)
    assert (result.exit_code, result.stderr) == (2, (
        f"{journal}: was written by another install (numpy 1.0.0 → {versions()['numpy']}): its "
        "runs would not match this one's; finish it with that install, or pass --force instead "
        "of --resume to start over\n"))  # fmt: skip
    header["versions"] = versions()
    journal.write_text(json.dumps(header) + "\n")
    assert runner.invoke(app, args).exit_code == 0


def test_an_unfinished_journal_is_not_overwritten_without_resume_or_force(ridge_config, tmp_path):
    out = tmp_path / "r.json"
    (tmp_path / "r.journal.jsonl").write_text('{"kind": "header"}\n')
    result = runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{tmp_path / 'r.journal.jsonl'}: an unfinished sweep is recorded there; "
        "pass --resume to continue it or --force to start over\n"
    )
    # of another config, which --resume refuses: it said "pass --resume" all the same
    config = load_config(ridge_config)
    header = {"kind": "header", "name": config.name, "config_hash": "other",
              "config": {**config.resolved(), "seeds": 7}}  # fmt: skip
    (tmp_path / "r.journal.jsonl").write_text(json.dumps(header) + "\n")
    result = runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out)])
    assert (result.exit_code, result.stderr) == (2, (
        f"{tmp_path / 'r.journal.jsonl'}: an unfinished sweep of another config is recorded "
        f"there (seeds: 7 → {json.dumps(config.resolved()['seeds'])}); pass --force to start "
        "over, or --out another file\n"))  # fmt: skip


def test_resume_with_nothing_to_resume_says_it_starts_afresh(ridge_config, tmp_path):
    # a retry loop that always passes --resume: it started afresh without a word
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out), "--resume"])
    assert result.exit_code == 0 and out.exists()
    assert result.stderr.splitlines()[0] == (
        "note: --resume found no unfinished sweep of this config: starting afresh"
    )


def test_resume_of_a_finished_sweep_prints_it_and_passes(ridge_config, tmp_path):
    # a retry loop run again after success: exit 2, and --force would redo the whole sweep
    out = tmp_path / "r.json"
    assert runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out), "-q"]).exit_code == 0
    written = out.read_bytes()
    result = runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out), "--resume",
                                 "-f", "csv"])  # fmt: skip
    shown = runner.invoke(app, ["show", str(out), "-f", "csv"])
    assert (result.exit_code, result.stdout) == (0, shown.stdout)
    assert result.stderr == (
        f"note: {out} already holds this sweep, finished, on the same data: nothing to resume "
        "(--force runs it again)\n"
    )
    assert out.read_bytes() == written
    other = runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out), "--resume",
                                "--set", "seeds=3"])  # fmt: skip
    assert (other.exit_code, other.stderr) == (
        2,
        f"{out}: already exists; pass --force to overwrite it or --out another file\n",
    )


@pytest.mark.parametrize(
    "overrides",
    [
        ["--grid", "dataset.noise=1,5"],  # each point its own data: exit 2, "pass --force"
        ["--set", "seeds=40"],  # beyond the 32 seeds whose data are built ahead
        ["--grid", "dataset.path=a.csv,b.csv"],
    ],  # fmt: skip
    ids=["noise-grid", "40-seeds", "csv-grid"],
)
def test_resume_of_a_finished_sweep_passes_whatever_data_its_points_and_seeds_have(
    overrides, ridge_config, tmp_path
):
    for name, slope in (("a.csv", 2), ("b.csv", 3)):
        rows = [
            f"{i % 7},{i % 5},{slope * (i % 7) - i % 5 + (i * 37 % 11) / 10}" for i in range(40)
        ]
        (tmp_path / name).write_text("u,v,y\n" + "\n".join(rows) + "\n")
    if "dataset.path=a.csv,b.csv" in overrides:
        ridge_config.write_text(ridge_config.read_text().replace(
            "{name: regression, n_samples: 60, n_features: 20, noise: 5.0, test_size: 0.5}",
            "{name: csv, path: a.csv, target: y}"))  # fmt: skip
    out = tmp_path / "r.json"
    overrides = [
        o.replace("a.csv,b.csv", f"{tmp_path / 'a.csv'},{tmp_path / 'b.csv'}") for o in overrides
    ]
    command = ["sweep", str(ridge_config), "--out", str(out), "-f", "csv", *overrides]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.stderr
    result = runner.invoke(app, [*command, "--resume"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.endswith("already holds this sweep, finished, on the same data: "
                                  "nothing to resume (--force runs it again)\n")  # fmt: skip
    if "dataset.path=a.csv,b.csv" in overrides:  # the second point's file edited since
        (tmp_path / "b.csv").write_text((tmp_path / "b.csv").read_text().replace("3,", "4,", 1))
        result = runner.invoke(app, [*command, "--resume"])
        assert (result.exit_code, result.stderr) == (2, (
            f"{out}: holds this sweep, finished, on other data (a data file changed since); pass "
            "--force to run it again on the data as they are now, or --out another file\n"))  # fmt: skip


@pytest.mark.slow
def test_resume_finds_the_newest_journal_of_the_config(
    wait_for_runs, write_config, tmp_path, monkeypatch
):
    config = write_config(SLOW_CONFIG)
    monkeypatch.chdir(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "wdcli", "sweep", str(config), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while (
        not list((tmp_path / "results").glob("slow-*.journal.jsonl"))
        and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    journal = next((tmp_path / "results").glob("slow-*.journal.jsonl"))
    wait_for_runs(journal, at_least=8)
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = runner.invoke(app, ["sweep", str(config), "--resume", "-q"])
    assert result.exit_code == 0, result.stderr
    results = list((tmp_path / "results").glob("slow-*.json"))
    assert [p.name for p in results] == [journal.name.replace(".journal.jsonl", ".json")]
    assert len(json.loads(results[0].read_text())["runs"]) == 320


@pytest.mark.slow
def test_concurrent_sweeps_into_one_folder_do_not_collide(ridge_config, tmp_path):
    env = {**os.environ}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "wdcli", "sweep", str(ridge_config), "-q"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    files = sorted((tmp_path / "results").glob("tiny-ridge-*.json"))
    assert len(files) == 3
    documents = [json.loads(f.read_text()) for f in files]
    assert all(len(d["runs"]) == 8 for d in documents)
    assert not list((tmp_path / "results").glob("*.journal.jsonl"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "{p}: is empty, not a results file"),
        ('{"schema_version": 1, "runs": [', "{p}: not valid JSON (Expecting value at line 1)"),
        ("not json", "{p}: not valid JSON (Expecting value at line 1)"),
        (
            '{\n"schema_version": 2, "na',
            "{p}: not valid JSON (Unterminated string starting at line 2)",
        ),
        ("[1, 2]", "{p}: not a results file (a JSON array, not an object)"),
        ('{"a": 1}', "{p}: not a results file (no schema_version)"),
        (
            '{"schema_version": 3}',
            "{p}: schema version 3, this wdcli reads versions 1 and 2; upgrade wdcli to read it",
        ),
        ('{"schema_version": 2}', "{p}: config: required field is missing"),
        (
            '{"schema_version": 1, "config": {"name": "x", "dataset": {"name": "poly"}, '
            '"model": {"name": "linear"}}, "runs": []}',
            "{p}: runs: is empty",
        ),
        (
            '{"schema_version": 1, "config": {"name": "x", "dataset": {"name": "poly"}, '
            '"model": {"name": "linear"}}, "runs": [{"lambda": 1}], "summary": [], '
            '"best_lambda": null, "lambda_1se": null}',
            "{p}: runs[0].seed: required field is missing",
        ),
    ],
)
def test_bad_results_files_end_in_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    for command in (["show", str(path)], ["plot", str(path)], ["compare", str(path), str(path)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        assert result.stderr == message.format(p=path) + "\n"


def test_results_folder_and_unreadable_file(tmp_path):
    result = runner.invoke(app, ["show", str(tmp_path)])
    assert (
        result.exit_code == 2 and result.stderr == f"{tmp_path}: is a folder, not a results file\n"
    )
    missing = runner.invoke(app, ["show", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and missing.stderr == f"{tmp_path / 'none.json'}: no such file\n"
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.json"
        locked.write_text("{}")
        locked.chmod(0)
        result = runner.invoke(app, ["show", str(locked)])
        assert (
            result.exit_code == 2 and result.stderr == f"{locked}: cannot read: Permission denied\n"
        )


# --------------------------------------------------------------------------- the journal's lock

IN_USE = "{j}: another sweep is using this journal; wait for it to finish, or stop it and run again with --resume\n"


@pytest.mark.parametrize("flags", [["--resume"], ["--force"], []], ids=["resume", "force", "plain"])
def test_a_journal_in_use_is_refused_in_one_line_and_left_intact(ridge_config, tmp_path, flags):
    from wdcli.config import load_config
    from wdcli.store.destination import open_destination

    out = tmp_path / "r.json"
    journal = tmp_path / "r.journal.jsonl"
    running = open_destination(load_config(ridge_config), out)  # a sweep holding the journal
    running.journal.append(
        {"lambda": 0.0, "seed": 0, "status": "ok", "train_loss": 1.0, "test_loss": 2.0}
    )
    before = journal.read_bytes()
    result = runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out), *flags])
    assert result.exit_code == 2
    assert result.stderr == IN_USE.format(j=journal)
    assert journal.read_bytes() == before and not out.exists()
    running.journal.close()  # that sweep ended: the journal is free again
    assert runner.invoke(app, ["sweep", str(ridge_config), "--out", str(out), "--resume",
                               "-q"]).exit_code == 0  # fmt: skip


def test_resume_without_out_refuses_the_journal_in_use(ridge_config, tmp_path, monkeypatch):
    from wdcli.config import load_config
    from wdcli.store.destination import open_destination

    monkeypatch.chdir(tmp_path)
    running = open_destination(load_config(ridge_config))  # results/tiny-ridge-….journal.jsonl
    result = runner.invoke(app, ["sweep", str(ridge_config), "--resume"])
    assert result.exit_code == 2
    assert result.stderr == IN_USE.format(j=running.journal.path)
    running.journal.close()


def test_resume_without_out_takes_the_newest_journal_no_sweep_holds(
    ridge_config, tmp_path, monkeypatch
):
    # it picked the newest, refused it as in use, and never named the older one it could resume
    import os

    from wdcli.config import load_config
    from wdcli.store.destination import open_destination

    monkeypatch.chdir(tmp_path)
    config = load_config(ridge_config)
    stopped = open_destination(config)  # a sweep killed: its journal is free
    stopped.journal.close()
    os.utime(stopped.journal.path, (1, 1))  # older than the next
    running = open_destination(config)  # a sweep still running holds the newer one
    result = runner.invoke(app, ["sweep", str(ridge_config), "--resume", "-q"])
    assert result.exit_code == 0, result.stderr
    assert stopped.results_path.exists() and not running.results_path.exists()
    running.journal.close()


def test_a_journal_finished_meanwhile_is_not_taken_up(ridge_config, tmp_path, monkeypatch):
    """The race: a second sweep opens the journal just before the first removes it."""
    from wdcli.store import journal as journals

    path = tmp_path / "r.journal.jsonl"
    path.write_text('{"kind": "header"}\n')
    real_open = open

    def open_then_finish(file, *args, **kwargs):
        handle = real_open(file, *args, **kwargs)
        if Path(file) == path:
            path.unlink()  # the first sweep wrote its results and removed the journal
        return handle

    monkeypatch.setattr(journals, "open", open_then_finish, raising=False)
    with pytest.raises(ResultsError) as caught:
        journals.Journal.open_locked(path)
    assert str(caught.value) == f"{path}: another sweep finished this journal meanwhile"


@pytest.mark.slow
def test_two_sweeps_never_run_one_journal(wait_for_runs, write_config, tmp_path):
    config = write_config(SLOW_CONFIG)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    first = _start(config, out)
    try:
        wait_for_runs(journal, at_least=8)
        second = subprocess.run(
            [sys.executable, "-m", "wdcli", "sweep", str(config), "--out", str(out), "--resume"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert first.poll() is None  # the refusal came while the first was still running
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    finally:
        first.kill()
    assert second.returncode == 2
    assert second.stderr == IN_USE.format(j=journal)
    assert first.returncode == 143
    runs = read_journal(journal).runs
    assert len(runs) == len({(r["lambda"], r["seed"]) for r in runs})  # no run twice


# --------------------------------------------------------------------------- signals at set moments
# A sweep in a subprocess whose code sends itself signals at a chosen moment (a subprocess: a
# signal that went wrong must end that process, not the test run).

DRIVER = """\
import os, signal, subprocess, sys
from wdcli import config
from wdcli.sweep import run as sweep
from wdcli.store import journal
from wdcli.cli import main

STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
moment, sys.argv = sys.argv[1], ["wdcli", *sys.argv[2:]]


def all_at_once():  # CI cancels (SIGINT), `timeout` fires (SIGTERM), the terminal closes
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)  # all three land before Python looks
    kills = "; ".join(f"kill -{sig.name[3:]} {os.getpid()}" for sig in STOPS)
    subprocess.run(["sh", "-c", kills], check=True)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)


def after(function, send):
    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        send()
        return result
    return wrapped


term = lambda: os.kill(os.getpid(), signal.SIGTERM)
if moment == "second-unit":
    units = []
    real = sweep.run_unit
    def run_unit(config, unit, data=None):
        units.append(unit)
        if len(units) == 2:
            all_at_once()
        return real(config, unit, data)
    sweep.run_unit = run_unit
elif moment == "config":
    config.load_config = after(config.load_config, term)
elif moment == "journal-created":  # the file exists, the CLI does not know its name yet
    journal.Journal.create = after(journal.Journal.create, term)
elif moment == "results-written":  # the results file is there, the journal not yet removed
    sweep.write_atomic = after(sweep.write_atomic, term)
main()
"""


def _drive(tmp_path: Path, moment: str, *args: str) -> subprocess.CompletedProcess:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    command = [sys.executable, str(driver), moment, "sweep", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)


@pytest.mark.slow
def test_signals_arriving_together_end_in_one_message_and_resume_is_exact(ridge_config, tmp_path):
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    whole = runner.invoke(app, ["sweep", str(ridge_config), "-o", str(tmp_path / "w.json"),
                                "-q", "-f", "json"])  # fmt: skip
    result = _drive(tmp_path, "second-unit", str(ridge_config), "-o", str(out))
    # Pending signals are handled lowest number first (SIGHUP), unless another thread of the
    # process took one before the main thread unblocked them: any one of the three may win,
    # and a SIGINT that wins that way may be reported without its name.
    assert result.returncode in (129, 130, 143)
    lines = result.stderr.splitlines()
    assert re.fullmatch(
        rf"interrupted( by SIG(HUP|INT|TERM))?; finished runs are in {re.escape(str(journal))}",
        lines[0],
    )
    assert lines[1:] == [f"continue with: wdcli sweep {ridge_config} --resume --out {out}"]
    # and nothing else: no "Signal 15 ignored due to race condition"
    assert len(read_journal(journal).runs) == 4  # the first unit (seed 0's four λ)
    resumed = runner.invoke(app, ["sweep", str(ridge_config), "-o", str(out), "--resume",
                                  "-q", "-f", "json"])  # fmt: skip
    assert _without_times(json.loads(resumed.stdout)) == _without_times(json.loads(whole.stdout))


@pytest.mark.slow
def test_a_signal_before_the_journal_exists_leaves_nothing(ridge_config, tmp_path):
    result = _drive(tmp_path, "config", str(ridge_config), "-o", str(tmp_path / "r.json"))
    assert result.returncode == 143
    assert result.stderr == "interrupted by SIGTERM before any run was recorded\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "driver.py"]


@pytest.mark.slow
def test_a_signal_while_a_resume_starts_names_the_journal_it_keeps(ridge_config, tmp_path):
    # it said "before any run was recorded", with no command, beside a journal of 4 runs
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    _drive(tmp_path, "second-unit", str(ridge_config), "-o", str(out))
    result = _drive(tmp_path, "config", str(ridge_config), "-o", str(out), "--resume")
    assert (result.returncode, result.stderr.splitlines()) == (
        143,
        [
            f"interrupted by SIGTERM before any new run was recorded; {journal} keeps the runs "
            "so far",
            f"continue with: wdcli sweep {ridge_config} --resume --out {out}",
        ],
    )
    assert len(read_journal(journal).runs) == 4


@pytest.mark.slow
def test_a_signal_as_the_journal_is_created_still_names_it(ridge_config, tmp_path):
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    result = _drive(tmp_path, "journal-created", str(ridge_config), "-o", str(out))
    assert result.returncode == 143
    assert result.stderr == (
        f"interrupted by SIGTERM; finished runs are in {journal}\n"
        f"continue with: wdcli sweep {ridge_config} --resume --out {out}\n"
    )
    assert read_journal(journal).runs == []
    resumed = runner.invoke(app, ["sweep", str(ridge_config), "-o", str(out), "--resume", "-q"])
    assert resumed.exit_code == 0, resumed.stderr


@pytest.mark.slow
def test_a_signal_as_the_results_are_written_says_the_sweep_finished(ridge_config, tmp_path):
    # it said "finished runs are in r.journal.jsonl; continue with … --resume", of a journal
    # removed a moment later (or kept beside the results, and --resume then refused)
    out = tmp_path / "r.json"
    result = _drive(tmp_path, "results-written", str(ridge_config), "-o", str(out))
    assert (result.returncode, result.stderr) == (
        143, f"interrupted by SIGTERM after the sweep finished: {out} holds it (wdcli show {out})\n")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "driver.py", "r.json"]
    assert runner.invoke(app, ["show", str(out)]).exit_code == 0


@pytest.mark.slow
@pytest.mark.parametrize("moment", [0.05, 0.3])
def test_a_signal_while_the_command_loads_is_one_line_and_its_exit_code(
    ridge_config, tmp_path, moment
):
    # a SIGINT that a background job inherited ignored was lost (the sweep ran on, exit 0),
    # and an early one printed a KeyboardInterrupt traceback from inside an import
    command = [
        sys.executable,
        "-m",
        "wdcli",
        "sweep",
        str(ridge_config),
        "-o",
        str(tmp_path / "r.json"),
    ]
    for ignored in (True, False):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignored else None)  # fmt: skip
        time.sleep(moment)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130
        assert err in ("interrupted\n", "interrupted before any run was recorded\n")
        assert not (tmp_path / "r.json").exists()


def test_a_csv_sweep_resumes_from_another_working_folder(tmp_path, monkeypatch):
    # the config's hash held dataset.path as read from the folder wdcli ran in (sub/d.csv, or
    # d.csv from sub/): the same sweep, resumed from the config's folder, was "a different
    # config"
    from wdcli.store.destination import open_destination

    sub = tmp_path / "sub"
    sub.mkdir()
    rows = [f"{i % 7},{(i * 3) % 5},{i % 7 + 2 * ((i * 3) % 5) + (i % 3) / 10}" for i in range(40)]
    (sub / "d.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    (sub / "c.yaml").write_text(
        "name: moved\ndataset: {name: csv, path: d.csv, target: y}\nmodel: {name: linear}\n"
        "lambdas: [0.01, 1, 100]\nseeds: 3\n"
    )
    monkeypatch.chdir(tmp_path)
    complete = runner.invoke(app, ["sweep", "sub/c.yaml", "-o", "whole.json", "-q"])
    assert complete.exit_code == 0, complete.stderr
    runs = json.loads((tmp_path / "whole.json").read_text())["runs"]
    config = load_config("sub/c.yaml")
    assert str(config.dataset.path) == "sub/d.csv"  # read beside the config, as before
    destination = open_destination(config, Path("sub/r.json"))  # stopped after 4 runs
    for run in runs[:4]:
        destination.journal.append(run)
    destination.journal.close()

    monkeypatch.chdir(sub)
    assert load_config("c.yaml").hash() == config.hash()
    result = runner.invoke(app, ["sweep", "c.yaml", "-o", "r.json", "--resume", "-q"])
    assert result.exit_code == 0, result.stderr
    resumed = json.loads((sub / "r.json").read_text())
    assert _without_times(resumed) == [{k: v for k, v in run.items() if k != "seconds"}
                                       for run in runs]  # fmt: skip
    assert resumed["config"]["dataset"]["path"] == "d.csv"


def test_a_signal_after_a_sweep_stopped_on_one_leaves_its_message_and_code():
    # SIGINT then SIGTERM 0.2 s later: the sweep said "interrupted; … continue with" (SIGINT's
    # cleanup) and the SIGTERM, arriving after it, made the exit code 143
    from wdcli.interrupts import Interrupted, exit_on_signals, stop_on_signals

    with exit_on_signals():
        with pytest.raises(Interrupted), stop_on_signals():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the handler raises at the next bytecode
        os.kill(os.getpid(), signal.SIGTERM)  # while the command prints and exits: ignored
        time.sleep(0.1)
    with pytest.raises(SystemExit) as stopped, exit_on_signals():  # a command of its own
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    assert stopped.value.code == 143


@pytest.mark.slow
def test_a_sigterm_just_after_a_ctrl_c_does_not_change_the_exit_code(
    wait_for_runs, write_config, tmp_path
):
    # "interrupted; … continue with" and exit 143: the SIGTERM came while worker processes
    # shut down, after the handlers were restored, and killed the process with its own code
    config = write_config(SLOW_CONFIG)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    process = _start(config, out, "--jobs", "2")
    wait_for_runs(journal, at_least=8)
    process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.startswith(f"interrupted; finished runs are in {journal}\n")
