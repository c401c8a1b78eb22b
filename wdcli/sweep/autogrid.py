"""`lambdas: auto`: a λ grid chosen from the data of the first seed's training split, between
the bounds of the model's rule (its registry entry's `lambda_range`, wdcli.models.ranges).
"""

from __future__ import annotations

import math

import numpy as np

from wdcli.config import Config, LambdaAuto
from wdcli.models import MODELS


def resolve_grid(config: Config) -> Config:
    """The config with `lambdas: auto` filled in from the data (unchanged otherwise). With a
    grid, one λ grid spans every point's range (each point's data and model, first seed),
    so that λ means the same along the grid's axes and no point is cut short."""
    grid = config.lambdas
    if not isinstance(grid, LambdaAuto) or grid.values is not None:
        return config
    from wdcli.config.grid import grid_points, point_config
    from wdcli.sweep.datasets import dataset_for

    seed, lows, highs = config.seed_values()[0], [], []
    for point in grid_points(config):
        point_cfg = point_config(config, point)
        data = dataset_for(point_cfg, seed)
        low, high = MODELS[point_cfg.model.name].lambda_range(data, point_cfg.model)
        lows.append(low)
        highs.append(high)
    values = log_grid(min(lows), max(highs), grid.num)
    return config.model_copy(update={"lambdas": grid.model_copy(update={"values": values})})


def log_grid(low: float, high: float, num: int) -> list[float]:
    """num values log-evenly from low to high, rounded to 3 significant digits."""
    values = np.logspace(math.log10(low), math.log10(high), num)
    return sorted({float(f"{v:.3g}") for v in values})
