"""The containers every model trains on, in plain numpy: a split and a standardised dataset.

This module (and `wdcli.data` itself) imports numpy only, so that the math can use it without
loading the config's schema (pydantic, PyYAML).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from wdcli.data.preprocess import prepare
from wdcli.tasks import CLASSIFICATION, REGRESSION

if TYPE_CHECKING:
    from wdcli.data.preprocess import Frame

__all__ = ["CLASSIFICATION", "REGRESSION", "Dataset", "Split", "standardise", "target_scale"]


@dataclass(frozen=True)
class Dataset:
    """A split, standardised dataset.

    X_train (n_train, d) and X_test (n_test, d) are standardised with the training split's
    statistics; y is float for regression and integer class codes 0…C-1 for classification.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    classes: list[str] = field(default_factory=list)
    target_scale: tuple[float, float] | None = None  # (mean, std) of y_train to train on

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def fingerprint(self) -> str:
        """A hash of the arrays: equal data, equal fingerprint."""
        digest = hashlib.sha256()
        for array in (self.X_train, self.y_train, self.X_test, self.y_test):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Split:
    """The train/test split before preprocessing, targets encoded (X: arrays, or Frames of a
    CSV's columns)."""

    X_train: np.ndarray | Frame
    y_train: np.ndarray
    X_test: np.ndarray | Frame
    y_test: np.ndarray
    task: str
    classes: list[str] = field(default_factory=list)


def target_scale(y: np.ndarray) -> tuple[float, float]:
    """(mean, population std) of the training targets; std 1 for a constant target, one whose
    spread is rounding of its values (relative to their size: a target of 1e-16 units, whose
    std was under an absolute 2e-15, went unscaled and every run came out no_fit)."""
    mean, std = float(np.mean(y)), float(np.std(y))
    size = float(np.max(np.abs(y), initial=0.0))
    return mean, (std if std > 10 * np.finfo(float).eps * size else 1.0)


def standardise(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale both splits by the training split's mean and population std (ddof=0).

    A (numerically) constant column is centred and not divided, as StandardScaler does.
    """
    X_train, (X_test,) = prepare(X_train, [X_test])
    return X_train, X_test
