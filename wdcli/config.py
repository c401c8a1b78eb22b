"""The config schema (pydantic models: the one source of truth) and the YAML loader.

A config names a dataset, a model, a grid of λ and the seeds. Every key is validated here,
with errors that name the file and the field; `--set key=value` overrides go through the same
path, so `validate`, `schema`, `sweep` and `init` can never disagree.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
import math
import operator
import re
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from wdcli.errors import ConfigError, read_text


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, not silently ignored, and a
    boolean is never taken for a number (pydantic would read `lambdas: [no, yes]` as 0, 1)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, data):
        # Booleans where numbers belong are wrapped, so that the field's own number check
        # refuses them and `_describe` names them (a before-validator on the fields cannot
        # be used: it would clash with the discriminator `name`).
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key, value in data.items():
            field = cls.model_fields.get(key) if isinstance(key, str) else None
            if field is None:
                continue
            scalar, items = _numeric_kinds(field.annotation)
            if scalar and isinstance(value, bool):
                data[key] = YamlBoolean(value)
            elif items and isinstance(value, list):
                data[key] = [YamlBoolean(v) if isinstance(v, bool) else v for v in value]
        return data


class YamlBoolean:
    """A boolean found where a number belongs (YAML reads yes/no/on/off as booleans)."""

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return str(self.value).lower()


_YAML_BOOLEANS = " (YAML reads yes/no/on/off/true/false as booleans)"


@functools.cache
def _numeric_kinds(annotation) -> tuple[bool, bool]:
    """(may hold a number, may hold a list of numbers) for a field's type annotation."""
    if annotation in (int, float):
        return True, False
    origin = get_origin(annotation)
    if origin is list:
        return False, any(_numeric_kinds(arg)[0] for arg in get_args(annotation))
    if origin in (Union, UnionType, Annotated):
        kinds = [_numeric_kinds(arg) for arg in get_args(annotation) if _is_type(arg)]
        return any(k[0] for k in kinds), any(k[1] for k in kinds)
    return False, False


def _is_type(arg) -> bool:
    return isinstance(arg, type) or get_origin(arg) is not None


# --------------------------------------------------------------------------- datasets


REGRESSION = "regression"
MAX_LAMBDAS = 10_000  # λ per grid: more would be a mistake (and runs are kept in memory)
MAX_SEEDS = 100_000
CLASSIFICATION = "classification"


class DatasetBase(Strict):
    TASK: ClassVar[str | None] = REGRESSION  # what a model must learn; None: read from the data

    n_samples: int | None = Field(
        None, ge=2, description="Samples to draw (synthetic) or to subsample (bundled, csv)."
    )
    n_train: int | None = Field(
        None, ge=1, description="Training samples; overrides test_size when given."
    )
    test_size: float = Field(0.25, gt=0, lt=1, description="Fraction of samples held out.")
    seed: int | None = Field(
        None,
        ge=0,
        description="Fixes the data and the split for every run; leave it out to draw them "
        "anew with each run's seed.",
    )
    scale_target: bool | None = Field(
        None,
        description="Regression: train on targets standardised with the training rows' mean "
        "and std (as glmnet does); losses are still reported in target units. null (the "
        "default) means true for regression; ridge is unchanged by it (w only rescales).",
    )


class PolyData(DatasetBase):
    """One input x in [0, 1], target sin(2πx) + noise, polynomial features x¹…x^degree."""

    name: Literal["poly"]
    n_samples: int | None = Field(60, ge=2, description="Samples to draw.")
    noise: float = Field(0.3, ge=0, description="Std of the Gaussian noise on the target.")
    degree: int = Field(15, ge=1, le=60, description="Highest power of x among the features.")


class RegressionData(DatasetBase):
    """scikit-learn's make_regression: a random linear target plus noise."""

    name: Literal["regression"]
    n_samples: int | None = Field(200, ge=2, description="Samples to draw.")
    n_features: int = Field(100, ge=1, description="Number of features.")
    n_informative: int = Field(10, ge=1, description="Features that enter the target.")
    effective_rank: int | None = Field(
        None, ge=1, description="Approximate rank of X (correlated features); None: full rank."
    )
    noise: float = Field(10.0, ge=0, description="Std of the Gaussian noise on the target.")


class Friedman1Data(DatasetBase):
    """scikit-learn's make_friedman1: a smooth nonlinear target of 5 of the features."""

    name: Literal["friedman1"]
    n_samples: int | None = Field(400, ge=2, description="Samples to draw.")
    n_features: int = Field(10, ge=5, description="Number of features (5 are informative).")
    noise: float = Field(1.0, ge=0, description="Std of the Gaussian noise on the target.")


class ClassificationData(DatasetBase):
    """scikit-learn's make_classification: Gaussian clusters per class."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["classification"]
    n_samples: int | None = Field(400, ge=2, description="Samples to draw.")
    n_features: int = Field(20, ge=2, description="Number of features.")
    n_informative: int = Field(5, ge=1, description="Features that carry the class.")
    n_classes: int = Field(2, ge=2, description="Number of classes.")
    class_sep: float = Field(1.0, gt=0, description="Distance between the class clusters.")
    flip_y: float = Field(0.01, ge=0, le=1, description="Fraction of labels flipped at random.")


class MoonsData(DatasetBase):
    """Two interleaving half circles (two classes, two features)."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["moons"]
    n_samples: int | None = Field(400, ge=2, description="Samples to draw.")
    noise: float = Field(0.3, ge=0, description="Std of the Gaussian noise on the points.")


class CirclesData(DatasetBase):
    """A circle inside a circle (two classes, two features)."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["circles"]
    n_samples: int | None = Field(400, ge=2, description="Samples to draw.")
    noise: float = Field(0.1, ge=0, description="Std of the Gaussian noise on the points.")
    factor: float = Field(0.5, gt=0, lt=1, description="Inner circle's radius / outer's.")


class DiabetesData(DatasetBase):
    """scikit-learn's bundled diabetes data (442 samples, 10 features, regression)."""

    name: Literal["diabetes"]


class BreastCancerData(DatasetBase):
    """scikit-learn's bundled breast cancer data (569 samples, 30 features, 2 classes)."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["breast_cancer"]


class WineData(DatasetBase):
    """scikit-learn's bundled wine data (178 samples, 13 features, 3 classes)."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["wine"]


class IrisData(DatasetBase):
    """scikit-learn's bundled iris data (150 samples, 4 features, 3 classes)."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["iris"]


class DigitsData(DatasetBase):
    """scikit-learn's bundled 8×8 digits (1797 samples, 64 features, 10 classes)."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["digits"]


class CsvData(DatasetBase):
    """Your own CSV file: feature columns (numbers, or categories to one-hot encode) and a
    target column."""

    TASK: ClassVar[str | None] = None
    name: Literal["csv"]
    path: Path = Field(description="CSV file with a header row (relative to the config file).")
    target: str = Field(description="Name of the target column.")
    test_path: Path | None = Field(
        None, description="Optional CSV with the same columns, used as the test split."
    )
    task: Literal["auto", "regression", "classification"] = Field(
        "auto",
        description="auto: regression when every target cell is a number, classification when "
        "none is (a mix is refused).",
    )
    features: list[str] | None = Field(
        None, description="Columns to use as features (default: all but the target)."
    )
    categorical: list[str] = Field(
        [],
        description="Feature columns of categories, one-hot encoded (categories learnt from "
        "the training rows; one unseen there becomes all zeros).",
    )
    impute: Literal["refuse", "mean", "median"] = Field(
        "refuse",
        description="Missing feature cells: refuse (an error naming line and column), or fill "
        "with the training rows' mean / median (categories: the most frequent).",
    )

    @field_validator("features", "categorical")
    @classmethod
    def _distinct_names(cls, names):
        if names is not None:
            _no_duplicates(names)
        return names

    @model_validator(mode="after")
    def _columns(self) -> CsvData:
        if self.features is not None and not self.features:
            raise ValueError("features: must name at least one column")
        for key, names in (("features", self.features or []), ("categorical", self.categorical)):
            if self.target in names:
                raise ValueError(f"{key}: '{self.target}' is the target, not a feature")
        if self.features is not None:
            other = [name for name in self.categorical if name not in self.features]
            if other:
                raise ValueError(
                    f"categorical: '{other[0]}' is not among the features {self.features}"
                )
        return self


class ModularData(DatasetBase):
    """(a ∘ b) mod p for every pair of residues: p classes, one-hot(a) ‖ one-hot(b) inputs.

    Every one of the p² pairs appears exactly once, in the training or the test split; the
    inputs are 0/1 codes and are not standardised (docs/grokking.md says why).
    """

    TASK: ClassVar[str | None] = CLASSIFICATION
    REFUSED: ClassVar[tuple[str, ...]] = ("n_samples", "test_size")  # all pairs; train_fraction
    STANDARDISE: ClassVar[bool] = False  # one-hot codes stay 0/1 (docs/grokking.md)
    name: Literal["modular"]
    # Refused when given (below) and left out of the resolved config, which then re-validates.
    n_samples: int | None = Field(None, exclude=True, description="Does not apply (p² pairs).")
    test_size: float = Field(0.25, exclude=True, description="Does not apply: train_fraction.")
    p: int = Field(
        31, ge=2, le=256, description="The modulus (a prime is the classic choice); p² pairs."
    )
    operation: Literal["add", "subtract", "multiply"] = Field(
        "add", description="The label of (a, b): (a + b), (a − b) or (a·b) mod p."
    )
    train_fraction: float = Field(
        0.5, gt=0, lt=1, description="Fraction of the p² pairs used for training."
    )

    @model_validator(mode="after")
    def _one_split(self) -> ModularData:
        for key in self.REFUSED:
            if key in self.model_fields_set:
                raise ValueError(
                    f"{key} does not apply: modular uses all p² pairs, split by "
                    "train_fraction (or n_train)"
                )
        total, n_train = self.p * self.p, self.n_train_pairs()
        key = "n_train" if self.n_train is not None else "train_fraction"
        if n_train < 1:
            raise ValueError(f"{key} leaves no training pairs of the {total} (p = {self.p})")
        if n_train >= total:
            raise ValueError(f"{key} leaves no test pairs of the {total} (p = {self.p})")
        return self

    def n_train_pairs(self) -> int:
        """Training pairs: n_train when given, else ⌊train_fraction · p²⌋."""
        if self.n_train is not None:
            return self.n_train
        return math.floor(self.train_fraction * self.p * self.p)


DATASET_CONFIGS: dict[str, type[DatasetBase]] = {
    cls.model_fields["name"].annotation.__args__[0]: cls
    for cls in (
        PolyData,
        RegressionData,
        Friedman1Data,
        ClassificationData,
        MoonsData,
        CirclesData,
        DiabetesData,
        BreastCancerData,
        WineData,
        IrisData,
        DigitsData,
        CsvData,
        ModularData,
    )
}

DatasetConfig = Annotated[
    functools.reduce(operator.or_, DATASET_CONFIGS.values()), Field(discriminator="name")
]


def task_of(cfg: DatasetBase) -> str | None:
    """The dataset's task when it is known without reading data (None for csv 'auto')."""
    if isinstance(cfg, CsvData):
        return None if cfg.task == "auto" else cfg.task
    return cfg.TASK


# --------------------------------------------------------------------------- models


class LinearModel(Strict):
    """Ridge regression: the exact λ path from one factorisation."""

    name: Literal["linear"]
    solver: Literal["auto", "svd", "eigh"] = Field(
        "auto",
        description="svd: thin SVD of X (safe on ill-conditioned X); eigh: eigendecomposition "
        "of the Gram matrix (faster); auto: eigh when X is well conditioned, else svd.",
    )


class LogisticModel(Strict):
    """L2-regularised logistic (two classes) or softmax (more) regression."""

    name: Literal["logistic"]
    tol: float = Field(
        1e-8,
        gt=0,
        description="Stop when the gradient's max-norm is below this (at λ = 0 the Newton "
        "step must be small too: on separable data no minimiser exists).",
    )
    max_iter: int = Field(100, ge=1, description="Most Newton iterations per λ.")


class MLPModel(Strict):
    """A small fully connected network trained by mini-batch gradient descent."""

    name: Literal["mlp"]
    hidden: list[Annotated[int, Field(ge=1)]] = Field(
        [64, 64], description="Units in each hidden layer."
    )
    activation: Literal[
        "relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "identity"
    ] = Field("relu", description="Activation of the hidden layers.")
    init: Literal["auto", "he", "glorot"] = Field(
        "auto", description="Initial weights; auto: He for relu-like, Glorot otherwise."
    )
    optimizer: Literal["sgd", "momentum", "adam"] = Field("adam", description="Update rule.")
    lr: float = Field(1e-3, gt=0, description="Learning rate.")
    momentum: float = Field(0.9, ge=0, lt=1, description="Momentum (optimizer: momentum).")
    nesterov: bool = Field(False, description="Nesterov momentum (optimizer: momentum).")
    beta1: float = Field(0.9, ge=0, lt=1, description="Adam's first-moment decay.")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam's second-moment decay.")
    eps: float = Field(1e-8, gt=0, description="Adam's epsilon.")
    batch_size: Annotated[int, Field(ge=1)] | Literal["full"] = Field(
        32,
        description="Samples per mini-batch (capped at n_train); full: every step is one "
        "gradient step on the whole training split, in a fixed order (one epoch = one step).",
    )
    epochs: int = Field(200, ge=1, description="Passes over the training data.")
    regularization: Literal["l2", "decoupled"] = Field(
        "l2",
        description="l2: λΣw² added to the loss; decoupled: w ← w − lr·2λ·w beside the "
        "optimiser step (AdamW-style).",
    )
    decay_convention: Literal["torch", "paper"] = Field(
        "torch",
        description="decoupled only. torch: w ← w − lr·η_t·2λ·w (PyTorch's AdamW with "
        "weight_decay = 2λ: the decay follows the learning rate); paper: w ← w − η_t·2λ·w "
        "(Loshchilov & Hutter: only the schedule multiplier η_t scales the decay).",
    )
    schedule: Literal["constant", "cosine", "step"] = Field(
        "constant",
        description="Learning-rate multiplier η_t per mini-batch step: constant 1; cosine "
        "from 1 to 0 over training (after the warm-up); step: × step_gamma every step_epochs.",
    )
    warmup_epochs: int = Field(
        0, ge=0, description="cosine: epochs of linear warm-up from 0 to 1 before the decay."
    )
    step_epochs: int = Field(50, ge=1, description="step: epochs between two drops of η_t.")
    step_gamma: float = Field(0.1, gt=0, le=1, description="step: factor of each drop.")
    dtype: Literal["float64", "float32"] = Field("float64", description="Floating point type.")

    @model_validator(mode="after")
    def _warmup_fits(self) -> MLPModel:
        if self.schedule == "cosine" and self.warmup_epochs >= self.epochs:
            raise ValueError(
                f"warmup_epochs ({self.warmup_epochs}) must be < epochs ({self.epochs})"
            )
        return self

    eval_every: int = Field(
        1,
        ge=1,
        description="Record train/test loss (and accuracy) in the curve every this many epochs, "
        "i.e. steps with batch_size: full (each point evaluates both whole splits: raise it "
        "for large data or long runs).",
    )

    eval_points: int | None = Field(
        None,
        ge=2,
        le=10_000,
        description="Instead of every eval_every epochs, record the curves at about this many "
        "epochs (steps) spaced evenly on a log scale, plus epoch 0: dense early, where a "
        "full-batch network memorises, sparse late, compact for long runs.",
    )

    eval_rows: int | None = Field(
        None,
        ge=64,
        description="Cheaper curves: points between the first, the late (start of the last "
        "tenth) and the last epoch are estimated on every s-th row of a split larger than this "
        "(at most this many rows); those three points and every reported loss use the whole "
        "split. null (default): every point on the whole split. Full-batch runs always use "
        "the whole split.",
    )

    @field_validator("batch_size", mode="before")
    @classmethod
    def _batch_size(cls, value):
        if value == "full" or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
        ):
            return value
        raise ValueError(f"must be an integer ≥ 1 or 'full', got {value!r}")

    def batch_rows(self, n_train: int) -> int:
        """Rows per step on n_train training rows: batch_size capped at n_train, or all."""
        return n_train if self.batch_size == "full" else min(self.batch_size, n_train)


MODEL_CONFIGS: dict[str, type[Strict]] = {
    "linear": LinearModel,
    "logistic": LogisticModel,
    "mlp": MLPModel,
}

ModelConfig = Annotated[LinearModel | LogisticModel | MLPModel, Field(discriminator="name")]

# --------------------------------------------------------------------------- grid, seeds


class LambdaGrid(Strict):
    """An evenly spaced grid of λ (log or linear), optionally with λ = 0 added."""

    start: float = Field(gt=0, description="Smallest nonzero λ.")
    stop: float = Field(gt=0, description="Largest λ.")
    num: int = Field(ge=1, le=MAX_LAMBDAS, description="Number of nonzero λ.")
    scale: Literal["log", "linear"] = Field("log", description="Spacing of the grid.")
    include_zero: bool = Field(False, description="Also run λ = 0 (no penalty).")

    @model_validator(mode="after")
    def _ordered_and_distinct(self) -> LambdaGrid:
        if self.stop < self.start:
            raise ValueError(f"stop ({self.stop:g}) must be ≥ start ({self.start:g})")
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


def _lambdas_tag(value) -> str:
    if isinstance(value, BaseModel):  # serialising: the model's own type
        return "auto" if isinstance(value, LambdaAuto) else "grid"
    if value == "auto" or (isinstance(value, dict) and "auto" in value):
        return "auto"
    return "list" if isinstance(value, list) else "grid"


class Holdout(Strict):
    """Train on the training split, evaluate on the test split (the default)."""

    kind: Literal["holdout"]


class KFold(Strict):
    """k-fold cross-validation on the training split; the test split stays apart."""

    kind: Literal["kfold"]
    folds: int = Field(10, ge=2, description="Folds per repeat.")
    repeats: int = Field(1, ge=1, description="Repeats of the k-fold split, each shuffled anew.")
    stratify: bool = Field(
        True, description="Classification: keep the class proportions in every fold."
    )


class LeaveOneOut(Strict):
    """Ridge only: exact leave-one-out errors from the one factorisation (as RidgeCV)."""

    kind: Literal["loo"]


ValidationConfig = Annotated[Holdout | KFold | LeaveOneOut, Field(discriminator="kind")]


def _list_or_other(tag: str):
    return lambda value: "list" if isinstance(value, list) else tag


SeedList = Annotated[list[Annotated[int, Field(ge=0)]], Field(max_length=MAX_SEEDS)]


class Config(Strict):
    """A wdcli experiment: one dataset, one model, a grid of λ and the seeds."""

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

    @field_validator("grid", "tune")
    @classmethod
    def _axes(cls, value):
        for key, values in value.items():
            if key.split(".")[0].split("[")[0] in AXIS_FORBIDDEN:
                raise ValueError(f"{key}: not an axis (λ and seeds have keys of their own)")
            if not values:
                raise ValueError(f"{key}: must hold at least one value")
            texts = [json.dumps(v, sort_keys=True) for v in values]
            if len(set(texts)) != len(texts):
                raise ValueError(f"{key}: duplicate value")
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
        both = [key for key in value if key in (info.data.get("grid") or {})]
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

    def resolved(self) -> dict[str, Any]:
        """The config with every default filled in, as plain JSON types."""
        return self.model_dump(mode="json")

    def hash(self) -> str:
        """A short, stable hash of the resolved config: equal configs, equal hashes."""
        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


AXIS_FORBIDDEN = ("name", "lambdas", "seeds", "grid", "tune", "tune_holdout")


def _no_duplicates(values: list) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(
                f"duplicate value {value:g}" if not isinstance(value, str) else f"'{value}' twice"
            )
        seen.add(value)


# --------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """A safe loader that reads 1e-4 as a number (YAML 1.1 wants 1.0e-4) and refuses
    duplicate keys instead of keeping the last one silently. Merge keys (`<<: *base`) work
    as YAML defines them: the mapping's own keys override the merged ones."""

    def construct_mapping(self, node, deep=False):
        keys = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"line {line}: duplicate key '{key}'")
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text with the safe loader; errors name the source and the line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: {where}invalid YAML: {problem}") from None


# --------------------------------------------------------------------------- overrides

_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split_key(key: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for match in _KEY_PART.finditer(key):
        if match.start() != pos and not (key[pos] == "." and match.start() == pos + 1):
            break
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts or pos != len(key):
        raise ConfigError(
            f"--set {key}: not a key (use dotted names and [i], e.g. model.hidden[0])"
        )
    return parts


def apply_override(data: dict, assignment: str, defaults: dict | None = None) -> None:
    """Apply one `key=value` override in place; the value is parsed as YAML.

    A section or list that the file leaves to its default is first copied from `defaults`
    (the resolved config), so `--set model.hidden[1]=32` works on the default hidden sizes.
    """
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment}: expected key=value")
    key = key.strip()
    parts = _split_key(key)
    value = parse_yaml(text, f"--set {key}") if text.strip() else None
    node: Any = data
    default: Any = defaults
    for i, part in enumerate(parts):
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError(f"--set {key}: {_join_key(parts[:i]) or 'config'} is not a list")
            if part >= len(node):
                raise ConfigError(f"--set {key}: index {part} out of range (length {len(node)})")
        elif not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {_join_key(parts[:i])} is not a mapping")
        default = _child(default, part)
        if i == len(parts) - 1:
            node[part] = value
        else:
            if isinstance(part, str) and not isinstance(node.get(part), (dict, list)):
                node[part] = copy.deepcopy(default) if isinstance(default, (dict, list)) else {}
            node = node[part]


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _join_key(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --------------------------------------------------------------------------- validation


MAX_ERRORS = 5  # errors listed at most: the first ones, then how many more


def _is_extension(key) -> bool:
    """Top-level `x-…` keys hold YAML anchors for merge keys (`<<: *base`) and are ignored,
    as Docker Compose does."""
    return isinstance(key, str) and key.startswith("x-")


def validate(data: Any, source: str) -> Config:
    """Validate raw data (from YAML) into a Config, or raise ConfigError naming the field."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise ConfigError(f"{source}: the config is {kind}")
    data = {k: v for k, v in data.items() if not _is_extension(k)}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        # A misspelt key also makes the real one missing: name the misspelling first.
        errors = sorted(exc.errors(), key=lambda err: err["type"] != "extra_forbidden")
        lines = [f"{source}: {_describe(err)}" for err in errors[:MAX_ERRORS]]
        if len(errors) > MAX_ERRORS:
            more = len(errors) - MAX_ERRORS
            lines.append(f"{source}: … and {more} more error{'s' if more > 1 else ''}")
        raise ConfigError("\n".join(lines)) from None
    if isinstance(config.validation, LeaveOneOut) and config.model.name != "linear":
        raise ConfigError(
            f"{source}: validation.kind: loo is exact for ridge only (model.name: linear), "
            f"not '{config.model.name}'; use {{kind: kfold}}"
        )
    _resolve_paths(config, source)
    return config


def _describe(err: dict) -> str:
    """One line for a pydantic error: the field path, then what is wrong."""
    loc = list(err["loc"])
    if len(loc) > 1 and loc[0] in ("dataset", "model", "lambdas", "seeds", "validation"):
        tag = loc.pop(1)  # the union member's tag, not a key the user wrote
    else:
        tag = None
    field = _join_key(loc) or "config"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{field}: unknown key{_suggest(loc, tag)}"
    if kind == "missing":
        return f"{field}: required key is missing"
    if kind == "union_tag_invalid" and loc == ["validation"]:
        return (
            f"validation.kind: unknown kind '{err['ctx']['tag']}'; choose from holdout, kfold, loo"
        )
    if kind == "union_tag_invalid":
        names = DATASET_CONFIGS if loc == ["dataset"] else MODEL_CONFIGS
        given = err["ctx"]["tag"]
        close = difflib.get_close_matches(str(given), list(names), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{field}.name: unknown name '{given}'{hint}; choose from {', '.join(names)}"
    if kind == "union_tag_not_found":
        return f"{field}.name: required key is missing"
    if (kind == "model_attributes_type" or kind == "model_type") and loc == ["lambdas"]:
        return "lambdas: must be a list of λ, a mapping, or auto"
    if kind == "model_attributes_type" or kind == "model_type":
        return f"{field}: must be a mapping"
    if isinstance(err.get("input"), YamlBoolean):
        return f"{field}: must be a number, not {err['input']!r}{_YAML_BOOLEANS}"
    message = err["msg"]
    message = message.removeprefix("Value error, ")
    key = re.match(r"(\w+): ", message)
    if key and kind == "value_error":  # a section's check naming its key: dataset.categorical
        field, message = f"{field}.{key.group(1)}", message[key.end() :]
    message = message.replace("Input should be", "must be").replace("String should", "must")
    for words, sign in _COMPARISONS.items():
        message = message.replace(words, sign)
    return f"{field}: {message[0].lower()}{message[1:]}"


_COMPARISONS = {
    "greater than or equal to": "≥",
    "less than or equal to": "≤",
    "greater than": ">",
    "less than": "<",
}


def _suggest(loc: list, tag: str | None) -> str:
    """' (did you mean 'hidden'?)' for a misspelt key, from the fields of its section."""
    section = (
        {
            "dataset": DATASET_CONFIGS.get(tag),
            "model": MODEL_CONFIGS.get(tag),
            "lambdas": LambdaAuto if tag == "auto" else LambdaGrid,
            "validation": {"holdout": Holdout, "kfold": KFold, "loo": LeaveOneOut}.get(tag),
        }.get(loc[0])
        if len(loc) == 2
        else (Config if len(loc) == 1 else None)
    )
    if section is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(section.model_fields), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _resolve_paths(config: Config, source: str) -> None:
    """Make a CSV dataset's paths relative to the config file, as a user reads them."""
    data = config.dataset
    if isinstance(data, CsvData) and not source.startswith("<"):
        base = Path(source).parent
        if not data.path.is_absolute():
            data.path = base / data.path
        if data.test_path is not None and not data.test_path.is_absolute():
            data.test_path = base / data.test_path


def load_config(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    grid: list[str] | tuple[str, ...] = (),
    tune: list[str] | tuple[str, ...] = (),
) -> Config:
    """Read a YAML config file, apply `--set` overrides and `--grid`/`--tune` axes, validate
    the config and every point of its grid (wdcli.grid)."""
    from wdcli.grid import check_axes, parse_axis

    source = str(path)
    data = parse_yaml(read_text(path, ConfigError, "config file"), source)
    if overrides and isinstance(data, dict):
        defaults = _resolved_or_none(data)
        for assignment in overrides:
            apply_override(data, assignment, defaults)
    for section, options in (("grid", grid), ("tune", tune)):
        for text in options:
            key, values = parse_axis(f"--{section}", text)
            if isinstance(data, dict):
                if not isinstance(data.get(section), dict):
                    data[section] = {}
                data[section][key] = values
    config = validate(data, source)
    check_axes(config, source)
    return config


def _resolved_or_none(data: dict) -> dict | None:
    try:
        data = {k: v for k, v in data.items() if not _is_extension(k)}
        return Config.model_validate(copy.deepcopy(data)).resolved()
    except (ValidationError, ValueError):
        return None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editors."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "wdcli config"
    return schema
