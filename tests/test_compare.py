"""wdcli compare: per-λ verdicts, exit codes 0/1/2, what differs, the formats."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.compare import IncomparableError, compare

runner = CliRunner()


@pytest.fixture
def baseline(ridge_config, tmp_path):
    out = tmp_path / "base.json"
    assert runner.invoke(app, ["sweep", str(ridge_config), "-o", str(out), "-q"]).exit_code == 0
    return out


def _edit(path, tmp_path, name, change):
    document = json.loads(path.read_text())
    change(document)
    out = tmp_path / name
    out.write_text(json.dumps(document))
    return out


def test_identical_files_pass(baseline):
    result = runner.invoke(app, ["compare", str(baseline), str(baseline)])
    assert result.exit_code == 0
    assert result.stdout.endswith(
        f"{baseline}: test_loss no worse than {baseline} at all 4 λ (rtol 0.05)\n"
    )


def test_a_worse_candidate_exits_1_and_says_where(baseline, tmp_path):
    def worsen(document):
        document["summary"][1]["test_loss_mean"] *= 1.10  # +10 % at λ = 1e-3
        document["summary"][2]["test_loss_mean"] *= 1.01  # +1 %: within rtol

    worse = _edit(baseline, tmp_path, "worse.json", worsen)
    result = runner.invoke(app, ["compare", str(baseline), str(worse), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["comparisons"][0]["worse"] == [0.001]
    assert [r["verdict"] for r in report["comparisons"][0]["rows"]] == ["ok", "worse", "ok", "ok"]
    strict = runner.invoke(
        app, ["compare", str(baseline), str(worse), "--rtol", "0.001", "-f", "json"]
    )
    assert json.loads(strict.stdout)["comparisons"][0]["worse"] == [0.001, 0.1]
    loose = runner.invoke(app, ["compare", str(baseline), str(worse), "--rtol", "0.2"])
    assert loose.exit_code == 0


def test_better_is_not_worse_and_accuracy_is_higher_is_better():
    base = {
        "schema_version": 1,
        "config": {"dataset": {}, "model": {}},
        "runs": [],
        "summary": [
            {"lambda": 1.0, "test_accuracy_mean": 0.9, "test_loss_mean": 1.0, "regime": "good"}
        ],
        "best_lambda": 1.0,
        "lambda_1se": None,
    }
    cand = copy.deepcopy(base)
    cand["summary"][0].update(test_accuracy_mean=0.8, test_loss_mean=0.5)
    names = ("a", "b")
    assert compare(base, cand, names=names, metric="test_accuracy").worse == [1.0]
    assert compare(base, cand, names=names, metric="test_loss").rows[0].verdict == "better"


def test_diverged_candidate_is_worse(baseline, tmp_path):
    def diverge(document):
        document["summary"][0].update(test_loss_mean=None, regime="diverged")

    worse = _edit(baseline, tmp_path, "div.json", diverge)
    result = runner.invoke(app, ["compare", str(baseline), str(worse), "-f", "markdown"])
    assert result.exit_code == 1
    assert "| 0 | " in result.stdout and " → diverged | **worse** |" in result.stdout
    assert "**worse**" in result.stdout


def test_files_of_different_experiments_exit_2_and_say_what_differs(
    ridge_config, baseline, tmp_path
):
    other = tmp_path / "other.json"
    runner.invoke(
        app,
        [
            "sweep",
            str(ridge_config),
            "-o",
            str(other),
            "-q",
            "--set",
            "dataset.noise=9",
            "--set",
            "lambdas=[0, 1e-3, 5]",
        ],
    )
    result = runner.invoke(app, ["compare", str(baseline), str(other)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"cannot compare {baseline} and {other}: dataset differs (noise: 5.0 vs 9.0); "
        "λ grid differs (4 vs 3 values, 2 in common); pass --common to compare anyway on the 2 λ "
        "both have\n"
    )
    anyway = runner.invoke(app, ["compare", str(baseline), str(other), "--common", "-f", "json"])
    assert anyway.exit_code in (0, 1)
    rows = json.loads(anyway.stdout)["comparisons"][0]["rows"]
    assert [r["lambda"] for r in rows] == [0.0, 0.001]


def test_unknown_metric_exits_2(baseline):
    result = runner.invoke(app, ["compare", str(baseline), str(baseline), "--metric", "test_acc"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"{baseline}: no metric 'test_acc' (it has: train_loss, test_loss, weight_sq_norm, df)\n"
    )


def test_several_candidates(baseline, tmp_path):
    worse = _edit(
        baseline,
        tmp_path,
        "w.json",
        lambda d: d["summary"][3].update(test_loss_mean=d["summary"][3]["test_loss_mean"] * 2),
    )
    result = runner.invoke(app, ["compare", str(baseline), str(baseline), str(worse), "-f", "json"])
    assert result.exit_code == 1
    verdicts = [c["worse"] for c in json.loads(result.stdout)["comparisons"]]
    assert verdicts == [[], [10.0]]


def test_incomparable_error_is_a_wdcli_error():
    with pytest.raises(IncomparableError):
        compare(
            {"summary": [], "config": {}, "runs": []},
            {"summary": [], "config": {}, "runs": []},
            names=("a", "b"),
        )


def test_another_model_is_named_not_listed_option_by_option(tmp_path):
    base = {
        "schema_version": 1,
        "config": {
            "dataset": {"name": "poly", "degree": 15},
            "model": {"name": "linear", "solver": "auto"},
        },
        "runs": [],
        "summary": [{"lambda": 1.0, "test_loss_mean": 1.0, "regime": "good"}],
    }
    cand = copy.deepcopy(base)
    cand["config"]["model"] = {"name": "mlp", "hidden": [8]}
    with pytest.raises(IncomparableError) as info:
        compare(base, cand, names=("a", "b"))
    assert str(info.value) == (
        "cannot compare a and b: model differs (linear vs mlp); "
        "pass --common to compare anyway on the 1 λ both have"
    )
