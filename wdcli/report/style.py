"""The style every figure is drawn in, fixed so that a user's matplotlibrc cannot change it."""

from __future__ import annotations

from contextlib import contextmanager

DPI = 120
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip


def distinct_colours(n: int, palette: tuple[str, ...] = COLOURS) -> list:
    """One colour per curve: the palette while it lasts, else a sequential map (no two curves
    may share a colour; λ, grid values and files given in order read along it)."""
    if n <= len(palette):
        return list(palette[:n])
    import numpy as np
    from matplotlib import colormaps

    return [colormaps["viridis"](t) for t in np.linspace(0, 0.95, n)]


# Every key a figure depends on, so that a user's matplotlibrc cannot change the output.
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.which": "major",
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "legend.frameon": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "wdcli",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}


@contextmanager
def _style():
    import matplotlib

    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        yield
