"""The `dataset:` section: one model per dataset name, in DATASET_CONFIGS."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from wdcli.config.base import Strict, _no_duplicates, subclasses_by_name, tagged_union
from wdcli.tasks import CLASSIFICATION, REGRESSION

# --------------------------------------------------------------------------- datasets


class DatasetBase(Strict):
    TASK: ClassVar[str | None] = REGRESSION  # what a model must learn; None: read from the data
    STANDARDISE: ClassVar[bool] = True  # X scaled on the training rows (modular's 0/1: no)

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
    n_samples: int = Field(60, ge=2, description="Samples to draw.")
    noise: float = Field(0.3, ge=0, description="Std of the Gaussian noise on the target.")
    degree: int = Field(15, ge=1, le=60, description="Highest power of x among the features.")


class RegressionData(DatasetBase):
    """scikit-learn's make_regression: a random linear target plus noise."""

    name: Literal["regression"]
    n_samples: int = Field(200, ge=2, description="Samples to draw.")
    n_features: int = Field(100, ge=1, description="Number of features.")
    n_informative: int = Field(10, ge=1, description="Features that enter the target.")
    effective_rank: int | None = Field(
        None, ge=1, description="Approximate rank of X (correlated features); None: full rank."
    )
    noise: float = Field(10.0, ge=0, description="Std of the Gaussian noise on the target.")


class Friedman1Data(DatasetBase):
    """scikit-learn's make_friedman1: a smooth nonlinear target of 5 of the features."""

    name: Literal["friedman1"]
    n_samples: int = Field(400, ge=2, description="Samples to draw.")
    n_features: int = Field(10, ge=5, description="Number of features (5 are informative).")
    noise: float = Field(1.0, ge=0, description="Std of the Gaussian noise on the target.")


class ClassificationData(DatasetBase):
    """scikit-learn's make_classification: Gaussian clusters per class."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["classification"]
    n_samples: int = Field(400, ge=2, description="Samples to draw.")
    n_features: int = Field(20, ge=2, description="Number of features.")
    n_informative: int = Field(5, ge=1, description="Features that carry the class.")
    n_classes: int = Field(2, ge=2, description="Number of classes.")
    class_sep: float = Field(1.0, gt=0, description="Distance between the class clusters.")
    flip_y: float = Field(0.01, ge=0, le=1, description="Fraction of labels flipped at random.")


class MoonsData(DatasetBase):
    """Two interleaving half circles (two classes, two features)."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["moons"]
    n_samples: int = Field(400, ge=2, description="Samples to draw.")
    noise: float = Field(0.3, ge=0, description="Std of the Gaussian noise on the points.")


class CirclesData(DatasetBase):
    """A circle inside a circle (two classes, two features)."""

    TASK: ClassVar[str | None] = CLASSIFICATION
    name: Literal["circles"]
    n_samples: int = Field(400, ge=2, description="Samples to draw.")
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
        None,
        description="Optional CSV with the same columns, used as the test split (then every "
        "row of path trains, or its first n_train rows).",
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


# The `dataset:` classes by the name each declares, in the order defined above: a new dataset
# is one more subclass of DatasetBase here (its loader: wdcli.data.sources; a test checks both
# hold the same names).
DATASET_CONFIGS: dict[str, type[DatasetBase]] = subclasses_by_name(DatasetBase)

if TYPE_CHECKING:  # one of the classes above; mypy cannot follow a union built at run time
    DatasetConfig = Any
else:
    DatasetConfig = tagged_union(DATASET_CONFIGS)


def task_of(cfg: DatasetBase) -> str | None:
    """The dataset's task when it is known without reading data (None for csv 'auto')."""
    if isinstance(cfg, CsvData):
        return None if cfg.task == "auto" else cfg.task
    return cfg.TASK
