"""`lambdas: auto`: a λ grid chosen from the data of the first seed's training split, between
the bounds of the model's rule (its registry entry's `lambda_range`, wdcli.models.ranges).
"""

from __future__ import annotations

import math

import numpy as np

from wdcli.config import Config, LambdaAuto
from wdcli.models import MODELS


def resolve_grid(config: Config) -> Config:
    """The config with `lambdas: auto` filled in from the data (unchanged otherwise)."""
    grid = config.lambdas
    if not isinstance(grid, LambdaAuto) or grid.values is not None:
        return config
    from wdcli.sweep.datasets import dataset_for

    data = dataset_for(config, config.seed_values()[0])
    low, high = MODELS[config.model.name].lambda_range(data, config.model)
    values = log_grid(low, high, grid.num)
    return config.model_copy(update={"lambdas": grid.model_copy(update={"values": values})})


def log_grid(low: float, high: float, num: int) -> list[float]:
    """num values log-evenly from low to high, rounded to 3 significant digits."""
    values = np.logspace(math.log10(low), math.log10(high), num)
    return sorted({float(f"{v:.3g}") for v in values})
