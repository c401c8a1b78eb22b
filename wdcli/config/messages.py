"""Validation: pydantic errors turned into one line naming the file and the field."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from wdcli.config.base import _YAML_BOOLEANS, YamlBoolean
from wdcli.config.datasets import DATASET_CONFIGS, CsvData
from wdcli.config.models import MODEL_CONFIGS
from wdcli.config.overrides import _join_key
from wdcli.config.schema import Config, Holdout, KFold, LambdaAuto, LambdaGrid, LeaveOneOut
from wdcli.errors import ConfigError

# --------------------------------------------------------------------------- validation


MAX_ERRORS = 5  # errors listed at most: the first ones, then how many more


def _is_extension(key) -> bool:
    """Top-level `x-…` keys hold YAML anchors for merge keys (`<<: *base`) and are ignored,
    as Docker Compose does."""
    return isinstance(key, str) and key.startswith("x-")


def validate(data: Any, source: str) -> Config:
    """Validate raw data (from YAML) into a Config, or raise ConfigError naming the field."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        raise ConfigError(f"{source}: the config is {kind}")
    data = {k: v for k, v in data.items() if not _is_extension(k)}
    grid = data.get("lambdas")
    if isinstance(grid, dict) and "values" in grid and "auto" not in grid:
        # values belong to auto grids only (the sweep fills them in); the usual mistake
        # would otherwise read as an unknown key and three missing ones
        raise ConfigError(f"{source}: lambdas.values: write the λ as a list instead: "
                          "lambdas: [0, 0.01, 0.1]")  # fmt: skip
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        # A misspelt key also makes the real one missing: name the misspelling first.
        errors = sorted(exc.errors(), key=lambda err: err["type"] != "extra_forbidden")
        lines = [f"{source}: {_describe(err)}" for err in errors[:MAX_ERRORS]]  # type: ignore[arg-type]
        if len(errors) > MAX_ERRORS:
            more = len(errors) - MAX_ERRORS
            lines.append(f"{source}: … and {more} more error{'s' if more > 1 else ''}")
        raise ConfigError("\n".join(lines)) from None
    if isinstance(config.validation, LeaveOneOut) and config.model.name != "linear":
        raise ConfigError(
            f"{source}: validation.kind: loo is exact for ridge only (model.name: linear), "
            f"not '{config.model.name}'; use {{kind: kfold}}"
        )
    if isinstance(config.validation, LeaveOneOut) and config.tune:
        raise ConfigError(  # its samples were keyed by data that tune's carving changes
            f"{source}: tune: not with validation kind loo, which is exact on the whole "
            "training split, where tune carves its own validation rows out of it; use "
            "{kind: kfold}"
        )
    _resolve_paths(config, source)
    return config


def _describe(err: dict) -> str:
    """One line for a pydantic error: the field path, then what is wrong."""
    loc = list(err["loc"])
    if len(loc) > 1 and loc[0] in ("dataset", "model", "lambdas", "seeds", "validation"):
        tag = loc.pop(1)  # the union member's tag, not a key the user wrote
    else:
        tag = None
    field = _join_key(loc) or "config"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{field}: {_other_kind(loc, tag) or 'unknown key' + _suggest(loc, tag)}"
    if kind == "missing":
        return f"{field}: required key is missing"
    if kind == "union_tag_invalid" and loc == ["validation"]:
        return (
            f"validation.kind: unknown kind '{err['ctx']['tag']}'; choose from holdout, kfold, loo"
        )
    if kind == "union_tag_invalid":
        names = DATASET_CONFIGS if loc == ["dataset"] else MODEL_CONFIGS
        given = err["ctx"]["tag"]
        close = difflib.get_close_matches(str(given), list(names), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{field}.name: unknown name '{given}'{hint}; choose from {', '.join(names)}"
    if kind == "union_tag_not_found":  # validation's members are told apart by kind
        return f"{field}.{'kind' if loc == ['validation'] else 'name'}: required key is missing"
    if (kind == "model_attributes_type" or kind == "model_type") and loc == ["lambdas"]:
        return "lambdas: must be a list of λ, a mapping, or auto"
    if kind == "model_attributes_type" or kind == "model_type":
        known = list(DATASET_CONFIGS if field == "dataset" else MODEL_CONFIGS)
        if field in ("dataset", "model") and err.get("input") in known:  # model: logistic
            return f"{field}: must be a mapping: write {{name: {err['input']}}}"
        if field == "validation" and err.get("input") in VALIDATIONS:  # validation: kfold
            return f"{field}: must be a mapping: write {{kind: {err['input']}}}"
        return f"{field}: must be a mapping"
    if kind == "literal_error" and loc == ["lambdas", "auto"]:  # auto: false
        return ("lambdas.auto: must be true (a grid chosen from the data); for a grid of your "
                "own drop auto and give start, stop and num, or a list")  # fmt: skip
    if isinstance(err.get("input"), YamlBoolean):
        return f"{field}: must be a number, not {err['input']!r}{_YAML_BOOLEANS}"
    number = err.get("input")
    if kind == "string_type" and isinstance(number, (int, float)) and not isinstance(number, bool):
        return (f"{field}: must be a string, not the number {number} (YAML reads it as a "
                f"number); quote it: '{number}'")  # fmt: skip  # target: 2019, a year column
    if kind == "string_type" and isinstance(err.get("input"), bool):  # target: off
        return (f"{field}: must be a string, not the boolean {str(err['input']).lower()}"
                f"{_YAML_BOOLEANS}; quote it: '…'")  # fmt: skip
    message = err["msg"]
    message = message.removeprefix("Value error, ")
    key = re.match(r"(\w+): ", message)
    if key and kind == "value_error":  # a section's check naming its key: dataset.categorical
        field, message = f"{field}.{key.group(1)}", message[key.end() :]
    message = message.replace("Input should be", "must be").replace("String should", "must")
    for words, sign in _COMPARISONS.items():
        message = message.replace(words, sign)
    return f"{field}: {message[0].lower()}{message[1:]}"


_COMPARISONS = {
    "greater than or equal to": "≥",
    "less than or equal to": "≤",
    "greater than": ">",
    "less than": "<",
}


def _suggest(loc: list, tag: str | None) -> str:
    """' (did you mean 'hidden'?)' for a misspelt key, from the fields of its section."""
    section = (
        {
            "dataset": DATASET_CONFIGS.get(tag),  # type: ignore[arg-type]
            "model": MODEL_CONFIGS.get(tag),  # type: ignore[arg-type]
            "lambdas": LambdaAuto if tag == "auto" else LambdaGrid,
            "validation": VALIDATIONS.get(tag),  # type: ignore[arg-type]
        }.get(loc[0])
        if len(loc) == 2
        else (Config if len(loc) == 1 else None)
    )
    if section is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(section.model_fields), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


VALIDATIONS: dict[str, type[Holdout | KFold | LeaveOneOut]] = {
    "holdout": Holdout,
    "kfold": KFold,
    "loo": LeaveOneOut,
}


def _other_kind(loc: list, tag: str | None) -> str:
    """What is wrong with a key left over from another kind of validation (as
    `--set validation.kind=loo` on a k-fold config leaves `folds`), or ''."""
    if len(loc) != 2 or loc[0] != "validation" or tag not in VALIDATIONS:
        return ""
    owners = [kind for kind, cls in VALIDATIONS.items() if loc[1] in cls.model_fields]
    if not owners:
        return ""
    return (
        f"not a key of kind {tag} (it belongs to {' and '.join(owners)}); replace the whole "
        f"mapping: validation: {{kind: {tag}}}"
    )


def _resolve_paths(config: Config, source: str) -> None:
    """Make a CSV dataset's paths relative to the config file, as a user reads them."""
    data = config.dataset
    if isinstance(data, CsvData) and not source.startswith("<"):
        base = Path(source).parent
        for field in ("path", "test_path"):
            path = getattr(data, field)
            if path is not None and not path.is_absolute():
                config._written_paths[field] = str(path)
                setattr(data, field, base / path)
