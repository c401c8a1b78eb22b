"""Running a sweep: check everything before anything is written, run the units the journal
does not have on an executor, and write the results document.

A work unit is one seed, one fold, a batch of its λ and the grid points that train together
(wdcli.sweep.stacking); `run_unit` (wdcli.sweep.unit) trains them and returns one run record
per (point, λ).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wdcli import interrupts
from wdcli.config import Config, KFold, LambdaAuto, LeaveOneOut, task_of
from wdcli.config.grid import grid_points, key_space, point_config, tune_candidates
from wdcli.data import Dataset, copied_rows
from wdcli.data.build import (
    SPLIT_ONLY_VARIES,
    check_split,
    unseen_advice,
    unseen_categories,
    unseen_classes,
)
from wdcli.errors import ConfigError, DataError, OutOfMemoryError
from wdcli.metrics.health import (
    NO_FIT,
    OK,
    no_minimiser,
    stuck_at_constant,
)
from wdcli.metrics.summary import summarise_points
from wdcli.models import MODELS
from wdcli.runkey import HOLDOUT_FOLD, RunKey, by_point, fold_of, point_label, point_text
from wdcli.store.conventions import convention
from wdcli.store.destination import DataPrints, Destination
from wdcli.store.results import build_document, dumps, now, write_atomic
from wdcli.sweep.autogrid import decay_ceiling
from wdcli.sweep.budget import (
    Shape,
    check_fits,
    data_parts,
    lambda_count,
    long_sweep_note,
    run_count,
    seconds,
    shape_of,
    sweep_parts,
)
from wdcli.sweep.datasets import (
    _fingerprint_of,
    check_folds,
    dataset_for,
    split_for,
    unit_dataset,
)
from wdcli.sweep.plan import check_task, plan_units, split_done, unit_sizes
from wdcli.sweep.stacking import signature, stack_groups
from wdcli.sweep.unit import run_unit
from wdcli.tasks import CLASSIFICATION


@dataclass(frozen=True)
class Prepared:
    """What `prepare` found: the data's fingerprints (for the journal) and notes for the
    user (a long sweep)."""

    data: DataPrints
    notes: list[str]


BUILT_AHEAD = 32  # seeds whose datasets `prepare` builds in full (and fingerprints)


def prepare(config: Config) -> Prepared:
    """Check everything about the data before anything is written: the memory to build it,
    each seed's dataset (file errors, the split, one class only), the model against the
    task. The memory and time of the sweep are every grid point's (`check_points`).

    The first BUILT_AHEAD seeds are built in full and fingerprinted (the fingerprint covers
    them); beyond those, datasets read once (CSV, bundled) have each seed's split checked,
    and generated ones are left to their units (their seeds change only the draw)."""
    whole, config = config, _data_config(config)
    try:
        return _prepare(whole, config)
    except (ConfigError, DataError) as exc:
        if config is whole:
            raise
        label = point_label(grid_points(whole)[0], short=False)
        raise type(exc)(f"point {label}: {exc}") from None  # the first point's data, checked


def _prepare(whole: Config, config: Config) -> Prepared:
    """`prepare` on the data of `config`: the config's own (`whole`) or its first point's."""
    check_fits(data_parts(config))
    seeds = config.seed_values()
    first = dataset_for(config, seeds[0])
    check_task(config, first.task)
    prints = {seeds[0]: first.fingerprint()}
    imputes = getattr(config.dataset, "impute", "refuse") != "refuse"
    for seed in seeds[1:]:
        if config.dataset.seed is not None:  # every seed shares the one dataset
            prints[seed] = prints[seeds[0]]
        elif len(prints) < BUILT_AHEAD:
            prints[seed] = _seeded(seed, _fingerprint_of, config, seed)
        elif config.dataset.name in SPLIT_ONLY_VARIES and imputes:  # depends on training rows
            _seeded(seed, _fingerprint_of, config, seed)
        elif config.dataset.name in SPLIT_ONLY_VARIES:
            _seeded(seed, check_split, config.dataset, seed)
    if first.task == CLASSIFICATION:
        _refuse_unseen_classes(config, list(prints))
    notes = [_unseen_categories_note(config, list(prints))]
    runs = [{"seed": seed, "data_fingerprint": fp} for seed, fp in prints.items()]
    combined = combined_fingerprint(runs)
    others = _other_data_prints(whole, config.dataset, seeds[0])
    if others:  # a point of other data (another file): a resume must see it changed too
        text = ";".join([combined, *(f"{point}:{fp}" for point, fp in others.items())])
        combined = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Prepared(DataPrints(combined, prints, others), [n for n in notes if n])


def _data_config(config: Config) -> Config:
    """The config whose data `prepare` checks: its own, unless a grid axis replaces that
    dataset at every point (`grid: {dataset.path: [a.csv, b.csv]}`, where the config's own
    path was refused when missing), then the first point's."""
    points = [point_config(config, point) for point in grid_points(config)]
    if not points or any(point.dataset == config.dataset for point in points):
        return config
    return points[0]


def _other_data_prints(config: Config, checked, seed: int) -> dict[str, str]:
    """{point: fingerprint} of the first seed's data at each grid point that reads another
    data file than the one checked (`--grid dataset.path=a.csv,b.csv`), in grid order: a
    file can change between a sweep and its resume; generated data cannot."""
    found = {}
    for point in grid_points(config):
        point_cfg = point_config(config, point)
        if point_cfg.dataset != checked and point_cfg.dataset.name == "csv":
            try:
                check_fits(data_parts(point_cfg))
                found[point] = _fingerprint_of(point_cfg, seed)
            except (ConfigError, DataError):  # `check_points` says so, naming the point
                continue
    return found


def _seeded(seed: int, check: Callable, *args):
    """check(*args), a DataError naming the seed when its message does not."""
    try:
        return check(*args)
    except DataError as exc:
        if "seed" in str(exc):
            raise
        raise DataError(f"{exc} (seed {seed})") from None


def _refuse_unseen_classes(config: Config, seeds: list[int]) -> None:
    """Refuse classes that some seeds' test splits hold and their training rows do not (the
    built seeds are checked; one dataset.seed is checked once; `unit_dataset` checks the
    rest). No model can predict such a class: its test loss measures how far training pushed
    its probability down (it moved with model.tol), not λ, and a softmax over a class with no
    rows halves the penalty of a two-class fit."""
    if config.dataset.seed is not None:
        seeds = seeds[:1]
    unseen = {seed: unseen_classes(split_for(config, seed)) for seed in seeds}
    names = sorted({name for found in unseen.values() for name in found})
    if not names:
        return
    which = [str(seed) for seed, found in unseen.items() if found]
    if len({frozenset(found) for found in unseen.values() if found}) > 1:  # seeds differ
        per_seed = [f"seed {seed}: {_quoted(found)}" for seed, found in unseen.items() if found]
        shown = "; ".join(per_seed[:3])
        more = f"; and {len(which) - 3} more seeds" if len(which) > 3 else ""
        subject, where = "classes are", f" ({shown}{more}; {_of_seeds(config, seeds)})"
    else:
        subject = (
            f"class {_quoted(names)} is" if len(names) == 1 else f"classes {_quoted(names)} are"
        )
        where = ""  # every seed's split (or the one split of a dataset.seed or a test_path)
        if len(which) < len(seeds):
            where = f" of seed {which[0]}" if len(which) == 1 else f" of seeds {', '.join(which)}"
            where += f" ({_of_seeds(config, seeds)})"
    raise DataError(
        f"dataset: {subject} in the test split{where} but {unseen_advice(config.dataset)}"
    )


def _of_seeds(config: Config, checked: list[int]) -> str:
    """'of 3 seeds', or 'of the first 32 seeds checked, of 40' when not all were."""
    total = len(config.seed_values())
    if len(checked) >= total:
        return f"of {total} seed{'s' * (total != 1)}"
    return f"of the first {len(checked)} seeds checked, of {total}"


def _unseen_categories_note(config: Config, seeds: list[int]) -> str | None:
    """A note naming a CSV's category values that a test split holds and its training rows do
    not, over the seeds checked (one dataset.seed or test file is checked once)."""
    if not getattr(config.dataset, "categorical", None):
        return None
    found: dict[str, set] = {}  # over every seed checked (the first seed's alone was named)
    which = []
    once = config.dataset.seed is not None or getattr(config.dataset, "test_path", None)
    for seed in seeds[:1] if once else seeds:  # one split for every seed: checked once
        for name, values in unseen_categories(split_for(config, seed)).items():
            found.setdefault(name, set()).update(values)
            which += [seed] if seed not in which else []
    if not found:
        return None
    shown = "; ".join(f"column '{name}': {_quoted(values)}" for name, values in found.items())
    where = f"seed {which[0]}" if len(which) == 1 else f"seeds {', '.join(map(str, which))}"
    return (
        f"note: category values in the test split but in no training row ({shown}; {where}): "
        "they are encoded as no category (all zeros, as scikit-learn's "
        "OneHotEncoder(handle_unknown='ignore') does): no model learnt what they mean"
    )


MAX_SHOWN = 8  # values a note names; the rest it counts (25 000 class names made one line)


def _quoted(names) -> str:
    """'a', 'b', 'c' (sorted), the first MAX_SHOWN and how many more."""
    names = sorted(names)
    shown = ", ".join(f"'{name}'" for name in names[:MAX_SHOWN])
    more = len(names) - MAX_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


MAX_CODES = 10  # a CSV target of at most this many whole numbers may be class codes
MIN_TUNE_ROWS = 5  # rows on each side of a tune split, at least


def check_points(config: Config, source: str = "", workers: int = 1) -> list[str]:
    """Build the first seed's data of every grid point (of the config itself without a grid)
    with its own dataset settings, so that a point whose data cannot be built (n_train above
    the samples) or whose sweep cannot fit in memory fails before any run, in one line naming
    the point. Returns the notes the model has on that data (λ = 0 on ill-conditioned
    features), and a note with the time of a long sweep (every point's, added up)."""
    seed, shapes, tasks, notes, estimate = config.seed_values()[0], {}, {}, [], 0.0
    runs = run_count(config)  # every point's records are kept until the results are written
    candidates = tune_candidates(config)  # each trains: the time is theirs added up
    group_size = {point: len(group) for group in stack_groups(config) for point in group}
    # `workers` local processes run as many units at once, each of its share of the λ (a
    # check of one unit passed sweeps that 2 workers took to twice its memory)
    per_unit, running = _units_at_once(config, workers)
    for point in grid_points(config):
        point_cfg = point_config(config, point)
        label = point_label(point, short=False)
        where = (f"{source}: " if source else "") + (f"point {label}: " if label else "")
        key = point_cfg.dataset.model_dump_json() + point_cfg.validation.model_dump_json()
        if key not in shapes:
            try:
                check_fits(data_parts(point_cfg))
                data = dataset_for(point_cfg, seed)
                check_folds(point_cfg)
                if data.task == CLASSIFICATION and point_cfg.dataset != config.dataset:
                    # as `prepare` checks the config's own data
                    _refuse_unseen_classes(point_cfg, config.seed_values()[:BUILT_AHEAD])
            except (ConfigError, DataError) as exc:
                raise type(exc)(f"{where}{exc}") from None
            shapes[key], tasks[key] = shape_of(data), data.task
            _check_tune_rows(config, len(data.y_train), where)
            found = (_zero_lambda_note(point_cfg, data), _batch_note(point_cfg, data),
                     _codes_note(point_cfg, data), _case_note(point_cfg, data),
                     _copies_note(point_cfg, data, bool(config.tune)))  # fmt: skip
            for note in found:
                if note:
                    notes.append(f"note: point {label}: {note}" if label else f"note: {note}")
        try:  # a model.name axis meets the same data with another model
            check_task(point_cfg, tasks[key])
        except ConfigError as exc:
            raise ConfigError(f"{where}{exc}") from None
        stacked = min(per_unit, lambda_count(point_cfg)) * group_size[point]
        stacked *= _stacked_candidates(config, point)
        _check_memory(point_cfg, shapes[key], runs, stacked, running, where if label else "")
        estimate += seconds(point_cfg, shapes[key], workers=1) * len(candidates)
    closing = [_split_note(config), long_sweep_note(config, estimate)]
    return notes + [note for note in closing if note]


def _units_at_once(config: Config, workers: int) -> tuple[int, int]:
    """(λ in the largest unit, units running at once) of `workers` local processes, as
    plan_units cuts them (counted before an automatic grid is chosen: its num)."""
    groups = stack_groups(config)
    sizes = unit_sizes(config, groups, lambda_count(config), workers)
    units = sum(
        len(config.seed_values()) * len(config.fold_values()) * -(-lambda_count(config) // size)
        for size in sizes.values()
    )
    return max(sizes.values()), max(1, min(workers, units))


def _split_note(config: Config) -> str | None:
    """A note when the config sets both n_train and test_size (or train_fraction): n_train
    wins, and the value that the results file records was not used."""
    data = config.dataset
    for key in ("test_size", "train_fraction"):  # (train_fraction: modular's)
        if {"n_train", key} <= data.model_fields_set and data.n_train is not None:
            return (f"note: dataset.n_train ({data.n_train}) sets the split, so {key} "
                    f"({getattr(data, key):g}) is not used")  # fmt: skip
    return None


def _stacked_candidates(config: Config, point: str) -> int:
    """The most tune candidates of a point that train as one stacked model (1 without tune)."""
    if not config.tune:
        return 1
    signatures = [signature(point_config(config, point, c)) for c in tune_candidates(config)]
    return max(signatures.count(s) for s in set(signatures))


def _check_memory(
    point_cfg: Config, shape: Shape, runs: int, stacked: int, running: int, where: str
) -> None:
    """Refuse a point whose unit of `stacked` networks (its λ, times the points and tune
    candidates trained with them), beside the records of all `runs`, cannot fit in memory
    (prefixed with `where`; without a grid the field alone names it, as `prepare`'s check of
    the data's memory does)."""
    try:
        check_fits(sweep_parts(point_cfg, shape, stacked, running, runs))
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None


def _codes_note(config: Config, data: Dataset) -> str | None:
    """A CSV target of a few whole numbers read as regression (task: auto): say so, since
    0/1 or 1…5 codes are as often classes (a classifier then needs dataset.task)."""
    if config.dataset.name != "csv" or getattr(config.dataset, "task", None) != "auto":
        return None
    values = np.unique(data.y_train)
    if data.task == CLASSIFICATION or len(values) > MAX_CODES or np.any(values % 1):
        return None
    shown = ", ".join(f"{v:g}" for v in values)
    return (
        f"the target '{config.dataset.target}' holds only the whole numbers {shown} in its "
        "training rows: trained as "
        "regression (squared error); if these are classes, set dataset.task: classification"
    )


def _case_note(config: Config, data: Dataset) -> str | None:
    """Class labels that differ only in case or inner spaces ('cat', 'Cat', 'CAT'): separate
    classes, as written, and a silent split of one class is likely a typo (7 classes of 3
    animals trained at half the accuracy)."""
    if data.task != CLASSIFICATION:
        return None
    groups: dict[str, list[str]] = {}
    for name in data.classes:
        groups.setdefault(" ".join(str(name).split()).casefold(), []).append(str(name))
    alike = [names for names in groups.values() if len(names) > 1]
    if not alike:
        return None
    shown = "; ".join(", ".join(f"'{n}'" for n in names) for names in alike[:3])
    return (
        f"the target '{getattr(config.dataset, 'target', 'y')}' holds labels that differ only "
        f"in case or spacing ({shown}): each is a class of its own ({len(data.classes)} "
        "classes); write them alike if they are one"
    )


COPIES_NOTED = 0.05  # a share of rows copied across a split that is likely a mistake


def _copies_note(config: Config, data: Dataset, tuned: bool) -> str | None:
    """Rows copied across a split (a file appended to itself, a class oversampled before the
    split): the held-out loss then scores memorised rows, which favours the models that
    memorise them. Noted from COPIES_NOTED of the held-out rows on (iris's one repeated
    flower is not), unless every feature takes few values (categories, flags, ratings), where
    rows repeat by nature. `tuned`: the sweep carves tune's holdout from the training rows."""
    in_test, in_train = copied_rows(data)
    parts = []
    if in_test >= max(2, COPIES_NOTED * len(data.y_test)):
        parts.append(f"{in_test} of the {len(data.y_test)} test rows are exact copies of "
                     "training rows")  # fmt: skip
    held_out = {KFold: "k-fold's folds hold", LeaveOneOut: "leave-one-out holds out"}.get(
        type(config.validation), "tune's holdout holds" if tuned else None
    )
    if held_out and in_train >= max(2, COPIES_NOTED * len(data.y_train)):
        parts.append(f"{in_train} of the {len(data.y_train)} training rows copy another "
                     f"training row, so {held_out} rows that the model trained on")  # fmt: skip
    if not parts or _all_discrete(data.X_train):
        return None
    return (
        "; ".join(parts) + " (features and target): a held-out loss that scores memorised rows "
        "favours the models that memorise them (small λ); drop the duplicate rows unless they "
        "are real repeated measurements"
    )


FEW_VALUES = 20  # a feature of at most this many values (a category's one-hot flag, a rating)


def _all_discrete(X: np.ndarray) -> bool:
    """Whether every column takes at most FEW_VALUES values in these rows: then rows repeat by
    nature (400 rows of one 15-level category hold 15 distinct rows; skewed symptom flags
    or 1–5 ratings repeat as often), and a copy says nothing of how the file was made."""
    return all(len(np.unique(column)) <= FEW_VALUES for column in X.T)


def _check_tune_rows(config: Config, n_train: int, where: str) -> None:
    """`tune:` holds out ⌈tune_holdout·n⌉ training rows to choose on: both parts need rows
    enough to train on and to choose by (else one row decided, as tune_holdout 0.999 did)."""
    if not config.tune:
        return
    rows = f"{n_train} training rows"
    if isinstance(config.validation, KFold):  # a fold trains on the rest of them
        n_train -= math.ceil(n_train / config.validation.folds)
        rows = f"the {n_train} training rows of a fold"
    n_val = math.ceil(config.tune_holdout * n_train)
    if min(n_val, n_train - n_val) < MIN_TUNE_ROWS:
        raise ConfigError(
            f"{where}tune_holdout: {config.tune_holdout:g} of {rows} holds out {n_val} and "
            f"trains on {n_train - n_val}; each needs at least {MIN_TUNE_ROWS} (the default "
            "tune_holdout is 0.25)"
        )


def _batch_note(config: Config, data: Dataset) -> str | None:
    """A mini-batch larger than the training split is cut to it: say so (a typo, most often)."""
    batch, n = getattr(config.model, "batch_size", None), len(data.y_train)
    if not isinstance(batch, int) or batch <= n:
        return None
    return (
        f"model.batch_size {batch} is more than the {n} training rows: every step takes all of them"
    )


def _zero_lambda_note(config: Config, data: Dataset) -> str | None:
    """The model's warning about λ = 0 on this data, if λ = 0 is swept."""
    check = MODELS[config.model.name].zero_lambda_note
    if check is None or 0.0 not in _known_lambdas(config):
        return None
    return check(data.X_train)


def _known_lambdas(config: Config) -> list[float]:
    """The λ grid; empty while `lambdas: auto` has not chosen it (it never holds 0)."""
    try:
        return config.lambda_values()
    except ConfigError:
        return []


def combined_fingerprint(runs: list[dict]) -> str:
    """One fingerprint for the data of all seeds (the seed's own when they share data)."""
    runs = [r for r in runs if fold_of(r) == HOLDOUT_FOLD]  # the whole split; folds: its parts
    per_seed = sorted({(r["seed"], r["data_fingerprint"]) for r in runs})
    prints = {fp for _, fp in per_seed}
    if len(prints) == 1:
        return prints.pop()
    text = ";".join(f"{seed}:{fp}" for seed, fp in per_seed)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


ProgressCallback = Callable[[int, int], None]


def execute(
    config: Config,
    destination: Destination,
    executor,
    on_progress: ProgressCallback | None = None,
    lambdas_per_unit: int | None = None,
) -> dict:
    """Run what the journal does not have yet, then write and return the results document."""
    check_task(config)
    planned = plan_units(config, lambdas_per_unit, getattr(executor, "workers", 1))
    total = sum(len(unit.keys()) for unit in planned)
    units, runs = split_done(planned, destination.done_runs)
    journal = destination.journal
    stream = executor.run(run_unit, config, units, unit_dataset)
    try:
        if on_progress:
            on_progress(len(runs), total)
        for unit_runs in stream:
            for run in unit_runs:
                journal.append(run)
            runs += unit_runs
            if on_progress:
                on_progress(len(runs), total)
            interrupts.check()  # a stop signal swallowed meanwhile (in a finaliser)
        interrupts.check()
        document = finish(config, runs, destination.started_at, executor.name)
        with interrupts.deferred():  # a signal in between left both: its resume was refused
            write_atomic(destination.results_path, dumps(document),
                         overwrite=destination.overwrite)  # fmt: skip
            # Everything is in the results file now; removed while still locked, so that no
            # other sweep can take the journal up in between.
            with contextlib.suppress(OSError):  # e.g. a folder now read-only: the file is whole
                journal.path.unlink(missing_ok=True)
    except MemoryError as exc:  # numpy's says how much one array needed
        raise OutOfMemoryError(f"out of memory while training: {exc or 'MemoryError'}") from exc
    finally:
        if hasattr(stream, "close"):
            stream.close()  # a failed append stops the workers now, not when collected
        journal.close()
    return document


def finish(config: Config, runs: list[dict], started_at: str, executor_name: str) -> dict:
    """The results document of a complete set of runs, in key order, summarised per point."""
    position = key_space(config).sort_key()
    runs = _mark_stuck(config, sorted(runs, key=lambda run: position(RunKey.of(run))))
    summary, selections = summarise_points(runs, config.tolerance)
    first = point_config(config, point_text(runs[0].get("point")))
    task = task_of(first.dataset) or dataset_for(first, runs[0]["seed"]).task
    single = selections[0] if len(selections) == 1 else {}
    document = build_document(
        config=config.resolved(),
        config_hash=config.hash(),
        task=task,
        data_fingerprint=combined_fingerprint(runs),
        runs=runs,
        summary=summary,
        best_lambda=single.get("best_lambda"),
        lambda_1se=single.get("lambda_1se"),
        started_at=started_at,
        finished_at=now(),
        executor=executor_name,
    )
    document["convention"] = convention(config)
    if len(selections) == 1:
        document.update(selection_fields(config, task, runs, summary, single["best_lambda"],
                                         single["lambda_1se"]))  # fmt: skip
        if config.tune:
            document["points"] = selections
        return document
    rows_of, runs_of = by_point(summary), by_point(runs)
    for selection in selections:  # λ_min, λ_1se and their notes belong to a point
        text = point_text(selection["point"])
        rows, mine = rows_of.get(text, []), runs_of.get(text, [])
        point_cfg = point_config(config, text)  # a dataset.name axis may change the task
        point_task = task_of(point_cfg.dataset) or (
            dataset_for(point_cfg, mine[0]["seed"]).task if mine else task
        )
        fields = selection_fields(point_cfg, point_task, mine, rows,
                                  selection["best_lambda"], selection["lambda_1se"])  # fmt: skip
        selection.update({k: v for k, v in fields.items() if k not in ("validation",)})
    document.update({"validation": config.validation.model_dump(mode="json"), "notes": []})
    document["points"] = selections
    return document


def _mark_stuck(config: Config, runs: list[dict]) -> list[dict]:
    """The runs, those that `health.stuck_at_constant` finds among the runs of a model trained
    from a random start that share a point and their data made `no_fit` (new records; the
    others as they are). Runs on other data (another seed's split, another fold) vouch for
    nothing: there the constant may be the minimiser where here it is not."""

    def ratio(run: dict, key: str) -> float:
        value, baseline = run.get(key), run.get("baseline_loss")
        if isinstance(value, (int, float)) and isinstance(baseline, (int, float)) and baseline > 0:
            return value / baseline
        return math.nan

    groups: dict[tuple, list[dict]] = {}  # one point's runs on the same data (seeds, folds)
    for point, mine in by_point(runs).items():
        if MODELS[point_config(config, point).model.name].random_start:
            for run in mine:  # (a tune trains each seed on rows of its own carving)
                seed = run["seed"] if config.tune else None
                groups.setdefault((point, run.get("data_fingerprint"), seed), []).append(run)
    stuck_ids: set[int] = set()
    for mine in groups.values():
        flags = stuck_at_constant(
            [run["lambda"] for run in mine],
            [ratio(run, "train_loss") for run in mine],
            [ratio(run, "objective") for run in mine],
            [run["status"] == OK for run in mine],
        )
        stuck_ids.update(id(run) for run, flag in zip(mine, flags, strict=True) if flag)
    return [{**run, "status": NO_FIT} if id(run) in stuck_ids else run for run in runs]


def _without_minimiser(config: Config, runs: list[dict]) -> set[float]:
    """The λ whose every run has no minimiser to reach (health.no_minimiser: λ = 0 of a
    logistic model on separable classes)."""
    tol = getattr(config.model, "tol", None)
    by_lambda: dict[float, list[dict]] = {}
    for run in runs:
        by_lambda.setdefault(run["lambda"], []).append(run)
    return {
        lam
        for lam, mine in by_lambda.items()
        if all(no_minimiser(lam, r.get("grad_norm"), r.get("converged"), tol) for r in mine)
    }


def selection_fields(config: Config, task: str, runs, summary, best, one_se) -> dict:
    """What the document says about how λ was chosen: validation, spreads, notes."""
    from wdcli.data.folds import is_cv
    from wdcli.metrics.selection import (
        NO_DIFFERENCE,
        constant_best_note,
        grid_notes,
        identical_seeds_note,
        still_gaining_note,
        untrained_better_note,
        untrained_neighbour_note,
        worse_than_constant_note,
    )
    from wdcli.metrics.summary import select_lambdas

    kind = {LambdaAuto: "auto", list: "list"}.get(type(config.lambdas), "grid")
    # the runs λ_min was chosen on: under cross-validation the folds, not the holdout refit
    chosen_on = [r for r in runs if fold_of(r) != HOLDOUT_FOLD] if is_cv(config) else runs
    # then no edge of the grid hides a better λ
    failed = constant_best_note(chosen_on, best) or worse_than_constant_note(chosen_on, best)
    # λ = 0 without a minimiser (separable classes) is no λ the best may lie at: the grid
    # starts above it
    hopeless = _without_minimiser(config, runs)
    trainable = [row for row in summary if row["lambda"] not in hopeless]
    lambdas = [row["lambda"] for row in trainable]
    # λ whose trained runs beat λ_min: what the trained λ alone say (an edge, a constant,
    # no difference) is not said of the grid
    better = untrained_better_note(trainable, chosen_on, best)
    notes = better or failed or grid_notes(lambdas, best, kind, decay_ceiling(config))
    fixed = config.dataset.seed is not None or getattr(config.dataset, "test_path", None)
    if not better:
        notes += untrained_neighbour_note(trainable, best)
    notes += identical_seeds_note(summary, bool(fixed)) + still_gaining_note(runs)
    regimes = [row["regime"] for row in summary if row["regime"] is not None]
    if not better and regimes and all(regime in ("flat", "diverged") for regime in regimes):
        notes.append(NO_DIFFERENCE)
    scaled = task == "regression" and config.dataset.scale_target is not False
    fields = {
        "validation": config.validation.model_dump(mode="json"),
        "target_scaling": scaled and config.model.name == "mlp",
        "lambda_1se_unpaired": select_lambdas(summary)[1],
        "notes": notes,
    }
    if is_cv(config):
        rows = {row["lambda"]: row for row in summary}
        fields["final_test_loss"] = {
            key: rows[lam].get("holdout_test_loss_mean") if lam is not None else None
            for key, lam in (("best_lambda", best), ("lambda_1se", one_se))
        }
    return fields
