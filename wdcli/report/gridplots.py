"""Figures of a sweep over more axes than λ: curves per value, heatmaps, the isolation plot.

    curves:    mean test loss against λ, one curve per value of one grid axis
    lambda-curves: mean test loss against a grid axis, one curve per λ (double descent:
               test loss against n_train, at λ = 0 and at the best λ)
    heatmap:   mean test loss over λ (rows) × one grid axis (columns), each column's λ_min
               marked; one panel per value of the remaining axes (side by side)
    isolation: for a tune sweep, per λ the test loss of the value chosen on the validation
               split (bold), beside every candidate's own curve (thin): the tuning playbook's
               isolation plot, the default picture of a tune sweep

λ sits at evenly spaced positions labelled with its values (λ = 0 included), so that a grid
with λ = 0 needs no broken axis. Nothing here prints or writes; `wdcli.report.plots.save` writes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np

from wdcli.errors import WdcliError
from wdcli.records import Results
from wdcli.report.style import COLOURS, distinct_colours
from wdcli.report.table import format_lambda, loss_name, point_documents, varying_axes
from wdcli.runkey import averaged_runs, point_label, point_text
from wdcli.store.conventions import convention, lambda_axis

KINDS = ("auto", "curves", "lambda-curves", "heatmap", "isolation")
LEGEND_INSIDE = 6  # λ curves whose legend still fits inside a panel; more go beside it


class GridPlotError(WdcliError):
    """The grid figure asked for cannot be drawn from this document."""


def _one(results: Results | Sequence[Results]) -> Results | None:
    if isinstance(results, Results):
        return results
    docs = list(results)
    return docs[0] if len(docs) == 1 else None


def applies(results, kind: str = "auto") -> bool:
    """Whether `results` is one grid or tune document (or a grid figure was asked for)."""
    document = _one(results)
    if document is None:
        if kind != "auto":
            raise GridPlotError(f"--kind {kind}: draws one results file, not several")
        return False
    config = document.config
    return kind != "auto" or bool(config.value("grid")) or bool(config.value("tune"))


def figure(results, kind: str = "auto", axis: str | None = None, sources=None):
    """The figure of one grid or tune document (see the module docstring)."""
    from wdcli.report.style import _style

    document = _one(results)
    if document is None:
        raise GridPlotError("a grid figure draws one results file, not several")
    source = (sources or ["results"])[0]
    axes = varying_axes(document)
    tune = document.config.value("tune")
    if kind == "auto":
        kind = "isolation" if tune else ("heatmap" if len(axes) >= 2 else "curves")
    if kind == "isolation" and not tune:
        raise GridPlotError(f"{source}: --kind isolation needs a sweep with tune:")
    if kind == "isolation" and axis is not None:  # it has no axis to choose: it was ignored
        raise GridPlotError(
            f"--axis {axis}: the isolation plot has one panel per grid point and no axis to "
            "choose; --kind curves, heatmap or lambda-curves take --axis"
        )
    if kind in ("curves", "heatmap", "lambda-curves"):
        if not axes:
            raise GridPlotError(f"{source}: --kind {kind} needs a grid with two or more points")
        if axis is not None and axis not in axes:
            raise GridPlotError(f"--axis {axis}: not an axis of {source} ({', '.join(axes)})")
    with _style():
        if kind == "isolation":
            return _isolation(document)
        axis = axis or axes[-1]
        draw = {"heatmap": _heatmaps, "curves": _curves, "lambda-curves": _lambda_curves}
        try:
            return draw[kind](document, axis)
        except GridPlotError as exc:
            raise GridPlotError(f"{source}: {exc}") from None


def _lambda_ticks(ax, lambdas: Sequence[float], which: str = "x") -> None:
    positions = np.arange(len(lambdas))
    labels = [format_lambda(lam) for lam in lambdas]
    step = max(1, math.ceil(len(lambdas) / 12))
    if which == "x":
        ax.set_xticks(positions[::step], labels[::step], rotation=45, ha="right")
    else:
        ax.set_yticks(positions[::step], labels[::step])


def _value_text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else json.dumps(value).strip('"')


def _mean(doc: Results, lam: float, metric: str = "test_loss") -> float:
    """The mean of `metric` at λ, NaN (not drawn) unless every run of it trained: a mean over
    the seeds that did is no point of the curve (it lit a heatmap's best cell)."""
    row = next((r for r in doc.summary if r.lambda_ == lam), None)
    value = None if row is None or not row.all_trained() else row.stat(metric)
    return math.nan if value is None else float(value)


def _groups(document: Results, axis: str) -> dict[str, list[Results]]:
    """Point documents grouped by the values of every varying axis but `axis`."""
    others = [a for a in varying_axes(document) if a != axis]
    groups: dict[str, list[Results]] = {}
    for doc in point_documents(document):
        rest = {a: _point(doc).get(a) for a in others}
        groups.setdefault(point_text(rest), []).append(doc)
    return groups


def _point(doc: Results) -> dict:
    """The point of one of point_documents' documents."""
    return doc.value("point")


def _title(fig, document: Results, what: str) -> None:
    import textwrap

    config = document.config
    width = int(fig.get_figwidth() * 11)  # characters per line at the title's size
    text = f"{config.name}: {config.model.name} on {config.dataset.name}, {what}"
    wrapped = textwrap.wrap(text, width) + textwrap.wrap(convention(config.plain()), width)
    fig.suptitle("\n".join(wrapped))


def _curves(document: Results, axis: str):
    from matplotlib.figure import Figure

    lambdas = sorted({row.lambda_ for row in document.summary})
    groups = _groups(document, axis)
    fig = Figure(figsize=(6.0 * len(groups), 5.0), layout="constrained")
    panels = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (rest, docs) in zip(panels, groups.items(), strict=True):
        for doc, colour in zip(docs, distinct_colours(len(docs)), strict=True):
            y = np.array([_mean(doc, lam) for lam in lambdas])
            label = f"{axis.rsplit('.', 1)[-1]}={_value_text(_point(doc).get(axis))}"
            # a legend entry without a line said nothing of why (every run diverged)
            label += " (no λ trained on every seed)" if np.isnan(y).all() else ""
            ax.plot(np.arange(len(lambdas)), y, "o-", color=colour, label=label, gid=label)
            best = doc.best_lambda
            if best is not None:
                k = lambdas.index(best)
                ax.plot([k], [y[k]], "*", color=colour, markersize=14, markeredgecolor="black")
        _lambda_ticks(ax, lambdas)
        _log_scale(ax)
        ax.set_xlabel(lambda_axis(document.config.plain()))
        ax.set_ylabel(f"mean {loss_name(document)} (log scale)")
        ax.set_title(point_label(rest) or "", fontsize=10)
        ax.legend(title="★ λ_min of each curve", fontsize=8)
    _title(fig, document, f"{loss_name(document)} against λ per {axis}")
    return fig


def _lambda_curves(document: Results, axis: str):
    from matplotlib.figure import Figure

    lambdas = sorted({row.lambda_ for row in document.summary})
    groups = _groups(document, axis)
    beside = len(lambdas) > LEGEND_INSIDE
    fig = Figure(figsize=((8.0 if beside else 6.5) * len(groups), 5.0), layout="constrained")
    panels = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (rest, docs) in zip(panels, groups.items(), strict=True):
        values = [_point(d).get(axis) for d in docs]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric:  # joined in the order of x, not as written (n_train=100,30,200 zigzagged)
            order = np.argsort(np.array(values, float), kind="stable")
            docs, values = [docs[i] for i in order], [values[i] for i in order]
        x = np.array(values, float) if numeric else np.arange(len(values))
        for lam, colour in zip(lambdas, distinct_colours(len(lambdas)), strict=True):
            y = np.array([_mean(d, lam) for d in docs])
            label = f"λ = {format_lambda(lam)}"
            ax.plot(x, y, "o-", color=colour, label=label, gid=label, markersize=3)
        # the best of the λ that trained (min() kept a leading NaN: the line lost that point)
        best = np.array([min((m for lam in lambdas if not math.isnan(m := _mean(d, lam))),
                             default=np.nan) for d in docs])  # fmt: skip
        ax.plot(x, best, "k--", linewidth=2.4, label="best λ per point", gid="best")
        if not numeric:
            ax.set_xticks(x, [_value_text(v) for v in values], rotation=45, ha="right")
        _log_scale(ax)
        ax.set_xlabel(axis)
        ax.set_ylabel(f"mean {loss_name(document)} (log scale)")
        ax.set_title(point_label(rest) or "", fontsize=10)
        place = {"loc": "center left", "bbox_to_anchor": (1.02, 0.5)} if beside else {}
        ax.legend(fontsize=8, title=lambda_axis(document.config.plain()), title_fontsize=8,
                  **place)  # fmt: skip
    _title(fig, document, f"{loss_name(document)} against {axis}, one curve per λ")
    return fig


def _log_scale(ax) -> None:
    """A log-scaled loss axis, or, when no λ of the panel trained (nothing finite and positive
    to draw), a panel that says so: matplotlib cannot log-scale an axis without data."""
    values = [np.asarray(line.get_ydata(), float) for line in ax.get_lines()]
    if any(np.any(np.isfinite(v) & (v > 0)) for v in values):
        ax.set_yscale("log")
        return
    ax.text(0.5, 0.5, "no λ trained on every seed here\n(see each run's status)",
            transform=ax.transAxes, ha="center", va="center", color="0.3")  # fmt: skip
    ax.set_yticks([])


def _heatmaps(document: Results, axis: str):
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    lambdas = sorted({row.lambda_ for row in document.summary})
    groups = _groups(document, axis)
    values = [v for docs in groups.values() for d in docs for v in
              (_mean(d, lam) for lam in lambdas) if math.isfinite(v) and v > 0]  # fmt: skip
    if not values:
        raise GridPlotError("no λ trained on every seed at any point: no heatmap to draw "
                            "(see each run's status)")  # fmt: skip
    norm = LogNorm(vmin=min(values), vmax=max(values))
    fig = Figure(figsize=(1.2 + 4.6 * len(groups), 5.4), layout="constrained")
    panels = fig.subplots(1, len(groups), squeeze=False)[0]
    image, marked = None, False
    for ax, (rest, docs) in zip(panels, groups.items(), strict=True):
        grid = np.array([[_mean(d, lam) for d in docs] for lam in lambdas])
        marked |= bool(np.isnan(grid).any())
        image = ax.imshow(np.ma.masked_invalid(grid), origin="lower", aspect="auto",
                          cmap="viridis_r", norm=norm)  # fmt: skip
        for i, j in zip(*np.nonzero(np.isnan(grid)), strict=True):  # a blank cell said nothing
            ax.text(j, i, "×", ha="center", va="center", color="0.35", fontsize=12,
                    gid=f"untrained-{j}-{i}")  # fmt: skip
        for j, doc in enumerate(docs):
            best = doc.best_lambda
            if best is not None:
                ax.plot([j], [lambdas.index(best)], "*", color="white", markersize=14,
                        markeredgecolor="black", gid=f"best-{j}")  # fmt: skip
        ax.set_xticks(range(len(docs)), [_value_text(_point(d).get(axis)) for d in docs],
                      rotation=45, ha="right")  # fmt: skip
        _lambda_ticks(ax, lambdas, "y")
        ax.set_xlabel(axis)
        ax.set_ylabel(lambda_axis(_panel_config(document, docs[0])))
        ax.set_title(point_label(rest) or "", fontsize=10)
        ax.grid(False)
    fig.colorbar(image, ax=list(panels), label=f"mean {loss_name(document)} (log colour scale)")  # type: ignore[arg-type]
    marks = "; × not every run trained" if marked else ""
    _title(fig, document, f"{loss_name(document)} over λ × {axis}; ★ λ_min of each column{marks}")
    return fig


def _panel_config(document: Results, doc: Results) -> dict:
    """The config of the point (so the axis names that point's decay)."""
    config = json.loads(json.dumps(document.config.plain()))
    config["grid"], config["tune"] = {}, {}
    for key, value in _point(doc).items():
        section, _, name = key.partition(".")
        if section in config and isinstance(config[section], dict) and "." not in name:
            config[section][name] = value
    return config


def _isolation(document: Results):
    from matplotlib.figure import Figure

    lambdas = sorted({row.lambda_ for row in document.summary})
    docs = point_documents(document)
    fig = Figure(figsize=(6.5 * len(docs), 5.0), layout="constrained")
    panels = fig.subplots(1, len(docs), squeeze=False)[0]
    for ax, doc in zip(panels, docs, strict=True):
        x = np.arange(len(lambdas))
        for i, (label, y) in enumerate(_candidate_curves(doc, lambdas).items()):
            ax.plot(x, y, "--", color=COLOURS[(i + 1) % len(COLOURS)], linewidth=1.0,
                    alpha=0.8, label=f"fixed {label}", gid=f"fixed {label}")  # fmt: skip
        y = np.array([_mean(doc, lam) for lam in lambdas])
        ax.plot(x, y, "o-", color="black", linewidth=2.4, label="tuned per λ (on validation)",
                gid="tuned")  # fmt: skip
        best = doc.best_lambda
        if best is not None:
            k = lambdas.index(best)
            ax.plot([k], [y[k]], "*", color="gold", markersize=16, markeredgecolor="black",
                    label=f"λ_min = {format_lambda(best)}")  # fmt: skip
        _lambda_ticks(ax, lambdas)
        _log_scale(ax)
        ax.set_xlabel(lambda_axis(document.config.plain()))
        ax.set_ylabel(f"mean {loss_name(document)} (log scale)")
        ax.set_title(point_label(_point(doc)) or "", fontsize=10)
        ax.legend(fontsize=8)
    keys = ", ".join(document.config.value("tune"))
    _title(fig, document, f"isolation plot of {loss_name(document)}: best {keys} per λ")
    return fig


def _candidate_curves(doc: Results, lambdas: list[float]) -> dict[str, np.ndarray]:
    """Mean test loss of every tune candidate at every λ (from the runs' tune_trials), over the
    runs that the tuned line's mean (the summary's) is over: the seeds, or the validation
    folds under cross-validation (not the holdout fit, scored on the test split); NaN where
    one of its trials did not train, as the tuned line's rule is."""
    averaged, _ = averaged_runs(run.plain() for run in doc.runs)
    losses: dict[str, dict[float, list[float | None]]] = {}
    for key, runs in averaged.items():
        for run in runs:
            for trial in run.get("tune_trials", []):
                by_lambda = losses.setdefault(point_label(trial["values"]), {})
                trained = trial.get("status", "ok") == "ok"
                by_lambda.setdefault(key.lam, []).append(
                    trial.get("test_loss") if trained else None
                )
    return {label: np.array([_mean_if_all_trained(by.get(lam, [])) for lam in lambdas])
            for label, by in losses.items()}  # fmt: skip


def _mean_if_all_trained(values: list[float | None]) -> float:
    """The mean of the trials' losses, NaN (no point) when one did not train (None) or there
    are none: a mean over the seeds whose trial trained drew a failing lr 8 % better than
    its runs were."""
    trained = [v for v in values if v is not None]
    return float(np.mean(trained)) if trained and len(trained) == len(values) else np.nan
