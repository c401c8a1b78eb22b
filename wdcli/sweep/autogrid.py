"""`lambdas: auto`: a λ grid chosen from the data of the first seed's training split, between
the bounds of the model's rule (its registry entry's `lambda_range`, wdcli.models.ranges).
"""

from __future__ import annotations

import math

import numpy as np

from wdcli.config import Config, LambdaAuto
from wdcli.metrics.health import decay_rate, decouples_in
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

    seed, lows, highs, ceilings = config.seed_values()[0], [], [], []
    for point in grid_points(config):
        point_cfg = point_config(config, point)
        data = dataset_for(point_cfg, seed)
        low, high = MODELS[point_cfg.model.name].lambda_range(data, point_cfg.model)
        lows.append(low)
        highs.append(high)
        ceilings.append(decay_ceiling(point_cfg))
    high = max(highs)
    known = [ceiling for ceiling in ceilings if ceiling is not None]
    if known:  # decoupled decay cannot train from its ceiling on (the paper convention's
        high = min(high, DECAY_HEADROOM * min(known))  # is 0.5): no λ of the grid there
    values = log_grid(min(min(lows), high / 10), high, grid.num)
    return config.model_copy(update={"lambdas": grid.model_copy(update={"values": values})})


DECAY_HEADROOM = 0.5  # the auto grid tops out at half decoupled decay's ceiling


def log_grid(low: float, high: float, num: int) -> list[float]:
    """num values log-evenly from low to high, rounded to 3 significant digits, or to as
    many more as keep them distinct (a narrow range of 1000 ran 898 λ)."""
    values = np.logspace(math.log10(low), math.log10(high), num)
    for digits in range(3, 18):
        rounded = sorted({float(f"{v:.{digits}g}") for v in values})
        if len(rounded) == len(values):
            return rounded
    return sorted({float(v) for v in values})


def decay_ceiling(config: Config) -> float | None:
    """The smallest λ that decoupled decay cannot train (it multiplies the weights by
    1 − r·2λ ≤ 0, r = lr or 1 under the paper's convention; with the lr tuned, its smallest
    candidate), or None without decoupled decay."""
    model = config.model
    if not decouples_in(model):
        return None
    lrs = config.tune.get("model.lr") or [model.lr]  # every run trains at a tuned lr
    return 1 / (2 * float(decay_rate(min(lrs), model.decay_convention == "paper")))
