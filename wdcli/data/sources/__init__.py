"""Where a dataset's samples come from: one module per kind of source, each registering the
loaders of its datasets by name (`@source("name")`), in SOURCES.

A dataset's options and task are its `dataset:` class's (wdcli.config.datasets); every
module of this package is imported below, so a new source is one module here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from wdcli.data.dataset import Split
from wdcli.data.preprocess import Frame


@dataclass(frozen=True)
class Raw:
    """Data as a loader returns them, before the split; `test` is a given test split.

    X is a float array, or a `Frame` of a CSV's columns (preprocessed after the split);
    `task` is the task the loader found in the data (None: the config's)."""

    X: np.ndarray | Frame
    y: np.ndarray
    test: tuple[np.ndarray | Frame, np.ndarray] | None = None
    task: str | None = None


@dataclass(frozen=True)
class Source:
    """A registry entry. `load(cfg, seed) -> Raw` draws or reads the samples, which the build
    then subsamples and splits; or `split(cfg, seed) -> Split` does both its own way (all
    pairs of modular arithmetic). `read_once`: fixed data, read once, where a seed changes
    only the split. `stamp(cfg)` tells when the data's files changed (caches compare it)."""

    load: Callable[[Any, int], Raw] | None = None
    split: Callable[[Any, int], Split] | None = None
    read_once: bool = False
    stamp: Callable[[Any], tuple] | None = None


SOURCES: dict[str, Source] = {}


def source(
    name: str,
    *,
    read_once: bool = False,
    stamp: Callable[[Any], tuple] | None = None,
    splits: bool = False,
) -> Callable:
    """Register the decorated function as the loader of dataset `name` (its splitter when
    `splits`)."""

    def register(function: Callable) -> Callable:
        kind = "split" if splits else "load"
        SOURCES[name] = Source(**{kind: function}, read_once=read_once, stamp=stamp)
        return function

    return register


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
