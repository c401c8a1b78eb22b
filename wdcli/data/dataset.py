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

__all__ = [
    "CLASSIFICATION",
    "REGRESSION",
    "Dataset",
    "Split",
    "copied_rows",
    "standardise",
    "target_scale",
]


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


def copied_rows(data: Dataset) -> tuple[int, int]:
    """(test rows that are exact copies of a training row, training rows that copy an earlier
    training row), features and target alike: a copy on both sides of a split is scored on
    what the model memorised. Rows are compared by a hash, then exactly where hashes meet."""
    Xa, ya, Xb, yb = data.X_train, data.y_train, data.X_test, data.y_test
    train_hash, test_hash = _row_hashes(Xa, ya), _row_hashes(Xb, yb)
    met = np.isin(test_hash, train_hash)
    twins = np.isin(train_hash, test_hash[met])
    in_test = np.isin(_row_keys(Xb[met], yb[met]), _row_keys(Xa[twins], ya[twins])).sum()
    hashes, counts = np.unique(train_hash, return_counts=True)
    repeated = np.isin(train_hash, hashes[counts > 1])
    in_train = repeated.sum() - np.unique(_row_keys(Xa[repeated], ya[repeated])).size
    return int(in_test), int(in_train)


HASHED_ROWS = 4096  # rows hashed at a time: memory stays bounded on large data


def _row_hashes(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of (X | y): equal rows, equal hashes; unequal ones rarely."""
    weights = np.arange(1, X.shape[1] + 2, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    weights |= np.uint64(1)  # odd: no bit of a value is lost to the wrap-around
    hashes = np.empty(len(y), dtype=np.uint64)
    for start in range(0, len(y), HASHED_ROWS):
        rows = _rows(X[start : start + HASHED_ROWS], y[start : start + HASHED_ROWS])
        hashes[start : start + HASHED_ROWS] = rows.view(np.uint64) @ weights
    return hashes


def _row_keys(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One opaque, comparable key per row of (X | y): its bytes."""
    rows = _rows(X, y)
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()


def _rows(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(X | y) as one C-ordered float64 array, -0.0 made 0.0 (equal values, equal bits)."""
    return np.ascontiguousarray(np.column_stack([X, y]).astype(float) + 0.0)
