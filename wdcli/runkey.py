"""The run key: what identifies one run of a sweep, (point, λ, seed, fold).

`point` maps the grid's dotted config keys to their values ({} without a grid); `fold` is 0
with a holdout split. Planning, resume, the journal, the summary, reports, `compare` and
plots all go through this one type, so that a new axis is a change here.

Inside Python a point is its canonical JSON text (sorted keys), so that keys are hashable and
two spellings of one point are equal; in files it is a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

EMPTY_POINT = "{}"  # point_text({})
HOLDOUT_FOLD = 0  # the fold that trains on the whole training split and scores the test split

R = TypeVar("R", bound=Mapping[str, Any])


def same_numbers(value: Any) -> Any:
    """A value with whole floats as ints (and so in lists and mappings): 4.0 is 4, [4.0] is
    [4], so that a value written either way is one (a duplicate in a grid, a point in
    `compare`: `--grid dataset.noise=1,20` against noise: [1.0, 20.0] in a file)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [same_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: same_numbers(v) for k, v in value.items()}
    return value


def point_text(point: Mapping[str, Any] | str | None) -> str:
    """The canonical JSON text of a point (a mapping, its text, or None for {})."""
    if not point:  # None, {} (or its text): the common case, without a JSON round trip
        return EMPTY_POINT
    if isinstance(point, str):
        point = json.loads(point)
    return _CANONICAL.encode(point if isinstance(point, dict) else dict(point))  # type: ignore[arg-type]


# json.dumps(…, sort_keys=True, ensure_ascii=False), built once: keys are made for every run
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def point_label(point: Mapping[str, Any] | str, short: bool = True) -> str:
    """'lr=0.001, hidden=[16]' (short: the last part of each dotted key), '' for {}."""
    values = json.loads(point) if isinstance(point, str) else point
    parts = []
    for key, value in values.items():
        name = key.rsplit(".", 1)[-1] if short else key
        text = f"{value:g}" if isinstance(value, float) else json.dumps(value)
        parts.append(f"{name}={text.strip(chr(34))}")
    return ", ".join(parts)


class RunKey(NamedTuple):
    """(point, λ, seed, fold): one run. `point` is canonical JSON text (see point_text)."""

    point: str
    lam: float
    seed: int
    fold: int = 0

    @classmethod
    def of(cls, run: Mapping[str, Any]) -> RunKey:
        """The key of a run record (older records without point or fold: {} and 0)."""
        return cls(point_text(run.get("point")), run["lambda"], run["seed"], fold_of(run))

    @property
    def row(self) -> RowKey:
        """(point, λ): the summary row this run belongs to, and what `compare` matches."""
        return RowKey(self.point, self.lam)

    @property
    def unit(self) -> tuple[int, int]:
        """(seed, fold): which of the runs its row averages over this one is; all (point, λ)
        of one unit share the data, the split and the initial weights (paired losses)."""
        return self.seed, self.fold

    @staticmethod
    def unit_of(run: Mapping[str, Any]) -> tuple[int, int]:
        """`RunKey.of(run).unit` without reading the point (the summary's inner loop)."""
        return run["seed"], fold_of(run)

    @property
    def data_key(self) -> tuple[str, int, int]:
        """(point, seed, fold): the runs that share it train on the same data."""
        return self.point, self.seed, self.fold

    @property
    def whole_split(self) -> bool:
        """Whether the run trained on the whole training split (its seed's data fingerprint
        and, with validation folds, the held-out test loss)."""
        return self.fold == HOLDOUT_FOLD

    def to_json(self) -> dict[str, Any]:
        """The key's fields as a run record holds them."""
        return {
            "point": json.loads(self.point),
            "lambda": self.lam,
            "seed": self.seed,
            "fold": self.fold,
        }


@dataclass(frozen=True)
class KeySpace:
    """Every run key of a sweep: the product of its points, λ, seeds and folds."""

    points: tuple[str, ...]
    lambdas: tuple[float, ...]
    seeds: tuple[int, ...]
    folds: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.points) * len(self.lambdas) * len(self.seeds) * len(self.folds)

    @property
    def units(self) -> list[tuple[int, int]]:
        """(seed, fold) of every unit: what each (point, λ) runs once."""
        return [(seed, fold) for seed in self.seeds for fold in self.folds]

    def keys(self) -> Iterator[RunKey]:
        """Every key, in the order of a results document's runs."""
        for point in self.points:
            for lam in self.lambdas:
                for seed, fold in self.units:
                    yield RunKey(point, lam, seed, fold)

    def sort_key(self) -> Callable[[RunKey], tuple[int, ...]]:
        """A sort key putting run keys in the order of `keys()`."""
        index = [
            {value: i for i, value in enumerate(part)}
            for part in (self.points, self.lambdas, self.seeds, self.folds)
        ]
        return lambda key: tuple(at[value] for at, value in zip(index, key, strict=True))


class RowKey(NamedTuple):
    """(point, λ): one summary row, the runs of all units at one point and λ."""

    point: str
    lam: float

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> RowKey:
        """The key of a summary row or a run (older files have no point: {})."""
        return cls(point_text(row.get("point")), row["lambda"])


def validated(runs: Iterable[RunKey]) -> bool:
    """Whether the runs hold validation folds (fold ≥ 1): then a row averages over those
    and the holdout fold's runs are reported beside them."""
    return any(not key.whole_split for key in runs)


def averaged_runs(
    runs: Iterable[R],
) -> tuple[dict[RowKey, list[R]], dict[RowKey, list[R]] | None]:
    """({row: the runs it averages over}, {row: its holdout runs} or None without validation
    folds), rows in order of the runs.

    A row averages over its units (seeds × folds): every run of its (point, λ), or with
    validation folds the runs of those folds, fold 0 (the test split's score) kept apart."""
    keyed = [(RunKey.of(run), run) for run in runs]
    cv = validated(key for key, _ in keyed)
    averaged: dict[RowKey, list[R]] = {}
    holdout: dict[RowKey, list[R]] = {}
    for key, run in keyed:
        into = holdout if cv and key.whole_split else averaged
        into.setdefault(key.row, []).append(run)
    return averaged, holdout if cv else None


def by_point(records: Iterable[R]) -> dict[str, list[R]]:
    """{point: its runs (or summary rows)}, points in order of first appearance."""
    grouped: dict[str, list[R]] = {}
    for record in records:
        grouped.setdefault(point_text(record.get("point")), []).append(record)
    return grouped


def fold_of(run: Mapping[str, Any]) -> int:
    """A run's fold (records written before folds: the holdout fold)."""
    return run.get("fold", HOLDOUT_FOLD) or HOLDOUT_FOLD


def validation_folds(runs: Iterable[Mapping[str, Any]]) -> int:
    """How many validation folds (fold ≥ 1) the runs have per seed (0 with a holdout split)."""
    return len({fold_of(run) for run in runs} - {HOLDOUT_FOLD})
