"""OS errors while writing (disk full, no permission, `results` a file): one line naming the path,
exit 2, the journal intact, the resume command printed, and the resumed sweep exact."""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

import wdcli.store.journal
import wdcli.store.results
from wdcli.cli import app
from wdcli.store.journal import read_journal

runner = CliRunner()
FULL = "No space left on device"


def _sweep(config: Path, out: Path, *more: str):
    return runner.invoke(
        app, ["sweep", str(config), "--out", str(out), "-q", "-f", "json", "-e", "serial", *more]
    )


def _timeless(document: dict) -> dict:
    runs = [{k: v for k, v in run.items() if k != "seconds"} for run in document["runs"]]
    return {"runs": runs, "summary": document["summary"], "best": document["best_lambda"]}


@pytest.fixture
def reference(ridge_config, tmp_path) -> dict:
    """The uninterrupted sweep, to compare resumed ones with."""
    result = _sweep(ridge_config, tmp_path / "reference.json")
    assert result.exit_code == 0, result.stderr
    return _timeless(json.loads(result.stdout))


def _is_journal(fd: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{fd}").endswith(".journal.jsonl")
    except OSError:
        return False


def _fill_disk_after(monkeypatch, lines: int, partial: bool = False) -> None:
    """Journal writes succeed for `lines` lines, then fail with ENOSPC (after half a line)."""
    real_write = os.write
    written = {"lines": 0}

    def write(fd, data):
        if not _is_journal(fd):
            return real_write(fd, data)
        if written["lines"] >= lines:
            if partial and len(data) > 1:
                real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, FULL)
        written["lines"] += 1
        return real_write(fd, data)

    monkeypatch.setattr(wdcli.store.journal.os, "write", write)


def _assert_resumable(result, config: Path, out: Path, failed: Path) -> None:
    journal = out.with_name(out.stem + ".journal.jsonl")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"{failed}: cannot write: {FULL}",
        f"finished runs are in {journal}; continue with: wdcli sweep {config} --executor serial --resume --out {out}",
    ]


@pytest.mark.parametrize("partial", [False, True], ids=["whole-line", "torn-line"])
def test_disk_full_while_journalling_keeps_the_journal_and_resumes_exactly(
    ridge_config, tmp_path, reference, monkeypatch, partial
):
    out = tmp_path / "r.json"
    journal = tmp_path / "r.journal.jsonl"
    _fill_disk_after(monkeypatch, lines=4, partial=partial)  # the header and 3 runs
    result = _sweep(ridge_config, out)
    _assert_resumable(result, ridge_config, out, journal)
    assert not out.exists()
    assert len(read_journal(journal).runs) == 3  # a torn fourth line is dropped
    assert journal.read_bytes().endswith(b"\n") is not partial
    monkeypatch.undo()  # space again
    resumed = _sweep(ridge_config, out, "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert _timeless(json.loads(out.read_text())) == reference
    assert not journal.exists()


def test_disk_full_while_writing_results_keeps_the_journal(
    ridge_config, tmp_path, reference, monkeypatch
):
    out = tmp_path / "r.json"
    journal = tmp_path / "r.journal.jsonl"
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fd):
            self.handle = real_fdopen(fd, "w")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            raise OSError(errno.ENOSPC, FULL)

    def fdopen(fd, mode="r", *args, **kwargs):  # the results file's temp is opened with "w"
        return Full(fd) if mode == "w" else real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(wdcli.store.results.os, "fdopen", fdopen)
    result = _sweep(ridge_config, out)
    _assert_resumable(result, ridge_config, out, out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp
    assert len(read_journal(journal).runs) == 8  # every run is kept
    monkeypatch.undo()
    resumed = runner.invoke(
        app, ["sweep", str(ridge_config), "--out", str(out), "--resume", "-f", "json"]
    )
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stderr.startswith(f"resuming {journal}: 8 runs already done\n")
    assert _timeless(json.loads(out.read_text())) == reference


def test_a_real_full_device_is_one_line_and_leaves_nothing(ridge_config, tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    out = tmp_path / "r.json"
    journal = tmp_path / "r.journal.jsonl"
    journal.symlink_to("/dev/full")  # every write to the journal: ENOSPC
    result = _sweep(ridge_config, out, "--force")
    assert result.exit_code == 2
    assert result.stderr == f"{journal}: cannot write: {FULL}\n"
    assert not out.exists() and not journal.exists()  # the journal held nothing yet


def test_permission_denied_names_the_journal(ridge_config, tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".journal.jsonl"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(wdcli.store.journal.os, "open", refuse)
    result = _sweep(ridge_config, out)
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'r.journal.jsonl'}: cannot write: Permission denied\n"
    assert list(tmp_path.iterdir()) == [ridge_config]


def test_permission_denied_for_the_results_file_keeps_the_journal(
    ridge_config, tmp_path, monkeypatch
):
    out = tmp_path / "r.json"

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(wdcli.store.results.tempfile, "mkstemp", refuse)
    result = _sweep(ridge_config, out)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"{out}: cannot write: Permission denied"
    assert result.stderr.splitlines()[1].endswith(f"--resume --out {out}")
    assert len(read_journal(tmp_path / "r.journal.jsonl").runs) == 8


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_line(ridge_config, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = _sweep(ridge_config, folder / "r.json")
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2
    assert result.stderr == f"{folder / 'r.journal.jsonl'}: cannot write: Permission denied\n"


def test_results_being_a_file_is_one_line(ridge_config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("results").write_text("not a folder")
    result = runner.invoke(app, ["sweep", str(ridge_config), "-q"])
    assert result.exit_code == 2
    assert result.stderr == "results: not a folder; move it away or pass --out\n"
    named = runner.invoke(app, ["sweep", str(ridge_config), "-q", "--out", "results/x.json"])
    assert named.exit_code == 2
    assert named.stderr == "results: not a folder\n"
    assert Path("results").read_text() == "not a folder"


def test_a_journal_that_cannot_be_reopened_is_one_line(ridge_config, tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    _fill_disk_after(monkeypatch, lines=2)
    assert _sweep(ridge_config, out).exit_code == 2
    monkeypatch.undo()
    journal = tmp_path / "r.journal.jsonl"
    before = journal.read_bytes()
    real_open = open

    def refuse(path, mode="r", *args, **kwargs):
        if str(path) == str(journal) and "+" in mode:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(wdcli.store.journal, "open", refuse, raising=False)
    result = _sweep(ridge_config, out, "--resume")
    assert result.exit_code == 2
    assert result.stderr == f"{journal}: cannot open the journal: Permission denied\n"
    assert journal.read_bytes() == before


@pytest.mark.slow
def test_disk_full_with_worker_processes_stops_them_and_resumes(
    ridge_config, tmp_path, reference, monkeypatch
):
    out = tmp_path / "r.json"
    _fill_disk_after(monkeypatch, lines=3)
    result = runner.invoke(
        app,
        ["sweep", str(ridge_config), "--out", str(out), "-q", "-e", "processes", "-j", "2"],
    )
    journal = tmp_path / "r.journal.jsonl"
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == f"{journal}: cannot write: {FULL}"
    assert _workers_stop_within(10.0)
    monkeypatch.undo()
    resumed = _sweep(ridge_config, out, "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert _timeless(json.loads(out.read_text())) == reference


def _workers_stop_within(seconds: float) -> bool:
    """True once no worker process of this one is left (resource trackers may stay)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        children = psutil.Process().children(recursive=True)
        if not any("popen_loky" in " ".join(_cmdline(child)) for child in children):
            return True
        time.sleep(0.05)
    return False


def _cmdline(process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_a_full_stdout_is_one_line_and_exit_2(ridge_config, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "r.json"
    assert _sweep(ridge_config, out).exit_code == 0
    for args in (
        ["show", str(out)],
        ["show", str(out), "-f", "json"],
        ["compare", str(out), str(out)],
    ):
        with open("/dev/full", "w") as full:
            done = subprocess.run(
                [sys.executable, "-m", "wdcli", *args],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
            )
        assert done.returncode == 2
        assert done.stderr == f"stdout: cannot write: {FULL}\n"
