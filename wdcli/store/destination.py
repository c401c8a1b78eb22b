"""Where a sweep writes: the results file and its journal, fresh or resumed.

Default names are `results/NAME-YYYYmmdd-HHMMSS.json`; the journal beside it is created with
O_EXCL, which reserves the name, so two sweeps started in the same second never share a file.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from wdcli import versions
from wdcli.config import Config
from wdcli.errors import ResultsError
from wdcli.records import Results
from wdcli.runkey import HOLDOUT_FOLD, RunKey, fold_of, point_label, point_text
from wdcli.store.journal import (
    JOURNAL_SUFFIX,
    Journal,
    ensure_free,
    journal_path,
    read_header,
    read_journal,
)
from wdcli.store.results import load_results, now

RESULTS_FOLDER = Path("results")
Planned = Callable[[Config], set[RunKey]]  # a config's run keys (the sweep's plan)


@dataclass
class Destination:
    """An open journal, the results file it leads to, and the runs it already holds."""

    results_path: Path
    journal: Journal
    overwrite: bool = False
    done_runs: list[dict] = field(default_factory=list)
    started_at: str = ""
    resumed: bool = False


class AlreadyFinished(Exception):  # noqa: N818 (not an error: the sweep is done)
    """--resume of a sweep whose results file already holds it, finished, on the same data
    (`document`, read once)."""

    def __init__(self, path: Path, document: Results):
        super().__init__(str(path))
        self.path, self.document = path, document


def _finished_sweep(out: Path, config: Config) -> Results | None:
    """`out` read, when it holds this config's finished results (on whatever data); else None."""
    try:
        document = load_results(out)
    except ResultsError:
        return None
    return document if document.config_hash == config.hash() else None


def _holds_data(document: Results, data: DataPrints) -> bool:
    """Whether the document's runs were trained on these data: each seed's print (of the data
    `prepare` checked) and each other data file's (at its point) is a holdout run's. The
    document's own fingerprint covers every point and seed, which `prepare` does not build."""
    have = {(point_text(run.point), run.seed, run.data_fingerprint)
            for run in document.runs if run.fold == HOLDOUT_FOLD}  # fmt: skip
    seeds = {(seed, fp) for _, seed, fp in have}
    first = next(iter(data.per_seed))  # the first seed: its data are checked at the points
    return all(item in seeds for item in data.per_seed.items()) and all(
        (point, first, fp) in have for point, fp in data.at_points.items()
    )


@dataclass(frozen=True)
class DataPrints:
    """The data's fingerprint (all seeds) and each seed's, as the journal records them;
    `at_points`: the first seed's at each grid point that reads another data file."""

    combined: str
    per_seed: dict[int, str]
    at_points: dict[str, str] = field(default_factory=dict)


def open_destination(
    config: Config,
    out: Path | None = None,
    resume: bool = False,
    force: bool = False,
    folder: Path = RESULTS_FOLDER,
    data: DataPrints | None = None,
    planned: Planned | None = None,
) -> Destination:
    """Reserve the results file of a sweep and open its journal (new, or resumed).

    `data` is recorded in a new journal's header; a journal resumed with other data (a file
    changed since) is refused, and so is one holding a run that `planned(config)` (the
    sweep's run keys) does not. The place is checked writable before anything is written."""
    if out is not None:
        return _open_named(config, Path(out), resume, force, data, planned)
    _check_folder(folder, create=True)
    if resume:
        found = _find_resumable(config, folder)
        if found is not None:
            return _resume(config, found, overwrite=False, data=data, planned=planned)
    return _open_new(config, folder, data)


def _header(config: Config, data: DataPrints | None) -> dict:
    header = {
        "journal_version": 1,
        "name": config.name,
        "config_hash": config.hash(),
        "config": config.resolved(),
        "started_at": now(),
        "versions": versions(),
    }
    if data is not None:
        header["data_fingerprint"] = data.combined
    return header


def _check_folder(folder: Path, create: bool = False) -> None:
    """Refuse, in one line naming it, a results folder that is a file or cannot be written."""
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"{folder}: not a folder; move it away or pass --out")
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise ResultsError(f"{folder}: no such folder")
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ResultsError(f"{folder}: cannot write there: {exc.strerror or exc}") from None


def _open_named(
    config: Config,
    out: Path,
    resume: bool,
    force: bool,
    data: DataPrints | None,
    planned: Planned | None = None,
) -> Destination:
    if out.is_dir():
        raise ResultsError(f"{out}: is a folder; --out takes a file name such as {out}/x.json")
    if str(out) == "-":
        raise ResultsError(
            "-: --out takes a file name, not standard output; the results are printed on stdout "
            "anyway (--format json or csv for a machine-readable form)"
        )
    if out.suffix.lower() != ".json":  # a results file is JSON, and its journal is named by it
        raise ResultsError(
            f"{out}: --out takes a .json file name (results files are JSON), such as "
            f"{out.with_suffix('.json') if out.stem else 'results.json'}; the table is printed on "
            "stdout (--format csv for CSV)"
        )
    if not out.parent.is_dir():
        what = "not a folder" if out.parent.exists() else "no such folder"
        raise ResultsError(f"{out.parent}: {what}")
    _check_folder(out.parent)
    if out.exists() and not force:
        done = None if not resume or journal_path(out).exists() else _finished_sweep(out, config)
        if done is not None and (data is None or _holds_data(done, data)):
            raise AlreadyFinished(out, done)
        if done is not None:
            raise ResultsError(
                f"{out}: holds this sweep, finished, on other data (a data file changed "
                "since); pass --force to run it again on the data as they are now, or --out "
                "another file"
            )
        raise ResultsError(
            f"{out}: already exists; pass --force to overwrite it or --out another file"
        )
    journal = journal_path(out)
    if journal.exists():
        if resume and not _torn_at_birth(journal):
            return _resume(config, journal, overwrite=force, data=data, planned=planned)
        ensure_free(journal)
        if not force and not resume:
            try:
                header = read_header(journal) or {}
            except ResultsError:  # damaged: --resume says how
                header = {}
            if header.get("config_hash") not in (None, config.hash()):  # --resume refuses it
                changed = _changes(header.get("config"), config.resolved())
                raise ResultsError(
                    f"{journal}: an unfinished sweep of another config is recorded there"
                    f"{f' ({changed})' if changed else ''}; pass --force to start over, or "
                    "--out another file"
                )
            raise ResultsError(
                f"{journal}: an unfinished sweep is recorded there; pass --resume to continue "
                "it or --force to start over"
            )
    header = _header(config, data)
    return Destination(
        out,
        Journal.create(journal, header, exclusive=False),
        overwrite=force,
        started_at=header["started_at"],
    )


def _changes(old: object, new: dict, shown: int = 4) -> str:
    """The dotted keys whose values differ between two resolved configs, 'model.lr: 0.003 →
    0.01; …' ('' when the old one is not a mapping)."""
    if not isinstance(old, dict):
        return ""

    def flat(value: object, prefix: str = "") -> dict[str, object]:
        if isinstance(value, dict) and value:
            return {
                k: v
                for key, item in value.items()
                for k, v in flat(item, f"{prefix}{key}.").items()
            }
        return {prefix.rstrip("."): value}

    a, b = flat(old), flat(new)
    keys = [key for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
    parts = [f"{key}: {json.dumps(a.get(key))} → {json.dumps(b.get(key))}" for key in keys[:shown]]
    return "; ".join(parts) + (f"; and {len(keys) - shown} more" if len(keys) > shown else "")


def _resume(
    config: Config,
    journal: Path,
    overwrite: bool,
    data: DataPrints | None = None,
    planned: Planned | None = None,
) -> Destination:
    opened = Journal.open_locked(journal)  # first: a sweep using it is still writing it
    try:
        contents = read_journal(journal)
        found = contents.header.get("config_hash")
        if found != config.hash():
            changed = _changes(contents.header.get("config"), config.resolved())
            what = (
                f" ({changed})" if changed else f" (hash {found}, this config is {config.hash()})"
            )
            raise ResultsError(
                f"{journal}: was written for a different config{what}; pass --force instead "
                "of --resume to start over, or --out for a new file"
            )
        _check_same_versions(journal, contents.header.get("versions"))
        runs = _runs_of(config, journal, contents, planned)
        if data is not None:
            _check_same_data(journal, contents, data)
        opened.cut_torn_line()
    except BaseException:
        opened.close()
        raise
    opened.config_hash = config.hash()
    results = journal.with_name(journal.name.removesuffix(JOURNAL_SUFFIX) + ".json")
    return Destination(
        results,
        opened,
        overwrite=overwrite,
        done_runs=runs,
        started_at=contents.header.get("started_at") or now(),
        resumed=True,
    )


def _check_same_versions(journal: Path, recorded: dict | None) -> None:
    """Refuse to mix runs of another wdcli, numpy or scikit-learn with this one's: the same
    config and data give other numbers (a journal from before versions were recorded passes)."""
    current, recorded = versions(), recorded or {}
    changed = [
        f"{name} {recorded[name]} → {current.get(name)}"
        for name in sorted(recorded)
        if recorded[name] != current.get(name)
    ]
    if changed:
        raise ResultsError(
            f"{journal}: was written by another install ({', '.join(changed)}): its runs would "
            "not match this one's; finish it with that install, or pass --force instead of "
            "--resume to start over"
        )


def _check_same_data(journal: Path, contents, data: DataPrints) -> None:
    """Refuse to mix runs of other data (a CSV edited since) with runs of this data."""
    recorded = contents.header.get("data_fingerprint")
    changed = recorded is not None and recorded != data.combined
    if recorded is None:  # a journal from before fingerprints were in its header: its runs
        changed = any(
            isinstance(run, dict)
            and fold_of(run) == HOLDOUT_FOLD  # the seeds' prints are of their whole split
            and run.get("seed") in data.per_seed
            and run.get("data_fingerprint") not in (None, data.per_seed[run["seed"]])
            for run in contents.runs
        )
    if changed:
        shown = f"fingerprint {recorded}, " if recorded else ""
        raise ResultsError(
            f"{journal}: was written for other data ({shown}the data now give "
            f"{data.combined}): a data file changed since; restore it, or pass --force instead "
            "of --resume to start over"
        )


def _runs_of(config: Config, journal: Path, contents, planned: Planned | None) -> list[dict]:
    """The journal's runs, once each; a run that this config does not have is an error."""
    wanted = planned(config) if planned is not None else None
    folds = {key.fold for key in wanted} if wanted is not None else set()
    runs, prints = {}, {}  # type: ignore[var-annotated]
    for number, run in zip(contents.lines, contents.runs, strict=True):
        key = RunKey.of(run)
        if wanted is not None and key not in wanted:
            fold = f", fold {key.fold}" if len(folds) > 1 or key.fold else ""
            point = point_label(key.point, short=False)
            where = f"{point}, " if point else ""
            raise ResultsError(
                f"{journal}: line {number}: a run this config does not have ({where}λ = "
                f"{key.lam:g}, seed {key.seed}{fold}): another sweep's runs? Run without "
                "--resume, or with --force to start over"
            )
        _same_data(journal, number, run, prints)
        if key in runs:  # written twice (its unit was cut off and re-run): the same numbers
            _same_run(journal, number, run, *runs[key])
        runs[key] = (run, number)
    return [run for run, _ in runs.values()]


def _same_run(journal: Path, number: int, run: dict, first: dict, line: int) -> None:
    """A run recorded twice must hold the same numbers (its time aside) both times: training
    is deterministic, so other numbers mean a hand edit or another journal's lines."""
    changed = [
        f"{name}: {json.dumps(first.get(name))} → {json.dumps(run.get(name))}"
        for name in sorted(set(first) | set(run))
        if name != "seconds" and first.get(name) != run.get(name)
    ]
    if changed:
        raise ResultsError(
            f"{journal}: line {number}: the run of line {line} again, with other numbers "
            f"({'; '.join(changed[:3])}): edited by hand? Delete one of the two lines, or pass "
            "--force instead of --resume to start over"
        )


def _same_data(journal: Path, number: int, run: dict, prints: dict) -> None:
    """Runs of one seed (and point, fold) were trained on one dataset: the same fingerprint."""
    found = run.get("data_fingerprint")
    if found is None:
        return
    where = RunKey.of(run).data_key
    first, line = prints.setdefault(where, (found, number))
    if found != first:
        raise ResultsError(
            f"{journal}: line {number}: data_fingerprint: {found}, but line {line} has {first} "
            f"for seed {run['seed']}: runs of another sweep's data? Run without --resume, or "
            "with --force to start over"
        )


def _torn_at_birth(journal: Path) -> bool:
    """Whether a crash cut the journal while its header was written (`read_header`'s None):
    no run was recorded, so there is nothing to resume."""
    try:
        return read_header(journal) is None
    except ResultsError:
        return False  # a damaged or unreadable header: resuming says what is wrong


def _find_resumable(config: Config, folder: Path) -> Path | None:
    """The newest unfinished journal of this config that no running sweep uses (the newest
    when all are in use); refuse one of another config."""
    candidates = []
    for path in folder.glob(f"{config.name}-*{JOURNAL_SUFFIX}"):
        header = read_header(path)  # a damaged header is an error, a torn one is skipped
        if header is not None and header.get("name") == config.name:
            candidates.append((path.stat().st_mtime, path, header.get("config_hash")))
    if not candidates:
        return None
    matching = [c for c in candidates if c[2] == config.hash()]
    if not matching:
        newest = max(candidates)
        raise ResultsError(
            f"{newest[1]}: was written for a different config (hash {newest[2]}, this config is "
            f"{config.hash()}); run without --resume to start anew"
        )
    newest_first = [path for _, path, _ in sorted(matching, reverse=True)]
    for path in newest_first:  # the newest that no running sweep holds (one did: refused,
        try:  # with an older journal of this config free to resume)
            ensure_free(path)
            return path
        except ResultsError:
            continue
    return newest_first[0]  # every one is in use: _resume says so


def _open_new(config: Config, folder: Path, data: DataPrints | None = None) -> Destination:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        suffix = "" if attempt == 1 else f"-{attempt}"
        results = folder / f"{config.name}-{stamp}{suffix}.json"
        if results.exists():
            continue
        header = _header(config, data)
        try:
            journal = Journal.create(journal_path(results), header, exclusive=True)
        except FileExistsError:
            continue
        return Destination(results, journal, started_at=header["started_at"])
    raise ResultsError(f"{folder}: no free results file name for '{config.name}'")
