"""Render a results document: a rich table, markdown, CSV or JSON. Nothing here prints.

All renderers share one list of columns, so the table a user reads and the markdown a CI job
posts show the same numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from wdcli import CONVENTION, grokking

REGIME_STYLES = {"overfit": "red", "good": "green", "underfit": "yellow", "diverged": "magenta"}


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
        Column("test loss", "test_loss_mean"),
        Column("gap", "gap"),
        Column("Σw²", "weight_sq_norm_mean"),
    ]
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


def _cell(row: dict, column: Column, seeds: int) -> str:
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


def marks(document: dict, lam: float) -> str:
    """'λ_min', 'λ_1se' or both, for the rows they select."""
    names = [
        name
        for name, key in (("λ_min", "best_lambda"), ("λ_1se", "lambda_1se"))
        if document.get(key) is not None and document[key] == lam
    ]
    return " = ".join(names)


def n_seeds(document: dict) -> int:
    return max((row.get("n_runs", 1) for row in document["summary"]), default=1)


def title(document: dict) -> str:
    config = document["config"]
    seeds = n_seeds(document)
    return (
        f"{config['name']}: {config['model']['name']} on {config['dataset']['name']}, "
        f"{len(document['summary'])} λ × {seeds} seed{'s' if seeds != 1 else ''}"
    )


def caption(document: dict) -> str:
    best, one_se = document.get("best_lambda"), document.get("lambda_1se")
    parts = [CONVENTION + "; losses are the data loss alone"]
    if best is not None:
        parts.append(
            f"λ_min = {format_lambda(best)}"
            + (f", λ_1se = {format_lambda(one_se)}" if one_se is not None else "")
        )
    tolerance = document["config"].get("tolerance")
    if tolerance is not None:
        parts.append(f"good: test loss within {tolerance:.0%} of the best")
    if grokking.applies(document):
        model = document["config"]["model"]
        when = (
            f"one of ~{model['eval_points']} log-spaced"
            if model.get("eval_points")
            else f"every {model.get('eval_every')}"
        )
        parts.append(
            f"step … ≥ 99 %: the first evaluated step ({when} of {model.get('epochs')}) at "
            "that accuracy; delay: test step − train step"
        )
    return "\n".join(parts)


def rows(document: dict) -> tuple[list[str], list[list[str]]]:
    """Headers and formatted cells, one row per λ."""
    cols = columns(document)
    seeds = n_seeds(document)
    steps = _grokking_steps(document)
    grok = GROKKING_HEADERS if steps is not None else ()
    headers = ["λ", *(c.header for c in cols), *grok, "regime", ""]
    body = [
        [
            format_lambda(row["lambda"]),
            *(_cell(row, c, seeds) for c in cols),
            *(grokking.cell(row, key, steps) for key in grokking.FIELDS if grok),
            row["regime"],
            marks(document, row["lambda"]),
        ]
        for row in document["summary"]
    ]
    return headers, body


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
        numeric = 0 < i < len(headers) - 2
        table.add_column(header, justify="right" if numeric or i == 0 else "left", no_wrap=True)
    for cells in body:
        regime = Text(cells[-2], style=REGIME_STYLES.get(cells[-2], ""))
        table.add_row(*cells[:-2], regime, Text(cells[-1], style="bold"))
    return table


def markdown(document: dict) -> str:
    """The table as GitHub-flavoured markdown, with the title and caption around it."""
    headers, body = rows(document)
    lines = [
        f"**{title(document)}**",
        "",
        "| " + " | ".join(headers) + " |",
        "|"
        + "|".join("---:" if 0 < i < len(headers) - 2 else ":---" for i in range(len(headers)))
        + "|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    lines += [""] + [f"_{line}_" for line in caption(document).split("\n")]
    return "\n".join(lines) + "\n"


def csv_text(document: dict) -> str:
    """The summary at full precision, one row per λ, for scripts and spreadsheets."""
    summary = document["summary"]
    keys = list(dict.fromkeys(key for row in summary for key in row))
    if not any(row.get("point") for row in summary):
        keys = [key for key in keys if key != "point"]  # no grid: λ alone is the key
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*keys, "mark"])
    for row in summary:
        writer.writerow([_csv_value(row.get(k)) for k in keys] + [marks(document, row["lambda"])])
    return out.getvalue()


def _csv_value(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)
