"""A CSV dataset: the columns a config names, typed, checked cell by cell, as a Frame.

Every check that does not depend on the split is made here, on the whole file, so that a
broken file stops a sweep before anything is written: columns by name (a test file's too,
in any order), numbers in numeric columns, no infinities, missing cells only where
`dataset.impute` fills them, and never in the target.

The task when `dataset.task: auto`: regression when every target cell of the training file
is a number, classification when none is; a target mixing numbers and text is refused (set
`dataset.task: classification` to read numbers as class labels).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from wdcli.config import CLASSIFICATION, REGRESSION, CsvData
from wdcli.data.csvfile import (
    MISSING,
    Table,
    check_no_dot,
    comma_decimal_as_dot,
    decimal_comma,
    first_missing,
    parse_numbers,
    read_table,
)
from wdcli.data.preprocess import Frame, row_tuples
from wdcli.errors import DataError


@dataclass(frozen=True)
class CsvSplit:
    """One CSV file's features and target (floats for regression, text labels otherwise)."""

    X: Frame
    y: np.ndarray


def load_csv(cfg: CsvData) -> tuple[CsvSplit, CsvSplit | None, str]:
    """(the training file, the test file or None, the task) of a CSV dataset config."""
    table = read_table(cfg.path)
    _require(table, [cfg.target], " named in dataset.target")
    features = cfg.features if cfg.features is not None else _all_but(table, cfg.target)
    if not features:
        raise DataError(f"{cfg.path}: no feature columns besides '{cfg.target}'")
    _require(table, features, " named in dataset.features")
    _require(table, cfg.categorical, " named in dataset.categorical")
    numbers = [name for name in features if name not in cfg.categorical] + [cfg.target]
    task = cfg.task if cfg.task != "auto" else _task(table, cfg.target, numbers)
    train = _split_of(cfg, table, features, task)
    if cfg.test_path is None:
        return train, None, task
    test_table = read_table(cfg.test_path)
    missing = [name for name in [*features, cfg.target] if name not in test_table.header]
    if missing:
        raise DataError(
            f"{cfg.test_path}: no column {_names(missing)} (that {cfg.path} has); "
            f"its columns: {', '.join(test_table.header)}"
        )
    test = _split_of(cfg, test_table, features, task)
    seen = set(row_tuples(train.X, train.y))
    # (data of few distinct rows, categories alone, repeat rows by nature: not this)
    if len(seen) >= 0.9 * len(train.y) and set(row_tuples(test.X, test.y)) <= seen:
        raise DataError(  # its test loss was (part of) the training loss, at every λ, exit 0
            f"{cfg.test_path}: holds only rows that {cfg.path} holds, so the test loss would "
            "measure the training rows; give a file of other rows, or leave test_path out to "
            "split path"
        )
    return train, test, task


def _all_but(table: Table, target: str) -> list[str]:
    return [name for name in table.header if name != target]


def _require(table: Table, names: list[str], what: str) -> None:
    missing = [name for name in names if name not in table.header]
    if missing:
        near = _closest(missing[0], table.header)
        hint = f"; did you mean '{near}'?" if near and len(missing) == 1 else ""
        if not hint and all(name.isdigit() for name in missing):  # target: 1, a position
            hint = "; columns are named by their header, not numbered"
        raise DataError(
            f"{table.path}: no column {_names(missing)}{what} (columns: "
            f"{', '.join(table.header)}){hint}"
        )


def _closest(name: str, header: list[str]) -> str | None:
    """The column a misspelt name most likely meant (case first, then spelling)."""
    same_case = [column for column in header if column.lower() == name.lower()]
    if same_case:
        return same_case[0]
    close = difflib.get_close_matches(name, header, n=1, cutoff=0.75)
    return close[0] if close else None


def _names(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _split_of(cfg: CsvData, table: Table, features: list[str], task: str) -> CsvSplit:
    numeric = [name for name in features if name not in cfg.categorical]
    comma = decimal_comma(table, [*numeric, cfg.target])
    columns = [_numeric(cfg, table, name, comma) for name in numeric]
    X = Frame(
        np.column_stack(columns) if columns else np.empty((len(table.rows), 0)),
        _categories(cfg, table),
        numeric,
        list(cfg.categorical),
    )
    return CsvSplit(X, _target(cfg, table, task, comma))


def _numeric(cfg: CsvData, table: Table, name: str, comma: str | None) -> np.ndarray:
    try:
        values = parse_numbers(table, name, decimal_comma=comma)
    except DataError as exc:
        if name in table.header and "is not a number" in str(exc):
            raise DataError(
                f"{exc}; list '{name}' in dataset.categorical if it holds categories, or leave "
                "it out of dataset.features if it names the rows (an ID)"
            ) from None
        raise
    if cfg.impute == "refuse":
        _refuse_missing(table, name, first_missing(table, name, values))
    return values


def _categories(cfg: CsvData, table: Table) -> np.ndarray:
    cells = np.empty((len(table.rows), len(cfg.categorical)), dtype=object)
    for j, name in enumerate(cfg.categorical):
        column = table.column(name)
        if cfg.impute == "refuse":
            _refuse_missing(table, name, first_missing(table, name))
        cells[:, j] = [None if cell in MISSING else cell for cell in column]
    return cells


def _refuse_missing(table: Table, name: str, row: int | None) -> None:
    if row is not None:
        raise DataError(
            f"{table.path}: line {table.lines[row]}: column '{name}' is missing "
            f"({_shown(table.column(name)[row])}); set dataset.impute: mean or median to fill "
            "missing cells from the training rows"
        )


def _shown(cell: str) -> str:
    return "an empty cell" if not cell else repr(cell)


TINY = 1e-70  # a target varying by less: its losses (~1e-140) have spreads whose squares
# underflow (± 0, a paired SE of 0 moved λ_1se at 1e-100), or underflow themselves


def _target(cfg: CsvData, table: Table, task: str, comma: str | None) -> np.ndarray:
    cells = table.column(cfg.target)
    numbers = None if task == CLASSIFICATION else parse_numbers(table, cfg.target, comma)
    for i, cell in enumerate(cells):  # 'NAN' too: a NaN however it is spelt
        if cell in MISSING or (numbers is not None and np.isnan(numbers[i])):
            raise DataError(
                f"{table.path}: line {table.lines[i]}: column '{cfg.target}' (the target) is "
                f"missing ({_shown(cell)}); a target is never imputed: drop the row"
            )
    spread = 0.0 if numbers is None else float(np.max(np.abs(numbers - np.median(numbers))))
    if 0 < spread < TINY:  # its spread, not its size: 2e-150 + 1e-157·z passed
        raise DataError(
            f"{table.path}: column '{cfg.target}' (the target) varies by at most {spread:.3g}, "
            f"below {TINY:.0e}: the losses, its squares, and their spread across seeds underflow "
            "to 0; rescale the column"
        )
    if numbers is None and comma:  # class labels written 1,0 compare as the number 1.0 does
        cells = [comma_decimal_as_dot(cell) for cell in cells]
    return np.asarray(cells, dtype=object) if numbers is None else numbers


GROUPED = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")  # 17,037,399 or 1,234.5
SURELY_GROUPED = re.compile(r"[-+]?[1-9]\d{0,2}(,\d{3}){2,}(\.\d+)?|[-+]?[1-9]\d{0,2},\d{3}\.\d+")


def _thousands(cells: list[str]) -> bool:
    """Whether every cell is a number with thousands separators, and some cell can be nothing
    else (two groups, or a decimal point after one): '16,419' alone may be a decimal comma,
    as '0,005' surely is."""
    return (
        bool(cells)
        and all(GROUPED.fullmatch(c) for c in cells)
        and any(SURELY_GROUPED.fullmatch(c) for c in cells)
    )


def _task(table: Table, target: str, read_as_numbers: list[str]) -> str:
    """regression when every present target cell is a number, classification when none is."""
    comma = decimal_comma(table, read_as_numbers)
    column = table.column(target)
    numbers, texts = None, None
    for i, cell in enumerate(column):
        if cell in MISSING:
            continue
        if comma:  # '2.889,06' is no text but a number with its thousands grouped
            check_no_dot(table, target, i, cell, comma)
        try:
            float(cell.replace(",", ".") if comma else cell)
            numbers = numbers if numbers is not None else i
        except ValueError:
            texts = texts if texts is not None else i
    if numbers is not None and texts is not None:
        raise DataError(
            f"{table.path}: column '{target}' (the target) holds numbers (line "
            f"{table.lines[numbers]}) and text (line {table.lines[texts]}: "
            f"{column[texts]!r}); set dataset.task: classification to read it "
            "as class labels, or fix the cell"
        )
    if texts is not None and _thousands([cell for cell in column if cell not in MISSING]):
        raise DataError(  # read as text, it became hundreds of classes, each refused as unseen
            f"{table.path}: line {table.lines[texts]}: column '{target}' (the target) writes its "
            f"numbers with thousands separators ({column[texts]!r}); remove them, or "
            "set dataset.task: classification if these are class labels"
        )
    return REGRESSION if texts is None else CLASSIFICATION
