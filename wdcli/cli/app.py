"""The command line: parse, call the library, print, map errors to exit codes.

Exit codes: 0 ok · 1 a check failed (compare found a regression) · 2 the input was wrong ·
128 + the signal when stopped by one (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP). Results go to
stdout; progress and messages to stderr. Heavy modules (numpy, scikit-learn, matplotlib) are
imported inside commands so that `--help` is instant.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wdcli import __version__
from wdcli.executors import EXECUTORS
from wdcli.models import MODELS

if TYPE_CHECKING:
    from wdcli.records import Results

app = typer.Typer(
    name="wdcli",
    help="See what L2 regularisation / weight decay does to a model: sweep λ, compare train "
    "and test loss, find where it overfits and underfits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"


# Choices derived from the registries (both import no heavy module): `--help` lists them.
ExecutorName = Enum("ExecutorName", {name: name for name in EXECUTORS}, type=str)  # type: ignore[misc]


class ListWhat(str, Enum):
    datasets = "datasets"
    models = "models"


class PlotKind(str, Enum):
    auto = "auto"
    curves = "curves"
    lambda_curves = "lambda-curves"
    heatmap = "heatmap"
    isolation = "isolation"


ModelName = Enum("ModelName", {name: name for name in MODELS}, type=str)  # type: ignore[misc]


_state = {"debug": False}


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _stdout():
    from rich.console import Console

    class Stdout(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1 here: leave it to _to_stdout
            self.quiet = True
            raise BrokenPipeError

    # A pipe gets plain text at a width that fits the table, not rich's default of 80.
    return Stdout(highlight=False, width=None if sys.stdout.isatty() else 200)


@contextmanager
def _errors():
    """Turn library errors into one line on stderr and exit code 2 (tracebacks with --debug)."""
    from wdcli.errors import WdcliError

    try:
        yield
    except WdcliError as exc:
        if _state["debug"]:  # the traceback, and still the exit code of the error's kind
            import traceback

            traceback.print_exc()
            raise typer.Exit(code=exc.exit_code) from None
        for line in str(exc).splitlines():
            typer.echo(line, err=True)
        raise typer.Exit(code=exc.exit_code) from None


FIELD = re.compile(r"(dataset|model|lambdas|seeds|validation|grid|tune|tune_holdout|point)\b")


@contextmanager
def _named(config_path: Path):
    """Name the config file in an error about one of its fields found once its data are built
    (`configs/x.yaml: dataset.n_train: must be < …`), as the schema's errors do; errors that
    name a data file already say where to look."""
    from wdcli.errors import ConfigError, DataError

    try:
        yield
    except (ConfigError, DataError) as exc:
        if FIELD.match(str(exc)):
            raise type(exc)(_naming(config_path, exc)) from None
        raise


def _naming(config_path: Path, exc: Exception) -> str:
    """The error's message, after the config's path unless it starts with it already (a file
    named tune.yaml reads as a field)."""
    text = str(exc)
    return text if text.startswith(f"{config_path}: ") else f"{config_path}: {text}"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wdcli {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    _state["debug"] = debug
    if "WDCLI_KERNELS" in os.environ:  # (numpy is not imported otherwise, for --help's sake)
        from wdcli.fused import check_mode

        with _errors():
            check_mode()


@contextmanager
def _to_stdout():
    """Results go to stdout: a full disk there is one line and exit 2, a pipe closed by its
    reader (`| head`) a quiet exit 141 = 128 + SIGPIPE, as a shell tool killed by it reports
    (not 1, which says that a check failed), never a traceback."""
    try:
        yield
        sys.stdout.flush()
    except OSError as exc:
        _stdout_failed(exc)


def _write(text: str, chunk: int = 1 << 15) -> None:
    """Write to stdout in flushed chunks: one large write that a closed pipe cut after its
    first 64 KiB was dropped without an error, and `| head` saw exit 0, not 141."""
    for start in range(0, len(text), chunk):
        sys.stdout.write(text[start : start + chunk])
        sys.stdout.flush()


def _silence(stream) -> None:
    """Point a closed pipe's stream at /dev/null: what is still buffered must not fail again
    at exit."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture it)
        pass


def _print_document(document: Results, fmt: Format, chart: bool | None = None) -> None:
    """Print a results document to stdout; `chart` None: under the table on a wide terminal."""
    with _to_stdout():
        _write_document(document, fmt, chart)


def _write_document(document: Results, fmt: Format, chart: bool | None) -> None:
    from wdcli.report import table as report

    if fmt is Format.json:
        from wdcli.store.results import dumps

        _write(dumps(document.plain()))
    elif fmt is Format.markdown:
        _write(report.markdown(document))
    elif fmt is Format.csv:
        _write(report.csv_text(document))
    else:
        console = _stdout()
        for table in report.renderables(document):
            _print_fitting(console, table)
        if chart or (chart is None and console.is_terminal and console.width >= 100):
            from wdcli.report.termchart import grid_chart, loss_chart

            draw = grid_chart if report.is_grid(document) else loss_chart
            console.print(
                draw(
                    document,
                    width=min(console.width, 120),
                    color=not console.no_color and console.is_terminal,
                )
            )


def _print_fitting(console, table) -> None:
    """Print a table no wider than the terminal where it can be: rich lays a table whose
    columns' minimum widths nearly fill the width out 3 columns wider than asked (83 on 80,
    every row wrapping), and narrower at a smaller width; so the widest width whose lines fit
    is taken. Too narrow a terminal still wraps the table, never cuts it."""
    from rich.segment import Segment

    for width in range(console.width, max(console.width - 40, 20), -1):
        lines = Segment.split_lines(console.render(table, console.options.update(width=width)))
        if max((Segment.get_line_length(line) for line in lines), default=0) <= console.width:
            console.print(table, crop=False, width=width)
            return
    console.print(table, crop=False)


ConfigArg = Annotated[Path, typer.Argument(help="A YAML config file.", show_default=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="How to print the results.")]
GridOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--grid",
        "-g",
        help="Sweep a config key too: --grid model.lr=1e-3,1e-2 (repeatable; values as YAML).",
    ),
]
TuneOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--tune",
        help="Tune a nuisance key per λ on a validation split: --tune model.lr=1e-3,1e-2.",
    ),
]
ChartOpt = Annotated[
    bool | None,
    typer.Option(
        "--chart/--no-chart",
        help="A loss chart under the table \\[default: on a wide terminal].",
        show_default=False,
    ),
]


@app.command()
def sweep(
    config_path: ConfigArg,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a key: --set model.lr=0.01 (repeatable)."),
    ] = None,
    grid: GridOpt = None,
    tune: TuneOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Results file \\[default: results/NAME-TIME.json]."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted sweep from its journal.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing results file.")
    ] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Local processes (-1: all cores).")
    ] = None,
    executor: Annotated[
        ExecutorName | None,
        typer.Option("--executor", "-e", help="Where units run \\[default: measured best]."),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Dask scheduler, e.g. tcp://host:8786.")
    ] = None,
    fmt: FormatOpt = Format.table,
    chart: ChartOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress or notes (warnings still print).")
    ] = False,
) -> None:
    """Train the model at every λ and seed of CONFIG and print train/test loss per λ.

    Example: wdcli sweep configs/poly.yaml --set dataset.noise=0.5
    """
    from wdcli.errors import ConfigError, DataError, ExecutorError, OutOfMemoryError, WriteError
    from wdcli.interrupts import check as check_stop
    from wdcli.interrupts import deferred, stop_on_signals

    runner = destination = None
    axes = [("--grid", item) for item in grid or []] + [("--tune", item) for item in tune or []]
    # the resume command runs where this one did: on the same executor
    axes += [(option, str(value)) for option, value in
             (("--executor", executor.value if executor else None), ("--jobs", jobs),
              ("--address", address)) if value is not None]  # fmt: skip
    with _errors(), stop_on_signals():
        try:
            # imported once a signal stops the sweep (half a second: one sent meanwhile was lost)
            from wdcli.config import load_config
            from wdcli.store.destination import AlreadyFinished, open_destination
            from wdcli.store.results import typed
            from wdcli.sweep import check_points, check_task, execute, planned_keys, prepare
            from wdcli.sweep.autogrid import resolve_grid

            check_stop()  # a signal swallowed while those loaded
            config = load_config(config_path, overrides or [], grid or [], tune or [])
            with _named(config_path):
                check_task(config)
                prepared = prepare(config)  # data and memory checked before anything is written
                flags = (executor.value if executor else None, jobs, address)
                local = executor_plan(*flags, _sized(config))[1]  # units run here at once
                notes = prepared.notes + check_points(config, str(config_path), max(1, local))
            for note in [] if quiet else notes:
                typer.echo(note, err=True)
            config = resolve_grid(config)
            runner = make_executor(*flags, config)
            if getattr(runner, "note", None) and not quiet:
                typer.echo(runner.note, err=True)
            try:
                with deferred():  # a journal is never created without the CLI knowing its name
                    destination = open_destination(
                        config,
                        out,
                        resume=resume,
                        force=force,
                        data=prepared.data,
                        planned=planned_keys,
                    )
            except AlreadyFinished as finished:  # a retry loop passes --resume every time
                _print_document(finished.document, fmt, chart)
                _health_warning(finished.document)  # (with --quiet too: a retry loop's log)
                if not quiet:
                    typer.echo(f"note: {finished.path} already holds this sweep, finished, on "
                               "the same data: nothing to resume (--force runs it again)",
                               err=True)  # fmt: skip
                return
            if destination.resumed and not quiet:
                typer.echo(
                    f"resuming {destination.journal.path}: "
                    f"{len(destination.done_runs)} runs already done",
                    err=True,
                )
            elif resume and not quiet:  # a retry loop passes --resume every time: no error
                typer.echo("note: --resume found no unfinished sweep of this config: starting afresh",
                           err=True)  # fmt: skip
            with _progress(quiet) as on_progress:
                document = typed(execute(config, destination, runner, on_progress))
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP (wdcli.interrupts)
            if runner is not None:
                runner.close()  # the workers are gone before the command says it stopped
            _interrupted(exc, config_path, overrides or [], destination, force, axes, resume, out)
        except (WriteError, OutOfMemoryError, ExecutorError) as exc:  # the journal keeps its runs
            if _state["debug"] or destination is None:
                raise  # nothing recorded yet: one line, as any input error
            again = _resume_command(config_path, overrides, destination.results_path, force, axes)
            typer.echo(
                f"{exc}\nfinished runs are in {destination.journal.path}; continue with: {again}",
                err=True,
            )
            raise typer.Exit(code=exc.exit_code) from None
        except (ConfigError, DataError) as exc:  # a seed or point beyond those checked ahead
            if _state["debug"] or destination is None:
                raise
            typer.echo(f"{_naming(config_path, exc)}\nthe runs finished so far are in "
                       f"{destination.journal.path} (a resume meets the same data: fix the "
                       "config, then run with --force)", err=True)  # fmt: skip
            raise typer.Exit(code=exc.exit_code) from None
        finally:
            if runner is not None:
                runner.close()
    _print_document(document, fmt, chart)
    _health_warning(document)  # runs that did not train are said under --quiet too (CI logs)
    if not quiet:
        typer.echo(f"wrote {destination.results_path}", err=True)  # type: ignore[union-attr]


def make_executor(name: str | None = None, jobs: int | None = None, address: str | None = None,
                  config=None):  # fmt: skip
    """The executor of the sweep command's --executor, --jobs and --address (`executor_plan`)."""
    from functools import partial

    from wdcli.executors import DaskExecutor, ProcessExecutor, SerialExecutor
    from wdcli.sweep import warm_worker

    name, workers, note = executor_plan(name, jobs, address, config)
    if name == "dask":
        return DaskExecutor(address)  # type: ignore[arg-type]
    if name == "processes":
        model = config.model.name if config is not None else "linear"
        executor = ProcessExecutor(workers, partial(warm_worker, model))
        executor.note = note
        executor.start()
        return executor
    return SerialExecutor()


def _sized(config):
    """The config as the executor's choice sees it: an automatic grid not chosen yet stands
    as `num` placeholder λ (the choice counts them; their values come with the data)."""
    grid = config.lambdas
    if getattr(grid, "auto", False) and grid.values is None:
        return config.model_copy(update={"lambdas": [float(i) for i in range(1, grid.num + 1)]})
    return config


def executor_plan(
    name: str | None, jobs: int | None, address: str | None, config=None
) -> tuple[str, int, str | None]:
    """(executor, local worker processes, a note) of --executor, --jobs and --address,
    refusing flags that do not go together; nothing is started. --jobs 1 alone means serial,
    --jobs N (N > 1) processes; --address alone means dask (its workers are the cluster's:
    0 here); none of them: the sweep's measured default (`wdcli.sweep.schedule.choose`)."""
    from wdcli.errors import ExecutorError
    from wdcli.sweep.schedule import choose, useful_jobs

    if jobs is not None and (jobs == 0 or jobs < -1):
        raise ExecutorError(f"--jobs: must be ≥ 1, or -1 for all cores; got {jobs}")
    if address is not None and not address.strip():  # an unset $DASK_ADDR ran it locally
        raise ExecutorError(
            "--address: is empty; give the Dask scheduler's, e.g. tcp://127.0.0.1:8786"
        )
    if name is None and address:
        name = "dask"
    if name is None and jobs is not None:  # one process, or several
        name = "serial" if jobs == 1 else "processes"
    if address and name != "dask":
        raise ExecutorError(f"--address: only for --executor dask, not {name}")
    if name == "dask":
        if jobs is not None:
            raise ExecutorError("--jobs: not with --executor dask (the cluster's workers decide)")
        if not address:
            raise ExecutorError("--executor dask needs --address, e.g. tcp://scheduler-host:8786")
        return "dask", 0, None
    if name is None:
        name, jobs = choose(config)
    if name == "processes":
        workers, note = useful_jobs(jobs, config)
        return "processes", workers, note
    if jobs not in (None, 1):
        raise ExecutorError(f"--jobs: not with --executor serial (one process); got {jobs}")
    return "serial", 1, None


def _health_warning(document: Results) -> None:
    """One line on stderr when runs did not train, naming the knob to turn (the table's runs
    column and each run's status say it on stdout too, also with --quiet)."""
    from wdcli.models import MODELS
    from wdcli.report.table import health_note

    note = health_note(document, MODELS.get(document.config.model.name))
    if note:
        typer.echo(note, err=True)


def _resume_command(
    config_path: Path, overrides, results_path: Path | None, force: bool, axes=()
) -> str:
    """The command that continues this sweep from its journal (`axes`: --grid/--tune items;
    no results path: the newest unfinished sweep of the config, as --resume finds it)."""
    sets = "".join(f" --set {shlex.quote(item)}" for item in overrides or [])
    sets += "".join(f" {option} {shlex.quote(item)}" for option, item in axes)
    out = f" --out {shlex.quote(str(results_path))}" if results_path else ""
    config = shlex.quote(str(config_path))
    return f"wdcli sweep {config}{sets} --resume{out}" + (" --force" if force else "")


def _interrupted(
    exc: KeyboardInterrupt,
    config_path: Path,
    overrides: list[str],
    destination,
    force: bool,
    axes=(),
    resume: bool = False,
    out: Path | None = None,
):
    """Say what was kept and how to continue, then exit 128 + the signal (130 for Ctrl-C)."""
    from wdcli.interrupts import exit_code

    code = exit_code(exc)
    what = "interrupted" if code == 130 else f"interrupted by {exc}"
    if destination is None and resume:  # stopped while starting to resume: the journal stays
        from wdcli.store.destination import journal_path

        journal = journal_path(out) if out else None
        kept = f"; {journal} keeps the runs so far" if journal and journal.exists() else ""
        again = _resume_command(config_path, overrides, out, force, axes)
        lines = f"{what} before any new run was recorded{kept}\ncontinue with: {again}"
    elif destination is None:
        lines = f"{what} before any run was recorded"
    elif destination.results_path.exists() and not destination.journal.path.exists():
        lines = (f"{what} after the sweep finished: {destination.results_path} holds it "
                 f"(wdcli show {destination.results_path})")  # fmt: skip
    else:
        again = _resume_command(config_path, overrides, destination.results_path, force, axes)
        lines = f"{what}; finished runs are in {destination.journal.path}\ncontinue with: {again}"
    try:
        typer.echo(lines, err=True)
    except OSError:  # SIGHUP: the terminal may be gone; the journal is what matters
        pass
    raise typer.Exit(code=code) from None


@contextmanager
def _progress(quiet: bool):
    """A progress callback: a bar on a terminal's stderr, nothing otherwise. Units that train
    step by step (mlp) get a line each: the step and the best test accuracy so far."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from wdcli.executors import progress

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=_stderr(),
        transient=True,
    )
    task = bar.add_task("runs", total=None, note="")
    units: dict[str, int] = {}

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    def step(event: dict) -> None:
        if event["unit"] not in units:
            units[event["unit"]] = bar.add_task(event["unit"], total=event["steps"], note="")
        unit = units[event["unit"]]
        bar.update(unit, completed=event["step"], total=event["steps"],  # type: ignore[arg-type]
                   note=progress.describe(event), visible=not event["done"])  # fmt: skip

    bar.start()
    try:
        with progress.listen(step):
            yield update
    finally:
        try:
            bar.stop()
        except OSError:  # the terminal is gone (SIGHUP): there is no bar left to clear
            pass


@app.command()
def show(
    results_path: Annotated[Path, typer.Argument(help="A results file.", show_default=False)],
    fmt: FormatOpt = Format.table,
    chart: ChartOpt = None,
) -> None:
    """Print a results file again, as `sweep` printed it.

    Example: wdcli show results/poly-20260101-120000.json --format markdown
    """
    from wdcli.store.results import load_results

    with _errors():
        document = load_results(results_path)
    _print_document(document, fmt, chart)
    _health_warning(document)


class Direction(str, Enum):
    worse = "worse"
    either = "either"


class CompareFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


@app.command(
    short_help="Check candidates against a baseline per λ (exit 0: pass, 1: fail, 2: cannot compare)."
)
def compare(
    baseline: Annotated[
        Path, typer.Argument(help="The reference results file.", show_default=False)
    ],
    candidates: Annotated[
        list[Path], typer.Argument(help="Results files to check against it.", show_default=False)
    ],
    metric: Annotated[
        str,
        typer.Option(
            "--metric",
            "-m",
            help="Per-λ metric: test_loss, train_loss, test_accuracy, weight_sq_norm, …",
        ),
    ] = "test_loss",
    rtol: Annotated[float, typer.Option("--rtol", help="Allowed relative change (≥ 0).")] = 0.05,
    atol: Annotated[float, typer.Option("--atol", help="Allowed absolute change (≥ 0).")] = 0.0,
    common: Annotated[
        bool,
        typer.Option(
            "--common",
            help="Compare anyway on the λ both have when the files "
            "differ in dataset, model, λ grid or seeds.",
        ),
    ] = False,
    direction: Annotated[
        Direction,
        typer.Option(
            "--direction",
            "-d",
            help="worse: fail only when a candidate is worse (or missing, or non-finite). "
            "either: also fail when it is better beyond the tolerance, a regime or run status "
            "changed, or λ_min / λ_1se moved (to check that a change changed nothing).",
        ),
    ] = Direction.worse,
    fmt: Annotated[
        CompareFormat, typer.Option("--format", "-f", help="How to print the comparison.")
    ] = CompareFormat.table,
) -> None:
    """Check candidates against a baseline per λ (exit 0: they pass, 1: one fails, 2: the
    files cannot be compared).

    Example: wdcli compare results/reference/poly.json results/poly-20260101-120000.json
    --direction either --rtol 1e-4
    """
    from wdcli.errors import WdcliError
    from wdcli.report import compare as comparing
    from wdcli.store.results import load_results

    with _errors():
        for name, value in (("--rtol", rtol), ("--atol", atol)):
            if not (math.isfinite(value) and value >= 0):  # inf turned the gate off
                raise WdcliError(f"{name} {value:g}: must be a finite number ≥ 0")
        reference = load_results(baseline)
    results, refused = [], []  # each candidate gets its verdict, or why it was not compared
    for path in candidates:
        try:  # an unreadable candidate is refused alone: the others still get their verdicts
            results.append(comparing.compare(reference, load_results(path),
                                             names=(str(baseline), str(path)), metric=metric,
                                             rtol=rtol, atol=atol, common=common,
                                             direction=direction.value))  # fmt: skip
        except WdcliError as exc:  # IncomparableError, or a results file that cannot be read
            refused.append(str(exc))
    with _to_stdout():
        if fmt is CompareFormat.json:
            _write(json.dumps(comparing.as_json(results, refused), indent=1) + "\n")
        elif fmt is CompareFormat.markdown:
            _write("\n".join(comparing.markdown(r) for r in results))
        if fmt is not CompareFormat.table:  # stdout went to a file: the verdict to the log
            for result in results:
                typer.echo(comparing.headline(result), err=True)
        else:
            console = _stdout()
            for result in results:
                console.print(comparing.rich_table(result), crop=False)
                typer.echo(comparing.headline(result))
    for message in refused:
        typer.echo(message, err=True)
    if refused:
        raise typer.Exit(code=2)
    if any(result.failed for result in results):
        raise typer.Exit(code=1)


@app.command()
def plot(
    results_paths: Annotated[
        list[Path],
        typer.Argument(help="One or more results files (several: overlaid).", show_default=False),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Figure file, .png or .svg \\[default: RESULTS.png, "
            "RESULTS-curves.png with --curves, FIRST-overlay.png for several].",
        ),
    ] = None,
    curves: Annotated[
        bool, typer.Option("--curves", help="Per-epoch train/test loss for a few λ instead.")
    ] = False,
    lambdas: Annotated[
        list[float] | None,
        typer.Option(
            "--lambda",
            "-l",
            help="λ to draw with --curves (repeatable; nearest λ "
            "in the file) \\[default: smallest, λ_min, largest].",
        ),
    ] = None,
    kind: Annotated[
        PlotKind | None,
        typer.Option("--kind", "-k", help="Figure of a grid or tune sweep (auto: by its axes)."),
    ] = None,
    axis: Annotated[
        str | None,
        typer.Option("--axis", "-a", help="Grid key across (curves, heatmap columns)."),
    ] = None,
) -> None:
    """Draw train and test loss against λ (or per-epoch curves) to a PNG or SVG file.

    A grid sweep draws one curve per value of one axis (one grid axis) or heatmaps over λ ×
    an axis (two or more); a tune sweep draws the isolation plot.

    Example: wdcli plot results/poly-20260101-120000.json -o poly.png
    """
    from wdcli.errors import WdcliError
    from wdcli.report import plots
    from wdcli.report.table import format_lambda
    from wdcli.store.results import load_results

    with _errors():
        if lambdas and not curves:  # it was ignored: the validation curve draws every λ
            raise WdcliError(
                "--lambda: picks the λ of --curves; the validation curve draws them all"
            )
        for value in lambdas or []:
            if not (math.isfinite(value) and value >= 0):
                raise WdcliError(f"--lambda {value:g}: must be a λ ≥ 0 (a number, not inf or nan)")
        target = plots.output_path(out or _figure_name(results_paths, curves))
        documents = [load_results(path) for path in results_paths]
        for path, document in zip(results_paths, documents, strict=True):
            grid = sorted({row.lambda_ for row in document.summary})
            for value in lambdas or []:
                if value not in grid:
                    near = format_lambda(plots.nearest_lambda(grid, value))
                    typer.echo(f"note: {path}: λ = {value:g} is not in its grid; drawing the "
                               f"nearest, {near}", err=True)  # fmt: skip
        written = plots.render(
            documents,
            target,
            curves=curves,
            lambdas=lambdas or None,
            sources=[str(path) for path in results_paths],
            kind=kind.value if kind else "auto",
            axis=axis,
        )
    typer.echo(f"wrote {written}", err=True)


def _figure_name(results_paths: list[Path], curves: bool) -> Path:
    """The default figure file beside the first results file, named for what it draws: one
    name for all overwrote the validation figure with the curves or an overlay."""
    first = results_paths[0]
    suffix = "-curves" if curves else ""
    suffix += "-overlay" if len(results_paths) > 1 else ""
    return first.with_name(f"{first.stem}{suffix}.png")


@app.command(short_help="Check a config, its data and every grid point without running it.")
def validate(
    config_path: ConfigArg,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", "-s", help="Override a key (repeatable).")
    ] = None,
    grid: GridOpt = None,
    tune: TuneOpt = None,
) -> None:
    """Check a config, its data and every point of its grid without running it; print what
    would run (model, data, points × λ × seeds × folds = runs) and any notes.

    Example: wdcli validate configs/mlp.yaml
    """
    from wdcli.config import load_config
    from wdcli.sweep import check_points, check_task, prepare

    with _errors():
        config = load_config(config_path, overrides or [], grid or [], tune or [])
        with _named(config_path):
            check_task(config)
            notes = prepare(config).notes  # every seed's data, every point's memory and time
            notes += check_points(config, str(config_path))
        for note in notes:
            typer.echo(note, err=True)
    from wdcli.config import LambdaAuto
    from wdcli.config.grid import key_space, tune_candidates

    lambda_grid = config.lambdas
    auto = isinstance(lambda_grid, LambdaAuto) and lambda_grid.values is None
    space = key_space(config, lambdas=[] if auto else None)
    lambdas = lambda_grid.num if auto else len(space.lambdas)  # type: ignore[union-attr]
    seeds, folds, points = len(space.seeds), len(space.folds), len(space.points)
    total = lambdas * seeds * folds * points
    runs = f"{total} run{'s' * (total != 1)}" + (", λ chosen from the data" if auto else "")
    per_fold = f" × ({folds - 1} folds + the holdout fit)" if folds > 1 else ""
    where = f"{points} point{'s' * (points != 1)} × " if config.grid else ""
    if config.tune:
        runs += f", each tuned over {len(tune_candidates(config))} candidates"
    names = (config.grid or {}).get("dataset.name", [config.dataset.name])
    with _to_stdout():
        typer.echo(
            f"{config_path}: ok ({config.model.name} on "
            f"{', '.join(map(str, dict.fromkeys(names)))}, {where}{lambdas} λ × {seeds} "
            f"seed{'s' * (seeds != 1)}{per_fold} = {runs})"
        )


@app.command()
def schema() -> None:
    """Print the JSON Schema of config files (for editors).

    Example: wdcli schema > wdcli.schema.json
    """
    from wdcli.config import json_schema

    with _to_stdout():
        _write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")


@app.command()
def init(
    model: Annotated[ModelName, typer.Option("--model", "-m", help="Model of the config.")] = (
        ModelName.mlp  # type: ignore[attr-defined]
    ),
) -> None:
    """Print a commented starter config.

    Example: wdcli init --model linear > my.yaml
    """
    from wdcli.cli.starters import STARTERS

    with _to_stdout():
        _write(STARTERS[model.value])


@app.command(name="list")
def list_(
    what: Annotated[ListWhat, typer.Argument(help="datasets or models.", show_default=False)],
) -> None:
    """List the datasets or models, with their options and defaults.

    Example: wdcli list datasets
    """
    from wdcli.cli.catalogue import datasets_table, models_table

    table = datasets_table() if what is ListWhat.datasets else models_table()
    with _to_stdout():
        _stdout().print(table)


def main() -> None:
    """The console script's entry point. `--debug` is the app's option; it is also taken
    after the command (`wdcli sweep x.yaml --debug`), where users put it."""
    args = sys.argv[1:]
    if "--debug" in args[1:] and "--" not in args[: args.index("--debug")]:
        args = ["--debug", *[arg for arg in args if arg != "--debug"]]
    from wdcli.interrupts import deaf_if_stopped, exit_on_signals

    sys.stderr = stderr = _ClosedPipeExits(sys.stderr)
    from rich.console import Console

    Console.on_broken_pipe = _rich_broken_pipe  # type: ignore[method-assign,assignment]
    try:
        with exit_on_signals():  # a sweep's own handling takes over inside it
            app(args=args)
    except SystemExit as done:  # (Typer ends every command so)
        if done.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
            raise SystemExit(128 + 13) from None  # Click's exit 1 for a closed pipe (--help)
        _flush_stdout()  # what --help or --version left in its buffer
        if stderr.lost and done.code in (0, None):  # its messages were lost: not a success
            raise SystemExit(2) from None
        raise
    except OSError as exc:  # stdout of --help or --version, which Typer prints itself
        _stdout_failed(exc)
    finally:
        deaf_if_stopped()  # while the process shuts down (worker pools), its code stands


def _rich_broken_pipe(console) -> None:
    """A rich console (Typer's help among them) whose reader closed the pipe: 141, as every
    other output of wdcli; rich's own exits 1, which says that a check failed."""
    _silence(sys.stdout)
    raise SystemExit(128 + 13)


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except OSError as exc:
        _stdout_failed(exc)


def _stdout_failed(exc: OSError) -> None:
    """End a command whose stdout failed: 141 = 128 + SIGPIPE for a closed pipe (SIGPIPE is
    13 on every POSIX system), else a line and exit 2; what is still buffered is silenced so
    that it cannot fail again at exit. (--help and --version, which Typer prints itself, gave
    a traceback and 1.)"""
    _silence(sys.stdout)
    if isinstance(exc, BrokenPipeError):
        raise SystemExit(128 + 13) from None  # (SystemExit: also from main, outside Typer)
    typer.echo(f"stdout: cannot write: {exc.strerror or exc}", err=True)
    raise SystemExit(2) from None


class _ClosedPipeExits:
    """stderr, whose reader closing the pipe (`2>&1 | head`) ends the command with 141 =
    128 + SIGPIPE, as stdout's does (`_to_stdout`): Typer made it exit 1, which says that a
    check failed. Any other write error (a full disk, 2>/dev/full) sets `lost`: the command
    goes on, silent, and a success becomes exit 2 (it was a traceback and exit 1)."""

    def __init__(self, stream):
        self._stream = stream
        self.lost = False

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._closed()
        except OSError:
            self._lose()
        return 0

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._closed()
        except OSError:
            self._lose()

    def _lose(self) -> None:
        self.lost = True
        _silence(self._stream)

    def _closed(self) -> None:
        _silence(self._stream)
        raise typer.Exit(code=128 + 13)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
