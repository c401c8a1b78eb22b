"""The config schema (pydantic models: the one source of truth).

A config names a dataset, a model, a grid of λ and the seeds. Every key is validated here,
with errors that name the file and the field; `--set key=value` overrides go through the same
path, so `validate`, `schema`, `sweep` and `init` can never disagree.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from wdcli.config.base import Strict, _no_duplicates
from wdcli.config.datasets import DatasetConfig
from wdcli.config.models import ModelConfig
from wdcli.errors import ConfigError
from wdcli.runkey import same_numbers

# --------------------------------------------------------------------------- grid, seeds

MAX_LAMBDAS = 10_000  # λ per grid: more would be a mistake (and runs are kept in memory)
MAX_SEEDS = 100_000


class LambdaGrid(Strict):
    """An evenly spaced grid of λ (log or linear), optionally with λ = 0 added."""

    start: float = Field(gt=0, allow_inf_nan=False, description="Smallest nonzero λ.")
    stop: float = Field(gt=0, allow_inf_nan=False, description="Largest λ.")
    num: int = Field(ge=1, le=MAX_LAMBDAS, description="Number of nonzero λ.")
    scale: Literal["log", "linear"] = Field("log", description="Spacing of the grid.")
    include_zero: bool = Field(False, description="Also run λ = 0 (no penalty).")

    @model_validator(mode="after")
    def _ordered_and_distinct(self) -> LambdaGrid:
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop:g}) must be ≥ start ({self.start:g})")
        if self.num == 1 and self.stop != self.start:  # it ran start alone, without a word
            raise ValueError(
                f"num: 1 is start ({self.start:g}) alone, so stop ({self.stop:g}) would be "
                "ignored; set num ≥ 2, or write the λ as a list: lambdas: "
                f"[{self.start:g}]"
            )
        values = self.values()
        if len(set(values)) < len(values):
            # Repeated λ would be counted as extra seeds: the spread and SE would be wrong.
            distinct = len(set(values)) - self.include_zero
            raise ValueError(
                f"only {distinct} of the num: {self.num} values from {self.start:g} to "
                f"{self.stop:g} are distinct; set num: {distinct} or widen start…stop"
            )
        return self

    def values(self) -> list[float]:
        """The grid's λ, ascending, λ = 0 first when included."""
        if self.num == 1 or self.start == self.stop:
            values = [self.start] * self.num
        elif self.scale == "log":
            # Powers of ten computed from exponents, so that a decade grid gives 1e-3, not
            # 0.0009999999999999998.
            low, high = math.log10(self.start), math.log10(self.stop)
            step = (high - low) / (self.num - 1)
            values = [10 ** (low + i * step) for i in range(self.num)]
            values[0], values[-1] = self.start, self.stop
        else:
            step = (self.stop - self.start) / (self.num - 1)
            values = [self.start + i * step for i in range(self.num)]
        return ([0.0] if self.include_zero else []) + values


LambdaList = Annotated[
    list[Annotated[float, Field(ge=0, allow_inf_nan=False)]], Field(max_length=MAX_LAMBDAS)
]


class LambdaAuto(Strict):
    """A λ grid chosen from the data of the first seed (docs/validation.md gives the rules)."""

    auto: Literal[True] = Field(description="Choose the grid from the data.")
    num: int = Field(30, ge=2, le=MAX_LAMBDAS, description="Number of λ in the grid.")
    values: LambdaList | None = Field(
        None, description="Filled in by the sweep: the grid it chose (recorded in results)."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value):
        return {"auto": True} if value == "auto" else value


def _as_item(value, list_key: bool) -> str:
    """One value of a `--grid` list as written on the command line: a list key's items keep
    (or get) their brackets, `[16]` (not `[[16]]` for the item [16], nor `16`)."""
    if list_key:
        value = value if isinstance(value, list) else [value]
    return json.dumps(value, separators=(",", ":")) if isinstance(value, list) else str(value)


def _lambdas_tag(value) -> str:
    if isinstance(value, BaseModel):  # serialising: the model's own type
        return "auto" if isinstance(value, LambdaAuto) else "grid"
    if value == "auto" or (isinstance(value, dict) and "auto" in value):
        return "auto"
    return "list" if isinstance(value, list) else "grid"


class Holdout(Strict):
    """Train on the training split, evaluate on the test split (the default)."""

    kind: Literal["holdout"]

    def fold_numbers(self) -> list[int]:
        """The folds of every seed: the holdout fit (fold 0) alone."""
        return [0]


class KFold(Strict):
    """k-fold cross-validation on the training split; the test split stays apart."""

    kind: Literal["kfold"]
    folds: int = Field(10, ge=2, description="Folds per repeat.")
    repeats: int = Field(1, ge=1, description="Repeats of the k-fold split, each shuffled anew.")
    stratify: bool = Field(
        True, description="Classification: keep the class proportions in every fold."
    )

    def fold_numbers(self) -> list[int]:
        """The folds of every seed: the holdout fit (0), then 1 … folds·repeats."""
        return list(range(self.folds * self.repeats + 1))


class LeaveOneOut(Strict):
    """Ridge only: exact leave-one-out errors from the one factorisation (as RidgeCV)."""

    kind: Literal["loo"]

    def fold_numbers(self) -> list[int]:
        """The folds of every seed: the holdout fit (0) and the leave-one-out errors (1)."""
        return [0, 1]


ValidationConfig = Annotated[Holdout | KFold | LeaveOneOut, Field(discriminator="kind")]


def _list_or_other(tag: str):
    return lambda value: "list" if isinstance(value, list) else tag


SeedList = Annotated[list[Annotated[int, Field(ge=0)]], Field(max_length=MAX_SEEDS)]


class Config(Strict):
    """A wdcli experiment: one dataset, one model, a grid of λ and the seeds."""

    # the config file's folder: CSV paths of its grid and tune axes are read beside it, and
    # are kept as written (so that a point's key does not depend on where wdcli ran)
    _origin: str | None = PrivateAttr(default=None)
    # the dataset's relative CSV paths as the config file writes them, before they were read
    # beside it: the hash uses these, so that it does not depend on the folder wdcli runs in
    _written_paths: dict[str, str] = PrivateAttr(default_factory=dict)

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=80,
        description="Names the results file (letters, digits, '-', '_', '.').",
    )
    dataset: DatasetConfig
    model: ModelConfig
    lambdas: Annotated[
        Annotated[LambdaList, Tag("list")]
        | Annotated[LambdaGrid, Tag("grid")]
        | Annotated[LambdaAuto, Tag("auto")],
        Discriminator(_lambdas_tag),
    ] = Field(
        description="Explicit list of λ ≥ 0, {start, stop, num, scale, include_zero}, or "
        "auto / {auto: true, num: 30}: a grid chosen from the data."
    )
    seeds: Annotated[
        Annotated[SeedList, Tag("list")] | Annotated[int, Field(ge=1, le=MAX_SEEDS), Tag("count")],
        Discriminator(_list_or_other("count")),
    ] = Field(1, description="Number of seeds (0, 1, …) or an explicit list of seeds.")
    validation: ValidationConfig = Field(
        default_factory=lambda: Holdout(kind="holdout"),
        description="holdout (the test split), {kind: kfold, folds, repeats, stratify} or "
        "{kind: loo} (ridge only).",
    )
    tolerance: float = Field(
        0.05,
        ge=0,
        description="A λ is 'good' when its mean test loss is within this fraction of the best.",
    )
    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="More axes: dotted config keys → lists of values (model.lr: [1e-3, 1e-2]); "
        "the sweep is points × λ × seeds, every point validated like the config itself.",
    )
    tune: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="Nuisance axes: dotted keys → candidate values; for every (point, λ, seed) "
        "the candidate with the lowest loss on a validation split carved from the training "
        "split is kept (the test split is never used to choose).",
    )
    tune_holdout: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="tune: fraction of the training split held out to choose the candidates.",
    )

    @field_validator("lambdas")
    @classmethod
    def _lambdas_distinct(cls, value):
        if isinstance(value, list):
            if not value:
                raise ValueError("must hold at least one λ")
            _no_duplicates(value)
        return value

    @field_validator("grid", "tune", mode="before")
    @classmethod
    def _dotted(cls, value, info: ValidationInfo):
        for key, values in value.items() if isinstance(value, dict) else ():
            if isinstance(values, dict) and values:  # grid: {model: {hidden: …}}
                inner = next(iter(values))
                raise ValueError(
                    f"{key}: axes are dotted keys, each with a list of values: "
                    f"{info.field_name}: {{{key}.{inner}: [...]}}"
                )
        return value

    @field_validator("grid", "tune")
    @classmethod
    def _axes(cls, value):
        for key, values in value.items():
            section = key.split(".")[0].split("[")[0]
            if section not in AXIS_SECTIONS:
                why = NOT_AN_AXIS.get(section, "axes are dataset and model keys")
                raise ValueError(f"{key}: not an axis ({why})")
            if not values:
                raise ValueError(f"{key}: must hold at least one value")
            overlap = [k for k in value if k != key and _nested(k, key)]
            if overlap:
                raise ValueError(f"{overlap[0]}: lies inside the axis {key}; use one of them")
            texts = [json.dumps(same_numbers(v), sort_keys=True) for v in values]
            if len(set(texts)) != len(texts):
                raise ValueError(f"{key}: duplicate value")
        return value

    @field_validator("grid")
    @classmethod
    def _more_than_one_point(cls, value):
        if value and all(len(values) == 1 for values in value.values()):
            key = next(iter(value))
            (only,) = value[key]
            if isinstance(only, list) and len(only) > 1:  # `--grid k=[a,b]`: one list value
                listed = ",".join(_as_item(v, key in LIST_KEYS) for v in only)
                raise ValueError(
                    f"{key}: one value, the list {json.dumps(only)}, makes one point, not a "
                    f"grid; for a point per item, separate them by commas: --grid {key}={listed} "
                    "(a list value keeps its brackets: model.hidden=[16],[32,32])"
                )
            raise ValueError(
                f"{key}: one value makes one point, not a grid (its results would carry no "
                f"points); set it under {key.split('.')[0]}: instead"
            )
        return value

    @field_validator("tune")
    @classmethod
    def _axes_apart(cls, value, info: ValidationInfo):
        for key in value:
            if not key.startswith("model."):
                raise ValueError(
                    f"{key}: only model keys can be tuned (every candidate trains on the same "
                    "data); put it under grid:"
                )
            if key.split("[")[0] in NOT_TUNABLE:
                raise ValueError(
                    f"{key}: cannot be tuned (it changes the model or what λ means, so the "
                    "candidates' λ would not be comparable); put it under grid:"
                )
            model = info.data.get("model")  # (a key the model lacks is refused as unknown)
            if key in CHANGES_NO_FIT and (
                model is None or key.split(".", 1)[1] in type(model).model_fields
            ):
                raise ValueError(
                    f"{key}: cannot be tuned: {CHANGES_NO_FIT[key]}, so every candidate would "
                    "fit alike, yet tune would hold out training rows to choose among them"
                )
        if value and all(len(values) == 1 for values in value.values()):
            key = next(iter(value))
            raise ValueError(
                f"{key}: one candidate leaves nothing to choose, yet tune would hold out "
                "training rows to choose it; set it under model: instead"
            )
        grid = info.data.get("grid") or {}
        both = [k for k in value for g in grid if k == g or _nested(k, g) or _nested(g, k)]
        if both:
            raise ValueError(f"{both[0]}: in both grid and tune; an axis is one or the other")
        return value

    @field_validator("seeds")
    @classmethod
    def _seeds_distinct(cls, value):
        if isinstance(value, list):
            if not value:
                raise ValueError("must hold at least one seed")
            _no_duplicates(value)
        return value

    def lambda_values(self) -> list[float]:
        """The λ grid, ascending, λ = 0 first when present."""
        grid = self.lambdas
        if isinstance(grid, LambdaAuto):
            if grid.values is None:
                raise ConfigError("lambdas: auto: the grid is chosen when the sweep starts")
            return sorted(float(v) for v in grid.values)
        return sorted(float(v) for v in grid) if isinstance(grid, list) else grid.values()

    def seed_values(self) -> list[int]:
        """The seeds, in the order given (0 … n-1 for a count)."""
        return list(self.seeds) if isinstance(self.seeds, list) else list(range(self.seeds))

    def fold_values(self) -> list[int]:
        """The folds of every seed: [0] for a holdout split, [0, 1, …] with validation."""
        return self.validation.fold_numbers()

    def resolved(self) -> dict[str, Any]:
        """The config with every default filled in, as plain JSON types."""
        return self.model_dump(mode="json")

    def hash(self) -> str:
        """A short, stable hash of the resolved config: equal configs, equal hashes."""
        resolved = self.resolved()
        resolved["dataset"].update(self._written_paths)
        text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


AXIS_SECTIONS = ("dataset", "model")  # the keys that change what trains
NOT_AN_AXIS = {
    "lambdas": "λ and seeds have keys of their own",
    "seeds": "λ and seeds have keys of their own",
    "validation": "every point is validated alike, each fold a run key of its own; run one "
    "sweep per validation",
    "tolerance": "it changes the verdicts, not what trains",
}
NOT_TUNABLE = ("model.name", "model.regularization", "model.decay_convention")
LIST_KEYS = ("model.hidden", "dataset.features", "dataset.categorical")  # list-valued options
CHANGES_NO_FIT = {  # keys whose values give the same fit
    "model.eval_every": "it sets where the curves are recorded, not how the model trains",
    "model.eval_points": "it sets where the curves are recorded, not how the model trains",
    "model.eval_rows": "it sets where the curves are recorded, not how the model trains",
    "model.max_iter": "it caps the solver's iterations, and every candidate that converges "
    "reaches the same minimiser (one that does not is not_converged)",
    "model.tol": "it sets where the solver stops, and every candidate that converges reaches "
    "the same minimiser, to its tolerance",
    "model.dtype": "it sets the floating point type, not the model (the candidates differ by "
    "rounding)",
}


def _nested(inner: str, outer: str) -> bool:
    """True when the dotted key `inner` names a part of `outer` (model.hidden[0] of
    model.hidden, dataset.x of dataset)."""
    return inner.startswith(outer) and inner[len(outer)] in ".["
