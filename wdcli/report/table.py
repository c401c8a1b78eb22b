"""Render a results document: a rich table, markdown, CSV or JSON. Nothing here prints.

All renderers share one list of columns, so the table a user reads and the markdown a CI job
posts show the same numbers.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from wdcli.metrics import grokking
from wdcli.metrics.health import (
    DECAY_KEYS,
    OK,
    UNHEALTHY,
    above_constant,
    decay_flips,
    decouples,
    no_minimiser,
)
from wdcli.metrics.summary import no_verdict
from wdcli.records import Results, Run, SummaryRow
from wdcli.runkey import point_label, point_text
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


def columns(document: Results) -> list[Column]:
    """The columns that apply to this document (df for ridge, accuracy for classification)."""
    summary = document.summary
    cols = [
        Column("train loss", "train_loss_mean"),
        Column(loss_name(document), "test_loss_mean"),
        Column("gap", "gap"),
    ]
    if _paired(document):
        cols.append(Column("Δ ± paired SE", "delta"))
    cols.append(Column("Σw²", "weight_sq_norm_mean"))
    if any(row.stat("df") is not None for row in summary):
        cols.append(Column("df", "df_mean", ".3g"))
    if any(row.stat("test_accuracy") is not None for row in summary):
        cols += [
            Column("train acc", "train_accuracy_mean", ".3f"),
            Column(loss_name(document).replace("loss", "acc"), "test_accuracy_mean", ".3f"),
        ]
    return cols


def format_lambda(lam: float) -> str:
    return "0" if lam == 0 else f"{lam:.3g}"


def _metric_name(document: Results, metric: str) -> str:
    """'test loss' (or 'cv loss' under cross-validation, whose test_loss is the folds'), …"""
    return loss_name(document) if metric == "test_loss" else metric.replace("_", " ")


def validation_kind(document: Results) -> str:
    return (document.value("validation") or {}).get("kind", "holdout")


def loss_name(document: Results) -> str:
    """What the selection loss is: the test split's, or the validation folds'."""
    return {"kfold": "cv loss", "loo": "loo loss"}.get(validation_kind(document), "test loss")


def _paired(document: Results) -> bool:
    """Whether the summary has paired SEs (the Δ column)."""
    return any(row.stat("test_loss", "paired_se") is not None for row in document.summary)


def _delta(row: SummaryRow, best: float | None) -> str:
    se = row.stat("test_loss", "paired_se")
    if best is None or row.test_loss_mean is None or se is None:
        return "–"
    return f"{row.test_loss_mean - best:+.3g} ± {se:.2g}"


def _best_loss(document: Results) -> float | None:
    lam = document.best_lambda
    return next((r.test_loss_mean for r in document.summary if r.lambda_ == lam), None)


def _cell(row: SummaryRow, column: Column, seeds: int, best: float | None = None) -> str:
    if column.key == "delta":
        return _delta(row, best)
    if column.key == "gap":
        if row.test_loss_mean is None:
            return "–"
        return format(row.test_loss_mean - row.train_loss_mean, column.fmt)  # type: ignore[operator]
    value = row.value(column.key)
    if value is None:
        return "–"
    text = format(value, column.fmt)
    std = row.stat(column.key.removesuffix("_mean"), "std")
    if seeds > 1 and std is not None:
        text += f" ± {std:.2g}"
    return text


def status_counts(row: SummaryRow) -> dict[str, int]:
    """{status: count} of the row's runs that did not train, in order of precedence."""
    counts = {status: row.count(status) for status in UNHEALTHY}
    return {status: n for status, n in counts.items() if n}


def health_cell(row: SummaryRow) -> str:
    """'2/3 diverged', '1/3 diverged, 2/3 no_fit', or '' when every run trained."""
    total = row.n_runs or 0
    return ", ".join(f"{n}/{total} {status}" for status, n in status_counts(row).items())


def any_unhealthy(document: Results) -> bool:
    return any(status_counts(row) for row in document.summary)


def regime_text(row: SummaryRow) -> str:
    return row.regime or NO_REGIME


def marks(chosen: tuple[float | None, float | None], lam: float) -> str:
    """'λ_min', 'λ_1se' or both, for the rows they select: chosen is (λ_min, λ_1se)."""
    names = [
        name
        for name, value in zip(("λ_min", "λ_1se"), chosen, strict=True)
        if value is not None and value == lam
    ]
    return " = ".join(names)


def n_seeds(document: Results) -> int:
    return len({run.seed for run in document.runs})


def n_folds(document: Results) -> int:
    """Validation folds per seed (0 with a holdout split)."""
    return document.validation_folds()


def title(document: Results) -> str:
    config = document.config
    seeds = n_seeds(document)
    values = document.value("point") or {}
    point = point_label(values)
    model = values.get("model.name", config.model.name)  # a grid over the model or dataset
    dataset = values.get("dataset.name", config.dataset.name)
    text = (
        f"{config.name}: {model} on {dataset}, "
        f"{len(document.summary)} λ × {seeds} seed{'s' if seeds != 1 else ''}"
        + (f" at {point}" if point else "")
    )
    kind = validation_kind(document)
    if kind == "kfold":
        text += f" × {n_folds(document)} folds (cross-validation)"
    elif kind == "loo":
        text += " (leave-one-out)"
    return text


def spread(document: Results) -> str:
    """Which spread the ± of the table and the band of the plot show, over which units."""
    seeds, folds = n_seeds(document), n_folds(document)
    kind = validation_kind(document)
    if kind == "loo":
        samples = max((row.value("n_units") or 0 for row in document.summary), default=0)
        units = f"{samples} LOO samples"
    elif kind == "kfold":
        units = f"{seeds} seed{'s' * (seeds != 1)} × {folds} folds"
    else:
        units = f"{seeds} seed{'s' * (seeds != 1)}"
    return units


def caption(document: Results) -> str:
    best, one_se = document.best_lambda, document.lambda_1se
    parts = [convention(document.config.plain()) + "; losses are the data loss alone"]
    if document.value("target_scaling"):
        parts.append(  # Σw² is the standardised network's: the penalty is λ·Σw² × var y
            "trained on standardised targets; losses and the penalty in target units (λ·Σw² × "
            "var y)"
        )
    paired = _paired(document)
    seeds = n_seeds(document)
    delta = (
        f"; Δ: {loss_name(document)} − its value at λ_min ± its paired SE (over the same seeds "
        "and folds)"
        if paired
        else ""
    )
    if validation_kind(document) == "loo":  # the loo loss's spread is over samples, not seeds
        per_seed = f"; the other columns' over {seeds} seed{'s' * (seeds != 1)}"
        parts.append(f"±: the loo loss's sample std over {spread(document)}{per_seed}{delta}")
    elif seeds > 1 or n_folds(document) > 0:
        parts.append(f"±: sample std over {spread(document)}{delta}")
    if best is not None:
        parts.append(
            f"λ_min = {format_lambda(best)}"
            + (f", λ_1se = {format_lambda(one_se)}" if one_se is not None else "")
            + (" (largest λ with Δ ≤ paired SE)" if one_se is not None and paired else "")
        )
    final = document.value("final_test_loss") or {}
    if final.get("best_lambda") is not None:
        same = one_se == best or final.get("lambda_1se") is None
        parts.append(
            f"test split: {final['best_lambda']:.4g} at λ_min"
            + (" = λ_1se" if same else f", {final['lambda_1se']:.4g} at λ_1se")
        )
    tolerance = document.config.tolerance
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
    if not any(row.regime for row in document.summary):
        reason = (
            no_verdict([row.plain() for row in document.summary]) or "no λ trained on every seed"
        )
        parts.append(f"{reason}: nothing can be said about over- or underfitting")
    if grokking.applies(document):
        model = document.config.model
        recorded = max((len(run.curve.epoch) for run in document.runs if run.curve), default=0)
        when = (  # the points recorded: distinct steps of the log spacing, fewer than asked
            f"one of {recorded} log-spaced"
            if model.value("eval_points")
            else f"every {_curve_stride(document)}"
        )
        parts.append(
            f"step … ≥ 99 %: the first evaluated step ({when} of {model.value('epochs')}) at "
            "that accuracy; delay: test step − train step"
        )
    parts += document.value("notes") or []
    return "\n".join(parts)


def _curve_stride(document: Results) -> int | str:
    """Epochs between the curves' points: the first run's (`eval_every: auto` chose it)."""
    for run in document.runs:
        epochs = run.curve.epoch if run.curve else []
        if len(epochs) > 1:
            return epochs[1] - epochs[0]
    stride = document.config.model.value("eval_every")
    return "?" if stride is None else stride


def rows(document: Results) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells, one row per λ."""
    cols = columns(document)
    units = max((row.value("n_units") or 1 for row in document.summary), default=1)
    seeds = max(n_seeds(document), n_folds(document), units)
    best = _best_loss(document)
    health = any_unhealthy(document)
    steps = _grokking_steps(document)
    held_out = loss_name(document).replace(" loss", " acc")  # cv acc under k-fold
    grok = (
        tuple(h.replace("test acc", held_out) for h in GROKKING_HEADERS)
        if steps is not None
        else ()
    )
    headers = ["λ", *(c.header for c in cols), *grok, *(["runs"] if health else []), "regime", ""]
    chosen = (document.best_lambda, document.lambda_1se)
    body = [
        [
            format_lambda(row.lambda_),
            *(_cell(row, c, seeds, best) for c in cols),
            *(grokking.cell(row, key, steps) for key in grokking.FIELDS if grok),
            *([health_cell(row)] if health else []),
            regime_text(row),
            marks(chosen, row.lambda_),
        ]
        for row in document.summary
    ]
    if any(run.has("tuned") for run in document.runs):
        headers.insert(-2, "tuned")
        for row, cells in zip(document.summary, body, strict=True):
            cells.insert(-2, tuned_cell(document, row))
    return headers, body


def tuned_cell(document: Results, row: SummaryRow) -> str:
    """The tune values chosen at a summary row's (point, λ): the most frequent over the runs
    its means are over (the healthy runs of the seeds, × the folds under cross-validation: not
    the holdout fit); "–" when no run there trained."""
    key, cv = row.row_key(), validation_kind(document) != "holdout"
    chosen = [
        point_label(run.value("tuned"))
        for run in document.runs
        if run.has("tuned") and run.key().row == key and not (cv and run.key().whole_split)
        and run.value("status") == OK
    ]  # fmt: skip
    if not chosen:
        return "–"
    most = max(chosen.count(value) for value in chosen)
    tops = sorted({value for value in chosen if chosen.count(value) == most})
    if most == len(chosen):
        return tops[0]
    each = " each" if len(tops) > 1 else ""  # a tie is no winner: lr=0.01 or lr=0.1 (1/2 each)
    return f"{' or '.join(tops)} ({most}/{len(chosen)}{each})"


def is_grid(document: Results) -> bool:
    """Whether the document holds more than one point."""
    return len(document.points()) > 1


def point_documents(document: Results) -> list[Results]:
    """One document per point, as a sweep of that point alone would have written it."""
    selections = {point_text(s["point"]): s for s in document.value("points") or []}
    runs: dict[str, list[Run]] = {}
    for run in document.runs:
        runs.setdefault(point_text(run.point), []).append(run)
    rows: dict[str, list[SummaryRow]] = {}
    for row in document.summary:
        rows.setdefault(point_text(row.point), []).append(row)
    docs = []
    for point, point_rows in rows.items():
        selection = selections.get(point)
        chosen = (
            (selection.get("best_lambda"), selection.get("lambda_1se"))
            if selection is not None
            else (document.best_lambda, document.lambda_1se)
        )
        docs.append(document.at_point(json.loads(point), point_rows, runs.get(point, []), chosen,
                                      selection))  # fmt: skip
    return docs


def varying_axes(document: Results) -> list[str]:
    """The grid keys whose values differ between the document's points."""
    points = [json.loads(p) for p in document.points()]
    written = list(document.config.value("grid") or {})  # the config's order
    keys = list(dict.fromkeys(written + [k for p in points for k in p]))
    return [k for k in keys if len({json.dumps(p.get(k)) for p in points}) > 1]


def pivot(document: Results, metric: str = "test_loss") -> tuple[list[str], list[list[str]]]:
    """Mean `metric` with rows λ and a column per point; '*' marks each column's λ_min; '–'
    where not every run of the λ trained (the point's own table has its partial mean)."""
    docs = point_documents(document)
    axes = varying_axes(document)
    points = [d.value("point") for d in docs]
    headers = ["λ"] + [point_label({k: p[k] for k in axes if k in p}) for p in points]
    lambdas = sorted({row.lambda_ for row in document.summary})
    body = []
    for lam in lambdas:
        cells = [format_lambda(lam)]
        for d in docs:
            row = next((r for r in d.summary if r.lambda_ == lam), None)
            # a mean over the runs that trained, where some did not, is no curve's point
            value = None if row is None or not row.all_trained() else row.stat(metric)
            text = "–" if value is None else format(value, ".4g")
            cells.append(text + (" *" if d.best_lambda == lam else ""))
        body.append(cells)
    return headers, body


def pivot_table(document: Results, metric: str = "test_loss"):
    """The pivot as a rich Table."""
    from rich.table import Table

    headers, body = pivot(document, metric)
    table = Table(
        title=f"{document.config.name}: mean {_metric_name(document, metric)}",
        caption="* the column's λ_min; –: not every run of that λ trained (see its point's "
        "table); " + convention(document.config.plain()),
        caption_justify="left",
    )
    for i, header in enumerate(headers):
        table.add_column(
            header, justify="right", **unbroken([header] + [cells[i] for cells in body])
        )
    for cells in body:
        table.add_row(*cells)
    return table


def unbroken(cells: list[str]) -> dict:
    """Column options that never cut a number: on a narrow terminal a cell may wrap between
    its words ('0.1312 ±' over '0.1'), but no word is shortened to '6.5…' or split."""
    widest = max((len(word) for cell in cells for word in str(cell).split()), default=1)
    return {"min_width": widest, "overflow": "fold"}


def renderables(document: Results) -> list:
    """What `show` prints as a table: one table per point, then the pivot (for a grid)."""
    if not is_grid(document):
        return [rich_table(document)]
    return [rich_table(d) for d in point_documents(document)] + [pivot_table(document)]


def _numeric(headers: list[str], i: int) -> bool:
    """Whether column i holds numbers (right-aligned): all but λ's label, runs, regime, marks."""
    return 0 < i < len(headers) - 2 and headers[i] != "runs"


GROKKING_HEADERS = ("step train acc ≥ 99 %", "step test acc ≥ 99 %", "delay")


def _grokking_steps(document: Results) -> int | None:
    """The steps of a full-batch classifier's run (the columns' 'not within N'), else None."""
    if not grokking.applies(document):
        return None
    return document.config.model.value("epochs")


def rich_table(document: Results):
    """The results as a rich Table (numbers right-aligned, regimes coloured)."""
    from rich.table import Table
    from rich.text import Text

    headers, body = rows(document)
    table = Table(title=title(document), caption=caption(document), caption_justify="left")
    for i, header in enumerate(headers):
        right = _numeric(headers, i) or i == 0
        table.add_column(header, justify="right" if right else "left",
                         **unbroken([header] + [cells[i] for cells in body]))  # fmt: skip
    runs = headers.index("runs") if "runs" in headers else None
    for cells in body:
        cells = list(cells)
        if runs is not None and cells[runs]:
            cells[runs] = Text(cells[runs], style="magenta")  # type: ignore[call-overload]
        regime = Text(cells[-2], style=REGIME_STYLES.get(cells[-2], ""))
        table.add_row(*cells[:-2], regime, Text(cells[-1], style="bold"))
    return table


def markdown(document: Results) -> str:
    """The table as GitHub-flavoured markdown, with the title and caption around it (for a
    grid: one per point, then the pivot)."""
    if is_grid(document):
        parts = [_markdown_one(d) for d in point_documents(document)]
        headers, body = pivot(document)
        lines = [f"**{document.config.name}: mean {loss_name(document)}**", ""]
        lines += ["| " + " | ".join(headers) + " |", "|" + "---:|" * len(headers)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        lines += ["", "_* the column's λ_min_"]
        return "\n".join(parts) + "\n" + "\n".join(lines) + "\n"
    return _markdown_one(document)


def _markdown_one(document: Results) -> str:
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


def csv_text(document: Results) -> str:
    """The summary at full precision, one row per λ, for scripts and spreadsheets."""
    summary = document.summary
    keys = list(dict.fromkeys(key for row in summary for key in row.names()))
    if not is_grid(document) and "point" in keys:
        keys.remove("point")  # one point: the column would only say {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    tuned = any(run.has("tuned") for run in document.runs)  # the table's tuned column too
    writer.writerow([*keys, *(["tuned"] if tuned else []), "mark"])
    selections = {
        point_text(s["point"]): (s.get("best_lambda"), s.get("lambda_1se"))
        for s in document.value("points") or []
    }
    whole = (document.best_lambda, document.lambda_1se)
    for row in summary:
        chosen = selections.get(point_text(row.point), whole)
        values = [_csv_value(row.value(k)) for k in keys]
        writer.writerow([*values, *([tuned_cell(document, row)] if tuned else []),
                         marks(chosen, row.lambda_)])  # fmt: skip
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
    ("no_fit", "regression"): "no better on the training split than predicting the mean",
    ("no_fit", "classification"): "no better on the training split than predicting the class "
    "frequencies",
    ("not_converged", None): "solver tolerance not met",
}
_KNOB = "check the data for extreme values"
# What a diverged run's `diverged_by` says (wdcli.metrics.health's rules)
_DIVERGED_BY = {
    "blew_up": "loss or weights blew up",
    "went_up": "objective ended above its start",
    "relapsed": "objective ended far above its lowest: the fit was lost",
    "decay_flips": "not trained: the decay factor is ≤ 0",
}


def health_note(document: Results, model: Any = None) -> str | None:
    """One line saying which runs did not train, why, and which knob to turn; None when all
    did. For the CLI to print on stderr. `model` is the model's registry entry
    (wdcli.models.MODELS, passed by the caller: reports do not import models): its meanings,
    knobs and learning-rate key name what to turn."""
    runs = document.runs
    bad: dict[str, list[Run]] = {}
    for run in runs:
        status = run.status
        if status in UNHEALTHY:
            bad.setdefault(status, []).append(run)
    if not bad:
        return None
    tol = document.config.model.value("tol")
    parts = []
    for unhealthy in UNHEALTHY:
        mine = bad.get(unhealthy, [])
        # λ = 0 with no minimiser says so apart: lumped in, the rest's "raise max_iter" was all
        hopeless = [r for r in mine if no_minimiser(r.lambda_, r.value("grad_norm"),
                                                     r.value("converged"), tol)]  # fmt: skip
        rest = [r for r in mine if r not in hopeless]
        parts += [_health_part(document, unhealthy, group, model)
                  for group in (hopeless, rest) if group]  # fmt: skip
    total = sum(len(v) for v in bad.values())
    if total == len(runs):
        head, tail = "no run trained", "so no λ has a regime and there is no λ_min"
    elif not any(row.regime for row in document.summary):
        reason = (
            no_verdict([row.plain() for row in document.summary]) or "no λ trained on every seed"
        )
        head = f"{reason} ({total} of {len(runs)} runs did not)"
        tail = "so no λ has a regime and there is no λ_min"
    else:
        head = f"{total} of {len(runs)} runs did not train"
        tail = "those λ get no regime and are never λ_min or λ_1se"
    return f"warning: {head}: {'; '.join(parts)}; {tail} (docs/health.md)"


def _health_part(document: Results, status: str, runs: list[Run], spec: Any) -> str:
    lambdas = [run.lambda_ for run in runs]
    options = document.config.model
    meanings, knobs = getattr(spec, "meanings", {}), getattr(spec, "knobs", {})
    lr_key = getattr(spec, "lr_key", None)
    meaning = (
        _MEANING.get((status, document.task))
        or meanings.get(status)
        or _MEANING.get((status, None), "")
    )
    knob = knobs.get(status, _KNOB)
    reasons = [_DIVERGED_BY.get(str(run.value("diverged_by")), "") for run in runs]
    if status == "diverged" and any(reasons):  # the rules that fired, as the runs record them
        meaning = ", or ".join(dict.fromkeys(r or _MEANING[("diverged", None)] for r in reasons))

    def setting(run: Run, key: str) -> Any:  # its tuned value, its grid point's, the config's
        chosen = {**(run.point or {}), **(run.value("tuned") or {})}
        return chosen.get(f"model.{key}", options.value(key))

    def decoupled(run: Run) -> bool:  # decay apart from the gradient (health.decouples)
        return decouples(*(setting(run, key) for key in DECAY_KEYS))

    if status == "diverged" and lr_key:
        apart = [decoupled(run) for run in runs]
        paper = [setting(run, "decay_convention") == "paper" for run in runs]
        lrs = [setting(run, lr_key) or 0 for run in runs]
        if all(apart) and decay_flips(lambdas, lrs, paper).all():
            factor = "1 − 2λ" if all(paper) else f"1 − model.{lr_key}·2λ"
            knob = (f"lower the largest λ (decoupled decay multiplies the weights by "
                    f"{factor} ≤ 0 there at the full rate, η_t = 1: they were not trained)")  # fmt: skip
        elif not any(apart) and all(r.lambda_ * (setting(r, lr_key) or 0) >= 1 for r in runs):
            knob = f"lower the largest λ (every diverged run has λ·model.{lr_key} ≥ 1)"
    if status == "not_converged" and lr_key and (end := _step_schedule_end(runs, setting)):
        knob = (  # more epochs would cut it further: "raise model.epochs" could not help
            f"raise model.step_epochs or model.step_gamma (the step schedule cut the learning "
            f"rate to {end:.2g} × model.{lr_key} by the end), or model.{lr_key}"
        )
    elif (
        status == "not_converged"
        and lr_key
        and any(_above_constant(run, decoupled(run)) for run in runs)
    ):
        knob = (f"raise model.epochs or model.{lr_key} (J = data loss + λ·Σw² ended above the "
                "constant predictor's: far from its minimum)")  # fmt: skip
    elif status == "not_converged" and lr_key and any(_bounced(run) for run in runs):
        knob = (f"lower model.{lr_key} (a training loss ended well above its lowest: the steps "
                f"are too large) or raise model.epochs")  # fmt: skip
    tol = options.value("tol")
    if status == "not_converged" and all(
        no_minimiser(run.lambda_, run.value("grad_norm"), run.value("converged"), tol)
        for run in runs
    ):
        meaning = ("no minimiser: the training classes are separable, wholly or in part, so "
                   "without a penalty the weights grow without bound and the numbers depend on "
                   "model.max_iter")  # fmt: skip
        knob = "any λ > 0 has a minimiser (this row is why the penalty is needed)"
    if status == "no_fit" and any(_ended_above_start(run) for run in runs):
        knob = "lower model.lr (training left the loss above where it started)"
    elif (
        status == "no_fit"
        and lr_key
        and all(_dropped_to_constant(run) and setting(run, "activation") == "relu" for run in runs)
    ):  # only ReLU units die (an identity network at the constant may be at its minimiser)
        knob = (f"lower model.{lr_key} (the training loss fell to the constant predictor's in "
                "the first epochs and stayed there: steps too large leave units dead)")  # fmt: skip
    elif status == "no_fit" and document.config.model.value("activation") == "identity":
        knob = (  # more epochs do not make a linear network fit what a linear model cannot
            "use a non-linear model.activation (with identity the network is a linear model, "
            "which may not fit this target at all) or raise model.epochs"
        )
    if lr_key and f"model.{lr_key}" in (document.config.value("tune") or {}):
        # the runs took the best of the tuned values: those are what to change
        knob = knob.replace(f"model.{lr_key}", f"the tune: model.{lr_key} values")
    where = sorted({lam for lam in lambdas if lam is not None})
    if len(where) <= 3:
        at = ", ".join(format_lambda(lam) for lam in where)
    else:
        at = f"{format_lambda(where[0])} … {format_lambda(where[-1])} ({len(where)} λ)"
    points = sorted({point_label(run.point, short=False) for run in runs if run.point})
    if points:  # a grid: which of its points
        at += (
            f" of {' and '.join(points)}" if len(points) <= 2 else f" of {len(points)} grid points"
        )
    return f"{len(lambdas)} {status} ({meaning}) at λ = {at}: {knob}"


def _above_constant(run: Run, decoupled: bool) -> bool:
    """Whether health.above_constant flagged a run, from the numbers of its record."""
    objective, baseline = run.value("objective"), run.value("baseline_loss")
    if not isinstance(objective, (int, float)) or not isinstance(baseline, (int, float)):
        return False
    return bool(above_constant(objective, baseline, run.lambda_, decoupled))


def _step_schedule_end(runs: list[Run], setting) -> float | None:
    """The smallest learning-rate multiplier that a step schedule left at the last epoch of
    these runs, when one is below 0.1 (None otherwise)."""
    ends = [
        setting(run, "step_gamma") ** ((setting(run, "epochs") - 1) // setting(run, "step_epochs"))
        for run in runs
        if setting(run, "schedule") == "step"
    ]
    return min(ends) if ends and min(ends) < 0.1 else None


def _bounced(run: Run) -> bool:
    """Whether a run's training loss ended 1.5 × above the lowest of its curve: a run still
    falling steadily ends at its lowest; one whose steps are too large does not."""
    curve = [v for v in (run.curve.train_loss if run.curve else []) if isinstance(v, (int, float))]
    return len(curve) > 1 and curve[-1] > 1.5 * min(curve)


def _dropped_to_constant(run: Run) -> bool:
    """Whether a run's training loss was above 1.05 × the baseline in the first quarter of
    its training (at its start, or after a jump) and, from then on, stayed within 10 % of it
    (mini-batch noise): it fell to the constant predictor at once and never left (dead ReLUs),
    where more epochs or a larger lr cannot help. (A network whose output is flat from the
    start, at the baseline, is not this.) Quarters of the epochs, not of the curve's points,
    which may be log-spaced."""
    if run.curve is None:
        return False
    epochs, curve = run.curve.epoch, run.curve.train_loss
    baseline = run.value("baseline_loss")
    points = [v for v in curve if isinstance(v, (int, float))]
    if len(points) < 4 or len(points) != len(curve) or not isinstance(baseline, (int, float)):
        return False
    quarter = epochs[-1] / 4
    early = [v for e, v in zip(epochs, points, strict=True) if e < quarter]
    later = [v for e, v in zip(epochs, points, strict=True) if e >= quarter]
    near = all(abs(v - baseline) <= 0.1 * baseline for v in later)
    return bool(early) and max(early) > 1.05 * baseline and near


def _ended_above_start(run: Run) -> bool:
    """Whether a run's training-loss curve ends above its first point (unstable training)."""
    curve = run.curve.train_loss if run.curve else []
    numbers = [v for v in (curve[:1] + curve[-1:]) if isinstance(v, (int, float))]
    return len(numbers) == 2 and len(curve) > 1 and numbers[1] > numbers[0]
