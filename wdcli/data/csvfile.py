"""Reading a CSV file into a table of text cells, and its columns into numbers.

The csv module parses (quoted fields, embedded separators and newlines, RFC 4180 doubled
quotes); the separator is the one among `,` `;` tab `|` that splits the first lines into
equally many fields. A byte order mark (Excel's "CSV UTF-8") is dropped by `read_text`. Every error names the file,
the line and the column.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wdcli.errors import DataError, read_text

DELIMITERS = ",;\t|"
# Cells read as missing (pandas' defaults, and '?' as in the UCI repository), after stripping.
MISSING = frozenset(
    "|#N/A|#N/A N/A|#NA|-1.#IND|-1.#QNAN|-NaN|-nan|1.#IND|1.#QNAN|<NA>|N/A|NA|NULL|NaN|None"
    "|n/a|nan|null|?".split("|")
)
SAMPLE_CHARS = 64 * 1024  # what the separator is chosen from: at most this much,
SAMPLE_ROWS = 50  # and at most these rows


@dataclass(frozen=True)
class Table:
    """A CSV file's header and rows as text; `lines[i]` is the file line where row i starts."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    delimiter: str

    def column(self, name: str) -> list[str]:
        j = self.header.index(name)
        return [row[j].strip() for row in self.rows]


def read_table(path: Path) -> Table:
    """Parse a CSV file with a header row and at least one data row; blank lines are
    skipped (a line of separators only is a row of empty cells, not a blank line)."""
    text = read_text(path, DataError, "CSV file")
    start = 1
    excel = re.match(r"sep=([,;\t|])\r?\n", text)  # Excel's "sep=;" first line
    if excel:
        delimiter, text, start = excel.group(1), text[excel.end() :], 2
    else:
        delimiter = _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    header, rows, lines, first = None, [], [], start
    try:
        for row in reader:
            if len(row) > 1 or (row and row[0].strip()):  # not a blank line
                if header is None:
                    header = _header(path, row, start)
                else:
                    if len(row) != len(header):
                        raise DataError(
                            f"{path}: line {start}: {len(row)} fields, the header has "
                            f"{len(header)}{_separator_hint(delimiter)}"
                        )
                    rows.append(row)
                    lines.append(start)
            start = first + reader.line_num
    except csv.Error as exc:
        raise DataError(f"{path}: line {start}: cannot parse: {exc}") from None
    if header is None:
        raise DataError(f"{path}: is empty; needs a header row and at least one data row")
    if not rows:
        raise DataError(f"{path}: has a header row but no data rows")
    return Table(Path(path), header, rows, lines, delimiter)


def _sniff(text: str) -> str:
    """The separator among DELIMITERS that splits the first lines most consistently: the
    most rows with as many fields as the header (more than one), then the widest header.
    csv.Sniffer guesses from character frequencies and is thrown by one ragged row or a
    decimal comma, so it is not used. ',' when nothing splits the header."""
    sample = text[:SAMPLE_CHARS]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            rows = [row for row in itertools.islice(reader, SAMPLE_ROWS) if any(row)]
        except csv.Error:
            continue
        if len(rows) > 1 and len(sample) == SAMPLE_CHARS:
            rows.pop()  # perhaps cut short by the sample's end
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(row) == width for row in rows) / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _header(path: Path, row: list[str], line: int) -> list[str]:
    names = [name.strip() for name in row]
    for j, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: line {line}: column {j + 1} of the header has no name")
        if name in names[:j]:
            raise DataError(f"{path}: line {line}: column '{name}' appears twice in the header")
    return names


def _separator_hint(delimiter: str) -> str:
    name = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}[delimiter]
    return f" (separator {name}; quote fields that contain it)"


HUGE = 1e150  # |values| above this square to beyond float64's 1.8e308 in a variance or MSE


_COMMA_DECIMAL = re.compile(r"[+-]?\d*,\d+([eE][+-]?\d+)?")
_DOTTED_NUMBER = re.compile(r"[+-]?\d*\.[\d.]*(,\d+)?([eE][+-]?\d+)?")


def decimal_comma(table: Table, names: list[str]) -> str | None:
    """Where a ';'-separated file writes a decimal with a comma, in the columns read as
    numbers (`names`): "line 3, column 'Preis': '5201,5'", or None (a ';' file of '.'
    decimals, or of whole numbers, reads '.' as usual; a comma in a note column is no sign)."""
    if table.delimiter != ";":
        return None
    for name in names:
        for i, cell in enumerate(table.column(name)):
            if "," in cell and _COMMA_DECIMAL.fullmatch(cell.strip()):
                return f"line {table.lines[i]}, column '{name}': {cell!r}"
    return None


def comma_decimal_as_dot(cell: str) -> str:
    """'1,5' as '1.5' (a number with a decimal comma); any other cell as it is."""
    return cell.replace(",", ".") if _COMMA_DECIMAL.fullmatch(cell.strip()) else cell


def check_no_dot(table: Table, name: str, i: int, cell: str, comma: str) -> None:
    """In a file of decimal commas (`comma` says where one is) a '.' in a number groups
    thousands ('2.626' for 2626), or is a mistake: refuse it rather than read 2.626."""
    if "." in cell and _DOTTED_NUMBER.fullmatch(cell.strip()):
        raise DataError(
            f"{table.path}: line {table.lines[i]}: column '{name}' is {cell!r}: this file writes "
            f"its decimals with a comma ({comma}), so the '.' would group thousands or be a "
            "second decimal mark; write the number without it"
        )


def parse_numbers(table: Table, name: str, decimal_comma: str | None = None) -> np.ndarray:
    """A column as floats, NaN where a cell is missing (see MISSING).

    A cell that is not a number, or is infinite or beyond ±HUGE, is a DataError naming its
    line and column. With `decimal_comma` (a file of decimal commas, see `decimal_comma`),
    '1,5' reads as 1.5 and a '.' is refused (`check_no_dot`).
    """
    cells = table.column(name)
    try:  # fast path: numpy parses every cell, all finite and within ±HUGE, plain ASCII
        values = np.asarray(cells, dtype=float)
        joined = "".join(cells)
        plain = joined.isascii() and "_" not in joined and not (decimal_comma and "." in joined)
        if np.all(np.abs(values) <= HUGE) and plain:
            return values
    except ValueError:
        pass
    values = np.empty(len(cells))
    for i, cell in enumerate(cells):
        values[i] = _number(table, name, i, cell, decimal_comma)
    return values


def _number(table: Table, name: str, i: int, cell: str, decimal_comma: str | None) -> float:
    if cell in MISSING:
        return math.nan
    if decimal_comma:
        check_no_dot(table, name, i, cell, decimal_comma)
    try:
        if not cell.isascii() or "_" in cell:  # float() reads '1_000' and '１２', as no CSV
            raise ValueError(cell)  # reader does (pandas, R): text, not a number
        value = float(cell.replace(",", ".") if decimal_comma else cell)
    except ValueError:
        raise DataError(
            f"{table.path}: line {table.lines[i]}: column '{name}' is not a number: {cell!r}"
        ) from None
    if math.isnan(value):  # 'NAN', 'NaN', 'nan' …: missing, however it is spelt
        return math.nan
    if not math.isfinite(value):
        raise DataError(
            f"{table.path}: line {table.lines[i]}: column '{name}' is {cell}, not a finite number"
        )
    if abs(value) > HUGE:
        raise DataError(
            f"{table.path}: line {table.lines[i]}: column '{name}' is {cell}, beyond ±1e150: "
            "its square overflows when the column is standardised (or the loss computed); "
            "rescale the column"
        )
    return value


def first_missing(table: Table, name: str, values: np.ndarray | None = None) -> int | None:
    """The index of the first missing cell of a column (None when none is)."""
    if values is not None:
        missing = np.flatnonzero(np.isnan(values))
        return int(missing[0]) if len(missing) else None
    for i, cell in enumerate(table.column(name)):
        if cell in MISSING:
            return i
    return None
