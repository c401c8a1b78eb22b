"""Grid and tune axes: points of a sweep, the config of each, and their validation.

A config's `grid:` maps dotted keys to lists of values; its points are the product of those
lists, in the order the keys are written. `tune:` does the same for nuisance values, which
are tried at every point and chosen per (point, λ, seed) on a validation split. The config of
a point (and candidate) is the base config with those values set, validated by the same
pydantic schema as the file, so a bad value fails before anything runs, in one line.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from pathlib import Path
from typing import Any

from wdcli.config.messages import validate
from wdcli.config.overrides import _split_key
from wdcli.config.schema import Config
from wdcli.config.yamlfile import parse_yaml
from wdcli.errors import ConfigError
from wdcli.runkey import EMPTY_POINT, KeySpace, point_text

MAX_POINTS = 10_000


def _product(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(axes)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*axes.values())]


def grid_points(config: Config) -> list[str]:
    """The grid's points as canonical JSON texts, in product order ('{}' without a grid)."""
    return [point_text(p) for p in _product(config.grid)] if config.grid else [EMPTY_POINT]


def key_space(config: Config, lambdas: list[float] | None = None) -> KeySpace:
    """Every run key of the config's sweep (λ given when the config's grid is chosen later)."""
    return KeySpace(
        tuple(grid_points(config)),
        tuple(config.lambda_values() if lambdas is None else lambdas),
        tuple(config.seed_values()),
        tuple(config.fold_values()),
    )


def tune_candidates(config: Config) -> list[dict[str, Any]]:
    """Every combination of the tune axes ([{}] without tune)."""
    return _product(config.tune) if config.tune else [{}]


def set_dotted(data: dict, key: str, value: Any) -> None:
    """data[key] = value for a dotted key (model.hidden, dataset.n_train, model.hidden[0])."""
    parts = _split_key(key)
    node: Any = data
    for part in parts[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    node[parts[-1]] = copy.deepcopy(value)


def _base_data(config: Config, values: dict[str, Any]) -> dict:
    """The resolved config to set `values` in. A value that changes `dataset.name` or
    `model.name` starts its section afresh from the keys the config sets, so the defaults of
    the old dataset or model (diabetes's n_samples: null, ridge's solver) do not carry over
    into the new one, and every key written does (one written at the old one's default value,
    poly's noise: 0.3, was dropped for the new one's default)."""
    data = config.resolved()
    data["grid"], data["tune"] = {}, {}
    for section in ("dataset", "model"):
        name = values.get(f"{section}.name", data[section]["name"])
        if name != data[section]["name"]:
            part = getattr(config, section)
            written = part.model_fields_set - {"name"}
            kept = part.model_dump(mode="json", include=written) if written else {}
            data[section] = {"name": name, **kept}
    return data


def with_values(config: Config, values: dict[str, Any], source: str = "<point>") -> Config:
    """The config with `values` (dotted key → value) set, validated; no grid or tune left."""
    data = _base_data(config, values)
    for key, value in values.items():
        try:
            set_dotted(data, key, _beside(config, key, value))
        except (KeyError, IndexError, TypeError):
            raise ConfigError(f"{source}: {key}: not a key of this config") from None
    return validate(data, source)


PATH_KEYS = ("dataset.path", "dataset.test_path")


def _beside(config: Config, key: str, value: Any) -> Any:
    """A relative CSV path of an axis, read beside the config file (as its dataset.path is)."""
    if key in PATH_KEYS and isinstance(value, str) and config._origin is not None:
        if value and not Path(value).is_absolute():
            return str(Path(config._origin) / value)
    return value


@functools.lru_cache(maxsize=256)
def _cached(config_json: str, values_json: str, origin: str | None) -> Config:
    config = Config.model_validate_json(config_json)
    config._origin = origin
    return with_values(config, json.loads(values_json))


def point_config(config: Config, point: str, candidate: dict[str, Any] | None = None) -> Config:
    """The config of one point (canonical JSON) and tune candidate, built once per process."""
    values = {**json.loads(point), **(candidate or {})}
    if not values and not config.grid and not config.tune:
        return config
    # the keys the config sets, as set: `_base_data` keeps them (and them alone) for a new
    # dataset or model, so they must survive the round trip through the cache's JSON
    written = config.model_dump_json(exclude_unset=True)
    return _cached(written, json.dumps(values, sort_keys=True), config._origin)


def check_axes(config: Config, source: str) -> None:
    """Validate every value of every axis, then every point × candidate, before any run.

    One line per problem: `configs/x.yaml: grid model.lr=-1: model.lr: must be > 0`."""
    for section, axes in (("grid", config.grid), ("tune", config.tune)):
        for key, values in axes.items():
            for value in values:
                where = f"{source}: {section} {key}={json.dumps(value)}"
                with_values(config, {key: value}, where)
    points, candidates = grid_points(config), tune_candidates(config)
    if len(points) * len(candidates) > MAX_POINTS:
        raise ConfigError(
            f"{source}: grid: {len(points)} points × {len(candidates)} tune candidates is more "
            f"than {MAX_POINTS}; use fewer values"
        )
    if len(config.grid) + len(config.tune) > 1:
        for point in points:
            for candidate in candidates:
                values = {**json.loads(point), **candidate}  # type: ignore[assignment]
                shown = " ".join(f"{k}={json.dumps(v)}" for k, v in values.items())  # type: ignore[attr-defined]
                with_values(config, values, f"{source}: point {shown}")  # type: ignore[arg-type]


def parse_axis(option: str, text: str) -> tuple[str, list[Any]]:
    """`model.lr=1e-3,1e-2` (or `model.hidden=[16],[64,64]`) → (key, values).

    The text after `=` is read as a YAML flow list, as Hydra's multirun `key=a,b` reads."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ConfigError(f"{option} {text}: expected key=value,value,… (e.g. model.lr=1e-3,1e-2)")
    _split_key(key)
    parsed = parse_yaml(f"[{values}]", f"{option} {key}")
    if not isinstance(parsed, list) or not parsed:
        raise ConfigError(f"{option} {text}: expected key=value,value,…")
    return key, parsed
