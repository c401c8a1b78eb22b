"""The run key: what identifies one run of a sweep, (point, λ, seed, fold).

`point` maps the grid's dotted config keys to their values ({} without a grid); `fold` is 0
with a holdout split. Planning, resume, the journal, the summary, reports, `compare` and
plots all go through this one type, so that a new axis is a change here.

Inside Python a point is its canonical JSON text (sorted keys), so that keys are hashable and
two spellings of one point are equal; in files it is a JSON object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

EMPTY_POINT = "{}"  # point_text({})


def point_text(point: Mapping[str, Any] | str | None) -> str:
    """The canonical JSON text of a point (a mapping, its text, or None for {})."""
    if point is None:
        return EMPTY_POINT
    if isinstance(point, str):
        point = json.loads(point)
    return json.dumps(dict(point), sort_keys=True, ensure_ascii=False)  # type: ignore[arg-type]


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
        return cls(
            point_text(run.get("point")), run["lambda"], run["seed"], run.get("fold", 0) or 0
        )

    @property
    def group(self) -> tuple[str, float]:
        """(point, λ): the summary row this run belongs to, and what `compare` matches."""
        return self.point, self.lam

    def to_json(self) -> dict[str, Any]:
        """The key's fields as a run record holds them."""
        return {
            "point": json.loads(self.point),
            "lambda": self.lam,
            "seed": self.seed,
            "fold": self.fold,
        }


def row_group(row: Mapping[str, Any]) -> tuple[str, float]:
    """(point, λ) of a summary row (rows of older files have no point: {})."""
    return point_text(row.get("point")), row["lambda"]


def points_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The distinct points of runs or summary rows, in order of first appearance."""
    return list(dict.fromkeys(point_text(row.get("point")) for row in rows))
