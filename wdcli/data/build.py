"""Datasets: build arrays from a dataset config and a seed, split them, preprocess them.

Every dataset is deterministic in its seed. Features are standardised with the training
split's mean and population std (ddof=0, as scikit-learn's StandardScaler); a constant
column is centred and left unscaled. Regression targets are left in their own units.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wdcli.config import CsvData, DatasetBase, task_of
from wdcli.data.dataset import Dataset, Split, target_scale
from wdcli.data.preprocess import Frame, prepare
from wdcli.errors import DataError
from wdcli.tasks import CLASSIFICATION, REGRESSION


@dataclass(frozen=True)
class Raw:
    """Data as a loader returns them, before the split; `test` is a given test split.

    X is a float array, or a `Frame` of a CSV's columns (preprocessed after the split);
    `task` is the task the loader found in the data (None: the config's)."""

    X: np.ndarray | Frame
    y: np.ndarray
    test: tuple[np.ndarray | Frame, np.ndarray] | None = None
    task: str | None = None


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


_READ_ONCE: set[Callable[..., Raw]] = set()  # loaders of fixed data (SPLIT_ONLY_VARIES)


def _bundled(loader_name: str) -> Callable:
    @functools.cache
    def load_once() -> Raw:
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, loader_name)(return_X_y=True)
        return Raw(X.astype(float), y)

    def load(cfg, seed: int) -> Raw:
        return load_once()

    _READ_ONCE.add(load)
    return load


def _csv(cfg: CsvData, seed: int) -> Raw:
    return _csv_cached(cfg.model_dump_json(), *source_stamp(cfg))


_READ_ONCE.add(_csv)


def source_stamp(cfg: DatasetBase) -> tuple:
    """What tells that a dataset's files changed (empty for data without files)."""
    if not isinstance(cfg, CsvData):
        return ()
    return _stamp(cfg.path), _stamp(cfg.test_path)


def _stamp(path: Path | None) -> tuple | None:
    """Size, modification time and inode of a file; its content's hash too when it was
    modified in the last seconds (timestamps are coarse: git's "racy clean" case)."""
    if path is None:
        return None
    try:
        info = Path(path).stat()
        stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
        if time.time() - info.st_mtime < 3 and info.st_size < 2**28:
            stamp += (hashlib.sha256(Path(path).read_bytes()).hexdigest(),)  # type: ignore[assignment]
    except OSError:
        return None
    return stamp


@functools.lru_cache(maxsize=2)
def _csv_cached(cfg_json: str, *stamps) -> Raw:
    # Seeds share the file: it is read once, each seed only splits it differently.
    from wdcli.data.csvdata import load_csv

    cfg = CsvData.model_validate_json(cfg_json)
    train, test, task = load_csv(cfg)
    return Raw(train.X, train.y, (test.X, test.y) if test is not None else None, task)


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


def build_dataset(cfg: DatasetBase, seed: int) -> Dataset:
    """Load, subsample, split and preprocess; `cfg.seed` (when set) overrides `seed`."""
    split = build_split(cfg, seed)
    return finish_dataset(cfg, split.X_train, split.y_train, split.X_test, split.y_test, split)


def finish_dataset(cfg: DatasetBase, X_train, y_train, X_test, y_test, split: Split) -> Dataset:
    """Preprocess X (a CSV's imputation and one-hot encoding, then standardisation), fitted
    on the training rows only, and note the target's scale."""
    if getattr(cfg, "STANDARDISE", True):  # modular's one-hot codes stay 0/1
        X_train, (X_test,) = prepare(X_train, [X_test], impute=getattr(cfg, "impute", "refuse"))
    scale = None
    if split.task == REGRESSION and cfg.scale_target is not False:
        scale = target_scale(y_train)
    return Dataset(X_train, y_train, X_test, y_test, split.task, split.classes, scale)


def check_split(cfg: DatasetBase, seed: int) -> None:
    """The checks of `build_dataset` that depend on the seed's split, without preprocessing:
    cheap for datasets read once (CSV, bundled), where only the split varies by seed."""
    build_split(cfg, seed)


# Data read once (bundled, a CSV file): a seed changes only the split, not the samples.
SPLIT_ONLY_VARIES = {name for name, load in LOADERS.items() if load in _READ_ONCE}


def build_split(cfg: DatasetBase, seed: int) -> Split:
    """Load, subsample and split, targets encoded, features as loaded (a CSV's: a Frame)."""
    if cfg.name == "modular":  # type: ignore[attr-defined]  # all p² pairs, split its own way
        from wdcli.data.modular import split_modular

        return split_modular(cfg, seed)  # type: ignore[arg-type]
    data_seed = cfg.seed if cfg.seed is not None else seed
    raw = LOADERS[cfg.name](cfg, data_seed)  # type: ignore[attr-defined]
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
    task = task_of(cfg) or raw.task or _guess_task(y_train)
    y_train, y_test, classes = _encode_targets(y_train, y_test, task, cfg)
    if task == CLASSIFICATION:
        _check_classes(y_train, classes, data_seed)
    return Split(X_train, y_train, X_test, y_test, task, classes)


def _check_classes(y_train: np.ndarray, classes: list[str], seed: int) -> None:
    """A classifier needs two classes among its training rows."""
    present = np.unique(y_train)
    if len(present) < 2:
        raise DataError(
            f"dataset: the training split (seed {seed}) holds only class "
            f"'{classes[present[0]]}'; a classifier needs two: use more training rows "
            "(n_train, test_size) or another dataset.seed"
        )


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
