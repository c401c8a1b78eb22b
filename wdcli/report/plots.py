"""Figures of a sweep: loss against λ (the validation curve) and loss against epoch.

    render([results], "sweep.png")                        # validation curve
    render([l2, decoupled], "cmp.svg", sources=[...])     # several sweeps overlaid
    render([results], "curves.png", curves=True, lambdas=[0, 1e-3])

`results` are loaded results documents (`wdcli.records.Results`, see docs/plots.md).
matplotlib is imported inside the functions, so that importing this module costs nothing until
a figure is drawn. Figures are plain `matplotlib.figure.Figure` objects (no pyplot, no global backend), and the same input
gives byte-identical PNG and SVG files.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wdcli.errors import WdcliError
from wdcli.records import Curve, Results
from wdcli.report.style import DPI, _style, distinct_colours
from wdcli.report.table import spread
from wdcli.report.termchart import REGIME_COLOURS, healthy, regime_label, trained
from wdcli.runkey import HOLDOUT_FOLD, point_label, validated

FORMATS = (".png", ".svg")
LOSS_FLOOR = 1e-6  # lowest loss shown per step: below it float32 shows only rounding
WIDTH, HEIGHT = 8.0, 5.0  # inches: 960 × 600 pixels at DPI, readable at 100 %
LEGEND_CHARS = 130  # characters of legend text across a figure WIDTH wide
TRAIN, TEST = "#1f77b4", "#ff7f0e"  # matplotlib's first two colours
FILE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


class PlotError(WdcliError):
    """A figure cannot be drawn from these results, or not to this file."""


# ---------------------------------------------------------------------------------------------
# Public API


def _convention(doc, width: int = 100) -> str:
    """The penalty or decay a results document applied, wrapped for a figure's title."""
    from wdcli.store.conventions import convention

    text = convention(doc.data.config.plain())
    return "\n".join(textwrap.wrap(text, width))


def render(
    results,
    out,
    *,
    curves: bool = False,
    lambdas: Sequence[float] | None = None,
    sources: Sequence[str] | None = None,
    kind: str = "auto",
    axis: str | None = None,
) -> Path:
    """Draw one or several results documents to `out` (.png or .svg) and return its path.

    A grid or tune sweep (one document) gets the figures of wdcli.report.gridplots: `kind` auto,
    curves, heatmap or isolation; `axis` the grid key drawn across.

    curves=False draws the validation curve, curves=True the per-epoch curves of `lambdas`
    (default: smallest λ, λ_min, largest λ). `sources` name the documents (their file names)
    in messages and tell apart sweeps whose config names are equal.
    """
    path = output_path(out)
    from wdcli.report import gridplots

    if not curves and gridplots.applies(results, kind):
        return save(gridplots.figure(results, kind=kind, axis=axis, sources=sources), path)
    if axis is not None:  # it was ignored
        drawn = "--curves draws per-epoch curves" if curves else "this figure has no grid"
        raise PlotError(f"--axis {axis}: picks the grid axis of a grid figure, and {drawn}")
    if curves and kind != "auto":  # it was ignored: the same figure as without it
        raise PlotError(
            f"--kind {kind}: picks the figure of a grid or tune sweep, and --curves draws "
            "per-epoch curves; leave out one of them"
        )
    if curves:
        fig = curves_figure(results, lambdas=lambdas, sources=sources)
    else:
        fig = validation_figure(results, sources=sources)
    return save(fig, path)


def output_path(out) -> Path:
    """`out` as a Path, or PlotError when its extension is not one matplotlib is asked for
    (a name that is only an extension, `.png`, has none: Python reads it as a hidden file)."""
    path = Path(out)
    if path.name.lower() in FORMATS:
        raise PlotError(f"{out}: the figure file needs a name before {path.name}")
    if path.suffix.lower() not in FORMATS:
        raise PlotError(f"{out}: the figure file must end in .png or .svg")
    return path


def save(fig, out) -> Path:
    """Write `fig` to `out` without dates or version strings, so equal figures are equal bytes."""
    path = output_path(out)
    fmt = path.suffix.lower()[1:]
    metadata = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
    try:
        with _style():
            fig.savefig(path, format=fmt, metadata=metadata, dpi=DPI)
    except OSError as err:
        raise PlotError(f"{out}: cannot write the figure: {err.strerror or err}") from None
    return path


def validation_figure(results, sources: Sequence[str] | None = None):
    """Train and test loss against λ (accuracy below for classification), as a Figure; a grid
    or tune sweep among several documents is drawn as one series per point."""
    docs = _documents(*_by_point(results, sources))
    with _style(), np.errstate(over="ignore"):  # autoscale's margins overflow past λ = 1e300;
        return _validation(docs)  # _limits sets the λ range afterwards


def curves_figure(
    results, lambdas: Sequence[float] | None = None, sources: Sequence[str] | None = None
):
    """Per-epoch train and test loss (mean over seeds) at a few λ, one panel per document
    and, for a grid or tune sweep, per point."""
    docs = _documents(*_by_point(results, sources))
    for doc in docs:
        if not any(run.curve for run in doc.data.runs):
            model = doc.data.config.model.name
            why = (
                "its runs hold none"
                if model == "mlp"
                else f"model '{model}'; only mlp sweeps record them"
            )
            raise PlotError(f"{doc.source}: no per-epoch curves in these results ({why})")
    with _style():
        if all(_by_step(doc) for doc in docs):
            return _step_curves(docs, lambdas)
        return _curves(docs, lambdas)


def _by_point(results, sources) -> tuple[list[Results], list[str] | None]:
    """Grid and tune documents split into one document per point, so that a curve is the mean
    over the seeds of one point's runs, never over points."""
    from wdcli.report.table import point_documents

    docs = [results] if isinstance(results, Results) else list(results)
    parts = [point_documents(doc) if len(doc.points()) > 1 else [doc] for doc in docs]
    split = [part for group in parts for part in group]
    if not sources:
        return split, None
    return split, [name for name, group in zip(sources, parts, strict=True) for _ in group]


def nearest_lambda(grid: Sequence[float], value: float) -> float:
    """The λ of `grid` closest to `value` on a log scale; 0 matches only 0 (or the smallest)."""
    positive = [lam for lam in grid if lam > 0]
    if value <= 0 or not positive:
        return min(grid, key=abs)
    return min(positive, key=lambda lam: abs(math.log(lam / value)))


# ---------------------------------------------------------------------------------------------
# Reading the documents


class _Doc:
    """One results document with the columns a figure needs (None → nan)."""

    def __init__(self, data: Results, source: str, label: str):
        self.data, self.source, self.label = data, source, label
        self.colour = "0.15"  # a file's own colour when several are drawn together
        self.rows = sorted(data.summary, key=lambda row: row.lambda_)
        self.lam = self.column("lambda")
        self.task = data.task if data.has("task") else "regression"
        self.name = data.config.name
        self.seeds = max((row.n_runs or 0 for row in self.rows), default=0)
        self.over = spread(data)  # '3 seeds', '2 seeds × 3 folds': what a mean is over

    def column(self, key: str) -> np.ndarray:
        """A summary field per λ; means and errors of rows that did not train are NaN (not
        drawn: they average different seeds than their neighbours)."""
        hide = key != "lambda" and key.endswith(("_mean", "_se", "_std"))
        return np.array(
            [
                np.nan if r.value(key) is None or (hide and not trained(r)) else r.value(key)
                for r in self.rows
            ],
            float,
        )

    def regimes(self) -> list[str]:
        return [regime_label(row) for row in self.rows]

    def diverged(self) -> np.ndarray:
        """Rows with runs that did not train (diverged, no_fit or not_converged)."""
        return np.array([not healthy(row) for row in self.rows], bool)

    def nothing_drawn(self) -> str | None:
        """Why no λ is drawn ('no λ trained on every seed', 'only λ = 0 trained on every
        seed'), or None when some are."""
        from wdcli.metrics.summary import no_verdict

        if any(trained(row) for row in self.rows):
            return None
        return no_verdict([row.plain() for row in self.rows]) or "no λ trained on every seed"


def _documents(results: Results | Sequence[Results], sources) -> list[_Doc]:
    docs = [results] if isinstance(results, Results) else list(results)
    if not docs:
        raise PlotError("no results to plot")
    sources = (
        list(sources)
        if sources
        else ["results" if len(docs) == 1 else f"results[{i}]" for i in range(len(docs))]
    )
    names = [_name(d) for d in docs]
    labels = [
        f"{n} ({Path(s).name})" if names.count(n) > 1 else n
        for n, s in zip(names, sources, strict=True)
    ]
    if len(set(labels)) < len(labels):
        labels = [f"{label} #{i + 1}" for i, label in enumerate(labels)]
    out = [_Doc(*args) for args in zip(docs, sources, labels, strict=True)]
    if len(out) > 1:
        for doc, colour in zip(out, distinct_colours(len(out), FILE_COLOURS), strict=True):
            doc.colour = colour
    tasks = {doc.task for doc in out}
    if len(tasks) > 1:
        raise PlotError(
            f"{out[-1].source}: cannot overlay classification and regression results in one figure"
        )
    return out


def _name(document: Results) -> str:
    """The config's name, with the grid point of a document that is one point of a grid."""
    point = document.value("point")
    return f"{document.config.name} ({point_label(point)})" if point else document.config.name


# ---------------------------------------------------------------------------------------------
# The validation curve


def _validation(docs: list[_Doc]):
    from matplotlib.figure import Figure

    classification = docs[0].task == "classification"
    has_zero = any((doc.lam == 0).any() for doc in docs)
    fig = Figure(figsize=(WIDTH, HEIGHT + 2.0 * classification), layout="constrained")
    fig.get_layout_engine().set(wspace=0.0, w_pad=0.04)  # type: ignore[call-arg, union-attr]
    rows = _panels(fig, 2 if classification else 1, has_zero)
    single = len(docs) == 1
    for doc in docs:
        colours = (TRAIN, TEST) if single else (doc.colour,) * 2
        _draw(rows[0], doc, "loss", colours, single)
        if classification:
            _draw(rows[1], doc, "accuracy", colours, single)
    _limits(rows, docs, log_loss=_log_scale(docs), headroom=0.22 if single else 0.06)
    for r, row in enumerate(rows):
        for doc in docs:
            _mark_lambdas(row, doc, legend=(r == 0), single=single)
            if single:
                _shade_regimes(row, doc, labels=(r == 0))
        _mark_diverged(row, docs, legend=(r == 0))
    reasons = [doc.nothing_drawn() for doc in docs]
    if all(reasons):
        rows[0][1].text(
            0.5,
            0.5,
            f"{reasons[0] if len(docs) == 1 else 'no file has two λ trained on every seed'}: "
            "nothing to draw\n(see each run's status)",
            transform=rows[0][1].transAxes,
            ha="center",
            va="center",
            color="0.3",
            gid="nothing-trained",
        )
    _dress(fig, rows, docs, classification)
    return fig


def _panels(fig, nrows: int, has_zero: bool) -> list[tuple]:
    """Rows of (λ = 0 panel or None, log-λ panel); the narrow left panel holds λ = 0 alone."""
    grid = fig.add_gridspec(
        nrows,
        2 if has_zero else 1,
        width_ratios=[1, 11] if has_zero else None,
        height_ratios=[3, 2] if nrows == 2 else None,
    )
    rows, main0 = [], None
    for r in range(nrows):
        zero = fig.add_subplot(grid[r, 0]) if has_zero else None
        main = fig.add_subplot(grid[r, -1], sharey=zero, sharex=main0)
        main0 = main0 or main
        main.set_xscale("log")
        if zero is not None:
            _break_axes(zero, main)
        rows.append((zero, main))
    return rows


def _break_axes(zero, main) -> None:
    """Join the λ = 0 panel to the log-λ panel with the usual // marks of a broken axis."""
    zero.set_xlim(-1, 1)
    zero.set_xticks([0], ["λ = 0"])
    zero.spines["right"].set_visible(False)
    zero.grid(False, axis="x")
    main.spines["left"].set_visible(False)
    main.tick_params(axis="y", which="both", left=False, labelleft=False)
    for ax, x in ((zero, 1.0), (main, 0.0)):
        ax.plot(
            [x],
            [0.0],
            transform=ax.transAxes,
            marker=[(-1, -1.6), (1, 1.6)],
            ms=9,
            ls="none",
            color="0.3",
            mec="0.3",
            mew=1,
            clip_on=False,
            gid="axis-break",
        )


def _y(doc: _Doc, what: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over seeds of e.g. test_loss, per λ."""
    return doc.column(f"{split}_{what}_mean"), doc.column(f"{split}_{what}_se")


def _draw(row, doc: _Doc, what: str, colours, single: bool) -> None:
    """Mean train and test curves with ±1 SE bands; λ = 0 as its own point with error bar."""
    zero, main = row
    pos, at_zero = doc.lam > 0, doc.lam == 0
    for split, colour, marker, ls in (
        ("train", colours[0], "o", "--" if not single else "-"),
        ("test", colours[1], "s", "-"),
    ):
        mean, se = _y(doc, what, split)
        shown = _split_name(doc, split) if what == "loss" else split
        label = shown if single else f"{doc.label}: {shown}"
        main.plot(
            doc.lam[pos],
            mean[pos],
            ls=ls,
            marker=marker,
            color=colour,
            label=label,
            gid=f"{split}-{what}",
        )
        if pos.sum() == 1 and np.isfinite(se[pos]).all():  # a band of one point is invisible
            main.errorbar(
                doc.lam[pos],
                mean[pos],
                yerr=se[pos],
                fmt="none",
                ecolor=colour,
                capsize=4,
                gid=f"{split}-{what}-se",
            )
        elif np.isfinite(se[pos]).any():
            main.fill_between(
                doc.lam[pos],
                (mean - se)[pos],
                (mean + se)[pos],
                color=colour,
                alpha=0.18,
                lw=0,
                gid=f"{split}-{what}-se",
                label=_band_label(doc) if split == "test" and single else None,
            )
        if zero is not None and at_zero.any():
            err = se[at_zero] if np.isfinite(se[at_zero]).all() else None
            zero.errorbar(
                [0.0],
                mean[at_zero],
                yerr=err,
                fmt=marker,
                color=colour,
                capsize=3,
                ms=6,
                gid=f"lambda-zero-{split}-{what}",
            )


def _band_label(doc: _Doc) -> str:
    from wdcli.report.table import spread

    return f"±1 SE over {spread(doc.data)}"


def _split_name(doc: _Doc, split: str) -> str:
    """'test', or what the selection loss really is: 'cv' or 'loo' with validation folds."""
    kind = (doc.data.value("validation") or {}).get("kind", "holdout")
    return {"kfold": "cv", "loo": "loo"}.get(kind, split) if split == "test" else split


def _log_scale(docs: list[_Doc]) -> bool:
    """Loss on a log axis when it spans more than a factor 30 (e.g. a huge loss at λ = 0)."""
    values = np.concatenate(
        [np.concatenate([d.column("train_loss_mean"), d.column("test_loss_mean")]) for d in docs]
    )
    values = values[np.isfinite(values)]
    return values.size > 0 and values.min() > 0 and values.max() / values.min() > 30


def _limits(rows, docs: list[_Doc], log_loss: bool, headroom: float) -> None:
    """λ range half a grid step beyond the ends; head-room above the loss for region labels."""
    positive = np.unique(np.concatenate([d.lam[d.lam > 0] for d in docs]))
    if positive.size:
        low, high = np.log10(positive[[0, -1]])  # in decades: 1e-300…1e300 overflows a ratio
        step = (high - low) / (2 * (positive.size - 1)) if positive.size > 1 else math.log10(3)
        low, high = max(low - step, -300.0), min(high + step, 300.0)
        rows[0][1].set_autoscalex_on(False)  # no autoscale first (one λ: a range of width 0)
        rows[0][1].set_xlim(10**low, 10**high)
        if max(-low, high) > 200:  # matplotlib's LogLocator overflows placing ticks out there
            from matplotlib import ticker

            stride = next(s for s in (10, 20, 50, 100) if (high - low) / s <= 8)
            decades = np.arange(math.ceil(low / stride), math.floor(high / stride) + 1) * stride
            rows[0][1].xaxis.set_major_locator(ticker.FixedLocator((10.0**decades).tolist()))
            rows[0][1].xaxis.set_minor_locator(ticker.NullLocator())
    main = rows[0][1]
    main.relim()
    main.autoscale_view()
    if log_loss:
        main.set_yscale("log")
    lo, hi = _data_range(docs, log_loss)
    if lo is not None:
        if log_loss:
            span = math.log10(hi / lo) or 1.0
            main.set_ylim(lo / 10 ** (0.05 * span), hi * 10 ** (headroom * span))
        else:
            span = (hi - lo) or abs(hi) or 1.0
            main.set_ylim(lo - 0.05 * span, hi + headroom * span)


def _data_range(docs: list[_Doc], log_loss: bool):
    parts = []
    for doc in docs:
        for split in ("train", "test"):
            mean, se = _y(doc, "loss", split)
            se = np.where(np.isfinite(se), se, 0.0)
            parts += [mean + se, mean if log_loss else mean - se]
    values = np.concatenate(parts)
    values = values[np.isfinite(values) & ((values > 0) if log_loss else True)]
    return (values.min(), values.max()) if values.size else (None, None)


def _axis_for(row, lam: float):
    zero, main = row
    return zero if lam == 0 and zero is not None else main


def _fmt(lam: float) -> str:
    return "0" if lam == 0 else f"{lam:.3g}"


def _mark_lambdas(row, doc: _Doc, legend: bool, single: bool) -> None:
    """Vertical lines at λ_min (dashed) and at the one-standard-error λ (dotted)."""
    colour = doc.colour
    prefix = "" if single else f"{doc.label}: "
    chosen = (
        ("best_lambda", doc.data.best_lambda, "λ_min", "--"),
        ("lambda_1se", doc.data.lambda_1se, "λ_1se", ":"),
    )
    for key, lam, name, ls in chosen:  # key: the line's gid
        if lam is None:
            continue
        label = f"{prefix}{name} = {_fmt(lam)}" if legend else None
        _axis_for(row, lam).axvline(
            lam if lam > 0 else 0.0,
            color=colour,
            ls=ls,
            lw=1.3 if single else 1.0,
            alpha=1 if single else 0.7,
            label=label,
            gid=key,
            zorder=1.5,
        )


def _shade_regimes(row, doc: _Doc, labels: bool) -> None:
    """Shade each run of equal regimes and name it at the top of the panel."""
    zero, main = row
    regimes, lam = doc.regimes(), doc.lam
    positive = [(lv, rg) for lv, rg in zip(lam, regimes, strict=True) if lv > 0]
    if zero is not None and (lam == 0).any():
        regime = regimes[int(np.argmax(lam == 0))]
        if regime in REGIME_COLOURS:
            zero.axvspan(
                -1, 1, color=REGIME_COLOURS[regime], alpha=0.10, lw=0, gid=f"region-{regime}"
            )
            # named here only when the shading does not simply carry on to the right
            if labels and (not positive or positive[0][1] != regime):
                _region_label(zero, 0.0, regime, vertical=True)
    xlo, xhi = main.get_xlim()
    for start, stop, regime in _runs(positive):
        lo = xlo if start == 0 else math.sqrt(positive[start - 1][0] * positive[start][0])
        hi = xhi if stop == len(positive) else math.sqrt(positive[stop - 1][0] * positive[stop][0])
        if regime not in REGIME_COLOURS:
            continue
        main.axvspan(lo, hi, color=REGIME_COLOURS[regime], alpha=0.10, lw=0, gid=f"region-{regime}")
        if labels:
            width = math.log(hi / lo) / math.log(xhi / xlo)
            _region_label(main, math.sqrt(lo * hi), regime, vertical=width < 0.013 * len(regime))


def _runs(pairs):
    """(start, stop, value) of each stretch of equal values in [(λ, value), …]."""
    start = 0
    for i in range(1, len(pairs) + 1):
        if i == len(pairs) or pairs[i][1] != pairs[start][1]:
            yield start, i, pairs[start][1]
            start = i


def _region_label(ax, x: float, regime: str, vertical: bool) -> None:
    ax.text(
        x,
        0.97,
        regime,
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="top",
        rotation=90 if vertical else 0,
        fontsize=9,
        color=REGIME_COLOURS[regime],
        fontweight="bold",
        gid=f"region-label-{regime}",
        bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.7),
    )


def _mark_diverged(row, docs: list[_Doc], legend: bool) -> None:
    """An × on the λ axis wherever a run did not train (the λ is left out of the curve)."""
    labelled = False
    only_diverged = not any(
        row.count("no_fit") or row.count("not_converged") for doc in docs for row in doc.rows
    )
    name = "diverged runs" if only_diverged else "runs that did not train"
    for doc in docs:
        for lam in doc.lam[doc.diverged()]:
            ax = _axis_for(row, lam)
            label = name if legend and not labelled else None
            ax.plot(
                [lam if lam > 0 else 0.0],
                [0.0],
                "x",
                color="#b00000",
                ms=9,
                mew=2,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label=label,
                gid="diverged",
                zorder=5,
            )
            labelled = labelled or label is not None


def _dress(fig, rows, docs: list[_Doc], classification: bool) -> None:
    zero, main = rows[0]
    first = zero if zero is not None else main
    first.set_ylabel("loss (cross-entropy)" if classification else "loss (mean squared error)")
    if classification:
        (rows[1][0] or rows[1][1]).set_ylabel("accuracy")
        for ax in rows[0]:
            if ax is not None:
                ax.tick_params(labelbottom=False)
    from wdcli.store.conventions import lambda_axis

    rows[-1][1].set_xlabel(
        lambda_axis(docs[0].data.config.plain()).removesuffix(")") + ", log scale)"
    )
    names = " vs ".join(doc.label for doc in docs)
    model = docs[0].data.config.model.name
    if len(docs) == 1 and model and model != names:
        names += f" ({model})"
    what = f"train and {_split_name(docs[0], 'test')} loss against λ"
    fig.suptitle(f"{names}: {what}\n{_convention(docs[0])}")
    handles, labels = _legend_entries(rows[0])
    ncols = len(labels) if len(labels) <= 5 else math.ceil(len(labels) / 2)
    fig.legend(handles, labels, loc="outside lower center", ncols=_columns(labels, ncols, fig))


def _columns(labels: Sequence[str], wanted: int, fig) -> int:
    """At most `wanted` legend columns, as many as labels this long fit across the figure."""
    chars = LEGEND_CHARS * fig.get_figwidth() / WIDTH
    return max(1, min(wanted, int(chars // (max(map(len, labels), default=0) + 6))))


def _legend_entries(row):
    handles, labels = [], []
    for ax in reversed(row):  # the log-λ panel first: its curves lead the legend
        if ax is None:
            continue
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    return handles, labels


# ---------------------------------------------------------------------------------------------
# Per-epoch curves


def _curves(docs: list[_Doc], requested):
    from matplotlib.figure import Figure

    cols = min(len(docs), 3)  # a grid of many points wraps into rows of three panels
    rows = -(-len(docs) // cols)
    width = WIDTH if len(docs) == 1 else min(4.6 * cols, 16.0)
    fig = Figure(figsize=(width, HEIGHT * (1 if rows == 1 else 0.75 * rows)), layout="constrained")
    grid = fig.subplots(rows, cols, sharey=True, squeeze=False).ravel()
    for ax in grid[len(docs) :]:
        ax.set_visible(False)
    axes = grid[: len(docs)]
    log_y = False
    for ax, doc in zip(axes, docs, strict=True):
        log_y |= _draw_curves(ax, doc, requested)
        ax.set_xlabel("epoch")
        if len(docs) > 1:
            ax.set_title(doc.label)
    if log_y:
        axes[0].set_yscale("log")
    for ax in axes[::cols]:  # the first panel of each row
        ax.set_ylabel(
            "loss (cross-entropy)"
            if docs[0].task == "classification"
            else "loss (mean squared error)"
        )

    convention = _convention(docs[0])
    over = max(docs, key=lambda doc: doc.seeds).over
    fig.suptitle(f"{_names(docs)}: loss per epoch, mean over {over}\n{convention}")
    for ax in axes:  # each panel's own: "a run diverged" only where one did
        ax.legend(
            handles=ax.get_legend_handles_labels()[0] + _styles([ax], _split_name(docs[0], "test")),
            loc="best",
            frameon=True,
            framealpha=0.9,
            edgecolor="none",
        )
    return fig


def _names(docs: list[_Doc]) -> str:
    """The figure's subject: the files' labels side by side, or the one sweep whose points
    the panels are (their labels are the panels' titles)."""
    names = {doc.name for doc in docs}
    if len(docs) > 1 and len(names) == 1 and len({doc.source for doc in docs}) == 1:
        return f"{docs[0].name}, one panel per point"
    return " vs ".join(doc.label for doc in docs)


def _pick(doc: _Doc, requested) -> list[float]:
    grid = sorted(float(v) for v in doc.lam)
    if requested:
        chosen = {nearest_lambda(grid, float(v)) for v in requested}
    else:
        best = doc.data.best_lambda
        chosen = {grid[0], grid[-1]} | ({float(best)} if best is not None else set())
    return sorted(chosen)


def _mean_curve(doc: _Doc, lam: float):
    """Epochs and the seed-mean train and test curves at λ (None when no run has curves)."""
    return _seed_mean(doc, lam, ("train_loss", "test_loss"))


def _curves_at(doc: _Doc, lam: float) -> list[Curve]:
    """The per-epoch curves of the runs at λ that its row averages: with validation folds,
    theirs (each scored on its held-out rows), not fold 0's refit on the whole training split
    (mixed in, the mean matched neither the cv loss nor the test loss)."""
    folds = validated(run.key() for run in doc.data.runs)
    return [run.curve for run in doc.data.runs
            if run.lambda_ == lam and run.curve and not (folds and run.fold == HOLDOUT_FOLD)]  # fmt: skip


def _health_suffix(doc: _Doc, lam: float) -> str:
    """' (2/3 diverged)' for a λ whose runs did not all train, so its curve is not read as fine."""
    from wdcli.report.table import health_cell

    row = next((r for r in doc.rows if r.lambda_ == lam), None)
    if row is None or healthy(row):  # regime or not (with one λ trained, none has one)
        return ""
    return f" ({health_cell(row) or row.regime})"


# ---------------------------------------------------------------------------------------------
# Accuracy and loss per step (full-batch classifiers: memorisation, then grokking)


def _by_step(doc: _Doc) -> bool:
    """A full-batch classifier's sweep with accuracy curves: drawn against log-scaled steps."""
    return doc.data.config.model.value("batch_size") == "full" and any(
        run.curve is not None and run.curve.has("test_accuracy") for run in doc.data.runs
    )


def _seed_mean(doc: _Doc, lam: float, keys: Sequence[str]):
    """Steps and the seed-mean of each curve in `keys` at λ (None when no run has curves)."""
    curves = _curves_at(doc, lam)
    if not curves:
        return None
    # the epochs that every run recorded: runs of other lengths (a tune over epochs) were
    # averaged position by position, one run's epoch 34 with another's epoch 8
    shared = sorted(set.intersection(*(set(c.epoch) for c in curves)))
    means = []
    for key in keys:
        rows = []
        for curve in curves:
            at = dict(zip(curve.epoch, curve.value(key), strict=False))
            rows.append([np.nan if at.get(e) is None else at[e] for e in shared])
        means.append(np.array(rows, float).mean(0))
    return np.asarray(shared, float), *means


def _step_curves(docs: list[_Doc], requested):
    """Train (dashed) and test (solid) accuracy above, loss below, against log-scaled steps,
    one colour per λ (every λ of the file unless some are requested)."""
    import matplotlib
    from matplotlib.figure import Figure

    width = WIDTH if len(docs) == 1 else min(4.6 * len(docs), 16.0)
    fig = Figure(figsize=(width, HEIGHT + 1.5), layout="constrained")
    axes = fig.subplots(2, len(docs), sharex="col", sharey="row", squeeze=False,
                        gridspec_kw={"height_ratios": [3, 2]})  # fmt: skip
    cmap = matplotlib.colormaps["viridis"]
    keys = ("train_accuracy", "test_accuracy", "train_loss", "test_loss")
    for j, doc in enumerate(docs):
        top, bottom = axes[0, j], axes[1, j]
        grid = sorted(float(v) for v in doc.lam)
        chosen = sorted({nearest_lambda(grid, float(v)) for v in requested}) if requested else grid
        for k, lam in enumerate(chosen):
            colour = cmap(0.9 * k / max(len(chosen) - 1, 1))
            curve = _seed_mean(doc, lam, keys)
            if curve is None:
                top.plot([], [], "x", color=colour, label=f"λ = {_fmt(lam)}: every run diverged")
                continue
            step, train_acc, test_acc, train_loss, test_loss = curve
            shown = step > 0  # step 0 (the initial network) has no place on a log axis
            name = f"λ = {_fmt(lam)}{_health_suffix(doc, lam)}"
            for ax, train, test, what in ((top, train_acc, test_acc, "accuracy"),
                                          (bottom, train_loss, test_loss, "loss")):  # fmt: skip
                ax.plot(step[shown], test[shown], color=colour, ls="-",
                        label=name, gid=f"step-test-{what}-{_fmt(lam)}")  # fmt: skip
                ax.plot(step[shown], train[shown], color=colour, ls="--",
                        gid=f"step-train-{what}-{_fmt(lam)}")  # fmt: skip
                _mark_cut(ax, step[shown], (train[shown], test[shown]), colour,
                          gid=f"curve-cut-{_fmt(lam)}")  # fmt: skip
        top.set_xscale("log")
        top.set_xlim(0.9, 1.1 * _last_epoch(doc))  # every step trained, even where curves are cut
        if not any(np.isfinite(line.get_ydata()).any() for line in top.lines):
            top.text(0.5, 0.5, "no run trained past its first step: nothing to draw\n"
                     "(see each run's status)", ha="center", va="center",
                     transform=top.transAxes, color="0.3")  # fmt: skip
        top.set_ylim(-0.03, 1.03)
        top.axhline(0.99, color="0.5", lw=0.8, ls=":", gid="threshold-99")
        bottom.set_yscale("log")
        bottom.set_xlabel("step (log scale)")
        if len(docs) > 1:
            top.set_title(doc.label)
    # once every panel is drawn (the row shares its axis: set from the first panel alone, it
    # cut off the losses of the others), with a floor: a memorised train loss falls to rounding
    low, high = axes[1, 0].get_ylim()
    axes[1, 0].set_ylim(max(low, LOSS_FLOOR), high)
    axes[0, 0].set_ylabel("accuracy")
    axes[1, 0].set_ylabel("loss (cross-entropy)")
    over = max(docs, key=lambda doc: doc.seeds).over
    names = " vs ".join(doc.label for doc in docs)
    convention = _convention(docs[0])
    fig.suptitle(f"{names}: accuracy and loss per step, mean over {over}\n{convention}")
    styles = _styles(axes.flat)
    handles = axes[0, 0].get_legend_handles_labels()[0] + styles
    labels = [handle.get_label() for handle in handles]
    fig.legend(handles=handles, loc="outside lower center", ncols=_columns(labels, 7, fig))
    return fig


def _styles(axes, held_out: str = "test") -> list:
    """Legend entries for the line styles (held-out: test, or cv under validation folds;
    train) and, where a curve was cut, the ×."""
    from matplotlib.lines import Line2D

    styles = [Line2D([], [], color="0.3", ls="-", label=held_out),
              Line2D([], [], color="0.3", ls="--", label="train")]  # fmt: skip
    if any(str(line.get_gid()).startswith("curve-cut") for ax in axes for line in ax.lines):
        styles.append(Line2D([], [], color="0.3", ls="", marker="x", label="a run diverged"))
    return styles


def _last_epoch(doc: _Doc) -> int:
    """The last epoch (step) any run's curve records: the axis spans the whole training."""
    return max(1, max((c.epoch[-1] for r in doc.data.runs if (c := r.curve)), default=1))


def _mark_cut(ax, epoch: np.ndarray, curves, colour, gid: str) -> None:
    """An × at the last finite point of mean curves that end early (a seed's run diverged:
    the mean is cut there), so that even a curve cut after its first point shows."""
    for values in curves:
        finite = np.flatnonzero(np.isfinite(values))
        if len(finite) and finite[-1] < len(values) - 1:
            last = finite[-1]
            ax.plot([epoch[last]], [values[last]], "x", color=colour, ms=8, gid=gid)


def _draw_curves(ax, doc: _Doc, requested) -> bool:
    import matplotlib

    chosen = _pick(doc, requested)
    cmap = matplotlib.colormaps["viridis"]
    best = doc.data.best_lambda
    values = []
    for k, lam in enumerate(chosen):
        colour = cmap(0.85 * k / max(len(chosen) - 1, 1))
        name = f"λ = {_fmt(lam)}" + (" (λ_min)" if best is not None and lam == best else "")
        name += _health_suffix(doc, lam)
        curve = _mean_curve(doc, lam)
        if curve is None:
            ax.plot([], [], "x", color=colour, label=f"{name}: every run diverged")
            continue
        epoch, train, test = curve
        ax.plot(epoch, test, color=colour, ls="-", label=name, gid=f"curve-test-{_fmt(lam)}")
        ax.plot(epoch, train, color=colour, ls="--", gid=f"curve-train-{_fmt(lam)}")
        _mark_cut(ax, epoch, (train, test), colour, gid=f"curve-cut-{_fmt(lam)}")
        values += [train, test]
    last = _last_epoch(doc)
    ax.set_xlim(-0.02 * last, 1.02 * last)  # every epoch trained, even where curves are cut
    finite = np.concatenate(values)[np.isfinite(np.concatenate(values))] if values else []
    return len(finite) > 0 and finite.min() > 0 and finite.max() / finite.min() > 30  # type: ignore[union-attr]
