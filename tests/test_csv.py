"""CSV files: read with a real parser, checked cell by cell before anything is written.

The property tests write a valid CSV in a random dialect (separator, BOM, quotes), break it
in one random way, and run `wdcli sweep` on it: exit 2, exactly one line on stderr naming
the file, the line and the column, and no results file or journal.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.config import load_config, validate
from wdcli.data.build import build_dataset, build_split
from wdcli.data.csvfile import read_table
from wdcli.errors import DataError
from wdcli.sweep import plan_units, unit_dataset

SEPARATORS = {",": "','", ";": "';'", "\t": "tab"}
BAD_INPUTS: set[str] = set()  # every distinct broken file tried, counted in the last test


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def _dataset(tmp: Path, **dataset) -> object:
    raw = {
        "name": "c",
        "dataset": {"name": "csv", "target": "y", **dataset},
        "model": {"name": "linear"},
        "lambdas": [0, 1],
    }
    return validate(raw, str(tmp / "c.yaml")).dataset


def _write_config(folder: Path, text: str = "") -> Path:
    config = folder / "c.yaml"
    config.write_text(
        "name: c\n"
        f"dataset: {{name: csv, path: d.csv, target: y{text}}}\n"
        "model: {name: linear}\nlambdas: [0, 0.1]\nseeds: 2\n"
    )
    return config


def _render(header, rows, sep: str, bom: bool, quote: bool) -> str:
    def cell(text: str) -> str:
        return f'"{text}"' if quote and text else text

    lines = [sep.join(cell(c) for c in header)] + [sep.join(cell(c) for c in r) for r in rows]
    return ("\ufeff" if bom else "") + "\n".join(lines) + "\n"


@st.composite
def tables(draw):
    """A valid numeric table: 2-4 feature columns, a numeric target, 12-30 rows."""
    d = draw(st.integers(2, 4))
    n = draw(st.integers(12, 30))
    header = [f"f{j}" for j in range(d)] + ["y"]
    numbers = st.integers(-999, 999).map(lambda v: f"{v / 10:g}")
    rows = [[draw(numbers) for _ in range(d + 1)] for _ in range(n)]
    # distinct targets: a target column of one value is still fine, but keep it varied
    for i, row in enumerate(rows):
        row[-1] = f"{i}.5"
    return header, rows


BREAKS = ["missing", "infinite", "huge", "text", "ragged", "target_missing", "target_text"]


@st.composite
def broken(draw):
    header, rows = draw(tables())
    sep = draw(st.sampled_from(list(SEPARATORS)))
    bom, quote = draw(st.booleans()), draw(st.booleans())
    kind = draw(st.sampled_from(BREAKS))
    i = draw(st.integers(0, len(rows) - 1))
    j = draw(st.integers(0, len(header) - 2))
    line = i + 2
    if kind in ("missing", "target_missing"):
        # NAN: float() reads it as nan, which was refused as "not a finite number"
        token = draw(st.sampled_from(["", "NA", "nan", "NULL", "?", "N/A", "None", "NAN"]))
        column = header[j] if kind == "missing" else "y"
        rows[i][header.index(column)] = token
        shown = "an empty cell" if not token else repr(token)
        tail = (
            "set dataset.impute: mean or median to fill missing cells from the training rows"
            if kind == "missing"
            else "a target is never imputed: drop the row"
        )
        what = f"column '{column}'" + (" (the target)" if kind == "target_missing" else "")
        message = f"line {line}: {what} is missing ({shown}); {tail}"
    elif kind == "infinite":
        token = draw(st.sampled_from(["inf", "-inf", "Infinity", "-Infinity", "INF"]))
        rows[i][j] = token
        message = f"line {line}: column '{header[j]}' is {token}, not a finite number"
    elif kind == "huge":  # finite, but its square overflows a variance: once silently 0
        token = draw(st.sampled_from(["1e300", "-2.5e151", "1E200"]))
        rows[i][j] = token
        message = (
            f"line {line}: column '{header[j]}' is {token}, beyond ±1e150: its square overflows "
            "when the column is standardised (or the loss computed); rescale the column"
        )
    elif kind == "text":
        # 1_000 and full-width digits: float() reads them, no CSV reader does
        token = draw(st.sampled_from(["abc", "1.2.3", "12 kg", "x1", "1_000", "１２"]))
        rows[i][j] = token
        message = (
            f"line {line}: column '{header[j]}' is not a number: '{token}'; "
            f"list '{header[j]}' in dataset.categorical if it holds categories, or leave it "
            "out of dataset.features if it names the rows (an ID)"
        )
    elif kind == "target_text":
        token = draw(st.sampled_from(["abc", "high", "x1"]))
        rows[i][-1] = token
        first_number = 3 if i == 0 else 2
        message = (
            f"column 'y' (the target) holds numbers (line {first_number}) and text (line "
            f"{line}: '{token}'); set dataset.task: classification to read it as class labels, "
            "or fix the cell"
        )
    else:  # ragged: a row with one field too many or too few
        extra = draw(st.booleans())
        rows[i] = rows[i] + ["1"] if extra else rows[i][:-1]
        message = (
            f"line {line}: {len(rows[i])} fields, the header has {len(header)} "
            f"(separator {SEPARATORS[sep]}; quote fields that contain it)"
        )
    return _render(header, rows, sep, bom, quote), message


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken())
def test_a_broken_csv_is_one_line_exit_2_and_nothing_written(case):
    text, message = case
    BAD_INPUTS.add(text)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "d.csv").write_text(text, encoding="utf-8")
        config = _write_config(folder)
        out = folder / "out" / "r.json"
        out.parent.mkdir()
        result = run("sweep", str(config), "--out", str(out), "-q")
        assert result.exit_code == 2, result.output
        assert result.stderr == f"{folder / 'd.csv'}: {message}\n"
        assert list(out.parent.iterdir()) == []  # no results file, no journal


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(tables(), st.sampled_from(list(SEPARATORS)), st.booleans(), st.booleans())
def test_every_dialect_reads_the_same_numbers(table, sep, bom, quote):
    """Separators, a byte order mark and quoted fields change nothing in the data."""
    header, rows = table
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "plain.csv").write_text(_render(header, rows, ",", False, False))
        (folder / "d.csv").write_text(_render(header, rows, sep, bom, quote), encoding="utf-8")
        a = build_dataset(_dataset(folder, path="plain.csv"), 0)
        b = build_dataset(_dataset(folder, path="d.csv"), 0)
        assert a.fingerprint() == b.fingerprint()
        assert a.task == "regression"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "{p}: is empty; needs a header row and at least one data row"),
        ("\n\n", "{p}: is empty; needs a header row and at least one data row"),
        ("a,b,y\n", "{p}: has a header row but no data rows"),
        ("\ufeffa;b;y\n", "{p}: has a header row but no data rows"),
        ("a,,y\n1,2,3\n", "{p}: line 1: column 2 of the header has no name"),
        ("a,a,y\n1,2,3\n", "{p}: line 1: column 'a' appears twice in the header"),
        ("a,b\n1,2\n", "{p}: no column 'y' named in dataset.target (columns: a, b)"),
        ("a,Y\n1,2\n", "{p}: no column 'y' named in dataset.target (columns: a, Y); did you mean 'Y'?"),
        ("y\n1\n2\n", "{p}: no feature columns besides 'y'"),
        ('a,y\n"1,2\n', "{p}: line 2: 1 fields, the header has 2 (separator ','; quote fields that contain it)"),
        ("a,y\n1,NA\n2,3\n", "{p}: line 2: column 'y' (the target) is missing ('NA'); a target is never imputed: drop the row"),
    ],
)  # fmt: skip
def test_bad_files(tmp_path, content, message):
    BAD_INPUTS.add(content)
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        build_dataset(_dataset(tmp_path, path="d.csv"), 0)
    assert str(info.value) == message.format(p=path)


def test_a_target_given_by_position_says_columns_are_named(tmp_path):
    # target: 1 was refused as a number, quoted it became "no column '1'" without a word why
    (tmp_path / "d.csv").write_text("x1,x2,y\n1,2,3\n4,5,6\n")
    with pytest.raises(DataError) as info:
        build_dataset(_dataset(tmp_path, path="d.csv", target="1"), 0)
    assert str(info.value) == (
        f"{tmp_path / 'd.csv'}: no column '1' named in dataset.target (columns: x1, x2, y); "
        "columns are named by their header, not numbered"
    )


def test_quoted_fields_with_separators_newlines_and_doubled_quotes(tmp_path):
    text = 'a,"the ""name""",y\n1,"Paris, FR",2\n2,"two\nlines",3\n3,Oslo,4\n'
    (tmp_path / "d.csv").write_text(text)
    table = read_table(tmp_path / "d.csv")
    assert table.header == ["a", 'the "name"', "y"]
    assert table.column('the "name"') == ["Paris, FR", "two\nlines", "Oslo"]
    assert table.lines == [2, 3, 5]  # the line where each row starts


def test_decimal_commas_in_a_semicolon_file(tmp_path):
    (tmp_path / "d.csv").write_text("a;y\n1,5;2\n2,25;3\n3;4\n4;5\n5;6\n")
    data = build_dataset(_dataset(tmp_path, path="d.csv", test_size=0.2), 0)
    raw_a = np.sort(np.r_[data.X_train[:, 0], data.X_test[:, 0]])
    assert len(raw_a) == 5 and np.all(np.isfinite(raw_a))


@pytest.mark.parametrize(
    ("text", "line", "column", "cell", "where"),
    [
        ("a;y\n2.626;5201,5\n541;80,25\n3;4\n", 2, "a", "2.626", "line 2, column 'y': '5201,5'"),  # read as 2.626 for 2626
        ("a;y\n1,5;2.889,06\n2,5;3\n3;4\n", 2, "y", "2.889,06", "line 2, column 'a': '1,5'"),  # "text": use logistic
    ],
)  # fmt: skip
def test_a_dot_in_a_file_of_decimal_commas_is_refused(tmp_path, text, line, column, cell, where):
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(DataError) as error:
        build_dataset(_dataset(tmp_path, path="d.csv", test_size=0.25), 0)
    assert str(error.value) == (
        f"{tmp_path / 'd.csv'}: line {line}: column '{column}' is {cell!r}: this file writes its "
        f"decimals with a comma ({where}), so the '.' would group thousands or be a second "
        "decimal mark; write the number without it"
    )


def test_a_semicolon_file_of_dot_decimals_reads_them(tmp_path):
    # a comma in a column that is not read as numbers (a note) made it a decimal-comma file
    (tmp_path / "d.csv").write_text("a;y;note\n2.5;1;x\n3.25;2;2,5\n4;3;x\n5;4;x\n")
    data = build_dataset(
        _dataset(tmp_path, path="d.csv", test_size=0.25, seed=0, features=["a"]), 0
    )
    assert sorted(np.r_[data.y_train, data.y_test]) == [1, 2, 3, 4]


def test_utf16_file_with_bom(tmp_path):
    text = "a\tb\ty\n" + "".join(f"{i}\t{i % 3}\t{i * 2}\n" for i in range(10))
    (tmp_path / "u16.csv").write_text(text, encoding="utf-16")
    (tmp_path / "u8.csv").write_text(text)
    a = build_dataset(_dataset(tmp_path, path="u16.csv"), 0)
    b = build_dataset(_dataset(tmp_path, path="u8.csv"), 0)
    assert a.fingerprint() == b.fingerprint()


def test_not_utf8(tmp_path):
    (tmp_path / "d.csv").write_bytes("a,y\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        build_dataset(_dataset(tmp_path, path="d.csv"), 0)
    assert str(info.value) == (  # the line, as every other error about a cell gives it
        f"{tmp_path / 'd.csv'}: line 2: is not UTF-8 text (byte 10: b'\\xe9'); save it as UTF-8"
    )
    # after a byte-order mark (the offset missed its 3 bytes), and with old Mac CR line ends
    for name, data in (("bom.csv", b"\xef\xbb\xbfa,y\nK\xf6ln,1\n"),
                       ("mac.csv", b"a,y\rx,1\rK\xf6ln,2\r")):  # fmt: skip
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError) as info:
            build_dataset(_dataset(tmp_path, path=name), 0)
        line = {"bom.csv": 2, "mac.csv": 3}[name]
        assert str(info.value).startswith(f"{tmp_path / name}: line {line}: is not UTF-8 text (")
        assert str(info.value).endswith(": b'\\xf6'); save it as UTF-8")
    # UTF-16 without a byte order mark is valid UTF-8 with a NUL after each character: it
    # said "line 2: 1 fields, the header has 2"
    wide = "UTF-16 or UTF-32 text without a byte order mark"
    for name, data, where in (
        ("le.csv", "a,y\r\n1,2\r\n".encode("utf-16-le"), f"line 1: holds a NUL byte (byte 2): {wide}"),
        ("be.csv", "a,y\n1,2\n".encode("utf-16-be"), f"line 1: holds a NUL byte (byte 1): {wide}"),
        ("32.csv", "a,y\n1,2\n".encode("utf-32-le"), f"line 1: holds a NUL byte (byte 2): {wide}"),
        ("nul.csv", b"a,y\n1,3\n1,\x002\n", "line 3: holds a NUL byte (byte 11): not text"),
    ):  # fmt: skip
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError) as info:
            build_dataset(_dataset(tmp_path, path=name), 0)
        assert str(info.value) == f"{tmp_path / name}: {where}; save it as UTF-8"
    # UTF-32 with its mark is read (the mark of UTF-32-LE begins as UTF-16-LE's: misread)
    (tmp_path / "u32.csv").write_bytes("a,y\n1,2\n3,5\n4,7\n".encode("utf-32"))
    (tmp_path / "u8.csv").write_text("a,y\n1,2\n3,5\n4,7\n")
    assert (build_dataset(_dataset(tmp_path, path="u32.csv"), 0).fingerprint()
            == build_dataset(_dataset(tmp_path, path="u8.csv"), 0).fingerprint())  # fmt: skip


# --------------------------------------------------------------------------- the task


def _numeric_file(path: Path, n: int = 40, target=None) -> None:
    rows = [f"{i},{(i * 7) % 11},{target(i) if target else i * 0.5}" for i in range(n)]
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")


def test_one_na_in_a_numeric_target_is_refused_not_a_40_class_problem(tmp_path):
    _numeric_file(tmp_path / "d.csv", target=lambda i: "NA" if i == 17 else i * 0.5)
    config = _write_config(tmp_path)
    result = run("sweep", str(config), "--out", str(tmp_path / "r.json"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"{tmp_path / 'd.csv'}: line 19: column 'y' (the target) is missing ('NA'); "
        "a target is never imputed: drop the row\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "d.csv"]


def test_the_task_comes_from_the_whole_target(tmp_path):
    _numeric_file(tmp_path / "num.csv")
    _numeric_file(tmp_path / "txt.csv", target=lambda i: "yes" if i % 3 else "no")
    assert build_dataset(_dataset(tmp_path, path="num.csv"), 0).task == "regression"
    labels = build_dataset(_dataset(tmp_path, path="txt.csv"), 0)
    assert labels.task == "classification" and labels.classes == ["no", "yes"]
    as_labels = build_dataset(_dataset(tmp_path, path="num.csv", task="classification"), 0)
    assert as_labels.task == "classification" and as_labels.n_classes == 40


def test_a_regressor_on_a_text_target_says_why_the_data_is_classification(tmp_path):
    rows = "".join(f"{i},{'lo' if i % 2 else 'hi'}\n" for i in range(40))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    config = _write_config(tmp_path)
    result = run("validate", str(config))
    assert (result.exit_code, result.stderr) == (
        2,
        f"{config}: model.name: 'linear' is for regression, but dataset {tmp_path / 'd.csv'} "
        "(target 'y') "
        "is classification (its target holds text); use logistic or mlp\n",
    )


def test_a_classifier_on_a_numeric_target_points_to_dataset_task(tmp_path):
    _numeric_file(tmp_path / "d.csv", target=lambda i: i % 2)
    config = _write_config(tmp_path)
    config.write_text(config.read_text().replace("{name: linear}", "{name: logistic}"))
    result = run("sweep", str(config), "--out", str(tmp_path / "r.json"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"{config}: model.name: 'logistic' is for classification, but dataset "
        f"{tmp_path / 'd.csv'} "
        "(target 'y') is regression; use linear or mlp, or set dataset.task: classification if "
        "the target holds classes\n",
    )
    sweep = run("sweep", str(config), "--set", "dataset.task=classification", "-q",
                "--out", str(tmp_path / "r.json"))  # fmt: skip
    assert sweep.exit_code == 0, sweep.output


# --------------------------------------------------------------------------- a test file


def test_test_file_columns_are_matched_by_name(tmp_path):
    rows = [(i, (i * 7) % 11, i * 0.5 + (i % 3)) for i in range(39)]
    (tmp_path / "train.csv").write_text(
        "a,b,y\n" + "".join(f"{a},{b},{y}\n" for a, b, y in rows[:30])
    )
    (tmp_path / "test.csv").write_text(
        "a,b,y\n" + "".join(f"{a},{b},{y}\n" for a, b, y in rows[30:])
    )
    (tmp_path / "swap.csv").write_text(
        "y,b,a,extra\n" + "".join(f"{y},{b},{a},0\n" for a, b, y in rows[30:])
    )
    same = build_dataset(_dataset(tmp_path, path="train.csv", test_path="test.csv"), 0)
    swapped = build_dataset(_dataset(tmp_path, path="train.csv", test_path="swap.csv"), 0)
    assert same.fingerprint() == swapped.fingerprint()


def test_a_renamed_test_column_is_refused_naming_it(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,3\n2,3,4\n3,4,5\n")
    (tmp_path / "t.csv").write_text("A,b,target\n1,2,3\n")
    BAD_INPUTS.add("renamed test columns")
    with pytest.raises(DataError) as info:
        build_dataset(_dataset(tmp_path, path="d.csv", test_path="t.csv"), 0)
    assert str(info.value) == (
        f"{tmp_path / 't.csv'}: no column 'a', 'y' (that {tmp_path / 'd.csv'} has); "
        "its columns: A, b, target"
    )


def test_a_missing_test_file_is_refused_before_anything_is_written(tmp_path):
    _numeric_file(tmp_path / "d.csv")
    BAD_INPUTS.add("missing test file")
    config = _write_config(tmp_path, ", test_path: nope.csv")
    result = run("sweep", str(config), "--out", str(tmp_path / "r.json"))
    assert (result.exit_code, result.stderr) == (2, f"{tmp_path / 'nope.csv'}: no such file\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "d.csv"]


def test_a_training_split_of_one_class_is_refused(tmp_path):
    rows = "".join(f"{i},{'a' if i < 57 else 'b'}\n" for i in range(60))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    BAD_INPUTS.add("one class")
    cfg = _dataset(tmp_path, path="d.csv", n_train=10)
    with pytest.raises(DataError) as info:
        build_dataset(cfg, 0)
    assert str(info.value) == (
        "dataset: the training split (seed 0) holds only class 'a'; a classifier needs two: "
        "use more training rows (n_train, test_size) or another dataset.seed"
    )


def test_class_labels_written_as_numbers_are_compared_as_numbers(tmp_path):
    # '1' and '1.0' (and '0', '0.0', '00') are one class each, as a spreadsheet's export may
    # mix them; they were three and four classes of a softmax, without a word
    labels = ["0", "1", "1.0", "0.0", "1", "00", "1", "0"] * 5
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(labels)))
    data = build_dataset(_dataset(tmp_path, path="d.csv", task="classification", seed=0), 0)
    assert data.classes == ["0", "1"]
    codes = np.concatenate([data.y_train, data.y_test])
    assert np.bincount(codes).tolist() == [20, 20]
    (tmp_path / "d.csv").write_text(
        "x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(["b", "a", "10", "1.5"] * 5))
    )
    text = build_dataset(_dataset(tmp_path, path="d.csv", task="classification", seed=0), 0)
    assert text.classes == ["1.5", "10", "a", "b"]  # not all numbers: text, as written


def test_a_target_of_a_few_whole_numbers_read_as_regression_gets_a_note(tmp_path):
    rows = "".join(f"{i},{i % 2}\n" for i in range(40))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    config = tmp_path / "c.yaml"
    config.write_text("name: c\ndataset: {name: csv, path: d.csv, target: y}\n"
                      "model: {name: linear}\nlambdas: [0.1]\n")  # fmt: skip
    result = run("validate", str(config))
    assert result.exit_code == 0
    assert result.stderr == (
        "note: the target 'y' holds only the whole numbers 0, 1 in its training rows: trained as regression (squared "
        "error); if these are classes, set dataset.task: classification\n"
    )
    config.write_text(config.read_text().replace("target: y", "target: y, task: regression"))
    assert run("validate", str(config)).stderr == ""  # said outright: no note


def _classes_config(folder: Path, text: str, seeds: int) -> Path:
    config = folder / "c.yaml"
    config.write_text(
        f"name: c\ndataset: {{name: csv, path: d.csv, target: y{text}}}\n"
        f"model: {{name: logistic}}\nlambdas: [0.01, 1]\nseeds: {seeds}\n"
    )
    return config


NEVER_SAW = (
    "in no training row: no model can predict a class it never saw, and the test loss of its "
    "rows would measure how long training ran, not λ; use "
)
NO_TRAINING_ROW = NEVER_SAW + "more training rows (n_train, test_size), or another dataset.seed"
# the files fix the split: test_size and dataset.seed are refused or change nothing there
WITH_A_TEST_FILE = NEVER_SAW + "a training file that holds the class, or a test file without it"


def _refused(config: Path, message: str) -> None:
    """Both validate and sweep refuse the config with this one line, and write nothing."""
    for command in ("validate", "sweep"):
        out = config.parent / "r.json"
        result = run(command, str(config), *(["--out", str(out)] if command == "sweep" else []))
        assert (result.exit_code, result.stderr) == (2, f"{config}: {message}\n")
        assert not out.exists()


def test_a_class_that_only_the_test_file_holds_is_refused(tmp_path):
    # a note let it train: the fit became a 3-class softmax (half the penalty of the 2-class
    # fit) and the test loss at λ_min moved from 0.96 to 1.62 with model.tol
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(40)))
    (tmp_path / "t.csv").write_text("x,y\n1,a\n2,b\n3,c\n")
    config = _classes_config(tmp_path, ", test_path: t.csv", seeds=2)
    _refused(config, f"dataset: class 'c' is in the test split but {WITH_A_TEST_FILE}")


def test_a_class_that_some_seeds_split_into_the_test_rows_only_is_refused_naming_those_seeds(
    tmp_path,
):
    rows = "".join(f"{i},{'ab'[i % 2] if i < 59 else 'c'}\n" for i in range(60))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    config = _classes_config(tmp_path, "", seeds=6)
    split = [build_split(_dataset(tmp_path, path="d.csv"), seed) for seed in range(6)]
    only_test = [str(seed) for seed, part in enumerate(split) if 2 not in part.y_train]
    assert 1 < len(only_test) < 6  # some seeds train on the 'c' row, some test on it
    _refused(config, f"dataset: class 'c' is in the test split of seeds {', '.join(only_test)} "
                     f"(of 6 seeds) but {NO_TRAINING_ROW}")  # fmt: skip


def test_classes_missing_from_training_are_named_per_seed_when_the_seeds_differ(tmp_path):
    # the union over seeds was named: 8 of 10 digits "in no training row" where each seed
    # missed 3 or 4
    rows = "".join(f"{i},{i % 6}\n" for i in range(36))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    config = _classes_config(tmp_path, ", n_train: 5, task: classification", seeds=3)
    missing = {}
    for seed in range(3):
        split = build_split(_dataset(tmp_path, path="d.csv", n_train=5), seed)
        names = {str(int(float(v))) for v in split.y_train}
        missing[seed] = sorted({str(c) for c in range(6)} - names)
    assert len({tuple(m) for m in missing.values()}) > 1  # the seeds miss different classes
    shown = "; ".join(
        f"seed {seed}: " + ", ".join(f"'{c}'" for c in m) for seed, m in missing.items()
    )
    _refused(config, f"dataset: classes are in the test split ({shown}; of 3 seeds) but "
                     + NO_TRAINING_ROW)  # fmt: skip


def test_a_seed_beyond_those_checked_ahead_is_refused_when_its_unit_is_built(tmp_path):
    rows = "".join(f"{i},{'ab'[i % 2] if i < 59 else 'c'}\n" for i in range(60))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    config = load_config(_classes_config(tmp_path, "", seeds=6))
    seed = next(
        s for s in range(6) if 2 not in build_split(_dataset(tmp_path, path="d.csv"), s).y_train
    )
    unit = next(u for u in plan_units(config) if u.seed == seed)
    with pytest.raises(DataError) as error:
        unit_dataset(config, unit)
    assert (
        str(error.value)
        == f"dataset: class 'c' is in the test split of seed {seed} but {NO_TRAINING_ROW}"
    )


def test_long_numeric_labels_stay_apart_and_numbers_are_read_from_the_training_labels(tmp_path):
    # IDs above 2⁵³ compared through float(): 3 classes became 2, one renamed
    ids = ["9007199254740993", "9007199254740992", "9007199254740995"]
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{ids[i % 3]}\n" for i in range(30)))
    split = build_split(_dataset(tmp_path, path="d.csv", task="classification"), 0)
    assert split.classes == sorted(ids, key=int)
    # one text label in the test file made '1' and '1.0' two classes: every test row unseen
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "d.csv").write_text("x,y\n" + "".join(f"{i},{1 + i % 2}.0\n" for i in range(30)))
    (folder / "t.csv").write_text("x,y\n1,1\n2,2\n3,unknown\n")
    config = _classes_config(folder, ", test_path: t.csv, task: classification", seeds=1)
    _refused(config, f"dataset: class 'unknown' is in the test split but {WITH_A_TEST_FILE}")


def test_a_target_of_one_class_and_a_single_training_row_say_what_is_wrong(tmp_path):
    rows = "".join(f"{i},yes\n" for i in range(20))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    config = _classes_config(tmp_path, "", seeds=1)
    result = run("sweep", str(config), "-o", str(tmp_path / "r.json"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"{config}: dataset: the target column 'y' of {tmp_path / 'd.csv'} has only one class "
        "(yes)\n",
    )  # it named neither the file nor the column
    (tmp_path / "d.csv").write_text("a,y\n" + "".join(f"{i},{i % 3}.5\n" for i in range(20)))
    config = _write_config(tmp_path, ", n_train: 1")
    result = run("sweep", str(config), "--out", str(tmp_path / "r.json"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"{config}: dataset: only 1 training row (seed 0): there is nothing to fit\n",
    )  # it said the target was the same in every training row


def test_a_constant_regression_target_is_refused_before_anything_is_written(tmp_path):
    """Every λ would predict the mean: no verdict about λ can mean anything."""
    rows = "".join(f"{i},{i % 7},2.5\n" for i in range(40))
    (tmp_path / "d.csv").write_text("a,b,y\n" + rows)
    BAD_INPUTS.add("constant target")
    config = _write_config(tmp_path)
    result = run("sweep", str(config), "--out", str(tmp_path / "r.json"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"{config}: dataset: the target column 'y' of {tmp_path / 'd.csv'} is 2.5 in every "
        "training row "
        "(seed 0): there is nothing to fit\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "d.csv"]


def test_how_many_bad_inputs_were_tried():
    """Not a check: reports the number of distinct broken files this module tried."""
    print(f"\n{len(BAD_INPUTS)} distinct bad CSV inputs tried")
    assert len(BAD_INPUTS) >= 10


def test_excel_separator_line(tmp_path):
    (tmp_path / "d.csv").write_text("sep=;\na;b;y\n1,5;2;3\n2;3;4\n3;4;6\n4;5;7\n")
    table = read_table(tmp_path / "d.csv")
    assert (table.header, table.delimiter, table.lines) == (["a", "b", "y"], ";", [3, 4, 5, 6])


def test_a_row_of_separators_is_a_row_of_missing_cells_not_a_blank_line(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,3\n,,\n3,4,5\n\n4,5,6\n")
    BAD_INPUTS.add("row of separators")
    with pytest.raises(DataError) as info:
        build_dataset(_dataset(tmp_path, path="d.csv"), 0)
    assert str(info.value) == (
        f"{tmp_path / 'd.csv'}: line 3: column 'a' is missing (an empty cell); set "
        "dataset.impute: mean or median to fill missing cells from the training rows"
    )


def test_an_impute_that_fails_for_a_seed_past_the_first_32_is_refused_before_the_sweep(tmp_path):
    # past the 32 seeds built ahead only the split was checked: the sweep wrote 96 runs and
    # then stopped at the seed whose training rows hold no value of column 'b'
    (tmp_path / "d.csv").write_text(
        "a,b,y\n" + "".join(f"{i},{'' if i < 7 else 4},{2 * i}\n" for i in range(8))
    )
    good, bad = [], []
    for seed in range(200):
        cfg = _dataset(tmp_path, path="d.csv", impute="mean", test_size=0.25)
        try:
            build_dataset(cfg, seed)
            good.append(seed)
        except DataError:
            bad.append(seed)
    seeds = good[:32] + bad[:1]
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: c\ndataset: {name: csv, path: d.csv, target: y, impute: mean, test_size: 0.25}\n"
        f"model: {{name: linear}}\nlambdas: [0.1]\nseeds: {seeds}\n"
    )
    result = run("sweep", str(config), "--out", str(tmp_path / "r.json"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"{config}: dataset.impute: column 'b' has no value in the training rows to fill its "
        f"missing cells from; leave it out of dataset.features (seed {bad[0]})\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "d.csv"]


def _region_split(folder: Path, train: str, test: str) -> Path:
    """A config of a training and a test file of columns x, region (categorical) and y."""
    (folder / "d.csv").write_text("x,region,y\n" + train)
    (folder / "t.csv").write_text("x,region,y\n" + test)
    return _write_config(folder, ", test_path: t.csv, categorical: [region]")


def test_a_note_names_a_few_values_and_counts_the_rest(tmp_path):
    # a zip-code column put 153 quoted values on one line (25 000 class names: 589 KB)
    train = "".join(f"{i % 5},north,{i % 5}\n" for i in range(30))
    test = "".join(f"{i % 5},z{i:02d},{i % 5}\n" for i in range(20))
    result = run("validate", str(_region_split(tmp_path, train, test)))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0].startswith(
        "note: category values in the test split but in no training row (column 'region': "
        "'z00', 'z01', 'z02', 'z03', 'z04', 'z05', 'z06', 'z07' and 12 more; seed 0): "
    )


def test_a_category_only_the_test_split_holds_gets_a_note(tmp_path):
    # it was one-hot encoded as zeros without a word (test loss 1.52 against about 0.5)
    train = "".join(f"{i % 5},{'north' if i % 2 else 'south'},{i % 5 + i % 2}\n" for i in range(30))
    test = "".join(f"{i % 5},{'west' if i < 3 else 'north'},{i % 5}\n" for i in range(10))
    config = _region_split(tmp_path, train, test)
    result = run("sweep", str(config), "--out", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "note: category values in the test split but in no training row (column 'region': "
        "'west'; seed 0): they are encoded as no category (all zeros, as scikit-learn's "
        "OneHotEncoder(handle_unknown='ignore') does): no model learnt what they mean"
    )


def test_nan_in_any_spelling_is_missing_and_python_only_numbers_are_text(tmp_path):
    from wdcli.data.csvfile import parse_numbers

    (tmp_path / "d.csv").write_text("a,b\n1,NAN\n2,-NaN\n3,nan\n4,2.5\n")
    values = parse_numbers(read_table(tmp_path / "d.csv"), "b")  # 'NAN' was refused
    assert np.isnan(values[:3]).all() and values[3] == 2.5
    for cell in ["1_000", "１２"]:  # float() reads them; pandas and R read text
        (tmp_path / "d.csv").write_text(f"a,b\n1,{cell}\n2,3\n")
        with pytest.raises(DataError) as err:
            parse_numbers(read_table(tmp_path / "d.csv"), "b")
        assert (
            str(err.value) == f"{tmp_path / 'd.csv'}: line 2: column 'b' is not a number: {cell!r}"
        )


def test_a_path_given_by_set_is_read_from_the_current_folder(tmp_path, monkeypatch):
    # typed at the shell, it was read beside the config: configs/data/x.csv
    (tmp_path / "configs").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a,y\n1,1.5\n2,2.4\n3,3.7\n4,4.1\n5,5.2\n6,5.8\n")
    config = _write_config(tmp_path / "configs")  # its own path, d.csv, is beside it
    monkeypatch.chdir(tmp_path)
    relative = Path("configs") / config.name
    assert run("validate", str(relative)).stderr == "configs/d.csv: no such file\n"
    result = run("validate", str(relative), "--set", "dataset.path=data/x.csv")
    assert result.exit_code == 0, result.stderr
    whole = run(
        "validate", str(relative), "--set", "dataset={name: csv, path: data/x.csv, target: y}"
    )
    assert whole.exit_code == 0, whole.stderr
    missing = run("validate", str(relative), "--set", "dataset.path=data/nope.csv")
    assert missing.stderr == f"{tmp_path / 'data' / 'nope.csv'}: no such file\n"


def test_a_target_so_small_that_its_squares_underflow_is_refused(tmp_path):
    # every loss was 0, every λ good, and λ_min the largest: "training loss 0, the best
    # constant's 0"
    # at 1e-100 the spreads underflowed (± 0, a paired SE of 0 moved λ_1se); an offset let
    # 2e-150 + 1e-157·z through, as its size, not its spread, was checked
    for scale, offset in ((1e-170, 0.0), (1e-100, 0.0), (1e-157, 2e-150)):
        rows = "".join(f"{i},{offset + (i % 7) * scale!r}\n" for i in range(30))
        (tmp_path / "d.csv").write_text("x,y\n" + rows)
        with pytest.raises(DataError) as error:
            build_dataset(_dataset(tmp_path, path="d.csv"), 0)
        assert str(error.value) == (
            f"{tmp_path / 'd.csv'}: column 'y' (the target) varies by at most {3 * scale:.3g}, "
            "below 1e-70: the losses, its squares, and their spread across seeds underflow to "
            "0; rescale the column"
        )
    rows = "".join(f"{i},{(i % 7) * 1e-60!r}\n" for i in range(30))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    assert build_dataset(_dataset(tmp_path, path="d.csv"), 0).y_train.max() > 0


def test_categories_that_only_some_seeds_test_splits_hold_are_all_named(tmp_path):
    # only the first seed's were named: other seeds' unseen values went without a word
    rows = "".join(f"{i},{'z' + str(i) if i >= 36 else 'north'},{i % 5}\n" for i in range(40))
    (tmp_path / "d.csv").write_text("x,region,y\n" + rows)
    config = _write_config(tmp_path, ", categorical: [region]")
    config.write_text(config.read_text().replace("seeds: 2", "seeds: 3"))
    unseen = {}
    for seed in range(3):
        split = build_split(_dataset(tmp_path, path="d.csv", categorical=["region"]), seed)
        train = {v for v in split.X_train.categorical[:, 0]}
        unseen[seed] = {v for v in split.X_test.categorical[:, 0]} - train
    assert len({frozenset(v) for v in unseen.values()}) > 1  # the seeds miss different ones
    result = run("validate", str(config))
    names = ", ".join(f"'{v}'" for v in sorted(set().union(*unseen.values())))
    seeds = ", ".join(str(s) for s, v in unseen.items() if v)
    assert result.stderr.splitlines()[0].startswith(
        f"note: category values in the test split but in no training row (column 'region': "
        f"{names}; seeds {seeds}): "
    )


def test_class_labels_with_a_decimal_comma_compare_as_numbers(tmp_path):
    # '1,0' in a ';' test file was a class of its own: every test row "in no training row"
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    (tmp_path / "t.csv").write_text("x;y\n1;1,0\n2;2,0\n3;0,0\n")
    split = build_split(
        _dataset(tmp_path, path="d.csv", test_path="t.csv", task="classification"), 0
    )
    assert split.classes == ["0", "1", "2"] and list(split.y_test) == [1, 2, 0]


def test_a_seed_beyond_those_checked_ahead_stops_the_sweep_naming_config_and_journal(
    tmp_path, monkeypatch
):
    # it was a bare line, with no word of the journal kept
    from wdcli.sweep import run as sweep_run

    monkeypatch.setattr(sweep_run, "BUILT_AHEAD", 1)
    rows = "".join(f"{i},{'ab'[i % 2] if i < 59 else 'c'}\n" for i in range(60))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    split = [build_split(_dataset(tmp_path, path="d.csv"), seed) for seed in range(6)]
    good = next(s for s in range(6) if 2 in split[s].y_train)
    bad = next(s for s in range(6) if 2 not in split[s].y_train)
    config = _classes_config(tmp_path, "", seeds=1)
    config.write_text(config.read_text().replace("seeds: 1", f"seeds: [{good}, {bad}]"))
    out = tmp_path / "r.json"
    result = run("sweep", str(config), "-o", str(out), "-e", "serial")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{config}: dataset: class 'c' is in the test split of seed {bad} but {NO_TRAINING_ROW}",
        f"the runs finished so far are in {tmp_path / 'r.journal.jsonl'} (a resume meets the same "
        "data: fix the config, then run with --force)",
    ]


def test_a_class_refusal_says_when_only_the_first_seeds_were_checked(tmp_path, monkeypatch):
    # "of 32 seeds" read as the sweep's seed count, with seeds: 40
    from wdcli.sweep import run as sweep_run

    monkeypatch.setattr(sweep_run, "BUILT_AHEAD", 2)
    rows = "".join(f"{i},{'ab'[i % 2] if i < 59 else 'c'}\n" for i in range(60))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    split = [build_split(_dataset(tmp_path, path="d.csv"), seed) for seed in range(6)]
    good = next(s for s in range(6) if 2 in split[s].y_train)
    bad = [s for s in range(6) if 2 not in split[s].y_train]
    config = _classes_config(tmp_path, "", seeds=1)
    config.write_text(
        config.read_text().replace("seeds: 1", f"seeds: [{bad[0]}, {good}, {bad[1]}]")
    )
    result = run("validate", str(config))
    assert result.exit_code == 2
    assert f"of seed {bad[0]} (of the first 2 seeds checked, of 3) but" in result.stderr


def test_a_test_file_of_the_training_rows_is_refused(tmp_path):
    # test_path: the training file itself gave test loss = train loss at every λ, exit 0
    rows = [f"{i},{2 * i + i % 3}" for i in range(20)]
    (tmp_path / "d.csv").write_text("a,y\n" + "\n".join(rows) + "\n")
    (tmp_path / "copy.csv").write_text("a,y\n" + "\n".join(rows) + "\n")
    (tmp_path / "shuffled.csv").write_text("y,a\n" + "\n".join(  # rows and columns reordered
        ",".join(row.split(",")[::-1]) for row in rows[::-1]) + "\n")  # fmt: skip
    (tmp_path / "part.csv").write_text("a,y\n" + "\n".join(rows[5:9]) + "\n")
    (tmp_path / "written.csv").write_text("a,y\n" + "\n".join(  # written as %.8f: same values
        ",".join(f"{float(v):.8f}" for v in row.split(",")) for row in rows) + "\n")  # fmt: skip
    for test_path in ("d.csv", "copy.csv", "shuffled.csv", "part.csv", "written.csv"):
        with pytest.raises(DataError) as info:
            build_dataset(_dataset(tmp_path, path="d.csv", test_path=test_path), 0)
        assert str(info.value) == (
            f"{tmp_path / test_path}: holds only rows that {tmp_path / 'd.csv'} holds, so the "
            "test loss would measure the training rows; give a file of other rows, or leave "
            "test_path out to split path"
        )
    (tmp_path / "other.csv").write_text("a,y\n" + "\n".join(rows[5:9] + ["99,7"]) + "\n")
    assert build_dataset(_dataset(tmp_path, path="d.csv", test_path="other.csv"), 0)


def test_labels_that_differ_only_in_case_are_noted(tmp_path, write_config):
    # 'cat', 'Cat' and 'CAT ' were three classes without a word: half the accuracy
    from typer.testing import CliRunner

    from wdcli.cli import app

    labels = ["cat", "Cat", "dog", "dog", "cat", "Dog"] * 6
    rows = [f"{i % 7},{i % 5},{label}" for i, label in enumerate(labels)]
    (tmp_path / "d.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    config = write_config("name: x\ndataset: {name: csv, path: d.csv, target: y, seed: 0}\n"
                          "model: {name: logistic}\nlambdas: [1]\n")  # fmt: skip
    result = CliRunner().invoke(app, ["validate", str(config)])
    assert result.exit_code == 0
    assert result.stderr == (
        "note: the target 'y' holds labels that differ only in case or spacing ('Cat', 'cat'; "
        "'Dog', 'dog'): each is a class of its own (4 classes); write them alike if they are "
        "one\n"
    )


def test_a_target_with_thousands_separators_says_so(tmp_path):
    # read as text it became a classification of 300 prices, refused as classes "in the test
    # split but in no training row"
    rows = [f'{i},"{99_000 * (i + 1) + 17:,}"' for i in range(30)]
    (tmp_path / "d.csv").write_text("a,price\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as info:
        build_dataset(_dataset(tmp_path, path="d.csv", target="price"), 0)
    assert str(info.value) == (
        f"{tmp_path / 'd.csv'}: line 2: column 'price' (the target) writes its numbers with "
        "thousands separators ('99,017'); remove them, or set dataset.task: classification if "
        "these are class labels"
    )
    # '16,419' alone may be a decimal comma (as '0,005' surely is): not said to be thousands,
    # whose removal would make the target 1000 times too large
    decimals = [f"{i}\t{i % 9},{(37 * i) % 1000:03d}" for i in range(30)]
    (tmp_path / "c.tsv").write_text("a\ty\n" + "\n".join(decimals) + "\n")
    assert build_dataset(_dataset(tmp_path, path="c.tsv"), 0).task == "classification"
    labels = build_dataset(_dataset(tmp_path, path="d.csv", target="price",
                                    task="classification"), 0)  # fmt: skip
    assert len(labels.classes) == 30


def _doubled_file(tmp_path: Path) -> None:
    """200 distinct rows written twice: a file appended to itself."""
    rows = [f"{i},{(i * 7) % 13},{i % 3 + 0.5 * i}" for i in range(200)]
    (tmp_path / "d.csv").write_text("a,b,y\n" + "\n".join(rows + rows) + "\n")


def test_rows_copied_across_the_split_are_noted(tmp_path, write_config):
    # a file appended to itself scored memorised rows on the test split without a word
    from typer.testing import CliRunner

    from wdcli.cli import app

    _doubled_file(tmp_path)
    config = write_config("name: x\ndataset: {name: csv, path: d.csv, target: y, seed: 0}\n"
                          "model: {name: linear}\nlambdas: [1]\n")  # fmt: skip
    data = build_dataset(load_config(config).dataset, 0)  # counted here with sets of row tuples
    train = [tuple(row) for row in np.column_stack([data.X_train, data.y_train])]
    in_test = sum(tuple(row) in set(train) for row in np.column_stack([data.X_test, data.y_test]))
    in_train = len(train) - len(set(train))
    assert (in_test, in_train) == (70, 115)  # 200 pairs: 15 both test, 115 both train, 70 split
    result = CliRunner().invoke(app, ["validate", str(config)])
    assert result.exit_code == 0
    tail = (
        " (features and target): a held-out loss that scores memorised rows favours the models "
        "that memorise them (small λ); drop the duplicate rows unless they are real repeated "
        "measurements\n"
    )
    assert result.stderr == "note: 70 of the 100 test rows are exact copies of training rows" + tail
    tuned = write_config("name: x\ndataset: {name: csv, path: d.csv, target: y, seed: 0}\n"
                         "model: {name: mlp}\nlambdas: [1]\ntune: {model.lr: [0.1, 0.01]}\n",
                         "tuned.yaml")  # fmt: skip
    for command, held_out in [(["validate", str(config), "--set", "validation.kind=kfold"],
                               "k-fold's folds hold"),
                              (["validate", str(tuned)], "tune's holdout holds")]:  # fmt: skip
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
        assert result.stderr == (
            "note: 70 of the 100 test rows are exact copies of training rows; 115 of the 300 "
            f"training rows copy another training row, so {held_out} rows that the model "
            "trained on" + tail
        )


def test_copies_under_leave_one_out_are_noted_and_categories_that_repeat_by_nature_are_not(
    tmp_path, write_config
):
    from typer.testing import CliRunner

    from wdcli.cli import app

    _doubled_file(tmp_path)  # LOO holds out a row whose copy it trains on: no note was given
    config = write_config("name: x\ndataset: {name: csv, path: d.csv, target: y, seed: 0}\n"
                          "model: {name: linear}\nlambdas: [1]\nvalidation: {kind: loo}\n")  # fmt: skip
    result = CliRunner().invoke(app, ["validate", str(config)])
    assert "115 of the 300 training rows copy another training row, so leave-one-out holds out "\
        "rows that the model trained on" in result.stderr  # fmt: skip
    # 400 rows of three categories and a yes/no target: 36 possible rows, all repeated, and
    # "drop the duplicate rows" would leave 36
    colours, sizes = ["red", "green", "blue"], ["S", "M", "L"]
    rows = [f"{colours[i % 3]},{sizes[i * 7 % 3]},{'ab'[i * 5 % 2]},{'ny'[i * 11 % 7 % 2]}"
            for i in range(400)]  # fmt: skip
    (tmp_path / "cat.csv").write_text("colour,size,shape,bought\n" + "\n".join(rows) + "\n")
    cat = write_config("name: c\ndataset: {name: csv, path: cat.csv, target: bought, categorical: "
                       "[colour, size, shape], test_size: 0.5, seed: 0}\nmodel: {name: logistic}\n"
                       "lambdas: [1]\n", "cat.yaml")  # fmt: skip
    result = CliRunner().invoke(app, ["validate", str(cat)])
    assert result.exit_code == 0 and "copies" not in result.stderr, result.stderr
    # one 15-level category (15 one-hot flags: "2^15 possible rows" said the rows were rare)
    # and skewed 0/1 symptom flags repeat by nature too
    rng = np.random.default_rng(0)
    towns = rng.integers(0, 15, 400)
    (tmp_path / "city.csv").write_text("city,label\n" + "\n".join(
        f"town{t},{'eo'[t % 2]}" for t in towns) + "\n")  # fmt: skip
    flags = (rng.random((400, 15)) < 0.05).astype(int)
    (tmp_path / "flags.csv").write_text(",".join(f"s{j}" for j in range(15)) + ",sick\n" + "\n".join(
        ",".join(map(str, row)) + f",{int(row[:3].any())}" for row in flags) + "\n")  # fmt: skip
    for name, target, extra in (
        ("city", "label", ", categorical: [city]"),
        ("flags", "sick", ", task: classification"),
    ):
        config = write_config(f"name: c\ndataset: {{name: csv, path: {name}.csv, target: {target}"
                              f"{extra}, seed: 0}}\nmodel: {{name: logistic}}\nlambdas: [1]\n",
                              f"{name}.yaml")  # fmt: skip
        result = CliRunner().invoke(app, ["validate", str(config)])
        assert result.exit_code == 0 and "copies" not in result.stderr, (name, result.stderr)


@pytest.mark.parametrize("hashes", ["real", "all equal"])
def test_copied_rows_counts_copies_of_features_and_target_together(hashes, monkeypatch):
    from wdcli.data import Dataset, copied_rows
    from wdcli.data import dataset as module

    if hashes == "all equal":  # every row collides: the exact comparison still counts right
        monkeypatch.setattr(module, "_row_hashes", lambda X, y: np.zeros(len(y), np.uint64))

    X = np.array([[0.0, 1.0], [2.0, 3.0], [-0.0, 1.0], [4.0, 5.0]])
    y = np.array([1.0, 2.0, 1.0, 3.0])
    # test: one copy of row 1, one row with row 0's features but another target, one new row
    X_test, y_test = np.array([[2.0, 3.0], [0.0, 1.0], [9.0, 9.0]]), np.array([2.0, 7.0, 1.0])
    data = Dataset(X, y, X_test, y_test, "regression")
    assert copied_rows(data) == (1, 1)  # row 2 repeats row 0 (-0.0 is 0.0)


@pytest.mark.parametrize(("copies", "noted"), [(4, False), (5, True)])
def test_copies_are_noted_from_one_in_twenty_test_rows(copies, noted, write_config):
    # iris repeats one flower: a copy or two is data, a twentieth of the test rows a mistake
    from wdcli.data import Dataset
    from wdcli.sweep.run import _copies_note

    config = load_config(
        write_config("name: x\ndataset: {name: iris}\nmodel: {name: linear}\nlambdas: [1]\n")
    )
    X = np.arange(200.0).reshape(100, 2)
    X_test = np.vstack([X[:copies], X[: 100 - copies] + 1000])
    data = Dataset(X, np.zeros(100), X_test, np.zeros(100), "regression")
    assert (_copies_note(config, data, tuned=False) is not None) == noted
