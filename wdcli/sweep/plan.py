"""The plan of a sweep, its work units and their run keys, and what is left to do after a crash."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from wdcli.config import Config, task_of
from wdcli.config.grid import key_space, point_config
from wdcli.errors import ConfigError
from wdcli.models import MODELS
from wdcli.runkey import EMPTY_POINT, RunKey
from wdcli.sweep.stacking import stack_groups
from wdcli.tasks import CLASSIFICATION, REGRESSION


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
    by default in as few near-equal chunks as keep `workers` units running at once (one,
    whatever the workers, for a model whose runs depend on their stack: `split_lambdas`)."""
    space = key_space(config)
    lambdas, seeds, folds = space.lambdas, space.seeds, space.folds
    groups = stack_groups(config)
    sizes = unit_sizes(config, groups, len(lambdas), workers)
    return [
        Unit(seed, tuple(lambdas[i : i + size]), fold, points)
        for points in groups
        for size in [lambdas_per_unit or sizes[points]]
        for seed in seeds
        for fold in folds
        for i in range(0, len(lambdas), size)
    ]


def unit_sizes(config: Config, groups: list, lambdas: int, workers: int) -> dict:
    """{group of points: λ per unit} when each (group, seed, fold)'s `lambdas` λ are cut into
    near-equal chunks that keep `workers` units running at once; uncut for a model whose runs
    depend on their stack (`split_lambdas`: the same stacks on every executor)."""
    stacks = len(config.seed_values()) * len(config.fold_values()) * len(groups)
    split = -(-lambdas // chunks_per_seed(stacks, lambdas, workers)) or 1
    return {  # (a model.name axis: each group's own model)
        points: split
        if MODELS[point_config(config, points[0]).model.name].split_lambdas
        else lambdas or 1
        for points in groups
    }


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


def check_task(config: Config, task: str | None = None) -> None:
    """Refuse a model that cannot learn the dataset's task (known before any data is read)."""
    task = task or task_of(config.dataset)
    tasks = MODELS[config.model.name].tasks
    if task is not None and task not in tasks:
        fitting = [name for name, spec in MODELS.items() if task in spec.tasks]
        # a CSV's numeric target was read as quantities: numbers may well be class labels
        labels = task == REGRESSION and getattr(config.dataset, "task", None) == "auto"
        hint = ", or set dataset.task: classification if the target holds classes"
        path, target = getattr(config.dataset, "path", None), getattr(config.dataset, "target", "")
        name = f"'{config.dataset.name}'" if path is None else f"{path} (target '{target}')"
        auto = getattr(config.dataset, "task", None) == "auto"
        why = " (its target holds text)" if path and task == CLASSIFICATION and auto else ""
        raise ConfigError(
            f"model.name: '{config.model.name}' is for {' and '.join(tasks)}, but dataset "
            f"{name} is {task}{why}; use {' or '.join(fitting)}" + (hint if labels else "")
        )
