"""A sweep: points × λ × seeds × folds cut into work units, run by an executor, journalled.

A work unit is one seed, one fold, a batch of its λ and the grid points that train together
(wdcli.stacking); `run_unit` trains them as few stacked models as the math allows and returns
one run record per (point, λ). Units are independent, so any executor can run them in any
order: the numbers of a run depend only on its key (point, λ, seed, fold; wdcli.runkey) and
the config.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from wdcli import grokking, health, progress
from wdcli.budget import (
    Shape,
    check_fits,
    data_parts,
    lambda_count,
    long_sweep_note,
    sweep_parts,
)
from wdcli.config import CLASSIFICATION, Config, task_of
from wdcli.conventions import convention
from wdcli.data import (
    SPLIT_ONLY_VARIES,
    Dataset,
    Split,
    build_split,
    check_split,
    source_stamp,
)
from wdcli.errors import DataError
from wdcli.folds import fold_numbers
from wdcli.grid import grid_points, point_config, tune_candidates
from wdcli.models import MODELS, check_task
from wdcli.results import build_document, dumps, now, write_atomic
from wdcli.runkey import EMPTY_POINT, RunKey, point_label, point_text
from wdcli.stacking import choose_candidate, fit_tuned, fit_variants, stack_groups
from wdcli.store import DataPrints, Destination
from wdcli.summary import summarise_points


@dataclass(frozen=True)
class Unit:
    """One seed and fold and a batch of its λ, at one or more grid points trained together
    (points whose configs differ only where a stacked model allows: the MLP's lr)."""

    seed: int
    lambdas: tuple[float, ...]
    fold: int = 0
    points: tuple[str, ...] = (EMPTY_POINT,)

    def keys(self) -> list[RunKey]:
        """The run keys this unit computes, in the order of its runs."""
        return [
            RunKey(point, lam, self.seed, self.fold)
            for point in self.points
            for lam in self.lambdas
        ]

    @property
    def data_key(self) -> tuple[str, int, int]:
        """(point, seed, fold): the units that share it train on the same data."""
        return self.points[0], self.seed, self.fold


def plan_units(config: Config, lambdas_per_unit: int | None = None, workers: int = 1) -> list[Unit]:
    """Every (group of stackable points, seed, fold)'s λ grid, in chunks of lambdas_per_unit;
    by default in as few near-equal chunks as keep `workers` units running at once."""
    lambdas, seeds, folds = config.lambda_values(), config.seed_values(), fold_numbers(config)
    groups = stack_groups(config)
    chunks = chunks_per_seed(len(seeds) * len(folds) * len(groups), len(lambdas), workers)
    size = lambdas_per_unit or -(-len(lambdas) // chunks) or 1
    return [
        Unit(seed, tuple(lambdas[i : i + size]), fold, points)
        for points in groups
        for seed in seeds
        for fold in folds
        for i in range(0, len(lambdas), size)
    ]


def chunks_per_seed(seeds: int, lambdas: int, workers: int, target: float = 0.9) -> int:
    """How many units to cut each seed's λ into, so that `workers` units run at once.

    S seeds cut into c chunks are S·c equal units run in ⌈S·c/W⌉ rounds on W workers, busy a
    fraction S·c / (W·⌈S·c/W⌉) of the time. The smallest c ≤ lambdas reaching `target` is
    taken (fewer, larger units train faster per model); W / gcd(S, W) always reaches 1.
    """
    best, best_busy = 1, 0.0
    for c in range(1, max(1, min(lambdas, workers // math.gcd(seeds, workers))) + 1):
        units = seeds * c
        busy = units / (workers * math.ceil(units / workers))
        if busy >= target:
            return c
        if busy > best_busy:
            best, best_busy = c, busy
    return best


def planned_keys(config: Config) -> set[RunKey]:
    """Every run key of the config's sweep."""
    return {key for unit in plan_units(config) for key in unit.keys()}


def split_done(units: list[Unit], done_runs: Iterable[dict]) -> tuple[list[Unit], list[dict]]:
    """(units still to run, runs kept): a unit counts as done only when all its runs are.

    A unit that was cut off halfway is run again whole, so that every run is computed in
    the same unit as in an uninterrupted sweep and the numbers are bit-identical."""
    done = {RunKey.of(run): run for run in done_runs}
    todo, kept = [], []
    for unit in units:
        keys = unit.keys()
        if all(key in done for key in keys):
            kept += [done[key] for key in keys]
        else:
            todo.append(unit)
    return todo, kept


def run_key(run: dict) -> RunKey:
    """The key of a run record (point {} and fold 0 for records written before them)."""
    return RunKey.of(run)


_SPLIT_CACHE: dict[tuple, Split] = {}
_DATA_CACHE: dict[tuple, Dataset] = {}


def _cached(cache: dict, key, build):
    if key not in cache:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = build()
    return cache[key]


def split_for(config: Config, seed: int) -> Split:
    """The train/test split of a seed, before standardisation, built once per process."""
    data_seed = config.dataset.seed if config.dataset.seed is not None else seed
    key = (config.dataset.model_dump_json(), data_seed, source_stamp(config.dataset))
    return _cached(_SPLIT_CACHE, key, lambda: build_split(config.dataset, seed))


def _data_key(config: Config, seed: int, fold: int) -> tuple:
    dataset = config.dataset.model_dump_json()
    return (dataset, config.validation.model_dump_json(), seed, fold, source_stamp(config.dataset))


def dataset_for(config: Config, seed: int, fold: int = 0) -> Dataset:
    """The dataset of a seed's fold, built once per process (all λ of a fold share it)."""
    from wdcli.folds import fold_dataset

    split = split_for(config, seed)
    key = _data_key(config, seed, fold)
    return _cached(_DATA_CACHE, key, lambda: fold_dataset(config, split, seed, fold))


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
    task, the memory of the sweep; a long sweep gets a note with its estimated time.

    The first BUILT_AHEAD seeds are built in full and fingerprinted (the fingerprint covers
    them); beyond those, datasets read once (CSV, bundled) have each seed's split checked,
    and generated ones are left to their units (their seeds change only the draw)."""
    check_fits(data_parts(config))
    seeds = config.seed_values()
    first = dataset_for(config, seeds[0])
    check_task(config, first.task)
    outputs = first.n_classes if first.n_classes > 2 else 1
    shape = Shape(len(first.y_train), len(first.y_test), first.X_train.shape[1], outputs)
    check_fits(sweep_parts(config, shape, lambda_count(config), workers=1))
    prints = {seeds[0]: first.fingerprint()}
    for seed in seeds[1:]:
        if config.dataset.seed is not None:  # every seed shares the one dataset
            prints[seed] = prints[seeds[0]]
        elif len(prints) < BUILT_AHEAD:
            prints[seed] = _fingerprint_of(config, seed)
        elif config.dataset.name in SPLIT_ONLY_VARIES:
            check_split(config.dataset, seed)
    note = long_sweep_note(config, shape, workers=1)
    runs = [{"seed": seed, "data_fingerprint": fp} for seed, fp in prints.items()]
    return Prepared(DataPrints(combined_fingerprint(runs), prints), [note] if note else [])


def _fingerprint_of(config: Config, seed: int) -> str:
    """A seed's data fingerprint, built without filling the caches with every seed's data."""
    from wdcli.folds import fold_dataset

    cached = _DATA_CACHE.get(_data_key(config, seed, 0))
    if cached is None:
        cached = fold_dataset(config, build_split(config.dataset, seed), seed, 0)
    return cached.fingerprint()


def check_points(config: Config, source: str = "") -> None:
    """Build the first seed's data of every grid point with its own dataset settings, so that
    a point whose data cannot be built (n_train above the samples) fails before any run,
    in one line naming the point."""
    if not config.grid:
        return
    seed, seen = config.seed_values()[0], set()
    for point in grid_points(config):
        point_cfg = point_config(config, point)
        key = point_cfg.dataset.model_dump_json()
        if key in seen:
            continue
        seen.add(key)
        try:
            data = dataset_for(point_cfg, seed)
        except DataError as exc:
            where = f"{source}: " if source else ""
            raise DataError(f"{where}point {point_label(point, short=False)}: {exc}") from None
        check_task(point_cfg, data.task)


def unit_dataset(config: Config, unit: Unit) -> Dataset:
    """The dataset of a unit: its seed's and fold's, with its points' dataset settings."""
    return dataset_for(point_config(config, unit.points[0]), unit.seed, unit.fold)


def run_unit(config: Config, unit: Unit, data: Dataset | None = None) -> list[dict]:
    """Train the unit's points × λ (× tune candidates) as few stacked models as the math
    allows; one run record per (point, λ), in the order of `unit.keys()`.

    `data` is the unit's dataset when the caller has it already (a Dask worker is sent it).
    Each run gets its training-health `status` (wdcli.health); numerical trouble shows there,
    never as a floating point warning.
    """
    data = data if data is not None else unit_dataset(config, unit)
    check_task(point_config(config, unit.points[0]), data.task)
    fit = None
    if unit.fold > 0 and config.validation.kind == "loo":
        from wdcli.models.linear import fit_ridge_loo as fit
    candidates = tune_candidates(config)
    variants = [(point, c) for point in unit.points for c in candidates]
    configs = [point_config(config, point, c) for point, c in variants]
    lambdas = np.asarray(unit.lambdas, dtype=float)
    hook = None
    if config.model.name == "mlp":
        step = "step" if config.model.batch_size == "full" else "epoch"
        hook = progress.evaluation_hook(unit.seed, unit.lambdas, step)
    extra = {"on_eval": hook} if hook else {}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        if config.tune:
            fits, elapsed = fit_tuned(
                configs, data, lambdas, unit.seed, config.tune_holdout, fit, **extra
            )
        else:
            fits, elapsed = fit_variants(configs, data, lambdas, unit.seed, fit, **extra)
    seconds = elapsed / len(unit.keys())
    fingerprint = data.fingerprint()
    runs = []
    for key in unit.keys():
        mine = [i for i, (point, _) in enumerate(variants) if point == key.point]
        k = unit.lambdas.index(key.lam)
        best = choose_candidate([fits[i] for i in mine], k) if config.tune else 0
        run = run_record(key, fits[mine[best]], k, seconds, fingerprint, data)
        if "curve" in run and configs[mine[best]].model.batch_size == "full":
            run.update(grokking.run_fields(run["curve"]))
        if config.tune:
            run["tuned"] = candidates[best]
            run["tune_trials"] = [
                {"values": c, "val_loss": _number(fits[i].metrics["val_loss"][k]),
                 "test_loss": _number(fits[i].test_loss[k])}
                for i, c in zip(mine, candidates, strict=True)
            ]  # fmt: skip
        runs.append(run)
    return runs


def warm_worker(model: str) -> None:
    """Import a model's code and `run_unit`'s (in a worker process starting while the parent
    builds the data)."""
    MODELS[model].fit_function()


def run_record(
    key: RunKey, result, k: int, seconds: float, fingerprint: str, data: Dataset
) -> dict:
    """The record of run `key`: row k of a Fit, with its training-health status."""
    lam = key.lam
    train, test, wsq = (
        float(a[k]) for a in (result.train_loss, result.test_loss, result.weight_sq_norm)
    )
    status = _statuses(result, data)[k]
    if not all(math.isfinite(v) for v in (train, test, wsq)):
        status = health.DIVERGED
    if status == health.DIVERGED:  # numbers of a run that blew up mean nothing
        train = test = wsq = math.nan
    baseline = health.baseline_loss(data.y_train, data.task == CLASSIFICATION)
    run = {
        **key.to_json(),
        "status": status,
        "train_loss": _number(train),
        "test_loss": _number(test),
        "penalty": _number(result.loss_scale * lam * wsq),
        "objective": _number(train + result.loss_scale * lam * wsq),
        "weight_sq_norm": _number(wsq),
        "baseline_loss": _number(baseline),
    }
    run.update({name: _number(values[k]) for name, values in result.metrics.items()})
    run.update({"seconds": round(seconds, 6), "data_fingerprint": fingerprint})
    if result.curves is not None:
        run["curve"] = {"epoch": [int(e) for e in result.curves["epoch"]]}
        for name, values in result.curves.items():
            if name != "epoch" and values is not None:
                run["curve"][name] = [_number(v) for v in values[k]]
    if result.pointwise is not None:
        run["pointwise_test_loss"] = [_number(v) for v in result.pointwise[k]]
    return run


def _statuses(result, data: Dataset) -> list[str]:
    """The training-health status of each of a fit's runs."""
    classification = data.task == CLASSIFICATION
    return health.statuses(
        result.train_loss,
        health.no_fit_threshold(data.y_train, classification),
        diverged=result.diverged,
        not_converged=result.not_converged,
    )


def _number(value):
    """A JSON-safe scalar: numpy → Python, non-finite floats → None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def combined_fingerprint(runs: list[dict]) -> str:
    """One fingerprint for the data of all seeds (the seed's own when they share data)."""
    runs = [r for r in runs if r.get("fold", 0) == 0]  # the whole split; folds are its parts
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
        document = finish(config, runs, destination.started_at, executor.name)
        write_atomic(destination.results_path, dumps(document), overwrite=destination.overwrite)
        # Everything is in the results file now; removed while still locked, so that no
        # other sweep can take the journal up in between.
        with contextlib.suppress(OSError):  # e.g. a folder now read-only: the file is complete
            journal.path.unlink(missing_ok=True)
    finally:
        if hasattr(stream, "close"):
            stream.close()  # a failed append stops the workers now, not when collected
        journal.close()
    return document


def finish(config: Config, runs: list[dict], started_at: str, executor_name: str) -> dict:
    """The results document of a complete set of runs, in key order, summarised per point."""
    points = {point: i for i, point in enumerate(grid_points(config))}
    order = {lam: i for i, lam in enumerate(config.lambda_values())}
    seeds = {seed: i for i, seed in enumerate(config.seed_values())}

    def position(run: dict) -> tuple:
        key = RunKey.of(run)
        return points[key.point], order[key.lam], seeds[key.seed], key.fold

    runs = sorted(runs, key=position)
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
    for selection in selections:  # λ_min, λ_1se and their notes belong to a point
        text = point_text(selection["point"])
        rows = [r for r in summary if point_text(r["point"]) == text]
        fields = selection_fields(point_config(config, text), task, None, rows,
                                  selection["best_lambda"], selection["lambda_1se"])  # fmt: skip
        selection.update({k: v for k, v in fields.items() if k not in ("validation",)})
    document.update({"validation": config.validation.model_dump(mode="json"), "notes": []})
    document["points"] = selections
    return document


def selection_fields(config: Config, task: str, runs, summary, best, one_se) -> dict:
    """What the document says about how λ was chosen: validation, spreads, notes."""
    from wdcli.folds import is_cv
    from wdcli.selection import NO_DIFFERENCE, grid_notes
    from wdcli.summary import select_lambdas

    notes = grid_notes([row["lambda"] for row in summary], best)
    regimes = [row["regime"] for row in summary if row["regime"] is not None]
    if regimes and all(regime in ("flat", "diverged") for regime in regimes):
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
