"""The base of every config model: strict, with YAML-aware type errors."""

from __future__ import annotations

import functools
import operator
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)


def subclasses_by_name(base: type[BaseModel]) -> dict[str, Any]:
    """Each subclass of `base` by the literal `name` it declares, in the order defined: the
    registry of a config kind (`model:`, `dataset:`), so a new kind is one more subclass."""
    return {get_args(cls.model_fields["name"].annotation)[0]: cls for cls in base.__subclasses__()}


def tagged_union(classes: dict[str, Any]) -> Any:
    """The classes as one pydantic union told apart by their `name` field."""
    return Annotated[functools.reduce(operator.or_, classes.values()), Field(discriminator="name")]


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, not silently ignored, and a
    boolean is never taken for a number (pydantic would read `lambdas: [no, yes]` as 0, 1)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, data):
        # Booleans where numbers belong are wrapped, so that the field's own number check
        # refuses them and `_describe` names them (a before-validator on the fields cannot
        # be used: it would clash with the discriminator `name`).
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key, value in data.items():
            field = cls.model_fields.get(key) if isinstance(key, str) else None
            if field is None:
                continue
            scalar, items = _numeric_kinds(field.annotation)
            if scalar and isinstance(value, bool):
                data[key] = YamlBoolean(value)
            elif items and isinstance(value, list):
                data[key] = [YamlBoolean(v) if isinstance(v, bool) else v for v in value]
        return data


class YamlBoolean:
    """A boolean found where a number belongs (YAML reads yes/no/on/off as booleans)."""

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return str(self.value).lower()


_YAML_BOOLEANS = " (YAML reads yes/no/on/off/true/false as booleans)"


@functools.cache
def _numeric_kinds(annotation) -> tuple[bool, bool]:
    """(may hold a number, may hold a list of numbers) for a field's type annotation."""
    if annotation in (int, float):
        return True, False
    origin = get_origin(annotation)
    if origin is list:
        return False, any(_numeric_kinds(arg)[0] for arg in get_args(annotation))
    if origin in (Union, UnionType, Annotated):
        kinds = [_numeric_kinds(arg) for arg in get_args(annotation) if _is_type(arg)]
        return any(k[0] for k in kinds), any(k[1] for k in kinds)
    return False, False


def _is_type(arg) -> bool:
    return isinstance(arg, type) or get_origin(arg) is not None


def _no_duplicates(values: list) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(
                f"duplicate value {value:g}" if not isinstance(value, str) else f"'{value}' twice"
            )
        seen.add(value)
