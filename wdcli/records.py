"""Typed records of the files wdcli reads back: the results document and the journal's lines.

Every reader goes through these pydantic models, so a field of the wrong type is one line
naming the file and the field (`x.json: runs[3].lambda: expected a number, got 'abc'`), never a
traceback further on. Unknown fields are kept (newer writers add some) and known ones are
type-checked; so are unknown summary statistics (`*_mean`, `*_std`, `*_se`: numbers) and
counts (`n_*`: integers). A non-finite number (`NaN`, `Infinity`, which Python's json reads)
becomes null, as wdcli writes it, wherever null is allowed.

Schema version 2 adds the run key of DESIGN.md: `point` (the grid's dotted keys and values,
`{}` without a grid) on every run and summary row, and `fold` (0 with a holdout split) on every
run. Version-1 files read with those defaults.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from wdcli.runkey import HOLDOUT_FOLD, RowKey, RunKey, point_text

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
JOURNAL_VERSION = 1


# --------------------------------------------------------------------------- field types


def _null_if_not_finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def _not_negative(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise PydanticCustomError("lambda_value", "expected a finite number ≥ 0")
    return value


def _none_or_not_negative(value: float | None) -> float | None:
    return None if value is None else _not_negative(value)


def _count(value: int) -> int:
    if value < 0:
        raise PydanticCustomError("count_value", "expected an integer ≥ 0")
    return value


Number = Annotated[float | None, AfterValidator(_null_if_not_finite)]  # a number or null
Loss = Annotated[Number, AfterValidator(_none_or_not_negative)]  # a data loss is never < 0
Lambda = Annotated[float, AfterValidator(_not_negative)]
Count = Annotated[int, AfterValidator(_count)]
Point = dict[str, Any]
Status = Literal["ok", "diverged", "not_converged", "no_fit"]
Regime = Literal["overfit", "good", "underfit", "flat", "diverged"]  # "diverged": version 1

# Unknown fields with these endings are statistics (numbers or null) or counts (integers).
_STAT_SUFFIXES = ("_mean", "_std", "_se")


class Record(BaseModel):
    """Strict types (no '1.5' for 1.5, no true for 1), unknown fields kept."""

    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)

    def value(self, name: str) -> Any:
        """A field by its name in the file (`lambda`, `test_loss_mean`, `n_diverged`), known or
        not; None when the record lacks it."""
        attr = _ATTRIBUTES.get(name, name)
        if attr in type(self).model_fields:
            return getattr(self, attr)
        return (self.model_extra or {}).get(name)

    def has(self, name: str) -> bool:
        """Whether the record holds the field (set, or filled as a key field), known or not."""
        attr = _ATTRIBUTES.get(name, name)
        return attr in self.model_fields_set or name in (self.model_extra or {})

    def plain(self) -> dict[str, Any]:
        """The record as plain JSON data, with the fields it holds."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class Row(Record):
    """A run or a summary row: unknown statistics and counts are typed by their names too."""

    @model_validator(mode="after")
    def _typed_extras(self):
        for name, value in (self.model_extra or {}).items():
            if name.endswith(_STAT_SUFFIXES):
                if value is not None and not _is_number(value):
                    raise _field_error(name, "expected a number or null", value)
                if value is not None and not math.isfinite(value):
                    self.model_extra[name] = None
            elif name.startswith("n_") and value is not None:
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise _field_error(name, "expected an integer ≥ 0", value)
            elif name.endswith("_step") and value is not None:  # a run's grokking step ("x"
                # read as "not reached", and compare said fewer runs reached it)
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise _field_error(name, "expected a step (an integer ≥ 0) or null", value)
            elif name == "grok_delay" and value is not None:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise _field_error(name, "expected an integer (steps) or null", value)
        return self

    _names: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_names(cls, data, handler):
        record = handler(data)
        if isinstance(data, dict):
            record._names = tuple(data)
        return record

    def names(self) -> list[str]:
        """The record's fields as the file names them, in the file's order (key fields it
        lacked, filled with their defaults, first)."""
        declared = [
            _FILE_NAMES.get(attr, attr)
            for attr in type(self).model_fields
            if attr in self.model_fields_set
        ]
        held = [*declared, *(self.model_extra or {})]
        read = [name for name in self._names if name in held]
        return [name for name in held if name not in read] + read

    def stat(self, metric: str, kind: str = "mean") -> Any:
        """A summary statistic of a metric: `stat("test_loss", "se")` is `test_loss_se`."""
        return self.value(f"{metric}_{kind}")


# Fields whose attribute is not their name in the file (a Python keyword).
_ATTRIBUTES = {"lambda": "lambda_"}
_FILE_NAMES = {attr: name for name, attr in _ATTRIBUTES.items()}


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _field_error(field: str, message: str, value=...) -> PydanticCustomError:
    """An error about `field` of the record being validated (pydantic's loc stops above it)."""
    got = "" if value is ... else f", got {shown(value)}"
    return PydanticCustomError("field_error", message, {"field": field, "got": got})


# --------------------------------------------------------------------------- results


class Curve(Record):
    """Per-epoch losses of one run (more per-epoch lists may follow, e.g. accuracies)."""

    epoch: list[int]
    train_loss: list[Number]
    test_loss: list[Number]

    @model_validator(mode="after")
    def _same_lengths(self):
        n = len(self.epoch)
        extra_lists = [(k, v) for k, v in (self.model_extra or {}).items() if isinstance(v, list)]
        for name, values in [("train_loss", self.train_loss), ("test_loss", self.test_loss)]:
            if len(values) != n:
                raise _field_error(name, f"{len(values)} values for {n} epochs")
        for name, values in extra_lists:
            if any(v is not None and not _is_number(v) for v in values):
                raise _field_error(name, "expected a list of numbers or nulls", values)
            if len(values) != n:
                raise _field_error(name, f"{len(values)} values for {n} epochs")
        return self


class Run(Row):
    """One trained model: its key (point, λ, seed, fold), losses, status."""

    point: Point = Field(default_factory=dict)
    lambda_: Lambda = Field(alias="lambda")
    seed: int
    fold: Count = 0
    status: Status
    train_loss: Loss
    test_loss: Loss
    penalty: Number = None
    objective: Number = None
    weight_sq_norm: Number = None
    df: Number = None
    train_accuracy: Number = None
    test_accuracy: Number = None
    seconds: Number = None
    data_fingerprint: str | None = None
    curve: Curve | None = None

    @model_validator(mode="before")
    @classmethod
    def _key_defaults(cls, data):
        return _with_defaults(data, point={}, fold=0)

    @model_validator(mode="after")
    def _ok_runs_have_losses(self):
        if self.status == "ok" and (self.train_loss is None or self.test_loss is None):
            missing = "train_loss" if self.train_loss is None else "test_loss"
            raise PydanticCustomError(
                "ok_run_value",
                f"status ok with {missing} null or not finite: an ok run has its losses",
            )
        return self

    def key(self) -> RunKey:
        """The run's key (wdcli.runkey)."""
        return RunKey(key_text(self.point), self.lambda_, self.seed, self.fold)


class SummaryRow(Row):
    """The runs of one (point, λ) summarised; `regime` is null when no run was healthy."""

    point: Point = Field(default_factory=dict)
    lambda_: Lambda = Field(alias="lambda")
    n_runs: Count | None = None
    n_diverged: Count | None = None
    train_loss_mean: Loss
    test_loss_mean: Loss
    regime: Regime | None

    @model_validator(mode="before")
    @classmethod
    def _key_defaults(cls, data):
        return _with_defaults(data, point={})

    def row_key(self) -> RowKey:
        """The row's key (wdcli.runkey): what its runs share."""
        return RowKey(key_text(self.point), self.lambda_)

    def count(self, status: str) -> int:
        """How many of the row's runs ended with this status (`n_diverged`, …; 0 if absent)."""
        return self.value(f"n_{status}") or 0

    def all_trained(self) -> bool:
        """Whether every run of the row trained (an older file's regime `diverged` did not)."""
        unhealthy = [status for status in get_args(Status) if status != "ok"]
        return self.regime != "diverged" and not any(self.count(s) for s in unhealthy)


def _with_defaults(data, **defaults):
    """The input with missing key fields filled, so that they count as set (and are dumped)."""
    if isinstance(data, dict) and any(key not in data for key in defaults):
        return {**{k: v for k, v in defaults.items() if k not in data}, **data}
    return data


class Section(Record):
    """A config section that names what it is (dataset, model); its options are free."""

    name: str


class ConfigRecord(Record):
    """The resolved config as a results file stores it: the parts that readers use."""

    name: str
    dataset: Section
    model: Section
    tolerance: Annotated[Number, AfterValidator(_none_or_not_negative)] = None

    def options(self, section: str) -> dict[str, Any]:
        """A section (`dataset`, `model`, or one a reader does not type) as plain data, {}
        when the config lacks it."""
        value = self.value(section)
        if isinstance(value, Section):
            return value.model_dump()
        return value if isinstance(value, dict) else {}


class Results(Record):
    """A results document (DESIGN.md), version 1 or 2."""

    schema_version: int
    wdcli_version: str | None = None
    convention: str | None = None
    config: ConfigRecord
    config_hash: str | None = None
    task: Literal["regression", "classification"] | None = None
    data_fingerprint: str | None = None
    environment: dict[str, Any] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    runs: list[Run] = Field(min_length=1)
    summary: list[SummaryRow] = Field(min_length=1)
    best_lambda: Number
    lambda_1se: Number

    _plain: dict | None = PrivateAttr(default=None)

    def plain(self) -> dict:
        """The document as plain JSON data, as it is written and as `show --format json` prints
        it: the data it was read from (`with_plain`), else its fields as set."""
        if self._plain is not None:
            return self._plain
        return self.model_dump(by_alias=True, exclude_unset=True)

    def with_plain(self, data: dict) -> Results:
        """The record, reporting `data` as its plain form (its own data, normalised)."""
        self._plain = data
        return self

    def points(self) -> list[str]:
        """The distinct points of the summary (canonical text), in order of first appearance."""
        return list(dict.fromkeys(key_text(row.point) for row in self.summary))

    def validation_folds(self) -> int:
        """How many validation folds (fold ≥ 1) the runs have per seed (0 with a holdout)."""
        return len({run.fold for run in self.runs} - {HOLDOUT_FOLD})

    def at_point(
        self,
        point: Point,
        summary: list[SummaryRow],
        runs: list[Run],
        chosen: tuple[float | None, float | None],
        selection: dict | None = None,
    ) -> Results:
        """The document of one point of a grid, as a sweep of that point alone would have
        written it: its rows and runs, its (λ_min, λ_1se), the rest of its entry of `points`
        (its notes, target scaling, final test loss) and `point` naming it."""
        best, one_se = chosen
        update = {"summary": summary, "runs": runs, "best_lambda": best, "lambda_1se": one_se}
        extra = {k: v for k, v in (selection or {}).items() if k not in update and k != "point"}
        part = self.model_copy(update={**extra, **update, "point": point})
        part._plain = None
        return part

    @model_validator(mode="after")
    def _consistent(self):
        rows = [r.row_key() for r in self.summary]
        keys = [r.key() for r in self.runs]
        runs = [key.row for key in keys]
        _unique("summary", rows)
        _unique("runs", keys)
        _all_in("runs", runs, set(rows), "no summary row has its key")
        _all_in("summary", rows, set(runs), "no run has its key")
        lambdas = {lam for _, lam in rows}
        for name in ("best_lambda", "lambda_1se"):
            value = getattr(self, name)
            if value is not None and value not in lambdas:
                raise PydanticCustomError(
                    "document_error",
                    "{where}: {value} is not a λ of the summary",
                    {"where": name, "value": f"{value:g}"},
                )
        return self


def _unique(field: str, keys: list[tuple]) -> None:
    seen: set[tuple] = set()
    for i, key in enumerate(keys):
        if key in seen:
            raise PydanticCustomError(
                "document_error",
                "{where}: a second entry for the same key ({key})",
                {"where": f"{field}[{i}]", "key": _describe_key(key)},
            )
        seen.add(key)


def _all_in(field: str, keys: list[tuple], known: set[tuple], problem: str) -> None:
    for i, key in enumerate(keys):
        if key not in known:
            raise PydanticCustomError(
                "document_error",
                "{where}: {problem} ({key})",
                {"where": f"{field}[{i}]", "problem": problem, "key": _describe_key(key)},
            )


def _describe_key(key: tuple) -> str:
    point, lam, *rest = key
    parts = ([f"point {point}"] if point != "{}" else []) + [f"λ = {lam:g}"]
    if rest:
        parts += [f"seed {rest[0]}"] + ([f"fold {rest[1]}"] if rest[1] else [])
    return ", ".join(parts)


def key_text(point: dict) -> str:
    """A point as stable text (sorted keys), to use in keys and to show (wdcli.runkey)."""
    return point_text(point)


# --------------------------------------------------------------------------- journal


class JournalHeader(Record):
    """The first line of a journal: which config the runs below belong to."""

    kind: Literal["header"]
    journal_version: int = JOURNAL_VERSION
    name: str
    config_hash: str
    config: dict[str, Any] | None = None
    started_at: str | None = None
    versions: dict[str, str] | None = None  # wdcli's, numpy's, scikit-learn's (since 0.2)


class JournalRun(Record):
    """A later line: one finished run (and, since 0.2, the hash of its config)."""

    kind: Literal["run"]
    config_hash: str | None = None
    run: Run


# --------------------------------------------------------------------------- errors


def parse(model: type[Record], data: Any, source: str) -> Record:
    """Validate data into model, or raise ValueError('SOURCE: FIELD: what is wrong')."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{source}: {describe(exc.errors(include_url=False)[0])}") from None  # type: ignore[arg-type]


_EXPECTED = {
    "float_type": "expected a number",
    "int_type": "expected an integer",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "list_type": "expected a list",
}


def describe(error: dict) -> str:
    """One pydantic error as 'runs[3].lambda: expected a number, got 'abc''."""
    loc = [part for part in error["loc"]]
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "document_error":
        return error["msg"]
    if kind == "field_error":
        return f"{join_path([*loc, ctx['field']])}: {error['msg']}{ctx['got']}"
    where = join_path(loc) or "the file"
    if kind == "missing":
        return f"{where}: required field is missing"
    if kind == "too_short":
        return f"{where}: is empty"
    if kind in _EXPECTED:
        return f"{where}: {_EXPECTED[kind]}, got {shown(error['input'])}"
    if kind == "literal_error":
        return f"{where}: expected {ctx['expected']}, got {shown(error['input'])}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message[0].lower()}{message[1:]}, got {shown(error['input'])}"


def join_path(parts) -> str:
    """('runs', 3, 'lambda') -> 'runs[3].lambda'."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def shown(value, limit: int = 40) -> str:
    """A value as the user wrote it in JSON (strings in single quotes), cut to `limit`."""
    if isinstance(value, str):
        text = repr(value)  # quoted, control characters and lone surrogates escaped
    elif isinstance(value, float) and not math.isfinite(value):
        text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
            if len(text.splitlines()) > 1:  # U+0085, U+2028…: escaped, so a message is one line
                text = json.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kind_of(value) -> str:
    """What a JSON value is, in words: 'an array', 'a number', …"""
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string"}.get(type(value), "a number")  # type: ignore[call-overload]
