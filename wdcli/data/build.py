"""Datasets: build arrays from a dataset config and a seed, split them, preprocess them.

The samples come from the dataset's source (wdcli.data.sources, one module per kind).

Every dataset is deterministic in its seed. Features are standardised with the training
split's mean and population std (ddof=0, as scikit-learn's StandardScaler); a constant
column is centred and left unscaled. Regression targets are left in their own units.
"""

from __future__ import annotations

import math
import re

import numpy as np

from wdcli.config import DatasetBase, task_of
from wdcli.data.dataset import Dataset, Split, target_scale
from wdcli.data.preprocess import Frame, prepare
from wdcli.data.sources import SOURCES
from wdcli.errors import DataError
from wdcli.tasks import CLASSIFICATION, REGRESSION


def source_stamp(cfg: DatasetBase) -> tuple:
    """What tells that a dataset's files changed (empty for data without files)."""
    stamp = SOURCES[cfg.name].stamp  # type: ignore[attr-defined]
    return stamp(cfg) if stamp is not None else ()


# --------------------------------------------------------------------------- building


def build_dataset(cfg: DatasetBase, seed: int) -> Dataset:
    """Load, subsample, split and preprocess; `cfg.seed` (when set) overrides `seed`."""
    split = build_split(cfg, seed)
    return finish_dataset(cfg, split.X_train, split.y_train, split.X_test, split.y_test, split)


def finish_dataset(cfg: DatasetBase, X_train, y_train, X_test, y_test, split: Split) -> Dataset:
    """Preprocess X (a CSV's imputation and one-hot encoding, then standardisation), fitted
    on the training rows only, and note the target's scale."""
    if cfg.STANDARDISE:  # modular's one-hot codes stay 0/1
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
SPLIT_ONLY_VARIES = {name for name, source in SOURCES.items() if source.read_once}


def build_split(cfg: DatasetBase, seed: int) -> Split:
    """Load, subsample and split, targets encoded, features as loaded (a CSV's: a Frame)."""
    source = SOURCES[cfg.name]  # type: ignore[attr-defined]
    if source.split is not None:  # e.g. all p² pairs of modular arithmetic, split its own way
        return source.split(cfg, seed)
    assert source.load is not None
    data_seed = cfg.seed if cfg.seed is not None else seed
    raw = source.load(cfg, data_seed)
    rng = np.random.default_rng([data_seed, 1])  # a stream of its own, apart from the loader's
    X, y = _subsample(raw.X, raw.y, cfg, rng)
    if raw.test is None:
        train, test = _split(len(y), cfg, rng)
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
    else:
        X_train, y_train = X, y
        X_test, y_test = raw.test
        if cfg.n_train is not None:
            if cfg.n_train > len(y):
                raise DataError(
                    f"dataset.n_train: {cfg.n_train} is more than the {len(y)} rows of "
                    f"{_source_name(cfg)}"
                )
            X_train, y_train = X_train[: cfg.n_train], y_train[: cfg.n_train]
    task = task_of(cfg) or raw.task or _guess_task(y_train)
    y_train, y_test, classes = _encode_targets(y_train, y_test, task, cfg)
    if task == CLASSIFICATION:
        _check_classes(y_train, classes, data_seed)
    else:
        _check_target_varies(y_train, _target_of(cfg), data_seed)
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


def unseen_advice(cfg) -> str:
    """The rest of the refusal of a class that the test split holds and no training row does:
    why, and the keys of this dataset that fix it."""
    if getattr(cfg, "train_fraction", None) is not None:  # modular: no test_size, no file
        fix = "a larger train_fraction (or n_train), or another dataset.seed"
    elif getattr(cfg, "test_path", None):  # the files fix the split: no seed or size moves it
        fix = "a training file that holds the class, or a test file without it"
    else:
        fix = "more training rows (n_train, test_size), or another dataset.seed"
    return (
        "in no training row: no model can predict a class it never saw, and the test loss of its "
        f"rows would measure how long training ran, not λ; use {fix}"
    )


def unseen_classes(split: Split) -> list[str]:
    """The classes of the test split that no training row holds: no model can predict them,
    and their test rows add to every test loss."""
    if split.task != CLASSIFICATION:
        return []
    missing = np.setdiff1d(np.unique(split.y_test), np.unique(split.y_train))
    return [split.classes[int(i)] for i in missing]


def unseen_categories(split: Split) -> dict[str, list[str]]:
    """Per categorical column, the values of the test split that no training row holds: one-hot
    encoded, as scikit-learn's OneHotEncoder(handle_unknown="ignore") does, they become no
    category at all (a row of zeros)."""
    train, test = split.X_train, split.X_test
    if not isinstance(train, Frame) or not isinstance(test, Frame):
        return {}
    found = {}
    for j, name in enumerate(train.categorical_names):
        seen = {v for v in train.categorical[:, j] if v is not None}
        new = sorted({v for v in test.categorical[:, j] if v is not None} - seen)
        if new:
            found[name] = new
    return found


def _target_of(cfg) -> str:
    """How to name a dataset's target in a message: a CSV's column and file, else the name."""
    if getattr(cfg, "path", None) is not None:
        return f"the target column '{cfg.target}' of {cfg.path}"
    return f"the target of '{cfg.name}'"


def _check_target_varies(y_train: np.ndarray, target: str, seed: int) -> None:
    """A regression target that is the same in every training row leaves nothing to fit: every
    λ would give the mean, and the sweep's verdicts would be noise."""
    if len(y_train) == 1:
        raise DataError(f"dataset: only 1 training row (seed {seed}): there is nothing to fit")
    if len(y_train) and np.ptp(y_train) == 0:
        raise DataError(
            f"dataset: {target} is {y_train[0]:g} in every training row "
            f"(seed {seed}): there is nothing to fit"
        )


def _source_name(cfg) -> str:
    return str(cfg.path) if getattr(cfg, "path", None) is not None else f"'{cfg.name}'"


def _subsample(X, y, cfg: DatasetBase, rng) -> tuple[np.ndarray, np.ndarray]:
    if cfg.n_samples is not None and cfg.n_samples > len(y):  # asked for more than there is
        raise DataError(
            f"dataset.n_samples: {cfg.n_samples} is more than the {len(y)} rows of "
            f"{_source_name(cfg)}; leave it out to use them all"
        )
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
        classes, codes = _label_classes(labels.astype(str), len(y_train))
    else:
        values, codes = np.unique(labels, return_inverse=True)
        classes = values.tolist()
    if len(classes) < 2:
        raise DataError(
            f"dataset: {_target_of(cfg)} has only one class ({_class_name(classes[0])})"
        )
    n = len(y_train)
    names = [_class_name(c) for c in classes]
    return codes[:n].astype(np.int64), codes[n:].astype(np.int64), names


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _label_classes(labels: np.ndarray, n_train: int) -> tuple[list, np.ndarray]:
    """(classes, each label's index among them) of text labels. When every training label is
    a number, labels written as numbers compare as numbers ('1' and '1.0' are one class, as a
    spreadsheet's export may write them; whole numbers exactly, however long: an ID above
    2⁵³ is not merged with its neighbour), and any other label (in the test split) is text;
    otherwise every label is text. Numbers sort before text."""
    texts, inverse = np.unique(labels, return_inverse=True)
    numbers = [_label_number(text) for text in texts]
    if any(numbers[i] is None for i in np.unique(inverse[:n_train])):
        keys: list = list(texts)
    else:
        keys = [
            text if number is None else number for text, number in zip(texts, numbers, strict=True)
        ]
    classes = sorted(set(keys), key=lambda key: (isinstance(key, str), key))
    index = {key: i for i, key in enumerate(classes)}
    return classes, np.array([index[key] for key in keys], np.int64)[inverse]


def _label_number(text: str) -> int | float | None:
    """A label's number (an int when whole: exact however long), or None for text (plain
    ASCII decimals only, as CSV cells: not '1_000', '１２' or 'inf')."""
    text = text.strip()
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    if text.lstrip("+-").isdigit():
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _class_name(label) -> str:
    """A class's name: the number without a needless '.0', or the text."""
    if isinstance(label, (float, np.floating)):
        return str(int(label)) if float(label).is_integer() else repr(float(label))
    return str(label)
