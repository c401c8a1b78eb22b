"""`wdcli list`: the datasets and models with their options, read from the config schema."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from rich.table import Table

from wdcli.config import DATASET_CONFIGS, MODEL_CONFIGS, DatasetBase

# Keys every dataset has; listed once in the caption rather than on every row.
_COMMON = set(DatasetBase.model_fields) - {"n_samples"}


def options(cls: type[BaseModel], skip: frozenset[str] | set[str] = frozenset()) -> str:
    """'key=default' for every option of a config section (required keys marked)."""
    parts = []
    for key, info in cls.model_fields.items():
        if key == "name" or key in skip:
            continue
        default = info.default
        if default is PydanticUndefined:
            parts.append(f"{key} (required)")
        else:
            parts.append(f"{key}={_show(default)}")
    return ", ".join(parts)


def _show(value) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).replace(" ", "")


def _summary(cls: type[BaseModel]) -> str:
    """The docstring's first paragraph, on one line (its first line alone was cut short)."""
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())


def datasets_table() -> Table:
    table = Table(
        title="datasets",
        caption="every dataset also takes "
        + ", ".join(f"{k}={_show(DatasetBase.model_fields[k].default)}" for k in sorted(_COMMON)),
        caption_justify="left",
    )
    for header in ("name", "task", "what", "options"):
        table.add_column(header, overflow="fold")
    for name, cls in DATASET_CONFIGS.items():
        task = cls.TASK or "from the target"
        refused = getattr(cls, "REFUSED", ())
        what = _summary(cls) + (f" Not: {', '.join(refused)}." if refused else "")
        table.add_row(name, task, what, options(cls, _COMMON | set(refused)))
    return table


def models_table() -> Table:
    from wdcli.models import MODELS

    table = Table(title="models")
    for header in ("name", "tasks", "what", "options"):
        table.add_column(header, overflow="fold")
    for name, cls in MODEL_CONFIGS.items():
        table.add_row(name, ", ".join(MODELS[name].tasks), MODELS[name].summary, options(cls))
    return table
