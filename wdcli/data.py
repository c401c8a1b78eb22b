"""Datasets: build arrays from a dataset config and a seed, split them, standardise them.

Every dataset is deterministic in its seed. Features are standardised with the training
split's mean and population std (ddof=0, as scikit-learn's StandardScaler); a constant
column is centred and left unscaled. Regression targets are left in their own units.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from wdcli.config import CLASSIFICATION, REGRESSION, CsvData, DatasetBase, task_of
from wdcli.errors import DataError, read_text


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
class Raw:
    """Arrays as a loader returns them, before the split; `test` is a given test split."""

    X: np.ndarray
    y: np.ndarray
    test: tuple[np.ndarray, np.ndarray] | None = None


# --------------------------------------------------------------------------- loaders


def _poly(cfg, seed: int) -> Raw:
    # x ~ U[0, 1], y = sin(2πx) + noise: a smooth curve that a high-degree polynomial overfits.
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, cfg.n_samples)
    y = np.sin(2 * np.pi * x) + cfg.noise * rng.standard_normal(cfg.n_samples)
    X = x[:, None] ** np.arange(1, cfg.degree + 1)
    return Raw(X, y)


def _regression(cfg, seed: int) -> Raw:
    from sklearn.datasets import make_regression

    X, y = make_regression(
        n_samples=cfg.n_samples,
        n_features=cfg.n_features,
        n_informative=min(cfg.n_informative, cfg.n_features),
        effective_rank=cfg.effective_rank,
        noise=cfg.noise,
        random_state=seed,
    )
    return Raw(X, y)


def _friedman1(cfg, seed: int) -> Raw:
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(
        n_samples=cfg.n_samples, n_features=cfg.n_features, noise=cfg.noise, random_state=seed
    )
    return Raw(X, y)


def _classification(cfg, seed: int) -> Raw:
    from sklearn.datasets import make_classification

    if cfg.n_informative > cfg.n_features:
        raise DataError(
            f"dataset.n_informative: must be ≤ n_features ({cfg.n_features}), "
            f"got {cfg.n_informative}"
        )
    if cfg.n_classes > 2**cfg.n_informative:
        raise DataError(
            f"dataset.n_classes: {cfg.n_classes} classes need n_informative ≥ "
            f"{math.ceil(math.log2(cfg.n_classes))}"
        )
    X, y = make_classification(
        n_samples=cfg.n_samples,
        n_features=cfg.n_features,
        n_informative=cfg.n_informative,
        n_redundant=0,
        n_classes=cfg.n_classes,
        class_sep=cfg.class_sep,
        flip_y=cfg.flip_y,
        random_state=seed,
    )
    return Raw(X, y)


def _moons(cfg, seed: int) -> Raw:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=cfg.n_samples, noise=cfg.noise, random_state=seed)
    return Raw(X, y)


def _circles(cfg, seed: int) -> Raw:
    from sklearn.datasets import make_circles

    X, y = make_circles(
        n_samples=cfg.n_samples, noise=cfg.noise, factor=cfg.factor, random_state=seed
    )
    return Raw(X, y)


def _bundled(loader_name: str) -> Callable:
    def load(cfg, seed: int) -> Raw:
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, loader_name)(return_X_y=True)
        return Raw(X.astype(float), y)

    return load


def _csv(cfg: CsvData, seed: int) -> Raw:
    X, y = _read_csv(cfg.path, cfg.target)
    test = None
    if cfg.test_path is not None:
        test = _read_csv(cfg.test_path, cfg.target)
        if test[0].shape[1] != X.shape[1]:
            raise DataError(
                f"{cfg.test_path}: has {test[0].shape[1]} feature columns, "
                f"{cfg.path} has {X.shape[1]}"
            )
    return Raw(X, y, test)


def _read_csv(path: Path, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Numeric feature columns and the target column (numbers or labels) of a CSV file."""
    text = read_text(path, DataError, "CSV file")
    rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one data row")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise DataError(f"{path}: no column '{target}' (columns: {', '.join(header)})")
    t = header.index(target)
    features, labels = [], []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}: line {line}: {len(row)} fields, the header has {len(header)}")
        values = []
        for j, text in enumerate(row):
            if j == t:
                labels.append(text.strip())
                continue
            try:
                value = float(text)
            except ValueError:
                raise DataError(
                    f"{path}: line {line}: column '{header[j]}' is not a number: {text!r}"
                ) from None
            if not math.isfinite(value):
                raise DataError(f"{path}: line {line}: column '{header[j]}' is {text.strip()}")
            values.append(value)
        features.append(values)
    X = np.asarray(features, dtype=float).reshape(len(features), len(header) - 1)
    if X.shape[1] == 0:
        raise DataError(f"{path}: no feature columns besides '{target}'")
    return X, np.asarray(labels, dtype=object)


# name -> loader; each dataset's options and task are declared by its config class.
LOADERS: dict[str, Callable[..., Raw]] = {
    "poly": _poly,
    "regression": _regression,
    "friedman1": _friedman1,
    "classification": _classification,
    "moons": _moons,
    "circles": _circles,
    "diabetes": _bundled("load_diabetes"),
    "breast_cancer": _bundled("load_breast_cancer"),
    "wine": _bundled("load_wine"),
    "iris": _bundled("load_iris"),
    "digits": _bundled("load_digits"),
    "csv": _csv,
}


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class Split:
    """The train/test split before standardisation, targets encoded."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    classes: list[str] = field(default_factory=list)


def build_dataset(cfg: DatasetBase, seed: int) -> Dataset:
    """Load, subsample, split and standardise; `cfg.seed` (when set) overrides `seed`."""
    split = build_split(cfg, seed)
    return finish_dataset(cfg, split.X_train, split.y_train, split.X_test, split.y_test, split)


def finish_dataset(cfg: DatasetBase, X_train, y_train, X_test, y_test, split: Split) -> Dataset:
    """Standardise X with the training rows' statistics and note the target's scale."""
    if getattr(cfg, "STANDARDISE", True):  # modular's one-hot codes stay 0/1
        X_train, X_test = standardise(X_train, X_test)
    scale = None
    if split.task == REGRESSION and cfg.scale_target is not False:
        scale = target_scale(y_train)
    return Dataset(X_train, y_train, X_test, y_test, split.task, split.classes, scale)


def target_scale(y: np.ndarray) -> tuple[float, float]:
    """(mean, population std) of the training targets; std 1 for a constant target."""
    mean, std = float(np.mean(y)), float(np.std(y))
    return mean, (std if std > 10 * np.finfo(float).eps * max(1.0, abs(mean)) else 1.0)


def build_split(cfg: DatasetBase, seed: int) -> Split:
    """Load, subsample and split, targets encoded, features in their own units."""
    if cfg.name == "modular":  # all p² pairs, split its own way
        from wdcli.modular import split_modular

        return split_modular(cfg, seed)
    data_seed = cfg.seed if cfg.seed is not None else seed
    raw = LOADERS[cfg.name](cfg, data_seed)
    rng = np.random.default_rng([data_seed, 1])  # a stream of its own, apart from the loader's
    X, y = _subsample(raw.X, raw.y, cfg, rng)
    if raw.test is None:
        train, test = _split(len(y), cfg, rng)
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
    else:
        X_train, y_train = X, y
        X_test, y_test = raw.test
        if cfg.n_train is not None:
            X_train, y_train = X_train[: cfg.n_train], y_train[: cfg.n_train]
    task = task_of(cfg) or _guess_task(y_train)
    y_train, y_test, classes = _encode_targets(y_train, y_test, task, cfg)
    return Split(X_train, y_train, X_test, y_test, task, classes)


def _subsample(X, y, cfg: DatasetBase, rng) -> tuple[np.ndarray, np.ndarray]:
    if cfg.n_samples is None or cfg.n_samples >= len(y):
        return X, y
    keep = np.sort(rng.permutation(len(y))[: cfg.n_samples])
    return X[keep], y[keep]


def _split(n: int, cfg: DatasetBase, rng) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled train/test indices: n_train when given, else ceil(test_size·n) for the test."""
    if cfg.n_train is not None:
        n_test = n - cfg.n_train
        if n_test < 1:
            raise DataError(
                f"dataset.n_train: must be < the number of samples ({n}), got {cfg.n_train}"
            )
    else:
        n_test = math.ceil(cfg.test_size * n)
        if n_test >= n:
            raise DataError(f"dataset.test_size: leaves no training samples of {n}")
    order = rng.permutation(n)
    return order[n_test:], order[:n_test]


def _guess_task(y: np.ndarray) -> str:
    try:
        np.asarray(y, dtype=float)
    except ValueError:
        return CLASSIFICATION
    return REGRESSION


def _encode_targets(y_train, y_test, task: str, cfg) -> tuple[np.ndarray, np.ndarray, list[str]]:
    if task == REGRESSION:
        try:
            return y_train.astype(float), y_test.astype(float), []
        except ValueError:
            raise DataError(
                f"dataset: the target of '{cfg.name}' is not numeric; "
                "set dataset.task: classification"
            ) from None
    labels = np.concatenate([y_train, y_test])
    if labels.dtype == object:
        labels = labels.astype(str)
    classes, codes = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"dataset: the target of '{cfg.name}' has only one class")
    n = len(y_train)
    return codes[:n].astype(np.int64), codes[n:].astype(np.int64), [str(c) for c in classes]


def standardise(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale both splits by the training split's mean and population std (ddof=0).

    A (numerically) constant column is centred and not divided, as StandardScaler does.
    """
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    constant = std <= 10 * np.finfo(float).eps * np.maximum(1.0, np.abs(mean))
    std = np.where(constant, 1.0, std)
    return (X_train - mean) / std, (X_test - mean) / std
