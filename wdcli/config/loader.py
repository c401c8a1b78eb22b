"""Loading a config file: YAML, `--set` overrides, `--grid`/`--tune` axes, validation."""

from __future__ import annotations

import copy
import os
from pathlib import Path

from pydantic import (
    ValidationError,
)

from wdcli.config.messages import _is_extension, validate
from wdcli.config.overrides import apply_override
from wdcli.config.schema import Config
from wdcli.config.yamlfile import parse_yaml
from wdcli.errors import ConfigError, read_text


def load_config(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    grid: list[str] | tuple[str, ...] = (),
    tune: list[str] | tuple[str, ...] = (),
) -> Config:
    """Read a YAML config file, apply `--set` overrides and `--grid`/`--tune` axes, validate
    the config and every point of its grid (wdcli.config.grid)."""
    from wdcli.config.grid import PATH_KEYS, check_axes, parse_axis

    source = str(path)
    data = parse_yaml(read_text(path, ConfigError, "config file"), source)  # type: ignore[arg-type]
    if isinstance(data, dict) and {"schema_version", "runs", "summary"} <= data.keys():
        raise ConfigError(
            f"{source}: a results file, not a config: `wdcli show {source}` prints it; its "
            "config is under its `config` key"
        )
    if overrides and isinstance(data, dict):
        defaults = _resolved_or_none(data)
        for assignment in overrides:
            apply_override(data, assignment, defaults)
        _paths_from_here(data, overrides)
    origin = str(Path(source).parent)
    for section, options in (("grid", grid), ("tune", tune)):
        for text in options:
            key, values = parse_axis(f"--{section}", text)
            if key in PATH_KEYS:  # typed here: kept relative to the config file, as its own
                values = [_from_config(value, origin) for value in values]
            if isinstance(data, dict):
                if not isinstance(data.get(section), dict):
                    data[section] = {}
                data[section][key] = values
    config = validate(data, source)
    config._origin = origin
    check_axes(config, source)
    _check_overrides_off_axes(config, overrides)
    _check_no_inert_options(config, source)
    return config


def _from_config(value, origin: str):
    """A path typed relative to the current folder, as one relative to the config's folder."""
    if not isinstance(value, str) or not value or Path(value).is_absolute():
        return value
    return os.path.relpath(Path.cwd() / value, Path.cwd() / origin)


def _paths_from_here(data: dict, overrides) -> None:
    """Make a CSV path given by `--set` relative to the current folder, where it was typed (a
    path in the file is relative to the file): `--set dataset.path=data/x.csv` beside
    `configs/x.yaml` looked for configs/data/x.csv."""
    section = data.get("dataset")
    if not isinstance(section, dict):
        return
    for assignment in overrides:
        key = assignment.partition("=")[0].strip()
        fields = {"dataset": ("path", "test_path"), "dataset.path": ("path",),
                  "dataset.test_path": ("test_path",)}.get(key, ())  # fmt: skip
        for field in fields:
            value = section.get(field)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                section[field] = str(Path.cwd() / value)


def _check_overrides_off_axes(config: Config, overrides) -> None:
    """Refuse a `--set` of a key that a grid or tune axis sets at every point: the override
    would change nothing (the axis' values win), silently."""
    for assignment in overrides:
        key = assignment.partition("=")[0].strip()
        for section in ("grid", "tune"):
            for axis in getattr(config, section) or {}:
                if key == axis or key.startswith((axis + ".", axis + "[")):
                    raise ConfigError(
                        f"--set {key}: {axis} is an axis of {section}:, whose values set it at "
                        f"every point, so this would change nothing; change the axis instead "
                        f"(--{section} {axis}=…)"
                    )


# MLP options that act only under one setting of another: (option, owner, the owner's values).
OWNED_OPTIONS = (
    (("momentum", "nesterov"), "optimizer", ("momentum",)),
    (("beta1", "beta2", "eps"), "optimizer", ("adam",)),
    (("decay_convention",), "regularization", ("decoupled",)),
    (("warmup_epochs",), "schedule", ("cosine",)),
    (("step_epochs", "step_gamma"), "schedule", ("step",)),
)


def _check_no_inert_options(config: Config, source: str) -> None:
    """Refuse an option set in the config whose owner makes it do nothing (warmup_epochs
    under a constant schedule, beta2 with sgd, test_size beside a test file): it was ignored
    silently. It is allowed when some value of its owner, the config's or an axis', uses it."""
    axes = {*(config.grid or {}), *(config.tune or {})}
    data = config.dataset
    if getattr(data, "test_path", None) and "dataset.test_path" not in axes:
        if "test_size" in data.model_fields_set or "dataset.test_size" in axes:
            where = _axis_name(config, "dataset.test_size") or "dataset.test_size"
            raise ConfigError(
                f"{source}: {where}: the test split is test_path's rows, so it would "
                "change nothing; remove it (dataset.n_train takes the first rows of path)"
            )
    sized = None not in _at_points(config, "dataset.n_train", getattr(data, "n_train", None))
    for key in ("dataset.test_size", "dataset.train_fraction"):
        axis = _axis_name(config, key)
        if axis and sized:  # a base value is a note (_split_note); an axis repeats its runs
            raise ConfigError(
                f"{source}: {axis}: dataset.n_train sets the split at every point, so its "
                "values would change nothing (every value repeats the same runs); remove the "
                "axis or n_train"
            )
    if "tune_holdout" in config.model_fields_set and not config.tune:
        raise ConfigError(
            f"{source}: tune_holdout: acts only with tune:, and this config tunes nothing, so it "
            "would change nothing; remove it"
        )
    model = config.model
    if model.name != "mlp" or "model.name" in axes:
        return
    for options, owner, values in OWNED_OPTIONS:
        owned = _at_points(config, f"model.{owner}", getattr(model, owner))
        if set(owned) & set(values):
            continue
        for option in options:
            default = type(model).model_fields[option].default
            axis = _axis_name(config, f"model.{option}")
            if axis or (option in model.model_fields_set and getattr(model, option) != default):
                shown = " or ".join(map(str, dict.fromkeys(owned)))
                raise ConfigError(
                    f"{source}: {axis or f'model.{option}'}: acts only with {owner}: "
                    f"{' or '.join(values)}, and this config's {owner} is {shown}, so it "
                    f"would change nothing{' (every value repeats the same runs)' if axis else ''}"
                    f"; set {owner} or remove {'the axis' if axis else option}"
                    + ("" if axis else f" (or --set model.{option}={_yaml(default)}, its default)")
                )


def _at_points(config: Config, key: str, base) -> list:
    """The values `key` takes at the points: its axes' (grid and tune), else the config's own
    `base` (an axis replaces that at every point: then no point has it)."""
    axes = (config.grid or {}, config.tune or {})
    return [v for section in axes for v in section.get(key, [])] or [base]


def _yaml(value) -> str:
    """A default as a --set value reads it: true, 0.999, 50."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _axis_name(config: Config, key: str) -> str | None:
    """'grid model.momentum' (or tune's) when `key` is an axis of the config, else None."""
    for section in ("grid", "tune"):
        if key in (getattr(config, section) or {}):
            return f"{section} {key}"
    return None


def _resolved_or_none(data: dict) -> dict | None:
    try:
        data = {k: v for k, v in data.items() if not _is_extension(k)}
        return Config.model_validate(copy.deepcopy(data)).resolved()
    except (ValidationError, ValueError):
        return None
