"""The data of a seed's fold, built once per process (all λ of the fold share it)."""

from __future__ import annotations

from collections import Counter

from wdcli.config import Config, KFold
from wdcli.config.grid import point_config
from wdcli.data import Dataset, Split
from wdcli.data.build import build_split, source_stamp, unseen_advice, unseen_classes
from wdcli.data.folds import fold_dataset, kfold_indices
from wdcli.data.preprocess import empty_columns, row_tuples
from wdcli.errors import DataError
from wdcli.sweep.plan import Unit

_SPLIT_CACHE: dict[tuple, Split] = {}


_DATA_CACHE: dict[tuple, Dataset] = {}


def _cached(cache: dict, key, build):
    if key not in cache:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = build()
    return cache[key]


def split_for(config: Config, seed: int) -> Split:
    """The train/test split of a seed, before standardisation, built once per process."""
    data_seed = config.dataset.seed if config.dataset.seed is not None else seed
    key = (config.dataset.model_dump_json(), data_seed, source_stamp(config.dataset))
    return _cached(_SPLIT_CACHE, key, lambda: build_split(config.dataset, seed))


def _data_key(config: Config, seed: int, fold: int) -> tuple:
    dataset = config.dataset.model_dump_json()
    return (dataset, config.validation.model_dump_json(), seed, fold, source_stamp(config.dataset))


def dataset_for(config: Config, seed: int, fold: int = 0) -> Dataset:
    """The dataset of a seed's fold, built once per process (all λ of a fold share it)."""
    split = split_for(config, seed)
    key = _data_key(config, seed, fold)
    return _cached(_DATA_CACHE, key, lambda: fold_dataset(config, split, seed, fold))


def _fingerprint_of(config: Config, seed: int) -> str:
    """A seed's data fingerprint, built without filling the caches with every seed's data."""
    cached = _DATA_CACHE.get(_data_key(config, seed, 0))
    if cached is None:
        cached = fold_dataset(config, build_split(config.dataset, seed), seed, 0)
    return cached.fingerprint()


def unit_dataset(config: Config, unit: Unit) -> Dataset:
    """The dataset of a unit: its seed's and fold's, with its points' dataset settings (a
    seed or grid point beyond those `prepare` checked may still hold an unseen class)."""
    config = point_config(config, unit.points[0])
    unseen = unseen_classes(split_for(config, unit.seed))
    if unseen:
        names = ", ".join(repr(name) for name in unseen)
        subject = f"class {names} is" if len(unseen) == 1 else f"classes {names} are"
        raise DataError(
            f"dataset: {subject} in the test split of seed {unit.seed} but "
            f"{unseen_advice(config.dataset)}"
        )
    return dataset_for(config, unit.seed, unit.fold)


def check_folds(config: Config, max_seeds: int = 32) -> None:
    """Cut the folds of the first `max_seeds` seeds now, so that a fold the data cannot give
    (too few samples, a class too small to stratify, a column with nothing to impute from) is
    an error before anything is written, in `validate` as in `sweep`."""
    if not isinstance(config.validation, KFold):
        return
    seeds = config.seed_values()[:max_seeds]
    imputes = getattr(config.dataset, "impute", "refuse") != "refuse"  # a CSV's: a Frame
    for seed in seeds:
        try:
            split = split_for(config, seed)
            folds = kfold_indices(config.validation, split, seed)
            for number, (train, _) in enumerate(folds, start=1):  # as a holdout split is
                empty = imputes and empty_columns(split.X_train[train])
                if empty:
                    raise DataError(
                        f"validation: fold {number}: column '{empty[0]}' has no value in its "
                        "training rows to fill its missing cells from (dataset.impute); leave "
                        "it out of dataset.features, or use fewer folds"
                    )
        except DataError as exc:
            raise DataError(f"seed {seed}: {exc}" if len(seeds) > 1 else str(exc)) from None
    _check_one_row_folds(config, seeds)


def _check_one_row_folds(config: Config, seeds: list[int]) -> None:
    """Refuse k-fold whose folds hold out one row each where its units would repeat: every
    repeat cuts the same folds, and so does every seed that trains on the same rows, which a
    model with no randomness of its own (ridge, logistic) turns into the same losses. Each
    copy counted as a unit shrank the SEs (12 rows, 8 seeds: ± √8 times too small, λ_1se
    moved)."""
    from wdcli.models import MODELS

    validation = config.validation
    split = split_for(config, seeds[0])
    n = len(split.y_train)
    if not isinstance(validation, KFold) or validation.folds != n:
        return
    each = f"{validation.folds} folds of {n} training rows hold out one row each"
    if validation.repeats > 1:
        raise DataError(
            f"validation.repeats: {each}, so every repeat cuts the same folds and would count "
            f"each row's loss {validation.repeats} times, shrinking the SEs; set repeats: 1"
        )
    model = config.model.name
    if MODELS[model].random_start:
        return
    first = Counter(row_tuples(split.X_train, split.y_train))  # the rows, in any order
    for seed in seeds[1:]:
        other = split_for(config, seed)
        if Counter(row_tuples(other.X_train, other.y_train)) == first:
            loo = ", or validation: {kind: loo}" if model == "linear" else ""
            raise DataError(
                f"seeds: {each}, and seeds {seeds[0]} and {seed} train on the same rows, where "
                f"{model} has no randomness of its own: every seed would repeat the same losses, "
                f"shrinking the SEs; use one seed{loo}"
            )
