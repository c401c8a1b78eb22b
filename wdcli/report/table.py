"""Render a results document: a rich table, markdown, CSV or JSON. Nothing here prints.

All renderers share one list of columns, so the table a user reads and the markdown a CI job
posts show the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wdcli.metrics import grokking
from wdcli.metrics.health import UNHEALTHY
from wdcli.metrics.summary import no_verdict
from wdcli.runkey import RowKey, by_point, point_label, point_text, points_of, validation_folds
from wdcli.store.conventions import convention

REGIME_STYLES = {
    "overfit": "red",
    "good": "green",
    "underfit": "yellow",
    "diverged": "magenta",
    "flat": "cyan",
}
NO_REGIME = "–"  # a row without enough healthy runs: no regime


@dataclass(frozen=True)
class Column:
    header: str
    key: str  # the summary field; its _std sibling is shown as ± when there are several seeds
    fmt: str = ".4g"


def columns(document: dict) -> list[Column]:
    """The columns that apply to this document (df for ridge, accuracy for classification)."""
    summary = document["summary"]
    cols = [
        Column("train loss", "train_loss_mean"),
        Column(loss_name(document), "test_loss_mean"),
        Column("gap", "gap"),
    ]
    if any(row.get("test_loss_paired_se") is not None for row in summary):
        cols.append(Column("Δ ± paired SE", "delta"))
    cols.append(Column("Σw²", "weight_sq_norm_mean"))
    if any(row.get("df_mean") is not None for row in summary):
        cols.append(Column("df", "df_mean", ".3g"))
    if any(row.get("test_accuracy_mean") is not None for row in summary):
        cols += [
            Column("train acc", "train_accuracy_mean", ".3f"),
            Column("test acc", "test_accuracy_mean", ".3f"),
        ]
    return cols


def format_lambda(lam: float) -> str:
    return "0" if lam == 0 else f"{lam:.3g}"


def validation_kind(document: dict) -> str:
    return (document.get("validation") or {}).get("kind", "holdout")


def loss_name(document: Mapping) -> str:
    """What the selection loss is: the test split's, or the validation folds'."""
    return {"kfold": "cv loss", "loo": "loo loss"}.get(validation_kind(document), "test loss")  # type: ignore[arg-type]


def _delta(row: dict, best: float | None) -> str:
    se = row.get("test_loss_paired_se")
    if best is None or row["test_loss_mean"] is None or se is None:
        return "–"
    return f"{row['test_loss_mean'] - best:+.3g} ± {se:.2g}"


def _best_loss(document: dict) -> float | None:
    lam = document.get("best_lambda")
    return next((r["test_loss_mean"] for r in document["summary"] if r["lambda"] == lam), None)


def _cell(row: dict, column: Column, seeds: int, best: float | None = None) -> str:
    if column.key == "delta":
        return _delta(row, best)
    if column.key == "gap":
        if row["test_loss_mean"] is None:
            return "–"
        return format(row["test_loss_mean"] - row["train_loss_mean"], column.fmt)
    value = row.get(column.key)
    if value is None:
        return "–"
    text = format(value, column.fmt)
    std = row.get(column.key.removesuffix("_mean") + "_std")
    if seeds > 1 and std is not None:
        text += f" ± {std:.2g}"
    return text


def status_counts(row: dict) -> dict[str, int]:
    """{status: count} of the row's runs that did not train, in order of precedence."""
    counts = {status: row.get(f"n_{status}") or 0 for status in UNHEALTHY}
    return {status: n for status, n in counts.items() if n}


def health_cell(row: dict) -> str:
    """'2/3 diverged', '1/3 diverged, 2/3 no_fit', or '' when every run trained."""
    total = row.get("n_runs") or 0
    return ", ".join(f"{n}/{total} {status}" for status, n in status_counts(row).items())


def any_unhealthy(document: dict) -> bool:
    return any(status_counts(row) for row in document["summary"])


def regime_text(row: dict) -> str:
    return row.get("regime") or NO_REGIME


def marks(document: dict, lam: float) -> str:
    """'λ_min', 'λ_1se' or both, for the rows they select."""
    names = [
        name
        for name, key in (("λ_min", "best_lambda"), ("λ_1se", "lambda_1se"))
        if document.get(key) is not None and document[key] == lam
    ]
    return " = ".join(names)


def n_seeds(document: dict) -> int:
    seeds = {run.get("seed") for run in document.get("runs", [])}
    if seeds:
        return len(seeds)
    return max((row.get("n_runs", 1) for row in document["summary"]), default=1)


def n_folds(document: dict) -> int:
    """Validation folds per seed (0 with a holdout split)."""
    return validation_folds(document.get("runs", []))


def title(document: dict) -> str:
    config = document["config"]
    seeds = n_seeds(document)
    point = point_label(document.get("point") or {})
    text = (
        f"{config['name']}: {config['model']['name']} on {config['dataset']['name']}, "
        f"{len(document['summary'])} λ × {seeds} seed{'s' if seeds != 1 else ''}"
        + (f" at {point}" if point else "")
    )
    kind = validation_kind(document)
    if kind == "kfold":
        text += f" × {n_folds(document)} folds (cross-validation)"
    elif kind == "loo":
        text += " (leave-one-out)"
    return text


def spread(document: Mapping) -> str:
    """Which spread the ± of the table and the band of the plot show, over which units."""
    seeds, folds = n_seeds(document), n_folds(document)  # type: ignore[arg-type]
    kind = validation_kind(document)  # type: ignore[arg-type]
    if kind == "loo":
        samples = max((row.get("n_units") or 0 for row in document["summary"]), default=0)
        units = f"{samples} LOO samples"
    elif kind == "kfold":
        units = f"{seeds} seed{'s' * (seeds != 1)} × {folds} folds"
    else:
        units = f"{seeds} seed{'s' * (seeds != 1)}"
    return units


def caption(document: dict) -> str:
    best, one_se = document.get("best_lambda"), document.get("lambda_1se")
    parts = [convention(document["config"]) + "; losses are the data loss alone"]
    if document.get("target_scaling"):
        parts.append("trained on standardised targets; losses in target units")
    paired = any(r.get("test_loss_paired_se") is not None for r in document["summary"])
    if n_seeds(document) > 1 or n_folds(document) > 0:
        parts.append(
            f"±: sample std over {spread(document)}"
            + (
                f"; Δ: {loss_name(document)} − its value at λ_min ± its paired SE (over the "
                "same seeds and folds)"
                if paired
                else ""
            )
        )
    if best is not None:
        parts.append(
            f"λ_min = {format_lambda(best)}"
            + (f", λ_1se = {format_lambda(one_se)}" if one_se is not None else "")
            + (" (largest λ with Δ ≤ paired SE)" if one_se is not None and paired else "")
        )
    final = document.get("final_test_loss") or {}
    if final.get("best_lambda") is not None:
        same = document.get("lambda_1se") == best or final.get("lambda_1se") is None
        parts.append(
            f"test split: {final['best_lambda']:.4g} at λ_min"
            + (" = λ_1se" if same else f", {final['lambda_1se']:.4g} at λ_1se")
        )
    tolerance = document["config"].get("tolerance")
    if tolerance is not None:
        parts.append(
            f"good: {loss_name(document)} within {tolerance:.0%} of the best"
            + ("; Δ > 2 paired SE: measurably worse than λ_min" if paired else "")
        )
    if any_unhealthy(document):
        parts.append(
            f"{NO_REGIME}: not every run of this λ trained (see runs); means are over the runs "
            "that did, and such a λ gets no regime and is never λ_min or λ_1se"
        )
    if not any(row.get("regime") for row in document["summary"]):
        reason = no_verdict(document["summary"]) or "no λ trained on every seed"
        parts.append(f"{reason}: nothing can be said about over- or underfitting")
    if grokking.applies(document):
        model = document["config"]["model"]
        when = (
            f"one of ~{model['eval_points']} log-spaced"
            if model.get("eval_points")
            else f"every {_curve_stride(document)}"
        )
        parts.append(
            f"step … ≥ 99 %: the first evaluated step ({when} of {model.get('epochs')}) at "
            "that accuracy; delay: test step − train step"
        )
    parts += document.get("notes") or []
    return "\n".join(parts)


def _curve_stride(document: dict) -> int | str:
    """Epochs between the curves' points: the first run's (`eval_every: auto` chose it)."""
    for run in document["runs"]:
        epochs = (run.get("curve") or {}).get("epoch") or []
        if len(epochs) > 1:
            return epochs[1] - epochs[0]
    return document["config"]["model"].get("eval_every", "?")


def rows(document: dict) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells, one row per λ."""
    cols = columns(document)
    units = max((row.get("n_units", 1) for row in document["summary"]), default=1)
    seeds = max(n_seeds(document), n_folds(document), units)
    best = _best_loss(document)
    health = any_unhealthy(document)
    steps = _grokking_steps(document)
    grok = GROKKING_HEADERS if steps is not None else ()
    headers = ["λ", *(c.header for c in cols), *grok, *(["runs"] if health else []), "regime", ""]
    body = [
        [
            format_lambda(row["lambda"]),
            *(_cell(row, c, seeds, best) for c in cols),
            *(grokking.cell(row, key, steps) for key in grokking.FIELDS if grok),
            *([health_cell(row)] if health else []),
            regime_text(row),
            marks(document, row["lambda"]),
        ]
        for row in document["summary"]
    ]
    if any("tuned" in run for run in document["runs"]):
        headers.insert(-2, "tuned")
        for row, cells in zip(document["summary"], body, strict=True):
            cells.insert(-2, tuned_cell(document, row))
    return headers, body


def tuned_cell(document: dict, row: dict) -> str:
    """The tune values chosen at a summary row's (point, λ): the most frequent over seeds."""
    key = RowKey.of(row)
    chosen = [
        point_label(run["tuned"])
        for run in document["runs"]
        if "tuned" in run and RowKey.of(run) == key
    ]
    if not chosen:
        return "–"
    top = max(set(chosen), key=lambda value: (chosen.count(value), value))
    return top if chosen.count(top) == len(chosen) else f"{top} ({chosen.count(top)}/{len(chosen)})"


def is_grid(document: dict) -> bool:
    """Whether the document holds more than one point."""
    return len(points_of(document["summary"])) > 1


def point_documents(document: Mapping) -> list[dict]:
    """One document per point, as a sweep of that point alone would have written it."""
    selections = {point_text(s["point"]): s for s in document.get("points", [])}
    docs = []
    runs = by_point(document["runs"])
    for point, rows in by_point(document["summary"]).items():
        selection = selections.get(point, document)
        docs.append(
            {
                **document,
                "point": json.loads(point),
                "summary": rows,
                "runs": runs.get(point, []),
                "best_lambda": selection.get("best_lambda"),
                "lambda_1se": selection.get("lambda_1se"),
            }
        )
    return docs


def varying_axes(document: Mapping) -> list[str]:
    """The grid keys whose values differ between the document's points."""
    points = [json.loads(p) for p in points_of(document["summary"])]
    written = list(document.get("config", {}).get("grid") or {})  # the config's order
    keys = list(dict.fromkeys(written + [k for p in points for k in p]))
    return [k for k in keys if len({json.dumps(p.get(k)) for p in points}) > 1]


def pivot(document: dict, metric: str = "test_loss") -> tuple[list[str], list[list[str]]]:
    """Mean `metric` with rows λ and a column per point; '*' marks each column's λ_min."""
    docs = point_documents(document)
    axes = varying_axes(document)
    headers = ["λ"] + [
        point_label({k: d["point"][k] for k in axes if k in d["point"]}) for d in docs
    ]
    lambdas = sorted({row["lambda"] for row in document["summary"]})
    body = []
    for lam in lambdas:
        cells = [format_lambda(lam)]
        for d in docs:
            row = next((r for r in d["summary"] if r["lambda"] == lam), None)
            value = None if row is None else row.get(f"{metric}_mean")
            text = "–" if value is None else format(value, ".4g")
            cells.append(text + (" *" if d.get("best_lambda") == lam else ""))
        body.append(cells)
    return headers, body


def pivot_table(document: dict, metric: str = "test_loss"):
    """The pivot as a rich Table."""
    from rich.table import Table

    headers, body = pivot(document, metric)
    table = Table(
        title=f"{document['config']['name']}: mean {metric.replace('_', ' ')}",
        caption="* the column's λ_min; " + convention(document["config"]),
        caption_justify="left",
    )
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    for cells in body:
        table.add_row(*cells)
    return table


def renderables(document: dict) -> list:
    """What `show` prints as a table: one table per point, then the pivot (for a grid)."""
    if not is_grid(document):
        return [rich_table(document)]
    return [rich_table(d) for d in point_documents(document)] + [pivot_table(document)]


def _numeric(headers: list[str], i: int) -> bool:
    """Whether column i holds numbers (right-aligned): all but λ's label, runs, regime, marks."""
    return 0 < i < len(headers) - 2 and headers[i] != "runs"


GROKKING_HEADERS = ("step train acc ≥ 99 %", "step test acc ≥ 99 %", "delay")


def _grokking_steps(document: dict) -> int | None:
    """The steps of a full-batch classifier's run (the columns' 'not within N'), else None."""
    if not grokking.applies(document):
        return None
    return document["config"]["model"].get("epochs")


def rich_table(document: dict):
    """The results as a rich Table (numbers right-aligned, regimes coloured)."""
    from rich.table import Table
    from rich.text import Text

    headers, body = rows(document)
    table = Table(title=title(document), caption=caption(document), caption_justify="left")
    for i, header in enumerate(headers):
        right = _numeric(headers, i) or i == 0
        table.add_column(header, justify="right" if right else "left", no_wrap=True)
    runs = headers.index("runs") if "runs" in headers else None
    for cells in body:
        cells = list(cells)
        if runs is not None and cells[runs]:
            cells[runs] = Text(cells[runs], style="magenta")  # type: ignore[call-overload]
        regime = Text(cells[-2], style=REGIME_STYLES.get(cells[-2], ""))
        table.add_row(*cells[:-2], regime, Text(cells[-1], style="bold"))
    return table


def markdown(document: dict) -> str:
    """The table as GitHub-flavoured markdown, with the title and caption around it (for a
    grid: one per point, then the pivot)."""
    if is_grid(document):
        parts = [_markdown_one(d) for d in point_documents(document)]
        headers, body = pivot(document)
        lines = [f"**{document['config']['name']}: mean test loss**", ""]
        lines += ["| " + " | ".join(headers) + " |", "|" + "---:|" * len(headers)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        lines += ["", "_* the column's λ_min_"]
        return "\n".join(parts) + "\n" + "\n".join(lines) + "\n"
    return _markdown_one(document)


def _markdown_one(document: dict) -> str:
    headers, body = rows(document)
    lines = [
        f"**{title(document)}**",
        "",
        "| " + " | ".join(headers) + " |",
        "|"
        + "|".join("---:" if _numeric(headers, i) else ":---" for i in range(len(headers)))
        + "|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    lines += [""] + [f"_{line}_" for line in caption(document).split("\n")]
    return "\n".join(lines) + "\n"


def csv_text(document: dict) -> str:
    """The summary at full precision, one row per λ, for scripts and spreadsheets."""
    summary = document["summary"]
    keys = list(dict.fromkeys(key for row in summary for key in row))
    if not is_grid(document) and "point" in keys:
        keys.remove("point")  # one point: the column would only say {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*keys, "mark"])
    selections = {point_text(s["point"]): s for s in document.get("points", [])}
    for row in summary:
        selection = selections.get(point_text(row.get("point")), document)
        writer.writerow([_csv_value(row.get(k)) for k in keys] + [marks(selection, row["lambda"])])
    return out.getvalue()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return repr(value) if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- training health

# What a status means and what to do, unless the model's registry entry says it for itself.
_MEANING = {
    ("diverged", None): "loss or weights blew up",
    ("no_fit", "regression"): "worse on the training split than predicting the mean",
    ("no_fit", "classification"): "worse on the training split than predicting the class "
    "frequencies",
    ("not_converged", None): "solver tolerance not met",
}
_KNOB = "check the data for extreme values"


def health_note(document: dict, model: Any = None) -> str | None:
    """One line saying which runs did not train, why, and which knob to turn; None when all
    did. For the CLI to print on stderr. `model` is the model's registry entry
    (wdcli.models.MODELS, passed by the caller: reports do not import models): its meanings,
    knobs and learning-rate key name what to turn."""
    runs = document.get("runs") or []
    bad: dict[str, list[dict]] = {}
    for run in runs:
        status = run.get("status")
        if status in UNHEALTHY:
            bad.setdefault(status, []).append(run)
    if not bad:
        return None
    parts = [
        _health_part(document, status, bad[status], model) for status in UNHEALTHY if status in bad
    ]
    total = sum(len(v) for v in bad.values())
    if total == len(runs):
        head, tail = "no run trained", "so no λ has a regime and there is no λ_min"
    elif not any(row.get("regime") for row in document["summary"]):
        reason = no_verdict(document["summary"]) or "no λ trained on every seed"
        head = f"{reason} ({total} of {len(runs)} runs did not)"
        tail = "so no λ has a regime and there is no λ_min"
    else:
        head = f"{total} of {len(runs)} runs did not train"
        tail = "those λ get no regime and are never λ_min or λ_1se"
    return f"warning: {head}: {'; '.join(parts)}; {tail} (docs/health.md)"


def _health_part(document: dict, status: str, runs: list[dict], spec: Any) -> str:
    lambdas = [run.get("lambda") for run in runs]
    options = document.get("config", {}).get("model", {})
    meanings, knobs = getattr(spec, "meanings", {}), getattr(spec, "knobs", {})
    lr_key = getattr(spec, "lr_key", None)
    meaning = (
        _MEANING.get((status, document.get("task")))
        or meanings.get(status)
        or _MEANING.get((status, None), "")
    )
    knob = knobs.get(status, _KNOB)
    if status == "diverged" and lr_key:
        lr = options.get(lr_key) or 0
        if all(lam is not None and lam * lr >= 1 for lam in lambdas):
            knob = f"lower the largest λ (every diverged run has λ·model.{lr_key} ≥ 1)"
    if status == "no_fit" and any(_ended_above_start(run) for run in runs):
        knob = "lower model.lr (training left the loss above where it started)"
    where = sorted({lam for lam in lambdas if lam is not None})
    if len(where) <= 3:
        at = ", ".join(format_lambda(lam) for lam in where)
    else:
        at = f"{format_lambda(where[0])} … {format_lambda(where[-1])} ({len(where)} λ)"
    return f"{len(lambdas)} {status} ({meaning}) at λ = {at}: {knob}"


def _ended_above_start(run: dict) -> bool:
    """Whether a run's training-loss curve ends above its first point (unstable training)."""
    curve = (run.get("curve") or {}).get("train_loss") or []
    numbers = [v for v in (curve[:1] + curve[-1:]) if isinstance(v, (int, float))]
    return len(numbers) == 2 and len(curve) > 1 and numbers[1] > numbers[0]
