"""scikit-learn's generators (drawn anew from each seed) and its bundled datasets (read once)."""

from __future__ import annotations

import functools
import math

from wdcli.data.sources import Raw, source
from wdcli.errors import DataError


@source("regression")
def regression(cfg, seed: int) -> Raw:
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


@source("friedman1")
def friedman1(cfg, seed: int) -> Raw:
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(
        n_samples=cfg.n_samples, n_features=cfg.n_features, noise=cfg.noise, random_state=seed
    )
    return Raw(X, y)


@source("classification")
def classification(cfg, seed: int) -> Raw:
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


@source("moons")
def moons(cfg, seed: int) -> Raw:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=cfg.n_samples, noise=cfg.noise, random_state=seed)
    return Raw(X, y)


@source("circles")
def circles(cfg, seed: int) -> Raw:
    from sklearn.datasets import make_circles

    X, y = make_circles(
        n_samples=cfg.n_samples, noise=cfg.noise, factor=cfg.factor, random_state=seed
    )
    return Raw(X, y)


def bundled(name: str, loader_name: str) -> None:
    """Register dataset `name`, read once by `sklearn.datasets.<loader_name>`."""

    @functools.cache
    def load_once() -> Raw:
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, loader_name)(return_X_y=True)
        return Raw(X.astype(float), y)

    @source(name, read_once=True)
    def load(cfg, seed: int) -> Raw:
        return load_once()


bundled("diabetes", "load_diabetes")
bundled("breast_cancer", "load_breast_cancer")
bundled("wine", "load_wine")
bundled("iris", "load_iris")
bundled("digits", "load_digits")
