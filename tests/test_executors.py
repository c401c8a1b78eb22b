"""Executors: serial, local processes and a real Dask cluster give the same numbers.

The Dask tests start a scheduler and two single-threaded workers as subprocesses on 127.0.0.1
(module fixture, stopped in teardown whatever happens) and run sweeps through the CLI. The
last test kills a worker mid-sweep.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

import wdcli
from wdcli.cli import app, make_executor
from wdcli.config import validate
from wdcli.errors import ExecutorError
from wdcli.executors import DaskExecutor, ProcessExecutor, SerialExecutor, cpu_count
from wdcli.store.journal import read_journal
from wdcli.sweep import Unit, chunks_per_seed, dataset_for, plan_units, unit_dataset
from wdcli.sweep.schedule import choose, useful_jobs

runner = CliRunner()
REPO = Path(wdcli.__file__).resolve().parents[1]

RIDGE = """\
name: ridge
dataset: {name: regression, n_samples: 80, n_features: 30, noise: 5.0}
model: {name: linear}
lambdas: [0, 1e-3, 1e-2, 1e-1, 1]
seeds: 3
"""
LOGISTIC = """\
name: logistic
dataset: {name: digits, n_train: 150}
model: {name: logistic}
lambdas: {start: 1e-5, stop: 100, num: 8, include_zero: true}
seeds: 2
"""
TINY_MLP = """\
name: tiny-mlp
dataset: {name: friedman1, n_samples: 160, n_train: 80}
model: {name: mlp, hidden: [8], epochs: 6, batch_size: 16, lr: 0.01, eval_every: 2}
lambdas: {start: 1e-4, stop: 1, num: 4, include_zero: true}
seeds: 3
"""
TINY_MLP_CV = """\
name: tiny-mlp-cv
dataset: {name: friedman1, n_samples: 160, n_train: 80}
model: {name: mlp, hidden: [8], epochs: 6, batch_size: 16, lr: 0.01, eval_every: 2}
lambdas: [0, 1e-2, 1]
validation: {kind: kfold, folds: 3}
seeds: 2
"""
# Slow enough (eight units of about half a second) that a kill lands mid-sweep.
SLOW_MLP = """\
name: slow-mlp
dataset: {name: friedman1, n_samples: 1000, n_train: 500}
model: {name: mlp, hidden: [32], epochs: 150, batch_size: 32, eval_every: 10}
lambdas: [0, 1e-3, 1e-2, 1e-1]
seeds: 8
"""


def sweep(config: Path, out: Path, *extra: str):
    result = runner.invoke(app, ["sweep", str(config), "--out", str(out), "-q", "-f", "json",
                                 *extra])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return json.loads(out.read_text())


def numbers(document: dict) -> list[dict]:
    """Each run without its timing, sorted by (λ, seed)."""
    runs = [{k: v for k, v in run.items() if k != "seconds"} for run in document["runs"]]
    return sorted(runs, key=lambda run: (run["lambda"], run["seed"], run.get("fold", 0)))


def assert_same_numbers(a: dict, b: dict, rtol: float = 1e-9) -> None:
    """Equal runs: the same keys and strings, floats within rtol (curves included)."""

    def close(x, y, where):
        if isinstance(x, dict):
            assert x.keys() == y.keys(), where
            for key in x:
                close(x[key], y[key], f"{where}.{key}")
        elif isinstance(x, list):
            assert len(x) == len(y), where
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                close(u, v, f"{where}[{i}]")
        elif isinstance(x, float) and isinstance(y, float):
            assert math.isclose(x, y, rel_tol=rtol, abs_tol=1e-300), (where, x, y)
        else:
            assert x == y, (where, x, y)

    close(numbers(a), numbers(b), "runs")


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("seeds", "lambdas", "workers", "chunks"),
    [
        (1, 16, 1, 1),  # serial: one unit per seed
        (1, 16, 2, 2),  # one seed: two halves, so that both cores work
        (2, 16, 2, 1),
        (3, 16, 2, 2),  # 3 units would leave a core idle a third of the time; 6 do not
        (9, 16, 2, 1),  # 9 units on 2 workers are busy 90 % of the time: enough
        (1, 1, 2, 1),  # a single λ cannot be split
        (5, 64, 32, 6),  # 30 units on 32 workers: busy 94 %
    ],
)
def test_chunks_per_seed(seeds, lambdas, workers, chunks):
    assert chunks_per_seed(seeds, lambdas, workers) == chunks


def test_units_cover_every_run_once(write_config):
    from wdcli.config import load_config

    config = load_config(write_config(TINY_MLP))
    for workers in (1, 2, 3, 8, 64):
        units = plan_units(config, workers=workers)
        runs = [(lam, unit.seed) for unit in units for lam in unit.lambdas]
        assert sorted(runs) == sorted((lam, seed) for lam in config.lambda_values()
                                      for seed in config.seed_values())  # fmt: skip
        assert len(units) >= min(workers, len(runs))
        assert len({len(unit.lambdas) for unit in units}) <= 2  # near-equal chunks


# --------------------------------------------------------------------------- choosing


def config_of(text: str, **changes):
    import yaml

    data = yaml.safe_load(text)
    for key, value in changes.items():
        section, _, name = key.partition(".")
        data[section][name] = value
    return validate(data, "test")


def test_the_default_is_measured_by_model_and_size():
    assert choose(config_of(RIDGE), cores=2) == ("serial", 1)
    assert choose(config_of(TINY_MLP), cores=2) == ("serial", 1)  # start-up would cost more
    big = config_of(TINY_MLP, **{"model.epochs": 400, "dataset.n_samples": 4000,
                                 "dataset.n_train": 2000, "model.hidden": [64]})  # fmt: skip
    assert choose(big, cores=2) == ("processes", 2)
    assert choose(big, cores=1) == ("serial", 1)
    logistic = validate({"name": "l", "dataset": {"name": "classification", "n_samples": 100},
                         "model": {"name": "logistic"}, "lambdas": [0.1]}, "test")  # fmt: skip
    assert choose(logistic, cores=2) == ("serial", 1)


def test_flags_select_the_executor(monkeypatch):
    monkeypatch.setattr(ProcessExecutor, "start", lambda self: None)  # no processes needed
    assert isinstance(make_executor(None, None, None, config_of(RIDGE)), SerialExecutor)
    assert isinstance(make_executor(None, 1, None, config_of(RIDGE)), SerialExecutor)
    two = make_executor(None, 2, None, config_of(RIDGE))
    assert isinstance(two, ProcessExecutor) and two.workers == 2
    assert two.threads == max(1, cpu_count() // 2)  # processes × threads ≤ cores
    assert make_executor(None, -1, None).workers == cpu_count()
    assert make_executor("processes", None, None).workers == cpu_count()
    assert make_executor("processes", 1, None).threads == cpu_count()


@pytest.mark.parametrize(
    ("jobs", "cores", "workers", "note"),
    [
        (32, 2, 2, "--jobs 32: using 2 worker processes (2 CPU cores available)"),
        (32, 64, 15, "--jobs 32: using 15 worker processes (the sweep has 15 runs)"),
        (3, 1, 1, "--jobs 3: using 1 worker process (1 CPU core available)"),
        (2, 2, 2, None),  # as asked
        (-1, 64, 15, None),  # "all cores" and the default are capped silently
        (None, 64, 15, None),
    ],
)
def test_jobs_beyond_the_cores_or_the_runs_are_capped_with_a_note(jobs, cores, workers, note):
    assert useful_jobs(jobs, config_of(RIDGE), cores) == (workers, note)  # 5 λ × 3 seeds


@pytest.mark.slow
def test_jobs_32_from_the_cli_says_what_it_uses(write_config, tmp_path):
    config = write_config(TINY_MLP)
    serial = sweep(config, tmp_path / "serial.json", "-e", "serial")
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["sweep", str(config), "-o", str(out), "-f", "csv", "-j", "32"])
    assert result.exit_code == 0, result.stderr
    cores = cpu_count()
    why = f"{cores} CPU cores available" if cores <= 15 else "the sweep has 15 runs"
    assert result.stderr.splitlines()[0] == (
        f"--jobs 32: using {min(cores, 15)} worker processes ({why})"
    )
    assert numbers(json.loads(out.read_text())) == numbers(serial)
    quiet = runner.invoke(app, ["sweep", str(config), "-o", str(out), "-q", "--force", "-j", "32"])
    assert quiet.exit_code == 0  # --quiet: no note either (only the warning that runs
    assert [line.split(":")[0] for line in quiet.stderr.splitlines()] == ["warning"]  # failed)


def test_jobs_one_runs_serially_where_the_default_would_take_processes(monkeypatch):
    # `--jobs 1` fell through to the measured default: an MLP sweep ran two worker processes
    # on a machine the user had limited it to one core of, and the results said processes
    from wdcli.sweep import schedule

    config = validate({"name": "x", "dataset": {"name": "regression"}, "model": {"name": "mlp"},
                       "lambdas": [0.1], "seeds": 1}, "x.yaml")  # fmt: skip
    monkeypatch.setattr(schedule, "choose", lambda config: ("processes", 2))
    assert isinstance(make_executor(None, 1, None, config), SerialExecutor)
    default = make_executor(None, None, None, config)
    try:
        assert isinstance(default, ProcessExecutor)
    finally:
        default.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("serial", 0, None), "--jobs: must be ≥ 1, or -1 for all cores; got 0"),
        ((None, -2, None), "--jobs: must be ≥ 1, or -1 for all cores; got -2"),
        (
            ("serial", None, "tcp://127.0.0.1:8786"),
            "--address: only for --executor dask, not serial",
        ),
        (("dask", None, None), "--executor dask needs --address, e.g. tcp://scheduler-host:8786"),
        (  # an unset $DASK_ADDR ran the sweep locally, exit 0
            (None, None, ""),
            "--address: is empty; give the Dask scheduler's, e.g. tcp://127.0.0.1:8786",
        ),
        (("serial", 2, None), "--jobs: not with --executor serial (one process); got 2"),
        (
            ("dask", 2, "tcp://127.0.0.1:8786"),
            "--jobs: not with --executor dask (the cluster's workers decide)",
        ),
        (
            ("dask", None, "127.0.0.1"),
            "--address: missing port number in address '127.0.0.1'; expected e.g. tcp://host:8786",
        ),
        (  # it said "something answers there, but not as a Dask scheduler"
            ("dask", None, "http://127.0.0.1:8787"),
            "--address http://127.0.0.1:8787: http:// is the dashboard's; a Dask scheduler's "
            "address is tcp://host:8786",
        ),
        (  # it waited for a scheduler to answer on no port at all
            ("dask", None, "tcp://127.0.0.1:99999"),
            "--address: port 99999 is not a port (1–65535); expected e.g. tcp://host:8786",
        ),
        (
            ("dask", None, "foo://127.0.0.1:8786"),
            "--address foo://127.0.0.1:8786: unknown scheme foo://; a Dask scheduler's address "
            "is tcp://host:8786 (or tls://, ws://, wss://)",
        ),
    ],
)
def test_wrong_flags_are_one_line_errors(args, message):
    with pytest.raises(ExecutorError) as caught:
        make_executor(*args)
    assert str(caught.value) == message


def test_wrong_flags_exit_2_from_the_cli(tmp_path, write_config):
    config = write_config(RIDGE)
    result = runner.invoke(app, ["sweep", str(config), "-o", str(tmp_path / "r.json"), "-j", "0"])
    assert result.exit_code == 2
    assert result.stderr == "--jobs: must be ≥ 1, or -1 for all cores; got 0\n"
    assert not list(tmp_path.glob("r.*"))  # nothing written


# --------------------------------------------------------------------------- processes


@pytest.fixture(scope="module", autouse=True)
def local_workers_stopped():
    """Stop the local worker processes that these tests start in this process."""
    yield
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


def slow_unit(config, unit, data):
    """A stand-in for run_unit: sleeps as long as its seed says; reports its BLAS threads."""
    from threadpoolctl import threadpool_info

    time.sleep(unit.seed / 10)
    blas = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    return [{"seed": unit.seed, "pid": os.getpid(), "blas": sorted(blas), "rows": len(data.y_train),
             "env": os.environ.get("OPENBLAS_NUM_THREADS")}]  # fmt: skip


@pytest.mark.slow
def test_processes_stream_units_as_they_finish_with_capped_threads():
    config = config_of(RIDGE)
    executor = ProcessExecutor(2)
    list(
        executor.run(slow_unit, config, [Unit(0, (0.0,)), Unit(0, (1.0,))], unit_dataset)
    )  # warm up
    units = [Unit(15, (0.0,)), Unit(1, (0.0,)), Unit(2, (0.0,)), Unit(3, (0.0,))]
    out = [runs[0] for runs in executor.run(slow_unit, config, units, unit_dataset)]
    assert [run["seed"] for run in out] == [1, 2, 3, 15]  # as they finish, not as submitted
    assert len({run["pid"] for run in out}) == 2
    threads = max(1, cpu_count() // 2)
    assert all(run["blas"] == [threads] and run["env"] == str(threads) for run in out)
    rows = len(dataset_for(config, 1).y_train)
    assert all(run["rows"] == rows for run in out)  # the data came with the unit


@pytest.mark.slow
def test_stopping_right_after_a_submit_kills_the_workers_without_tracebacks(monkeypatch):
    """A signal lands while the sweep waits for a unit it has just submitted; loky's own
    kill_workers shutdown then failed in 14 of 30 tries with a KeyError in its thread."""
    import concurrent.futures
    import threading

    failures, calls = [], []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    real_wait = concurrent.futures.wait

    def wait_then_ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) % 2 == 0:  # the wait that follows the refill after the first unit
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "wait", wait_then_ctrl_c)
    units = [Unit(seed, (0.0,)) for seed in (1, 2, 1, 2, 1, 2)]  # 0.1-0.2 s each
    for _ in range(6):
        executor = ProcessExecutor(2)
        stream = executor.run(slow_unit, config_of(RIDGE), units, unit_dataset)
        pid = next(stream)[0]["pid"]
        with pytest.raises(KeyboardInterrupt):
            next(stream)
        assert executor._current is None and not psutil.pid_exists(pid)  # killed, reaped
    assert failures == []


def test_logistic_lambdas_stay_in_one_unit_whatever_the_workers(write_config):
    # cut into units for two workers, each λ was rounded by other stack neighbours and the
    # solver stopped elsewhere: 2e-7 apart on the training loss, grad_norm 29 %
    from wdcli.config import load_config

    config = load_config(write_config(
        "name: lg\ndataset: {name: digits, n_train: 300}\nmodel: {name: logistic}\n"
        "lambdas: [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1]\nseeds: 1\n"))  # fmt: skip
    for workers in (1, 2, 8):
        assert [unit.lambdas for unit in plan_units(config, workers=workers)] == [
            tuple(config.lambda_values())
        ]
    mlp = load_config(write_config(TINY_MLP, "mlp.yaml"))  # an MLP's are cut to keep 8 busy
    assert len(plan_units(mlp, workers=8)) > len(plan_units(mlp, workers=1))


def test_serial_and_processes_give_the_same_numbers(write_config, tmp_path):
    for text in (RIDGE, LOGISTIC, TINY_MLP, TINY_MLP_CV):
        config = write_config(text, name=text.split()[1] + ".yaml")
        serial = sweep(config, tmp_path / "serial.json", "--force", "-e", "serial")
        local = sweep(config, tmp_path / "local.json", "--force", "-j", "2")
        assert local["environment"]["executor"] == "processes"
        assert serial["environment"]["executor"] == "serial"
        assert_same_numbers(serial, local)
        if text is TINY_MLP_CV:
            assert {run["fold"] for run in local["runs"]} == {0, 1, 2, 3}
        if text in (TINY_MLP, LOGISTIC):  # bit-identical: a λ's result does not depend on
            # its unit (logistic: its λ stay together), nor on the BLAS threads (the losses of
            # logistic runs were one thread in workers, the machine's in serial: 2e-15 apart)
            assert numbers(serial) == numbers(local)


# --------------------------------------------------------------------------- signals
# A sweep is started in a session of its own, so that its process group (pgid = its pid)
# holds it and everything it starts: a worker orphaned by its parent keeps the group and is
# found there, whoever adopted it.


@pytest.fixture
def start_group():
    """start_group(command): Popen in a new session; whatever of its group is still alive at
    the end of the test (a failing one included) is killed then."""
    groups = []

    def start(command: list[str], **options) -> subprocess.Popen:
        options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **options}
        process = subprocess.Popen(command, start_new_session=True, **options)
        groups.append(process.pid)
        return process

    yield start
    for pgid in groups:
        for process in _in_group(pgid):
            process.kill()


def _sweep_command(config: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "wdcli", "sweep", str(config), "-o", str(out), "-q", *extra]


def _family(pid: int) -> list[psutil.Process]:
    """A process's descendants: loky's workers and its resource trackers."""
    return psutil.Process(pid).children(recursive=True)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE  # a zombie has ended, unreaped
    except psutil.NoSuchProcess:
        return False


def _in_group(pgid: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and _alive(process):
                found.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return found


def _all_gone(processes, pgid: int, timeout: float = 10) -> bool:
    """True once none of processes, and nothing in the process group pgid, is alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in processes) and not _in_group(pgid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def slow_mlp_serial(tmp_path_factory):
    """SLOW_MLP swept serially, uninterrupted: the numbers every stopped sweep must end with."""
    folder = tmp_path_factory.mktemp("reference")
    config = folder / "slow.yaml"
    config.write_text(SLOW_MLP)
    return sweep(config, folder / "serial.json", "-e", "serial")


def _stop_mid_sweep(start_group, wait_for_runs, config, folder, send):
    """Start a two-worker sweep of config into folder/r.json, stop it with send(process) once
    its first run is in the journal: (the process, its family and its loky workers before the
    stop, stderr)."""
    out, journal = folder / "r.json", folder / "r.journal.jsonl"
    process = start_group(_sweep_command(config, out, "-j", "2"), cwd=folder)
    try:
        wait_for_runs(journal, 1)
        family = _family(process.pid)
        workers = [p for p in family if "LokyProcess" in " ".join(p.cmdline())]
        send(process)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    return process, family, workers, stderr


def _stopped_lines(sig, journal, config, out) -> str:
    """What a two-worker sweep stopped by `sig` says, and nothing else."""
    name = "interrupted" if sig == signal.SIGINT else f"interrupted by {sig.name}"
    return (f"{name}; finished runs are in {journal}\n"
            f"continue with: wdcli sweep {config} --jobs 2 --resume --out {out}\n")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_a_signal_stops_the_workers_and_resume_gives_the_uninterrupted_numbers(
    sig, wait_for_runs, write_config, tmp_path, slow_mlp_serial, start_group
):
    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    process, family, workers, stderr = _stop_mid_sweep(
        start_group, wait_for_runs, config, tmp_path, lambda p: p.send_signal(sig)
    )
    assert process.returncode == 128 + sig  # 130, 143, 129: as a shell reports a signal
    assert stderr == _stopped_lines(sig, journal, config, out)
    assert len(workers) == min(2, cpu_count())
    assert _all_gone(family, process.pid)
    done = len(read_journal(journal).runs)  # the journal reads back: header, whole lines
    assert 1 <= done < 32 and not out.exists()
    resumed = sweep(config, out, "--resume", "-j", "2")
    assert numbers(resumed) == numbers(slow_mlp_serial)
    assert not journal.exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_a_signal_to_the_whole_process_group_leaves_only_wdclis_lines(
    sig, wait_for_runs, write_config, tmp_path, start_group
):
    """Ctrl-C, `timeout` and a closing terminal signal the whole group: the workers and loky's
    resource trackers too. A tracker killed by SIGHUP was relaunched with a warning and printed
    a KeyError traceback per semaphore."""
    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    process, family, _, stderr = _stop_mid_sweep(
        start_group, wait_for_runs, config, tmp_path, lambda p: os.killpg(p.pid, sig)
    )
    assert process.returncode == 128 + sig
    assert "Traceback" not in stderr and "resource_tracker" not in stderr, stderr
    assert stderr == _stopped_lines(sig, journal, config, out)
    assert _all_gone(family, process.pid)


@pytest.mark.slow
def test_kill_9_of_the_sweep_takes_its_workers_with_it(
    wait_for_runs, write_config, tmp_path, slow_mlp_serial, start_group
):
    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    process = start_group(_sweep_command(config, out, "-j", "2"), cwd=tmp_path)
    try:
        wait_for_runs(journal, 1)
        family = _family(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    # Mid-unit, a loky worker would otherwise train on for its unit's whole length and wait
    # a minute for more; they die with the parent and the rest follows within a moment.
    assert _all_gone(family, process.pid, timeout=5)
    resumed = sweep(config, out, "--resume", "-j", "2")  # the OS dropped the journal's lock
    assert numbers(resumed) == numbers(slow_mlp_serial)


@pytest.mark.slow
def test_the_terminal_closing_stops_a_sweep_that_draws_a_progress_bar_on_it(
    wait_for_runs, write_config, tmp_path, start_group
):
    import pty

    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    terminal, side = pty.openpty()
    command = [sys.executable, "-m", "wdcli", "sweep", str(config), "-o", str(out), "-j", "2"]
    process = start_group(command, stdin=side, stdout=side, stderr=side, cwd=tmp_path)
    os.close(side)
    try:
        wait_for_runs(journal, 1)
        family = _family(process.pid)
        os.close(terminal)  # the window closes: writing to it fails from now on
        process.send_signal(signal.SIGHUP)
        process.wait(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 129  # not 1: the bar that cannot be cleared is no error
    assert _all_gone(family, process.pid)
    assert 1 <= len(read_journal(journal).runs) < 32 and not out.exists()


@pytest.mark.slow
def test_nohup_keeps_a_sweep_running_when_the_terminal_closes(
    wait_for_runs, write_config, tmp_path, start_group, slow_mlp_serial
):
    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    nohup = ["sh", "-c", 'trap "" HUP; exec "$@"', "sh"]  # what nohup does: SIGHUP ignored
    process = start_group([*nohup, *_sweep_command(config, out, "-j", "2", "-f", "json")])
    try:
        wait_for_runs(journal, 1)
        process.send_signal(signal.SIGHUP)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert numbers(json.loads(stdout)) == numbers(slow_mlp_serial)


@pytest.mark.slow
def test_ctrl_c_stops_a_sweep_started_as_a_background_job(
    wait_for_runs, write_config, tmp_path, start_group
):
    """`pytest &` or `wdcli sweep … &` in a script: a non-interactive shell starts background
    jobs with SIGINT ignored, and Python then leaves it ignored; wdcli must not."""
    background = '"$@" & echo $!; wait $!'
    probe = subprocess.run(["sh", "-c", background, "sh", sys.executable, "-c",
                            "import signal as s; print(s.getsignal(s.SIGINT) is s.SIG_IGN)"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert probe.stdout.splitlines()[1] == "True"  # the sweep below inherits SIGINT ignored
    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    shell = start_group(["sh", "-c", background, "sh", *_sweep_command(config, out, "-j", "2")])
    try:
        pid = int(shell.stdout.readline())
        wait_for_runs(journal, 1)
        family = _family(pid)
        os.kill(pid, signal.SIGINT)
        _, stderr = shell.communicate(timeout=30)
    finally:
        shell.kill()
    assert shell.returncode == 130, stderr  # the shell's `wait` reports the sweep's exit
    assert stderr.startswith(f"interrupted; finished runs are in {journal}\n")
    assert _all_gone(family, shell.pid)


@pytest.mark.slow
def test_a_local_worker_killed_mid_sweep_costs_a_retry_not_the_sweep(
    wait_for_runs, write_config, tmp_path
):
    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "wdcli", "sweep", str(config), "-o", str(out), "-q", "-j", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_for_runs(journal, 1)
        workers = [p for p in _family(process.pid) if "LokyProcess" in " ".join(p.cmdline())]
        workers[0].kill()
        done_at_kill = len(read_journal(journal).runs)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert done_at_kill < 32
    document = json.loads(out.read_text())
    assert len(document["runs"]) == 32 and not journal.exists()
    assert {run["status"] for run in document["runs"]} == {"ok"}


# --------------------------------------------------------------------------- dask


class Cluster:
    """A Dask scheduler and workers, all subprocesses listening on 127.0.0.1 only."""

    def __init__(self, folder: Path):
        self.folder, self.processes, self.workers = folder, [], []
        scheduler_file = folder / "scheduler.json"
        self._spawn("scheduler", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                    "--port", "0", "--scheduler-file", str(scheduler_file))  # fmt: skip
        self.address = _address(scheduler_file, self.processes[0])

    def add_worker(self) -> subprocess.Popen:
        name = f"worker{len(self.workers)}"
        worker = self._spawn(name, "distributed.cli.dask_worker", self.address, "--name", name,
                             "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                             "--local-directory", str(self.folder / name))  # fmt: skip
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=60)

    def _spawn(self, name: str, module: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        env = {**os.environ, "PYTHONPATH": str(REPO)}  # the wdcli under test, on every worker
        process = subprocess.Popen([sys.executable, "-m", module, *args,
                                    "--dashboard-address", "127.0.0.1:0"],
                                   stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip
        log.close()
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Workers first (they say goodbye to the scheduler), then the scheduler."""
        scheduler, workers = self.processes[0], self.processes[1:]
        for group in (workers, [scheduler]):
            for process in group:
                process.terminate()
            for process in group:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _address(scheduler_file: Path, scheduler: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scheduler.poll() is not None:
            raise RuntimeError(f"the scheduler exited with {scheduler.returncode}")
        try:
            return json.loads(scheduler_file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
    raise RuntimeError("the scheduler did not write its address")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("distributed")
    cluster = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.add_worker()
        cluster.add_worker()
        cluster.wait_for_workers(2)
        assert cluster.address.startswith("tcp://127.0.0.1:")
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
def test_dask_gives_the_same_numbers(cluster, write_config, tmp_path):
    for text in (RIDGE, LOGISTIC, TINY_MLP, TINY_MLP_CV):
        config = write_config(text, name=text.split()[1] + ".yaml")
        serial = sweep(config, tmp_path / "serial.json", "--force", "-e", "serial")
        remote = sweep(config, tmp_path / "dask.json", "--force", "--address", cluster.address)
        assert remote["environment"]["executor"] == "dask"
        assert_same_numbers(serial, remote)
        if text is TINY_MLP_CV:
            assert {run["fold"] for run in remote["runs"]} == {0, 1, 2, 3}
        if text is TINY_MLP:
            assert numbers(serial) == numbers(remote)


def test_dask_streams_results_and_progress_as_units_finish(cluster, write_config, tmp_path):
    from wdcli.config import load_config
    from wdcli.store.destination import open_destination
    from wdcli.sweep import execute

    config = load_config(write_config(TINY_MLP))
    destination = open_destination(config, tmp_path / "r.json")
    journal = destination.journal.path
    seen = []

    def on_progress(done: int, total: int) -> None:
        lines = journal.read_bytes().count(b"\n") - 1 if journal.exists() else 0
        seen.append((done, total, lines))

    executor = DaskExecutor(cluster.address)
    assert executor.workers == 2
    document = execute(config, destination, executor, on_progress)
    assert len(document["runs"]) == 15
    units = plan_units(config, workers=2)
    assert len(seen) == len(units) + 1  # once at the start, then once per unit as it arrives
    assert [done for done, _, _ in seen] == sorted(done for done, _, _ in seen)
    assert seen[-1][:2] == (15, 15)
    assert all(lines == done for done, _, lines in seen[1:])  # journalled before reported


def test_without_dask_installed_the_message_says_what_to_install(monkeypatch, write_config,
                                                                 tmp_path):  # fmt: skip
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    config = write_config(RIDGE)
    result = runner.invoke(app, ["sweep", str(config), "-o", str(tmp_path / "r.json"),
                                 "-e", "dask", "--address", "tcp://127.0.0.1:8786"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == ("--executor dask needs Dask's distributed scheduler: "
                             "pip install 'wdcli[dask]'\n")  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_exit_2_leaving_the_journal(write_config,
                                                                             tmp_path):  # fmt: skip
    config = write_config(RIDGE)
    out = tmp_path / "r.json"
    complete = sweep(config, tmp_path / "whole.json")
    journal = tmp_path / "r.journal.jsonl"
    header = {"kind": "header", "name": "ridge", "config_hash": complete["config_hash"],
              "started_at": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    lines = [json.dumps(header)] + [json.dumps({"kind": "run", "run": r})
                                    for r in complete["runs"][:5]]  # fmt: skip
    journal.write_text("\n".join(lines) + "\n")
    before = journal.read_bytes()

    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    result = runner.invoke(app, ["sweep", str(config), "-o", str(out), "--resume",
                                 "-e", "dask", "--address", address])  # fmt: skip
    elapsed = time.monotonic() - start
    assert result.exit_code == 2
    assert result.stderr == (f"--address {address}: no Dask scheduler answered within 5 s; "
                             "start one with `dask scheduler` (see docs/cluster.md) or check "
                             "the address\n")  # fmt: skip
    assert elapsed < 10
    assert journal.read_bytes() == before and not out.exists()
    resumed = sweep(config, out, "--resume")  # later, the journal finishes the sweep
    assert numbers(resumed) == numbers(complete)


@pytest.mark.slow
def test_workers_without_wdcli_are_one_line_and_exit_2(tmp_path, write_config):
    pytest.importorskip("distributed")
    hide = tmp_path / "hide_wdcli.py"
    hide.write_text("import sys\nsys.modules['wdcli'] = None\n")  # as if not installed
    cluster = Cluster(tmp_path)
    try:
        cluster.workers.append(cluster._spawn(
            "worker", "distributed.cli.dask_worker", cluster.address, "--nthreads", "1",
            "--no-nanny", "--host", "127.0.0.1", "--preload", str(hide)))  # fmt: skip
        cluster.wait_for_workers(1)
        config = write_config(RIDGE)
        result = runner.invoke(app, ["sweep", str(config), "-o", str(tmp_path / "r.json"),
                                     "--address", cluster.address])  # fmt: skip
    finally:
        cluster.stop()
    assert result.exit_code == 2
    assert result.stderr.startswith(f"--address {cluster.address}: the Dask workers cannot run "
                                    "wdcli (")  # fmt: skip
    assert result.stderr.endswith("); install the same wdcli on every worker: "
                                  "pip install 'wdcli[dask]'\n")  # fmt: skip
    assert not list(tmp_path.glob("r.*"))  # nothing written


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_costs_a_retry_not_the_sweep(
    wait_for_runs, cluster, write_config, tmp_path
):
    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "wdcli", "sweep", str(config), "-o", str(out), "-q",
         "--address", cluster.address],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_for_runs(journal, 1)
        victim = cluster.workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        done_at_kill = len(read_journal(journal).runs)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        cluster.add_worker()  # leave the cluster as it was for any later test:
        cluster.wait_for_workers(2)  # two workers connected, not one and one starting
    assert process.returncode == 0, stderr
    assert done_at_kill < 32  # the kill landed mid-sweep
    document = json.loads(out.read_text())
    assert len(document["runs"]) == 32 and not journal.exists()
    serial = sweep(config, tmp_path / "serial.json", "-e", "serial")
    assert numbers(document) == numbers(serial)


def _scheduler_tasks(address: str, besides: dict | None = None, timeout: float = 60) -> dict:
    """The tasks the scheduler holds ({key: state}) other than those in `besides` (held before,
    by earlier tests on the shared cluster), polled until there are none or `timeout` passes:
    empty once no unit of the sweep is queued or running and none of its data is kept."""
    from distributed import Client

    def states(dask_scheduler):
        return {str(key): task.state for key, task in dask_scheduler.tasks.items()}

    with Client(address, timeout=10, set_as_default=False) as client:
        deadline = time.monotonic() + timeout
        while True:
            held = {
                k: v for k, v in client.run_on_scheduler(states).items() if k not in (besides or {})
            }
            if not held or time.monotonic() > deadline:
                return held
            time.sleep(0.1)


@pytest.mark.slow
def test_sigterm_cancels_the_dask_units_and_resume_finishes(
    wait_for_runs, cluster, write_config, tmp_path, slow_mlp_serial, start_group
):
    config = write_config(SLOW_MLP)
    out, journal = tmp_path / "r.json", tmp_path / "r.journal.jsonl"
    command = _sweep_command(config, out, "--address", cluster.address)
    before = _scheduler_tasks(cluster.address, timeout=0)
    process = start_group(command, cwd=tmp_path)
    try:
        wait_for_runs(journal, 1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 143
    assert stderr == (f"interrupted by SIGTERM; finished runs are in {journal}\n"
                      f"continue with: wdcli sweep {config} --address {cluster.address} "
                      f"--resume --out {out}\n")  # fmt: skip
    assert _all_gone([], process.pid)
    # its units cancelled, its data released
    assert _scheduler_tasks(cluster.address, besides=before) == {}
    done = len(read_journal(journal).runs)
    assert 1 <= done < 32
    resumed = sweep(config, out, "--resume", "--address", cluster.address)
    assert numbers(resumed) == numbers(slow_mlp_serial)


@pytest.mark.slow
def test_a_grid_with_tune_gives_the_same_numbers_on_every_executor(cluster, write_config, tmp_path):
    text = TINY_MLP + "grid:\n  model.lr: [0.003, 0.03]\n  model.hidden: [[4], [8]]\n"
    config = write_config(text + "tune:\n  model.batch_size: [16, 40]\n", name="g.yaml")
    serial = sweep(config, tmp_path / "serial.json", "--force", "-e", "serial")
    local = sweep(config, tmp_path / "local.json", "--force", "-j", "2")
    remote = sweep(config, tmp_path / "dask.json", "--force", "--address", cluster.address)
    assert len(serial["runs"]) == 4 * 5 * 3 and len(serial["points"]) == 4
    assert numbers(serial) == numbers(local) == numbers(remote)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("reply", "why"),
    [(b"", "no Dask handshake within 10 s"),
     (b"SSH-2.0-OpenSSH_9.2p1\r\n", "its reply is not a Dask message")],
)  # fmt: skip
def test_a_port_where_something_else_listens_is_one_line_not_a_hang(reply, why, write_config,
                                                                    tmp_path):  # fmt: skip
    # the dashboard's port (next to the scheduler's) hung for good: distributed's own timeout
    # covers opening the connection, not its handshake; a banner crashed with a traceback.
    # Its own process, as a user meets it: the half-made Client that is left behind stops its
    # event loop whenever it is collected, under a lock every new Client waits for.
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held = []

    def answer() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)
            if reply:
                connection.sendall(reply)

    threading.Thread(target=answer, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    try:
        result = subprocess.run(
            [sys.executable, "-m", "wdcli", "sweep", str(write_config(RIDGE)),
             "-o", str(tmp_path / "r.json"), "--address", address],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        server.close()
        for connection in held:
            connection.close()
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"--address {address}: something answers there, but not as a Dask scheduler ({why}); "
        "the scheduler listens on port 8786 by default (8787 is its dashboard)\n"
    )
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_workers_of_another_wdcli_version_are_refused(cluster, monkeypatch):
    # a worker with another wdcli mixed its numbers into the results without a word
    import wdcli
    from wdcli.errors import ExecutorError

    ours = {**wdcli.versions(), "wdcli": "0.0.1"}
    monkeypatch.setattr(wdcli, "versions", lambda: ours)  # this side's versions
    with pytest.raises(ExecutorError) as caught:
        DaskExecutor(cluster.address)
    message = str(caught.value)
    assert message.startswith(f"--address {cluster.address}: 2 Dask worker(s) run another install")
    assert message.endswith(" where this is 0.0.1): their numbers would differ; install the "
                            "same wdcli, numpy and scikit-learn on every worker")  # fmt: skip


@pytest.mark.slow
def test_a_worker_of_another_install_that_joins_later_refuses_its_unit(
    cluster, write_config, tmp_path
):
    # checked at the start only, a worker that joined mid-sweep mixed its numbers in, exit 0
    from wdcli.config import load_config
    from wdcli.errors import ExecutorError
    from wdcli.store.destination import open_destination
    from wdcli.sweep import execute

    config = load_config(write_config(RIDGE))
    executor = DaskExecutor(cluster.address)
    executor.versions = {**executor.versions, "numpy": "0.0.1"}  # as if the workers changed
    with pytest.raises(ExecutorError) as caught:
        execute(config, open_destination(config, tmp_path / "r.json"), executor, None)
    assert str(caught.value).startswith("a Dask worker that joined during the sweep runs another "
                                        "install (tcp://127.0.0.1:")  # fmt: skip
    assert str(caught.value).endswith(" where this is 0.0.1): its numbers would differ; stop it, "
                                      "install the same wdcli, numpy and scikit-learn on every "
                                      "worker")  # fmt: skip


def _sigint_state() -> tuple[bool, bool]:
    """(SIGINT blocked, SIGINT ignored) in the process that runs this."""
    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    return blocked, signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_workers_start_deaf_to_ctrl_c_then_ignore_it():
    """A Ctrl-C to the process group while a worker still imported printed its
    KeyboardInterrupt traceback (7 of 24 tries): a worker starts with SIGINT blocked, as the
    thread that spawns it has it inside `_spawning`, then ignores and unblocks it."""
    from joblib.externals.loky import ProcessPoolExecutor

    from wdcli.executors.processes import ProcessExecutor, _spawning, _start_trackers

    _start_trackers()  # as ProcessExecutor does first (Python 3.11's starts unblock SIGINT)
    with _spawning():
        plain = ProcessPoolExecutor(max_workers=1)
        started = plain.submit(_sigint_state)
        assert _sigint_state()[0]
    try:
        assert started.result(timeout=60)[0]  # blocked from its first instruction
    finally:
        plain.shutdown(wait=True)
    assert not _sigint_state()[0]  # here only delayed
    executor = ProcessExecutor(1)
    try:
        assert executor._pool().submit(_sigint_state).result(timeout=60) == (False, True)
    finally:
        executor.close()


def test_a_unit_lost_too_often_names_the_knob_of_its_executor():
    # under Dask it said "fewer --jobs", an option that dask refuses
    from collections import Counter

    from wdcli.errors import ExecutorError
    from wdcli.executors.common import MAX_ATTEMPTS, _count_loss

    unit = Unit(seed=0, fold=0, lambdas=(0.1, 1.0))
    lost: Counter = Counter()
    for _ in range(MAX_ATTEMPTS - 1):
        _count_loss(lost, unit, None, "Dask worker", "fewer workers per machine")
    with pytest.raises(ExecutorError) as caught:
        _count_loss(lost, unit, None, "Dask worker", "fewer workers per machine")
    assert str(caught.value) == (
        f"a unit (seed 0, fold 0, 2 λ) was lost {MAX_ATTEMPTS} times with its Dask worker; "
        "resume once the cause is fixed (out of memory? fewer workers per machine)"
    )


class _Client:
    """A stand-in Dask client whose scatter fails as a cluster that went away makes it."""

    def __init__(self, status: str, error: Exception):
        self.status, self.error = status, error

    def scatter(self, data, hash=False):
        raise self.error


@pytest.mark.parametrize(
    ("client", "message"),
    [  # the scheduler stopped while data was being sent: it blamed the workers' install
        (None, "lost the Dask scheduler"),
        (_Client("closed", OSError("connection closed")), "lost the Dask scheduler"),
        # every worker killed: "cannot send data to the Dask workers (No valid workers found)"
        (_Client("running", ValueError("No valid workers found")),
         "the scheduler has no workers left (they were lost); start some with `dask worker "
         "tcp://127.0.0.1:1`"),
        (_Client("running", ImportError("No module named 'wdcli'")),
         "cannot send data to the Dask workers (No module named 'wdcli'); install the same "
         "wdcli on every worker"),
    ],
)  # fmt: skip
def test_a_cluster_that_goes_away_while_data_is_sent_is_named(client, message):
    executor = object.__new__(DaskExecutor)  # (no connection: only _scatter is under test)
    executor.address, executor.client = "tcp://127.0.0.1:1", client
    with pytest.raises(ExecutorError) as caught:
        executor._scatter({"x": 1})
    assert str(caught.value) == f"--address tcp://127.0.0.1:1: {message}"
