"""Synthetic data drawn with numpy alone."""

from __future__ import annotations

import numpy as np

from wdcli.data.sources import Raw, source


@source("poly")
def poly(cfg, seed: int) -> Raw:
    # x ~ U[0, 1], y = sin(2πx) + noise: a smooth curve that a high-degree polynomial overfits.
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, cfg.n_samples)
    y = np.sin(2 * np.pi * x) + cfg.noise * rng.standard_normal(cfg.n_samples)
    X = x[:, None] ** np.arange(1, cfg.degree + 1)
    return Raw(X, y)
