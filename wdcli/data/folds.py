"""Validation folds: which training rows each run of a seed trains and is scored on.

Fold 0 is always the holdout fit: the whole training split, scored on the test split. With
`kfold`, folds 1 … folds·repeats are cut from the training split only (scikit-learn's
RepeatedKFold, or RepeatedStratifiedKFold for classes, with random_state = the run's seed);
each trains on its training part, standardised with that part's statistics, and is scored on
its held-out part. With `loo` (ridge), fold 1 is the exact leave-one-out error of the whole
training split, computed from the same factorisation as fold 0.
"""

from __future__ import annotations

import numpy as np

from wdcli.config import CLASSIFICATION, Config, KFold, LeaveOneOut
from wdcli.data.build import finish_dataset
from wdcli.data.dataset import Dataset, Split
from wdcli.errors import DataError


def fold_numbers(config: Config) -> list[int]:
    """The folds of every seed: [0] for a holdout split, [0, 1, …] with validation."""
    return config.fold_values()


def is_cv(config: Config) -> bool:
    """Whether λ is chosen on validation folds (1, 2, …) rather than on the test split."""
    return len(fold_numbers(config)) > 1


def kfold_indices(validation: KFold, split: Split, seed: int) -> list[tuple[np.ndarray, ...]]:
    """(train rows, held-out rows) of folds 1 … folds·repeats, as scikit-learn cuts them."""
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

    y, n = split.y_train, len(split.y_train)
    if validation.folds > n:
        raise DataError(
            f"validation.folds: {validation.folds} folds need ≥ that many training samples, got {n}"
        )
    stratify = validation.stratify and split.task == CLASSIFICATION
    cls = RepeatedStratifiedKFold if stratify else RepeatedKFold
    splitter = cls(n_splits=validation.folds, n_repeats=validation.repeats, random_state=seed)
    if stratify:
        present = np.bincount(y)
        rarest = int(np.flatnonzero(present == present[present > 0].min())[0])
        if present[rarest] < validation.folds:
            name = split.classes[rarest] if rarest < len(split.classes) else str(rarest)
            raise DataError(
                f"validation.stratify: class {name!r} has only {present[rarest]} training "
                f"samples, fewer than validation.folds ({validation.folds}); use fewer folds "
                "or stratify: false"
            )
    folds = list(splitter.split(np.zeros((n, 1)), y))
    if split.task == CLASSIFICATION:
        for number, (train, held_out) in enumerate(folds, start=1):
            _check_fold_classes(number, y[train], y[held_out], split.classes)
    return folds


def _check_fold_classes(number: int, y_train, y_held_out, classes: list[str]) -> None:
    """A fold must train on two classes or more, and hold out none that it did not train on
    (unstratified folds of a rare class can do either), as a holdout split must."""
    seen = np.unique(y_train)
    if len(seen) < 2:
        raise DataError(
            f"validation: fold {number} trains on class {classes[seen[0]]!r} alone; a "
            "classifier needs two: use stratify: true, fewer folds or more training rows"
        )
    unseen = np.setdiff1d(np.unique(y_held_out), seen)
    if unseen.size:
        names = ", ".join(repr(classes[i]) for i in unseen)
        raise DataError(
            f"validation: fold {number} holds out {names}, which none of its training rows "
            "holds (no model can predict it); use stratify: true, fewer folds or more "
            "training rows"
        )


def fold_dataset(config: Config, split: Split, seed: int, fold: int) -> Dataset:
    """The dataset of one fold of a seed's split (see the module docstring)."""
    cfg = config.dataset
    if fold == 0 or isinstance(config.validation, LeaveOneOut):
        return finish_dataset(cfg, split.X_train, split.y_train, split.X_test, split.y_test, split)
    train, held_out = kfold_indices(config.validation, split, seed)[fold - 1]  # type: ignore[arg-type]
    X, y = split.X_train, split.y_train
    return finish_dataset(cfg, X[train], y[train], X[held_out], y[held_out], split)
