"""wdcli compare: per-λ verdicts, exit codes 0/1/2, what differs, the formats."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import results_of
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.errors import WdcliError
from wdcli.report.compare import IncomparableError, compare

FIXTURES = Path(__file__).parent / "fixtures"

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
    base, cand = results_of(base), results_of(cand)
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
    table = runner.invoke(app, ["compare", str(baseline), str(other), "--common"])
    assert (
        "compared on the common λ although: dataset differs (noise: 5.0 vs 9.0); λ grid "
        "differs (4 vs 3 values, 2 in common)" in " ".join(table.stdout.split())
    )  # it said nothing


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
    document = results_of({"summary": [{"lambda": 1.0, "test_loss_mean": 1.0}]})
    assert issubclass(IncomparableError, WdcliError)
    with pytest.raises(IncomparableError):
        compare(document, document, names=("a", "b"), metric="test_accuracy")


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
        compare(results_of(base), results_of(cand), names=("a", "b"))
    assert str(info.value) == (
        "cannot compare a and b: model differs (linear vs mlp); "
        "pass --common to compare anyway on the 1 λ both have"
    )


def test_no_lambda_in_common_does_not_suggest_common(tmp_path):
    base = {
        "schema_version": 1,
        "config": {"dataset": {"name": "poly"}, "model": {"name": "linear"}},
        "runs": [],
        "summary": [{"lambda": 1.0, "test_loss_mean": 1.0, "regime": "good"}],
    }
    cand = copy.deepcopy(base)
    cand["config"]["dataset"]["noise"] = 2.0
    cand["summary"][0]["lambda"] = 2.0
    with pytest.raises(IncomparableError) as info:
        compare(results_of(base), results_of(cand), names=("a", "b"))
    assert str(info.value).startswith("cannot compare a and b: dataset differs")
    assert str(info.value).endswith("; they have no λ (at the same grid point) in common")


# --------------------------------------------------------------------------- --direction


def _compare(baseline, candidate, *more):
    result = runner.invoke(app, ["compare", str(baseline), str(candidate), "-f", "json", *more])
    report = json.loads(result.stdout) if result.exit_code in (0, 1) else None
    return result.exit_code, report


def _verdicts(report) -> list[str]:
    return [row["verdict"] for row in report["comparisons"][0]["rows"]]


def test_either_direction_passes_identical_files(baseline):
    result = runner.invoke(app, ["compare", str(baseline), str(baseline), "--direction", "either"])
    assert result.exit_code == 0
    assert result.stdout.endswith(
        f"{baseline}: test_loss within tolerance of {baseline} at all 4 λ; λ_min, λ_1se, "
        "regimes and run statuses unchanged (rtol 0.05)\n"
    )


def _lose_a_seed(d):
    """λ index 1's first run diverged; its row's mean halved (the surviving seed's, lower)."""
    lam = d["summary"][1]["lambda"]
    run = next(r for r in d["runs"] if r["lambda"] == lam)
    run.update(status="diverged", train_loss=None, test_loss=None)
    d["summary"][1].update(test_loss_mean=d["summary"][1]["test_loss_mean"] * 0.5,
                           n_diverged=1, regime=None)  # fmt: skip


def test_fewer_runs_trained_is_worse_whatever_the_mean_of_the_rest(baseline, tmp_path):
    # a seed that no longer trains, with the surviving seed's loss lower than the old mean,
    # was called "better"
    candidate = _edit(baseline, tmp_path, "lost.json", _lose_a_seed)
    code, report = _compare(baseline, candidate)
    assert code == 1 and _verdicts(report) == ["ok", "worse", "ok", "ok"]


def test_results_of_other_data_are_not_compared(baseline, tmp_path):
    # a CSV whose contents changed between the two sweeps passed the gate with a note
    other = _edit(baseline, tmp_path, "other.json", lambda d: d.update(data_fingerprint="0" * 16))
    before = json.loads(baseline.read_text())["data_fingerprint"]
    for direction in ("worse", "either"):
        result = runner.invoke(app, ["compare", str(baseline), str(other), "-d", direction])
        assert result.exit_code == 2
        assert result.stderr == (
            f"cannot compare {baseline} and {other}: the data differ (fingerprint {before} → "
            f"{'0' * 16}: a changed data file, or a change in how wdcli prepares the data); "
            "pass --common to compare anyway on the 4 λ both have\n"
        )
    assert runner.invoke(app, ["compare", str(baseline), str(other), "--common"]).exit_code == 0


def test_the_same_csv_read_from_another_folder_is_the_same_data(tmp_path, monkeypatch):
    # dataset.path is relative to where wdcli runs: the same file from another folder differed
    sub = tmp_path / "sub"
    sub.mkdir()
    rows = "\n".join(
        f"{i % 7},{(i * 3) % 5},{i % 7 - (i * 3) % 5 + 0.1 * (i % 3)}" for i in range(60)
    )
    (sub / "d.csv").write_text("a,b,y\n" + rows + "\n")
    (sub / "c.yaml").write_text(
        "name: c\ndataset: {name: csv, path: d.csv, target: y}\nmodel: {name: linear}\n"
        "lambdas: [0, 0.1, 1]\nseeds: 2\n"
    )
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["sweep", "sub/c.yaml", "-o", "a.json", "-q"]).exit_code == 0
    monkeypatch.chdir(sub)
    assert runner.invoke(app, ["sweep", "c.yaml", "-o", "../b.json", "-q"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["compare", "a.json", "b.json", "-d", "either", "--rtol", "0"])
    assert result.exit_code == 0, result.stderr
    (sub / "d.csv").write_text((sub / "d.csv").read_text().replace("\n0,0,0.0\n", "\n0,0,0.5\n"))
    monkeypatch.chdir(sub)
    assert runner.invoke(app, ["sweep", "c.yaml", "-o", "../e.json", "-q"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["compare", "a.json", "e.json"])
    assert result.exit_code == 2 and "the data differ (fingerprint " in result.stderr


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(task="classification"),
         "task differs (regression vs classification): other losses"),
        # a file without its task (another producer's): rows with an accuracy are a classifier's
        (lambda d: (d.pop("task"), [row.update(test_accuracy_mean=0.9) for row in d["summary"]]),
         "task differs (regression vs classification): other losses"),
        (lambda d: d["config"].update(validation={"kind": "kfold", "folds": 3}),
         "validation differs (holdout vs kfold): a cross-validated loss is not a test-split loss"),
    ],
)  # fmt: skip
def test_files_whose_metric_means_another_thing_are_never_compared(
    baseline, tmp_path, change, reason
):
    other = _edit(baseline, tmp_path, "other.json", change)
    result = runner.invoke(app, ["compare", str(baseline), str(other), "--common"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"cannot compare {baseline} and {other}: {reason} (not even with --common)\n"
    )


def test_each_candidate_gets_its_verdict_or_why_it_was_not_compared(baseline, tmp_path):
    other = _edit(baseline, tmp_path, "other.json", lambda d: d.update(task="classification"))
    result = runner.invoke(app, ["compare", str(baseline), str(baseline), str(other), "-f", "json"])
    assert result.exit_code == 2  # an input that cannot be compared outranks a failed check
    report = json.loads(result.stdout)
    assert [c["candidate"] for c in report["comparisons"]] == [str(baseline)]
    assert report["ok"] is False and len(report["refused"]) == 1
    assert result.stderr.splitlines() == [
        f"{baseline}: test_loss no worse than {baseline} at all 4 λ (rtol 0.05)",
        report["refused"][0],
    ]


def test_an_unreadable_candidate_is_refused_alone(baseline, tmp_path):
    # it ended the comparison: the good candidate got no verdict and stdout no JSON
    torn = tmp_path / "torn.json"
    torn.write_text(baseline.read_text()[:300])
    result = runner.invoke(app, ["compare", str(baseline), str(torn), str(baseline), "-f", "json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [c["candidate"] for c in report["comparisons"]] == [str(baseline)]
    assert len(report["refused"]) == 1 and report["refused"][0].startswith(
        f"{torn}: not valid JSON"
    )
    broken_baseline = runner.invoke(app, ["compare", str(torn), str(baseline)])
    assert broken_baseline.exit_code == 2 and broken_baseline.stdout == ""


def test_more_runs_trained_is_better_and_the_verdict_names_the_run_counts(baseline, tmp_path):
    # a baseline seed that diverged: the candidate's mean over both seeds was called worse
    # than the baseline's over the one left
    lost = _edit(baseline, tmp_path, "lost.json", _lose_a_seed)
    code, report = _compare(lost, baseline)
    assert code == 0 and _verdicts(report) == ["ok", "better", "ok", "ok"]
    result = runner.invoke(app, ["compare", str(baseline), str(lost)])
    assert result.exit_code == 1
    assert "test_loss worse at 1 of 4 λ: 0.001 (ok runs 2/2 → 1/2)" in result.stdout


def test_more_runs_trained_is_still_worse_when_the_runs_both_trained_did_worse(baseline, tmp_path):
    # a change that stopped a divergence but made every run 6 % worse passed the gate as better
    lost = _edit(baseline, tmp_path, "lost.json", _lose_a_seed)
    lam = json.loads(lost.read_text())["summary"][1]["lambda"]

    def worse_where_both_trained(d):
        for run in d["runs"]:
            if run["lambda"] == lam:
                run["test_loss"] *= 1.06
        d["summary"][1]["test_loss_mean"] *= 1.06

    candidate = _edit(baseline, tmp_path, "worse.json", worse_where_both_trained)
    code, report = _compare(lost, candidate)
    assert code == 1 and _verdicts(report) == ["ok", "worse", "ok", "ok"]
    result = runner.invoke(app, ["compare", str(lost), str(candidate)])
    assert result.stdout.splitlines()[-1].startswith(
        f"{candidate}: worse than {lost}: test_loss worse at 1 of 4 λ: 0.001 (+6 % over the "
        "runs that trained in both; ok runs 1/2 → 2/2)"
    )
    code, report = _compare(lost, candidate, "--rtol", "0.07")  # within tolerance: better
    assert code == 0 and _verdicts(report) == ["ok", "better", "ok", "ok"]


def test_other_numbers_of_seeds_compare_the_share_of_runs_that_trained(
    ridge_config, baseline, tmp_path
):
    # 2/2 against 4/4 ok runs was "better" whatever the loss (474 % worse passed the gate)
    more = tmp_path / "more.json"
    sweep = ["sweep", str(ridge_config), "-o", str(more), "-q", "--set", "seeds=4"]
    assert runner.invoke(app, [*sweep, "--set", "dataset.noise=50.0"]).exit_code == 0
    code, report = _compare(baseline, more, "--common")
    assert code == 1 and set(_verdicts(report)) == {"worse"}
    result = runner.invoke(app, ["compare", str(baseline), str(more), "--common"])
    assert "(ok runs" not in result.stdout.splitlines()[-1]  # the loss is the reason
    code, report = _compare(more, baseline, "--common")
    assert code == 0 and "worse" not in _verdicts(report)
    lost = _edit(baseline, tmp_path, "lost.json", _lose_a_seed)  # 1/2 against 4/4: worse
    code, report = _compare(more, lost, "--common")
    assert code == 1 and _verdicts(report)[1] == "worse"


def test_an_improvement_fails_only_in_either_direction(baseline, tmp_path):
    better = _edit(
        baseline,
        tmp_path,
        "better.json",
        lambda d: d["summary"][3].update(test_loss_mean=d["summary"][3]["test_loss_mean"] * 0.5),
    )
    code, report = _compare(baseline, better)
    assert code == 0 and report["ok"] is True
    assert _verdicts(report) == ["ok", "ok", "ok", "better"]
    code, report = _compare(baseline, better, "--direction", "either")
    assert code == 1 and report["ok"] is False
    assert report["comparisons"][0]["failing"] == [{"point": {}, "lambda": 10.0}]
    text = runner.invoke(app, ["compare", str(baseline), str(better), "-d", "either"])
    assert text.exit_code == 1
    assert text.stdout.endswith(
        f"{better}: differs from {baseline}: test_loss better at 1 of 4 λ: 10 (-50 %) (rtol 0.05)\n"
    )


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_a_machine_format_still_puts_the_verdict_and_how_much_on_stderr(baseline, tmp_path, fmt):
    # `compare -f json > report.json` in CI printed nothing: the log showed only "exit 1"
    worse = _edit(
        baseline,
        tmp_path,
        "worse.json",
        lambda d: d["summary"][1].update(test_loss_mean=d["summary"][1]["test_loss_mean"] * 1.2),
    )
    result = runner.invoke(app, ["compare", str(baseline), str(worse), "-f", fmt])
    assert result.exit_code == 1
    label = json.loads(baseline.read_text())["summary"][1]["lambda"]
    assert result.stderr == (
        f"{worse}: worse than {baseline}: test_loss worse at 1 of 4 λ: {label:g} (+20 %) "
        "(rtol 0.05)\n"
    )


@pytest.mark.parametrize("direction", ["worse", "either"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), None], ids=["NaN", "inf", "null"])
def test_a_non_finite_candidate_always_fails(baseline, tmp_path, direction, value):
    broken = _edit(
        baseline, tmp_path, "nan.json", lambda d: d["summary"][2].update(test_loss_mean=value)
    )
    assert "NaN" in broken.read_text() or "Infinity" in broken.read_text() or value is None
    code, report = _compare(baseline, broken, "--direction", direction)
    assert code == 1
    assert _verdicts(report)[2] == "worse"
    assert report["comparisons"][0]["rows"][2]["candidate"] is None


def test_a_number_where_the_baseline_had_none_fails_only_in_either_direction(baseline, tmp_path):
    diverged = _edit(
        baseline, tmp_path, "div.json", lambda d: d["summary"][0].update(test_loss_mean=None)
    )
    assert _compare(diverged, baseline)[0] == 0
    code, report = _compare(diverged, baseline, "--direction", "either")
    assert code == 1 and _verdicts(report)[0] == "better"


def test_a_regime_change_within_tolerance_fails_only_in_either_direction(baseline, tmp_path):
    relabelled = _edit(
        baseline, tmp_path, "regime.json", lambda d: d["summary"][1].update(regime="underfit")
    )
    code, report = _compare(baseline, relabelled)
    assert code == 0 and _verdicts(report)[1] == "changed"
    code, report = _compare(baseline, relabelled, "--direction", "either")
    assert code == 1 and _verdicts(report)[1] == "changed"
    assert report["comparisons"][0]["regime_changes"][0]["candidate"] == "underfit"


def test_a_moved_lambda_min_fails_only_in_either_direction(baseline, tmp_path):
    moved = _edit(baseline, tmp_path, "moved.json", lambda d: d.update(best_lambda=10.0))
    code, report = _compare(baseline, moved)
    assert code == 0 and report["comparisons"][0]["selection_changed"] == ["λ_min"]
    code, report = _compare(baseline, moved, "--direction", "either")
    assert code == 1 and set(_verdicts(report)) == {"ok"}
    text = runner.invoke(app, ["compare", str(baseline), str(moved), "-d", "either"])
    assert "λ_min moved from " in text.stdout and " to 10 (rtol 0.05)" in text.stdout


def test_a_run_that_no_longer_trains_is_worse_in_both_directions(baseline, tmp_path):
    def diverge_one_run(document):
        run = next(r for r in document["runs"] if r["lambda"] == 0.1 and r["seed"] == 1)
        run["status"] = "diverged"  # the row's mean left as it was: the status alone fails

    fewer = _edit(baseline, tmp_path, "fewer.json", diverge_one_run)
    for direction in ("worse", "either"):
        code, report = _compare(baseline, fewer, "--direction", direction)
        assert code == 1 and _verdicts(report)[2] == "worse"
        row = report["comparisons"][0]["rows"][2]
        assert (row["baseline_ok"], row["candidate_ok"]) == ("2/2", "1/2")
    table = runner.invoke(app, ["compare", str(baseline), str(fewer), "-f", "markdown"])
    assert "| 0.1 | " in table.stdout and " | 2/2 → 1/2 | **worse** |" in table.stdout


def test_another_unhealthy_status_is_a_change(baseline, tmp_path):
    def relabel(document):
        for run in document["runs"]:
            run["status"] = "diverged" if run["lambda"] == 10.0 else run["status"]

    def relabel_other(document):
        for run in document["runs"]:
            run["status"] = "no_fit" if run["lambda"] == 10.0 else run["status"]

    a = _edit(baseline, tmp_path, "a.json", relabel)
    b = _edit(baseline, tmp_path, "b.json", relabel_other)
    assert _compare(a, b)[0] == 0  # as many runs ok: not worse
    code, report = _compare(a, b, "-d", "either")
    assert code == 1 and _verdicts(report)[3] == "changed"


def test_a_missing_row_fails_and_a_new_row_fails_in_either_direction(baseline, tmp_path):
    def drop(document):  # the row of λ = 0.1 and its runs
        document["summary"].pop(2)
        document["runs"] = [r for r in document["runs"] if r["lambda"] != 0.1]

    missing = _edit(baseline, tmp_path, "missing.json", drop)
    for direction in ("worse", "either"):
        code, report = _compare(baseline, missing, "--direction", direction)
        assert code == 1 and _verdicts(report) == ["ok", "ok", "missing", "ok"]
    text = runner.invoke(app, ["compare", str(baseline), str(missing)])
    assert text.stdout.endswith(
        f"worse than {baseline}: row missing at 1 of 4 λ (0.1) (rtol 0.05)\n"
    )
    assert _compare(missing, baseline)[0] == 0  # a row more is not worse
    code, report = _compare(missing, baseline, "--direction", "either")
    assert code == 1 and _verdicts(report) == ["ok", "ok", "new", "ok"]
    assert _compare(baseline, missing, "--common", "-d", "either")[0] == 0  # by request


def test_exit_2_in_both_directions_when_the_files_cannot_be_compared(baseline, tmp_path):
    other = _edit(
        baseline, tmp_path, "other.json", lambda d: d["config"]["dataset"].update(noise=1.0)
    )
    broken = _edit(baseline, tmp_path, "broken.json", lambda d: d["runs"][0].update(seed="0"))
    for direction in ("worse", "either"):
        result = runner.invoke(app, ["compare", str(baseline), str(other), "-d", direction])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"cannot compare {baseline} and {other}: dataset differs")
        result = runner.invoke(app, ["compare", str(baseline), str(broken), "-d", direction])
        assert result.exit_code == 2
        assert result.stderr == f"{broken}: runs[0].seed: expected an integer, got '0'\n"
    result = runner.invoke(app, ["compare", str(baseline), str(baseline), "-d", "sideways"])
    assert result.exit_code == 2


def test_version_1_and_version_2_files_of_one_sweep_are_equal(tmp_path):
    v1 = FIXTURES / "regression.json"
    document = json.loads(v1.read_text())
    document["schema_version"] = 2
    for row in document["runs"]:
        row.update(point={}, fold=0)
    for row in document["summary"]:
        row["point"] = {}
    document["config"].update(grid={}, validation={"kind": "holdout"})  # the defaults, written
    v2 = tmp_path / "v2.json"
    v2.write_text(json.dumps(document))
    for a, b in ((v1, v2), (v2, v1)):
        assert _compare(a, b, "--direction", "either", "--rtol", "0")[0] == 0
    document["config"]["validation"] = {"kind": "kfold", "folds": 5}
    v2.write_text(json.dumps(document))
    result = runner.invoke(app, ["compare", str(v1), str(v2)])
    assert result.exit_code == 2
    assert "validation differs (holdout vs kfold)" in result.stderr


def test_rows_match_on_point_and_lambda(tmp_path):
    def document(losses):
        points = [{"dataset.n_train": 50}, {"dataset.n_train": 100}]
        summary = [
            {
                "point": p,
                "lambda": lam,
                "train_loss_mean": 0.1,
                "test_loss_mean": losses[i, j],
                "regime": "good",
            }
            for i, p in enumerate(points)
            for j, lam in enumerate((0.0, 1.0))
        ]
        runs = [
            {
                "point": row["point"],
                "lambda": row["lambda"],
                "seed": 0,
                "fold": 0,
                "status": "ok",
                "train_loss": 0.1,
                "test_loss": row["test_loss_mean"],
            }
            for row in summary
        ]
        config = {
            "name": "g",
            "dataset": {"name": "poly"},
            "model": {"name": "linear"},
            "grid": {"dataset.n_train": [50, 100]},
        }
        return {
            "schema_version": 2,
            "config": config,
            "runs": runs,
            "summary": summary,
            "best_lambda": None,
            "lambda_1se": None,
        }

    import numpy as np

    base = tmp_path / "base.json"
    base.write_text(json.dumps(document(np.array([[1.0, 2.0], [3.0, 4.0]]))))
    cand = tmp_path / "cand.json"
    cand.write_text(json.dumps(document(np.array([[1.0, 2.0], [1.5, 4.0]]))))  # n_train 100, λ 0
    code, report = _compare(base, cand, "-d", "either")
    assert code == 1
    assert report["comparisons"][0]["failing"] == [
        {"point": {"dataset.n_train": 100}, "lambda": 0.0}
    ]
    text = runner.invoke(app, ["compare", str(base), str(cand), "-d", "either"])
    assert "test_loss better at 1 of 4 (point, λ): dataset.n_train=100 λ=0 (-50 %)" in text.stdout


def test_strict_compare_catches_a_test_loss_computed_on_the_training_split(
    ridge_config, baseline, tmp_path, monkeypatch
):
    """The bug wdcli's own CI must not pass: 'better' everywhere, so `worse` mode is blind."""
    import dataclasses

    import wdcli.sweep.datasets

    real = wdcli.sweep.datasets.dataset_for

    def leaky(config, seed, fold=0):
        data = real(config, seed, fold)
        return dataclasses.replace(data, X_test=data.X_train, y_test=data.y_train)

    monkeypatch.setattr(wdcli.sweep.datasets, "dataset_for", leaky)
    leaked = tmp_path / "leaked.json"
    result = runner.invoke(app, ["sweep", str(ridge_config), "-o", str(leaked), "-q"])
    assert result.exit_code == 0, result.stderr
    monkeypatch.undo()
    assert _compare(baseline, leaked, "--rtol", "1e-4")[0] == 2  # other data: not compared
    # compared anyway, `worse` mode is blind to it ('better' everywhere); `either` is not
    assert _compare(baseline, leaked, "--rtol", "1e-4", "--common")[0] == 0
    code, report = _compare(baseline, leaked, "--rtol", "1e-4", "--direction", "either", "--common")
    assert code == 1
    assert set(_verdicts(report)) == {"better"}


def test_a_baseline_in_which_nothing_trained_cannot_pass_anything(baseline, tmp_path):
    def nothing_trained(document):
        for row in document["summary"]:
            row["test_loss_mean"] = None
        for run in document["runs"]:
            run.update(status="diverged", test_loss=None, train_loss=None)

    broken = _edit(baseline, tmp_path, "broken.json", nothing_trained)
    result = runner.invoke(app, ["compare", str(broken), str(broken)])
    assert (result.exit_code, result.stderr) == (
        2,
        f"cannot compare {broken} and {broken}: {broken} has no test_loss at any λ (none of its "
        "runs trained), so there is nothing to compare against\n",
    )


def test_lambdas_where_no_run_trained_in_either_file_are_named_as_not_compared(baseline, tmp_path):
    def untrained_at_two(document):
        for row in document["summary"][2:]:
            row["test_loss_mean"] = None

    both = _edit(baseline, tmp_path, "both.json", untrained_at_two)
    result = runner.invoke(app, ["compare", str(both), str(both)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == (
        f"{both}: test_loss no worse than {both} at the 2 of 4 λ compared (rtol 0.05); not "
        "compared, as no run trained in either file: λ = 0.1, 10"
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [("--rtol", "inf"), ("--rtol", "nan"), ("--rtol", "-1"), ("--atol", "1e400")],
)
def test_a_tolerance_that_is_not_a_finite_number_from_0_is_refused(baseline, option, value):
    # --rtol inf passed every candidate: the gate silently off
    result = runner.invoke(app, ["compare", str(baseline), str(baseline), option, value])
    shown = {"1e400": "inf"}.get(value, value)
    assert (result.exit_code, result.stderr) == (
        2,
        f"{option} {shown}: must be a finite number ≥ 0\n",
    )


def test_another_tune_or_tune_holdout_is_a_difference(baseline, tmp_path):
    # they were compared as the same experiment: a tune_holdout that trains every candidate
    # on half the rows could pass silently
    def tuned(holdout, values):
        def change(d):
            d["config"].update(tune={"model.solver": values}, tune_holdout=holdout)

        return change

    a = _edit(baseline, tmp_path, "a.json", tuned(0.25, ["svd", "eigh"]))
    b = _edit(baseline, tmp_path, "b.json", tuned(0.5, ["eigh", "svd"]))
    c = _edit(baseline, tmp_path, "c.json", tuned(0.25, ["svd"]))
    result = runner.invoke(app, ["compare", str(a), str(b)])
    assert (result.exit_code, result.stderr) == (2, (
        f"cannot compare {a} and {b}: tune_holdout differs (0.25 vs 0.5); pass --common to "
        "compare anyway on the 4 λ both have\n"))  # fmt: skip
    result = runner.invoke(app, ["compare", str(a), str(c)])
    assert result.exit_code == 2 and result.stderr.startswith(
        f'cannot compare {a} and {c}: tune differs ({{"model.solver": ["svd", "eigh"]}} vs '
        '{"model.solver": ["svd"]})'
    )
    assert _compare(baseline, baseline)[0] == 0


def test_kfold_against_leave_one_out_names_the_folds_as_the_difference(baseline, tmp_path):
    # it said "a cross-validated loss is not a test-split loss" of two cross-validated losses
    kfold = {"kind": "kfold", "folds": 3}
    a = _edit(baseline, tmp_path, "a.json", lambda d: d["config"].update(validation=kfold))
    b = _edit(
        baseline, tmp_path, "b.json", lambda d: d["config"].update(validation={"kind": "loo"})
    )
    result = runner.invoke(app, ["compare", str(a), str(b), "--common"])
    assert (result.exit_code, result.stderr) == (2, (
        f"cannot compare {a} and {b}: validation differs (kfold vs loo): losses averaged over "
        "other folds, each trained on other rows (not even with --common)\n"))  # fmt: skip


def test_a_candidate_where_no_run_trained_is_worse_in_any_metric(baseline, tmp_path):
    # its summary has no df (nor accuracy): "no metric 'df'", exit 2, where test_loss gave 1
    def nothing_trained(d):
        for run in d["runs"]:
            run.update(status="diverged", train_loss=None, test_loss=None, df=None)
        for row in d["summary"]:
            for key in [k for k in row if k.startswith(("df", "test_loss", "train_loss"))]:
                if key in ("train_loss_mean", "test_loss_mean"):  # required, null
                    row[key] = None
                else:
                    del row[key]
            row.update(n_diverged=row["n_runs"], regime=None)
        d.update(best_lambda=None, lambda_1se=None)

    broken = _edit(baseline, tmp_path, "broken.json", nothing_trained)
    for metric in ("df", "test_loss"):
        code, report = _compare(baseline, broken, "--metric", metric, "-d", "either")
        assert code == 1 and set(_verdicts(report)) == {"worse"}
    code, _ = _compare(broken, baseline, "--metric", "df", "-d", "either")  # nothing to compare
    assert code == 2
    # Σw² and df have no worse side: a larger Σw² failed the gate as "worse", a smaller passed
    for metric in ("df", "weight_sq_norm"):
        result = runner.invoke(app, ["compare", str(baseline), str(baseline), "--metric", metric])
        assert (result.exit_code, result.stderr) == (2, (
            f"--metric {metric}: has no better or worse side, so --direction worse cannot judge "
            "it; pass --direction either to fail on any change beyond the tolerance\n"))  # fmt: skip


def test_a_row_with_no_value_in_either_file_is_not_compared_in_the_json_too(baseline, tmp_path):
    # its verdict was "ok": a script reading .rows[].verdict counted it as passing
    def nothing_at_the_last_lambda(d):
        lam = d["summary"][-1]["lambda"]
        for run in d["runs"]:
            if run["lambda"] == lam:
                run.update(status="diverged", train_loss=None, test_loss=None)
        d["summary"][-1].update(test_loss_mean=None, train_loss_mean=None, regime=None,
                                n_diverged=d["summary"][-1]["n_runs"])  # fmt: skip

    a = _edit(baseline, tmp_path, "a.json", nothing_at_the_last_lambda)
    code, report = _compare(a, a)
    assert code == 0 and _verdicts(report) == ["ok", "ok", "ok", "not compared"]

    # failed otherwise in the other file (not_converged, not diverged): it was "changed",
    # counted as compared, and passed under --direction worse
    def no_fit_instead(d):
        nothing_at_the_last_lambda(d)
        lam = d["summary"][-1]["lambda"]
        for run in d["runs"]:
            if run["lambda"] == lam:
                run.update(status="no_fit")
        d["summary"][-1].update(n_diverged=0, n_no_fit=d["summary"][-1]["n_runs"])

    b = _edit(baseline, tmp_path, "b.json", no_fit_instead)
    code, report = _compare(a, b)
    assert code == 0 and _verdicts(report) == ["ok", "ok", "ok", "not compared"]
    code, report = _compare(a, b, "--direction", "either")  # any change fails there
    assert code == 1 and _verdicts(report) == ["ok", "ok", "ok", "changed"]


def test_a_metric_without_a_value_at_any_lambda_is_not_blamed_on_training(baseline, tmp_path):
    # a grokking step never reached read "(none of its runs trained)", every run being ok
    def no_df(d):
        for row in d["summary"]:
            row["df_mean"] = None

    a = _edit(baseline, tmp_path, "a.json", no_df)
    result = runner.invoke(app, ["compare", str(a), str(baseline), "--metric", "df", "-d",
                                 "either"])  # fmt: skip
    assert (result.exit_code, result.stderr) == (2, (
        f"cannot compare {a} and {baseline}: {a} has no df at any λ (its runs trained, but none "
        "has a value of it: a step never reached, say), so there is nothing to compare against\n"))  # fmt: skip


def _steps(d, missing: int = 0, eval_points=None):
    """Give every run a grokking step (100) and every row its mean; the first `missing` runs
    of λ index 1 trained but never reached it."""
    lam = d["summary"][1]["lambda"]
    at = [r for r in d["runs"] if r["lambda"] == lam]
    for run in d["runs"]:
        run["test_acc_99_step"] = None if run in at[:missing] else 100
    for row in d["summary"]:
        row["test_acc_99_step_mean"] = 100.0
    epochs = list(range(0, 201, 20))  # the steps the curves were evaluated at
    if eval_points is not None:
        d["config"]["model"]["eval_points"] = eval_points
        epochs = [0, 20, 60, 200][:eval_points]
    for run in d["runs"]:
        run["curve"] = {"epoch": epochs, "train_loss": [1.0] * len(epochs),
                        "test_loss": [1.0] * len(epochs)}  # fmt: skip


def test_fewer_runs_reaching_a_grokking_step_is_worse_and_its_resolution_must_match(
    baseline, tmp_path
):
    # the step's mean is over the runs that reached it: a seed that no longer did passed as
    # "no worse" (the others' mean even fell); and steps measured every 8th evaluation instead
    # of every one were compared as if alike
    reference = _edit(baseline, tmp_path, "steps.json", _steps)
    fewer = _edit(baseline, tmp_path, "fewer.json", lambda d: _steps(d, missing=1))
    result = runner.invoke(app, ["compare", str(reference), str(fewer), "--metric",
                                 "test_acc_99_step"])  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout.endswith(
        f"{fewer}: worse than {reference}: test_acc_99_step worse at 1 of 4 λ: 0.001 (runs that "
        "reached it 2/2 → 1/2) (rtol 0.05)\n"
    )
    code, _ = _compare(fewer, reference, "--metric", "test_acc_99_step")
    assert code == 0  # more runs reaching it, at the same step
    assert _compare(reference, fewer)[0] == 0  # the loss did not change
    coarse = _edit(baseline, tmp_path, "coarse.json", lambda d: _steps(d, eval_points=4))
    for more in ([], ["--common"]):  # --common compared them, and failed on resolution alone
        result = runner.invoke(app, ["compare", str(reference), str(coarse), "--metric",
                                     "test_acc_99_step", *more])  # fmt: skip
        assert (result.exit_code, result.stderr) == (2, (
            f"cannot compare {reference} and {coarse}: the curves were evaluated at other steps "
            "(11 and 4 steps, steps 40, 80, 100, … in the first file only: eval_every or "
            "eval_points): test_acc_99_step has another resolution (not even with --common)\n"))  # fmt: skip
    assert _compare(reference, coarse)[0] == 0  # where curves are sampled changes no loss
    # the same steps, however the options said so (eval_every 20 and eval_points 11 of 200
    # epochs), are one resolution: no refusal
    same = _edit(reference, tmp_path, "same.json",
                 lambda d: d["config"]["model"].update(eval_points=11))  # fmt: skip
    assert _compare(reference, same, "--metric", "test_acc_99_step")[0] == 0


def test_either_fails_when_another_seed_is_the_one_that_failed(baseline, tmp_path):
    # the same counts per λ (1 of 2 diverged), but seed 0 trains now and seed 1 does not:
    # `either` said "run statuses unchanged"
    def fail(seed):
        def change(d):
            lam = d["summary"][1]["lambda"]
            run = next(r for r in d["runs"] if r["lambda"] == lam and r["seed"] == seed)
            run.update(status="diverged", train_loss=None, test_loss=None)
            d["summary"][1].update(n_diverged=1, regime=None)

        return change

    first = _edit(baseline, tmp_path, "first.json", fail(0))
    second = _edit(baseline, tmp_path, "second.json", fail(1))
    code, report = _compare(first, second, "--direction", "either")
    assert code == 1 and _verdicts(report)[1] == "changed"
    assert _compare(first, first, "--direction", "either")[0] == 0


def test_options_that_change_no_run_are_no_difference(baseline, tmp_path):
    # the same runs were refused (exit 2) over a test_size that n_train overrides, a default
    # written out (scale_target: null vs true, init: auto vs what auto means) and a base value
    # that an axis replaces at every point
    def written(n_train_test_size, scale, init, noise):
        def change(d):
            d["config"]["dataset"].update(n_train=30, test_size=n_train_test_size,
                                          scale_target=scale, noise=noise)  # fmt: skip
            d["config"]["model"].update(name="mlp", init=init)  # (an MLP's options, by name)
            d["config"]["tune"] = {"dataset.noise": [1.0, 2.0]}

        return change

    a = _edit(baseline, tmp_path, "a.json", written(0.25, None, "auto", 5.0))
    b = _edit(baseline, tmp_path, "b.json", written(0.5, True, "sklearn", 9.0))
    assert _compare(a, b, "--direction", "either")[0] == 0
    c = _edit(baseline, tmp_path, "c.json", written(0.25, False, "he", 5.0))
    result = runner.invoke(app, ["compare", str(a), str(c)])
    assert result.exit_code == 2
    assert "dataset differs (scale_target: true vs false)" in result.stderr  # as they act
    assert "model differs (init: sklearn vs he)" in result.stderr
    # ridge's fit scales with y exactly: the scale is no difference for it
    unscaled = _edit(baseline, tmp_path, "u.json",
                     lambda d: d["config"]["dataset"].update(scale_target=False))  # fmt: skip
    assert _compare(baseline, unscaled, "--direction", "either")[0] == 0


def test_fewer_runs_reaching_the_step_is_worse_even_where_more_runs_trained(baseline, tmp_path):
    # the reach count was checked only when the share of ok runs was equal: 1 of 2 reaching
    # it (the other no_fit) against 0 of 2 (both ok) passed as "better"
    def before(d):
        _steps(d)
        lam = d["summary"][1]["lambda"]
        run = next(r for r in d["runs"] if r["lambda"] == lam and r["seed"] == 1)
        run.update(status="no_fit", test_acc_99_step=None)
        d["summary"][1].update(n_no_fit=1, regime=None)

    reference = _edit(baseline, tmp_path, "before.json", before)
    after = _edit(baseline, tmp_path, "after.json", lambda d: _steps(d, missing=2))
    result = runner.invoke(app, ["compare", str(reference), str(after), "--metric",
                                 "test_acc_99_step"])  # fmt: skip
    assert result.exit_code == 1
    assert "0.001 (runs that reached it 1/2 → 0/2)" in result.stdout


def test_init_auto_is_not_read_as_one_start_when_the_activation_is_an_axis(baseline, tmp_path):
    # auto is He's start at a sigmoid point and scikit-learn's elsewhere: read as sklearn
    # throughout, a changed start at the sigmoid point passed
    def grid(init):
        def change(d):
            d["config"]["model"].update(init=init, activation="relu")
            d["config"]["tune"] = {"model.activation": ["relu", "sigmoid"]}

        return change

    auto = _edit(baseline, tmp_path, "auto.json", grid("auto"))
    sklearn = _edit(baseline, tmp_path, "sk.json", grid("sklearn"))
    result = runner.invoke(app, ["compare", str(auto), str(sklearn)])
    assert result.exit_code == 2 and "model differs (init: auto vs sklearn)" in result.stderr


def test_other_seeds_are_not_called_other_data_and_another_tolerance_is_named(tmp_path):
    # poly with seeds 3 against 5 blamed "a changed data file" (each seed draws its own
    # data); a tolerance of 0.5 against 0.05 relabelled regimes as if the code had changed
    config = tmp_path / "c.yaml"
    config.write_text("name: c\ndataset: {name: poly, n_samples: 60}\nmodel: {name: linear}\n"
                      "lambdas: [0, 0.1, 1]\nseeds: 3\n")  # fmt: skip
    runs = {}
    for name, sets in (("a", []), ("b", ["seeds=2"]), ("c", ["tolerance=0.5"]),
                       ("d", ["seeds=[3, 4, 5]"])):  # fmt: skip
        out = tmp_path / f"{name}.json"
        sets = [part for s in sets for part in ("--set", s)]
        assert (
            runner.invoke(app, ["sweep", str(config), "-o", str(out), "-q", *sets]).exit_code == 0
        )
        runs[name] = out
    for other, reason in (("b", "seeds differ ([0, 1, 2] vs [0, 1])"),
                          ("c", "tolerance differs (0.05 vs 0.5)"),
                          ("d", "seeds differ ([0, 1, 2] vs [3, 4, 5])")):  # fmt: skip
        result = runner.invoke(app, ["compare", str(runs["a"]), str(runs[other])])
        assert (result.exit_code, result.stderr) == (2, (
            f"cannot compare {runs['a']} and {runs[other]}: {reason}; pass --common to compare "
            "anyway on the 3 λ both have\n"))  # fmt: skip
