"""Every file wdcli reads is checked by type: broken results files and journals, generated.

Each broken input must end in exit 2 and one line on stderr that names the file and the field,
with no traceback and nothing written, through `show`, `plot`, `compare` (as either file) and
`sweep --resume`. A journal cut off anywhere (a crash) resumes to the uninterrupted result.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import RIDGE_CONFIG
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.main import get_command

from wdcli.cli import app as typer_app
from wdcli.records import join_path
from wdcli.runkey import RunKey
from wdcli.store.results import check_document, load_results

runner = CliRunner()
app = get_command(typer_app)  # built once: rebuilding it per call is most of a call's time
FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = RIDGE_CONFIG
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A folder with the config, a complete results file of it and its journal's lines."""
    folder = tmp_path_factory.mktemp("files")
    (folder / "config.yaml").write_text(CONFIG)
    out = folder / "good.json"
    result = runner.invoke(app, ["sweep", str(folder / "config.yaml"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.stderr
    return folder


def _documents(place: Path) -> dict[str, dict]:
    """Valid documents to break: a fresh version-2 sweep and version-1 fixtures."""
    names = {"fresh": place / "good.json"} | {
        name: FIXTURES / f"{name}.json" for name in ("mlp_curves", "classification")
    }
    return {name: json.loads(path.read_text()) for name, path in names.items()}


def _journal_lines(place: Path) -> list[dict]:
    document = json.loads((place / "good.json").read_text())
    header = {
        "kind": "header",
        "journal_version": 1,
        "name": "tiny-ridge",
        "config_hash": document["config_hash"],
        "config": document["config"],
        "started_at": document["started_at"],
    }
    runs = [
        {"kind": "run", "config_hash": document["config_hash"], "run": r} for r in document["runs"]
    ]
    return [header, *runs]


def _record(bad_inputs: set[str], data: bytes) -> None:
    bad_inputs.add(hashlib.sha256(data).hexdigest())


def _assert_one_line(result, prefix: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), (lines[0], prefix)


def _readers_refuse(place: Path, path: Path, prefix: str) -> None:
    """show, plot, and compare as baseline and as candidate: exit 2, one line, no figure."""
    figure = place / "figure.png"
    good = str(place / "good.json")
    for command in (
        ["show", str(path)],
        ["show", str(path), "--format", "json"],
        ["plot", str(path), "-o", str(figure)],
        ["compare", str(path), good],
        ["compare", good, str(path), "--direction", "either"],
    ):
        _assert_one_line(runner.invoke(app, command), prefix)
    assert not figure.exists()


# --------------------------------------------------------------------------- results files

# The kind of every known field: a path pattern ("*" is any index) and what it must hold.
KINDS = {
    ("config",): "object",
    ("config", "name"): "str",
    ("config", "dataset"): "object",
    ("config", "dataset", "name"): "str",
    ("config", "model"): "object",
    ("config", "model", "name"): "str",
    ("config", "tolerance"): "number?",
    ("runs",): "list",
    ("summary",): "list",
    ("best_lambda",): "number?",
    ("lambda_1se",): "number?",
    ("task",): "task",
    ("started_at",): "str?",
    ("runs", "*"): "object",
    ("runs", "*", "lambda"): "lambda",
    ("runs", "*", "seed"): "int",
    ("runs", "*", "fold"): "count",
    ("runs", "*", "point"): "object",
    ("runs", "*", "status"): "status",
    ("runs", "*", "train_loss"): "number?",
    ("runs", "*", "test_loss"): "number?",
    ("runs", "*", "weight_sq_norm"): "number?",
    ("runs", "*", "penalty"): "number?",
    ("runs", "*", "seconds"): "number?",
    ("runs", "*", "test_accuracy"): "number?",
    ("runs", "*", "curve"): "object?",
    ("runs", "*", "curve", "epoch"): "list",
    ("runs", "*", "curve", "train_loss"): "list",
    ("runs", "*", "curve", "test_loss"): "list",
    ("summary", "*"): "object",
    ("summary", "*", "lambda"): "lambda",
    ("summary", "*", "point"): "object",
    ("summary", "*", "train_loss_mean"): "number?",
    ("summary", "*", "test_loss_mean"): "number?",
    ("summary", "*", "test_loss_se"): "number?",
    ("summary", "*", "weight_sq_norm_std"): "number?",
    ("summary", "*", "test_accuracy_mean"): "number?",
    ("summary", "*", "n_runs"): "count",
    ("summary", "*", "n_diverged"): "count",
    ("summary", "*", "regime"): "str?",
}
REQUIRED = [
    ("config",),
    ("config", "name"),
    ("config", "dataset"),
    ("config", "dataset", "name"),
    ("config", "model", "name"),
    ("runs",),
    ("summary",),
    ("best_lambda",),
    ("lambda_1se",),
    ("runs", "*", "lambda"),
    ("runs", "*", "seed"),
    ("runs", "*", "status"),
    ("runs", "*", "train_loss"),
    ("runs", "*", "test_loss"),
    ("runs", "*", "curve", "epoch"),
    ("runs", "*", "curve", "test_loss"),
    ("summary", "*", "lambda"),
    ("summary", "*", "train_loss_mean"),
    ("summary", "*", "test_loss_mean"),
    ("summary", "*", "regime"),
]

_text = st.text(max_size=12)
_finite = st.floats(allow_nan=False, allow_infinity=False)
_containers = st.sampled_from([[], [1, 2], {}, {"a": 1}])
WRONG = {
    # Values that each kind refuses (numbers saved as text are the classic).
    "int": st.one_of(_text, _finite.filter(lambda v: True), st.booleans(), st.none(), _containers),
    "count": st.one_of(_text, st.integers(max_value=-1), st.just(1.0), st.booleans(), _containers),
    "lambda": st.one_of(
        _text,
        st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False),  # not -0.0: λ = 0
        st.sampled_from([math.nan, math.inf]),
        st.booleans(),
        st.none(),
        _containers,
    ),
    "number?": st.one_of(_text, _finite.map(str), st.booleans(), _containers),
    "str": st.one_of(st.integers(), _finite, st.booleans(), st.none(), _containers),
    "str?": st.one_of(st.integers(), _finite, st.booleans(), _containers),
    "object": st.one_of(st.integers(), _text, st.booleans(), st.none(), st.just([1])),
    "object?": st.one_of(st.integers(), _text, st.booleans(), st.just([1])),
    "list": st.one_of(st.integers(), _text, st.booleans(), st.none(), st.just({"a": 1})),
    "status": st.one_of(
        _text.filter(lambda s: s not in ("ok", "diverged", "not_converged", "no_fit")),
        st.integers(),
        st.none(),
    ),
    "task": st.one_of(
        _text.filter(lambda s: s not in ("regression", "classification")), st.integers()
    ),
}


def _concrete(document: dict, pattern: tuple, draw) -> tuple | None:
    """A real path of the document matching pattern (an index drawn for '*'), or None."""
    path, node = [], document
    for part in pattern:
        if part == "*":
            if not isinstance(node, list) or not node:
                return None
            part = draw(st.integers(0, len(node) - 1))
        elif not isinstance(node, dict) or part not in node:
            return None
        path.append(part)
        node = node[part]
    return tuple(path)


def _set(document: dict, path: tuple, value) -> None:
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _delete(document: dict, path: tuple) -> None:
    node = document
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


def _write(place: Path, document, bad_inputs) -> Path:
    path = place / "bad.json"
    data = json.dumps(document).encode()  # NaN and Infinity as Python's json writes them
    path.write_bytes(data)
    _record(bad_inputs, data)
    return path


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_a_field_of_the_wrong_type_is_named(place, bad_inputs, data):
    documents = _documents(place)
    document = copy.deepcopy(documents[data.draw(st.sampled_from(sorted(documents)))])
    pattern = data.draw(st.sampled_from(sorted(KINDS, key=str)))
    path = _concrete(document, pattern, data.draw)
    assume(path is not None)
    _set(document, path, data.draw(WRONG[KINDS[pattern]]))
    bad = _write(place, document, bad_inputs)
    _readers_refuse(place, bad, f"{bad}: {join_path(path)}")


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_a_missing_field_is_named(place, bad_inputs, data):
    documents = _documents(place)
    document = copy.deepcopy(documents[data.draw(st.sampled_from(sorted(documents)))])
    pattern = data.draw(st.sampled_from(REQUIRED))
    path = _concrete(document, pattern, data.draw)
    assume(path is not None)
    _delete(document, path)
    bad = _write(place, document, bad_inputs)
    _readers_refuse(place, bad, f"{bad}: {join_path(path)}: required field is missing")


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_a_truncated_results_file_is_refused(place, bad_inputs, data):
    documents = _documents(place)
    text = json.dumps(documents[data.draw(st.sampled_from(sorted(documents)))], indent=1)
    cut = data.draw(st.integers(0, len(text) - 2))
    bad = place / "bad.json"
    bad.write_text(text[:cut])
    _record(bad_inputs, text[:cut].encode())
    expected = "is empty" if not text[:cut].strip() else "not valid JSON"
    _readers_refuse(place, bad, f"{bad}: {expected}")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _finite | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@SETTINGS
@given(content=st.one_of(st.binary(max_size=64), JSON_VALUES.map(lambda v: json.dumps(v).encode())))
def test_anything_that_is_not_a_results_file_is_one_line(place, bad_inputs, content):
    bad = place / "bad.json"
    bad.write_bytes(content)
    _record(bad_inputs, content)
    _readers_refuse(place, bad, f"{bad}: ")


@pytest.mark.slow
@SETTINGS
@given(data=st.data())
def test_a_schema_version_wdcli_does_not_read_is_named(place, bad_inputs, data):
    document = copy.deepcopy(_documents(place)["fresh"])
    version = data.draw(
        st.one_of(
            st.integers().filter(lambda v: v not in (1, 2)),
            st.sampled_from(["2", "1", 2.0, True, None, [2]]),
        )
    )
    document["schema_version"] = version
    bad = _write(place, document, bad_inputs)
    if isinstance(version, int) and not isinstance(version, bool):
        prefix = f"{bad}: schema version {version}, this wdcli reads versions 1 and 2"
    else:
        prefix = f"{bad}: schema_version: expected an integer"
    _readers_refuse(place, bad, prefix)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["summary"][1].update(test_loss_mean=str(d["summary"][1]["test_loss_mean"])),
            "summary[1].test_loss_mean: expected a number, got '",
        ),
        (lambda d: d["config"].pop("name"), "config.name: required field is missing"),
        (lambda d: d["runs"][3].pop("lambda"), "runs[3].lambda: required field is missing"),
        (
            lambda d: d["runs"][3].update({"lambda": "abc"}),
            "runs[3].lambda: expected a number, got 'abc'",
        ),
        (lambda d: d["runs"][0].update(seed=1.0), "runs[0].seed: expected an integer, got 1.0"),
        (
            lambda d: d["runs"][0].update(status="great"),
            "runs[0].status: expected 'ok', 'diverged', 'not_converged' or 'no_fit', got 'great'",
        ),
        (
            lambda d: d["summary"][0].update(regime="banana"),
            "summary[0].regime: expected 'overfit', 'good', 'underfit', 'flat' or 'diverged', "
            "got 'banana'",
        ),
        (
            lambda d: d["summary"].append(d["summary"][0]),
            "summary[4]: a second entry for the same key (λ = 0)",
        ),
        (
            lambda d: d["runs"].append(d["runs"][2]),
            "runs[8]: a second entry for the same key (λ = 0.001, seed 0)",
        ),
        (lambda d: d.update(summary=[]), "summary: is empty"),
        (lambda d: d.update(best_lambda=0.5), "best_lambda: 0.5 is not a λ of the summary"),
        (
            lambda d: d["summary"][3].update({"lambda": 5.0}),
            "runs[6]: no summary row has its key (λ = 10)",
        ),
        (
            lambda d: d.update(runs=[r for r in d["runs"] if r["lambda"] != 0.1]),
            "summary[2]: no run has its key (λ = 0.1)",
        ),
        (
            lambda d: d["summary"][0].update(n_diverged=-1),
            "summary[0].n_diverged: expected an integer ≥ 0, got -1",
        ),
        (
            lambda d: d["summary"][0].update(fold_loss_mean="x"),  # an unknown statistic
            "summary[0].fold_loss_mean: expected a number or null, got 'x'",
        ),
        (lambda d: d["runs"][0].update(fold=-1), "runs[0].fold: expected an integer ≥ 0, got -1"),
        (  # a grokking step: "x" read as "not reached", and compare said fewer runs reached it
            lambda d: d["runs"][0].update(test_acc_99_step="x"),
            "runs[0].test_acc_99_step: expected a step (an integer ≥ 0) or null, got 'x'",
        ),
        (
            lambda d: d["runs"][0].update(train_acc_99_step=-5),
            "runs[0].train_acc_99_step: expected a step (an integer ≥ 0) or null, got -5",
        ),
        (
            lambda d: d["runs"][0].update(grok_delay=1.5),
            "runs[0].grok_delay: expected an integer (steps) or null, got 1.5",
        ),
        (
            lambda d: d["config"].update(model="linear"),
            "config.model: expected an object, got 'linear'",
        ),
        (
            lambda d: d["runs"][1].update(test_loss=-5.0),
            "runs[1].test_loss: expected a finite number ≥ 0, got -5.0",
        ),
        (
            lambda d: d["summary"][0].update(test_loss_mean=-1.0),
            "summary[0].test_loss_mean: expected a finite number ≥ 0, got -1.0",
        ),
        (  # NaN is written as null; an `ok` run's numbers enter the means
            lambda d: d["runs"][2].update(test_loss=None, status="ok"),
            "runs[2]: status ok with test_loss null or not finite: an ok run has its losses",
        ),
    ],
)
def test_the_examples_of_the_issue(place, bad_inputs, change, message):
    document = _documents(place)["fresh"]
    change(document)
    bad = _write(place, document, bad_inputs)
    _readers_refuse(place, bad, f"{bad}: {message}")


def test_curves_of_unequal_length_are_refused(place, bad_inputs):
    document = _documents(place)["mlp_curves"]
    document["runs"][2]["curve"]["test_loss"].pop()
    document["runs"][5]["curve"]["train_accuracy"] = [0.5]  # an extra per-epoch list
    bad = _write(place, document, bad_inputs)
    _readers_refuse(place, bad, f"{bad}: runs[2].curve.test_loss: 59 values for 60 epochs")


def test_version_1_reads_with_the_key_defaults_and_unknown_fields_kept(tmp_path):
    raw = json.loads((FIXTURES / "regression.json").read_text())
    raw["runs"][0]["fold_health"] = {"anything": [1, "x"]}  # another writer's field: kept
    raw["summary"][0]["test_loss_mean"] = math.nan  # read as null, as wdcli writes it
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(raw))
    record = load_results(path)
    assert record.schema_version == 1
    assert all(run.point == {} and run.fold == 0 for run in record.runs)
    assert record.summary[0].test_loss_mean is None
    assert record.runs[0].value("fold_health") == {"anything": [1, "x"]}
    document = record.plain()
    assert document["schema_version"] == 1
    assert all(run["point"] == {} and run["fold"] == 0 for run in document["runs"])
    assert all(row["point"] == {} and "fold" not in row for row in document["summary"])
    assert document["runs"][0]["fold_health"] == {"anything": [1, "x"]}
    assert document["summary"][0]["test_loss_mean"] is None
    assert list(document["runs"][1])[2:] == list(raw["runs"][1])  # the file's order after the key


def test_what_a_sweep_writes_reads_back_unchanged(place):
    raw = json.loads((place / "good.json").read_text())
    assert raw["schema_version"] == 2
    assert all(list(run)[:4] == ["point", "lambda", "seed", "fold"] for run in raw["runs"])
    assert all(row["point"] == {} for row in raw["summary"])
    assert load_results(place / "good.json").plain() == raw


def test_records_name_fields_as_the_file_does():
    raw = json.loads((FIXTURES / "regression.json").read_text())
    raw["summary"][1]["n_diverged"] = 2
    record = check_document(raw, "r.json")
    row, file_row = record.summary[1], raw["summary"][1]
    assert row.value("lambda") == row.lambda_ == file_row["lambda"]
    assert row.stat("test_loss") == file_row["test_loss_mean"]
    assert row.stat("test_loss", "se") == file_row["test_loss_se"]
    assert row.stat("no_such_metric") is None and not row.has("no_such_metric_mean")
    assert row.count("diverged") == 2 and row.count("no_fit") == 0
    assert row.names() == ["point", *file_row]  # the key's default first, then the file's order
    assert row.plain() == {"point": {}, **file_row}
    assert record.config.options("model") == raw["config"]["model"]
    assert record.config.options("grid") == {}
    assert record.points() == ["{}"] and record.validation_folds() == 0
    assert record.runs[0].key() == RunKey("{}", raw["runs"][0]["lambda"], raw["runs"][0]["seed"])


def test_one_point_of_a_grid_is_a_document_of_its_own():
    raw = json.loads((FIXTURES / "regression.json").read_text())
    record = check_document(raw, "r.json")
    chosen = (record.summary[2].lambda_, None)
    part = record.at_point({"x": 1}, record.summary[:3], record.runs[:1], chosen)
    assert part.value("point") == {"x": 1} and len(part.summary) == 3 and len(part.runs) == 1
    assert (part.best_lambda, part.lambda_1se) == chosen
    assert record.value("point") is None and len(record.summary) == len(raw["summary"])
    assert part.config == record.config


# --------------------------------------------------------------------------- journals


def _resume(place: Path, lines: list, bad_inputs: set[str] | None = None, tail: bytes = b""):
    """Write a journal of these lines (dicts as JSON, str/bytes as they are) and resume it."""
    journal = place / "r.journal.jsonl"
    encoded = [
        line
        if isinstance(line, bytes)
        else (line.encode() if isinstance(line, str) else json.dumps(line).encode())
        for line in lines
    ]
    data = b"\n".join(encoded) + b"\n" + tail
    journal.write_bytes(data)
    if bad_inputs is not None:
        _record(bad_inputs, data)
    out = place / "r.json"
    out.unlink(missing_ok=True)
    result = runner.invoke(
        app,
        ["sweep", str(place / "config.yaml"), "--out", str(out), "--resume", "-q", "-f", "json"],
    )
    return result, journal, data


def _refused(place, lines, bad_inputs, prefix):
    result, journal, data = _resume(place, lines, bad_inputs)
    _assert_one_line(result, f"{journal}: {prefix}")
    assert journal.read_bytes() == data  # untouched
    assert not (place / "r.json").exists()


JOURNAL_KINDS = {
    ("kind",): "run-kind",
    ("config_hash",): "str?",
    ("run",): "object",
    ("run", "lambda"): "lambda",
    ("run", "seed"): "int",
    ("run", "fold"): "count",
    ("run", "point"): "object",
    ("run", "status"): "status",
    ("run", "train_loss"): "number?",
    ("run", "test_loss"): "number?",
    ("run", "df"): "number?",
    ("run", "data_fingerprint"): "str?",
}
WRONG["run-kind"] = st.one_of(
    _text.filter(lambda s: s not in ("run", "header")), st.integers(), st.none()
)


@SETTINGS
@given(data=st.data())
def test_a_journal_line_of_the_wrong_type_is_named(place, bad_inputs, data):
    lines = copy.deepcopy(_journal_lines(place))
    n = data.draw(st.integers(1, len(lines) - 1))
    field = data.draw(st.sampled_from(sorted(JOURNAL_KINDS)))
    _set(lines[n], field, data.draw(WRONG[JOURNAL_KINDS[field]]))
    _refused(place, lines, bad_inputs, f"line {n + 1}: {join_path(field)}")


@SETTINGS
@given(data=st.data())
def test_a_journal_line_that_is_not_a_run_is_named(place, bad_inputs, data):
    lines = copy.deepcopy(_journal_lines(place))
    n = data.draw(st.integers(1, len(lines) - 1))
    kind = data.draw(
        st.sampled_from(["value", "garbage", "header", "other-config", "off-grid", "missing"])
    )
    if kind == "value":  # a line `42`
        lines[n] = json.dumps(data.draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict))))
        expected = "expected an object, got "
    elif kind == "garbage":  # damaged in the middle: not a crash's torn last line
        lines[n] = data.draw(st.binary(min_size=1, max_size=30).filter(_not_json))
        lines.append(lines[-1] if n != len(lines) - 1 else lines[1])
        expected = "not valid JSON"
    elif kind == "header":  # another journal appended
        lines.insert(n, {**lines[0], "config_hash": "0123456789abcdef"})
        expected = "a second header"
    elif kind == "other-config":  # a run line of another config
        lines[n]["config_hash"] = "0123456789abcdef"
        expected = "config_hash: a run of another config"
    elif kind == "off-grid":  # a run from an older journal without hashes, of another grid
        del lines[n]["config_hash"]
        lines[n]["run"]["lambda"] = data.draw(
            _finite.filter(lambda v: v > 0 and v not in (1e-3, 0.1, 10))
        )
        expected = "a run this config does not have"
    else:
        field = data.draw(st.sampled_from(["kind", "run", "lambda", "seed", "status", "test_loss"]))
        if field in ("kind", "run"):
            del lines[n][field]
        else:
            del lines[n]["run"][field]
            field = f"run.{field}"
        expected = f"{field}: required field is missing"
    _refused(place, lines, bad_inputs, f"line {n + 1}: {expected}")


def _not_json(data: bytes) -> bool:
    """Bytes that are one damaged line: no line break (that would make two lines) and not JSON."""
    if not data.strip() or b"\n" in data:
        return False
    try:
        json.loads(data)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"kind": "run"}, "line 1: not a wdcli journal (the first line is not a header)"),
        ({"name": None}, "line 1: name: expected a string, got null"),
        ({"config_hash": 42}, "line 1: config_hash: expected a string, got 42"),
        ({"journal_version": "1"}, "line 1: journal_version: expected an integer, got '1'"),
        ({"config": []}, "line 1: config: expected an object, got []"),
    ],
)
def test_a_broken_header_is_named(place, bad_inputs, header, message):
    lines = copy.deepcopy(_journal_lines(place))
    lines[0].update(header)
    _refused(place, lines, bad_inputs, message)


def test_a_journal_without_a_header_is_refused(place, bad_inputs):
    _refused(place, [], bad_inputs, "not a wdcli journal (no header line)")
    _refused(place, ["[1, 2]"], bad_inputs, "line 1: not a wdcli journal")


@pytest.mark.parametrize("torn", [b"", b'{"kind": "header", "na'])
def test_a_journal_torn_at_birth_resumes_as_a_new_sweep(place, torn):
    journal, out = place / "r.journal.jsonl", place / "r.json"
    journal.write_bytes(torn)
    out.unlink(missing_ok=True)
    sweep = ["sweep", str(place / "config.yaml"), "--out", str(out)]
    refused = runner.invoke(app, sweep)  # without --resume it may be a sweep still starting
    assert refused.exit_code == 2 and "pass --resume to continue it" in refused.stderr
    result = runner.invoke(app, [*sweep, "--resume", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(
        "note: --resume found no unfinished sweep of this config: starting afresh\n"
    )
    good = json.loads((place / "good.json").read_text())
    assert json.loads(out.read_text())["summary"] == good["summary"] and not journal.exists()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_journal_cut_anywhere_resumes_to_the_uninterrupted_result(place, data):
    """A crash can stop a write at any byte: what is left resumes exactly, or says why not."""
    lines = _journal_lines(place)
    text = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    cut = data.draw(st.integers(0, len(text) - 1))
    journal, out = place / "r.journal.jsonl", place / "r.json"
    journal.write_bytes(text[:cut])
    out.unlink(missing_ok=True)
    result = runner.invoke(
        app,
        ["sweep", str(place / "config.yaml"), "--out", str(out), "--resume", "-q", "-f", "json"],
    )
    # a cut inside the header leaves nothing to resume: a new sweep (it was refused as "not a
    # wdcli journal", which --resume could never get past)
    assert result.exit_code == 0, result.stderr
    good = json.loads((place / "good.json").read_text())
    resumed = json.loads(out.read_text())
    assert _timeless(resumed["runs"]) == _timeless(good["runs"])
    assert resumed["summary"] == good["summary"]
    assert (resumed["best_lambda"], resumed["lambda_1se"]) == (
        good["best_lambda"],
        good["lambda_1se"],
    )
    assert not journal.exists()


def _timeless(runs: list[dict]) -> list[dict]:
    return [{k: v for k, v in run.items() if k != "seconds"} for run in runs]


def test_resume_without_out_reads_the_whole_journal_it_picks(
    place, bad_inputs, monkeypatch, tmp_path
):
    """The newest journal of the config is found by its header; a damaged run line is named."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(CONFIG)
    folder = tmp_path / "results"
    folder.mkdir()
    lines = _journal_lines(place)
    journal = folder / "tiny-ridge-20260101-000000.journal.jsonl"
    data = b"".join(json.dumps(line).encode() + b"\n" for line in lines[:3]) + b"42\n"
    data += json.dumps(lines[3]).encode() + b"\n"
    journal.write_bytes(data)
    _record(bad_inputs, data)
    result = runner.invoke(app, ["sweep", "config.yaml", "--resume", "-q"])
    _assert_one_line(result, f"{journal.relative_to(tmp_path)}: line 4: expected an object, got 42")
    assert journal.read_bytes() == data
    assert [p.name for p in folder.iterdir()] == [journal.name]


def test_resume_without_out_names_a_damaged_header_and_skips_a_torn_one(
    place, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(CONFIG)
    folder = tmp_path / "results"
    folder.mkdir()
    header = _journal_lines(place)[0]
    damaged = folder / "tiny-ridge-20260101-000001.journal.jsonl"
    damaged.write_text(json.dumps({**header, "config_hash": 42}) + "\n")
    result = runner.invoke(app, ["sweep", "config.yaml", "--resume", "-q"])
    _assert_one_line(
        result, f"{damaged.relative_to(tmp_path)}: line 1: config_hash: expected a string, got 42"
    )
    damaged.unlink()
    torn = folder / "tiny-ridge-20260101-000002.journal.jsonl"
    torn.write_text(json.dumps(header)[:30])  # the sweep died while writing its header
    result = runner.invoke(app, ["sweep", "config.yaml", "--resume", "-q"])
    assert result.exit_code == 0, result.stderr  # nothing to resume: a new sweep
    assert torn.read_text() == json.dumps(header)[:30]
    assert len(list(folder.glob("tiny-ridge-*.json"))) == 1


def test_runs_of_another_sweeps_data_are_refused(place, bad_inputs, tmp_path):
    """Lines of another config's journal (written before run lines carried a hash) whose λ and
    seed fit this grid: their data fingerprint differs from this journal's for the seed."""
    other = tmp_path / "other.json"
    result = runner.invoke(
        app,
        ["sweep", str(place / "config.yaml"), "-o", str(other), "-q", "--set", "dataset.noise=9"],
    )
    assert result.exit_code == 0, result.stderr
    lines = _journal_lines(place)[:3]  # the header, λ = 0 of seeds 0 and 1
    for line in lines[1:]:
        del line["config_hash"]
    foreign = json.loads(other.read_text())["runs"][2]  # λ = 1e-3, seed 0, other data
    lines.append({"kind": "run", "run": foreign})
    _refused(place, lines, bad_inputs, "line 4: data_fingerprint: ")


def test_a_config_and_a_results_file_swapped_say_which_command_reads_them(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: c\ndataset: {name: poly, n_samples: 40}\nmodel: {name: linear}\nlambdas: [0, 1]\n"
    )
    results = tmp_path / "r.json"
    assert runner.invoke(app, ["sweep", str(config), "-o", str(results), "-q"]).exit_code == 0
    shown = runner.invoke(app, ["show", str(config)])
    assert (shown.exit_code, shown.stderr) == (
        2,
        f"{config}: not valid JSON (Expecting value at line 1); a config? `wdcli sweep {config}` "
        "runs it and writes its results file\n",
    )
    journal = tmp_path / "u.journal.jsonl"  # an unfinished sweep's: its lines are documents
    journal.write_text('{"journal_version": 1}\n{"lambda": 0}\n')
    compared = runner.invoke(app, ["compare", str(results), str(journal)])
    assert (compared.exit_code, compared.stderr) == (
        2,
        f"{journal}: not valid JSON (Extra data at line 2); the journal of an unfinished sweep: "
        f"`wdcli sweep CONFIG --out {tmp_path / 'u.json'} --resume` finishes it and writes its "
        "results file\n",
    )
    swept = runner.invoke(app, ["sweep", str(results)])
    assert (swept.exit_code, swept.stderr) == (
        2,
        f"{results}: a results file, not a config: `wdcli show {results}` prints it; its config "
        "is under its `config` key\n",
    )
