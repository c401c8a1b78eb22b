"""Grids over any config key, tune axes, the run key, stacked learning rates and schedules."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.config import load_config
from wdcli.config.grid import grid_points, parse_axis, point_config
from wdcli.errors import ConfigError
from wdcli.optim import lr_multiplier
from wdcli.report.table import format_lambda
from wdcli.runkey import RunKey, point_text
from wdcli.store.journal import read_journal
from wdcli.store.results import check_document, load_results
from wdcli.sweep import Unit, plan_units, split_done

runner = CliRunner()

DEGREE = """\
name: deg
dataset: {name: poly, n_samples: 80, n_train: 30, noise: 0.3}
model: {name: linear}
lambdas: [0, 1e-6, 1e-3, 1e-1]
seeds: 2
grid:
  dataset.degree: [1, 4, 12]
"""

LR = """\
name: lr
dataset: {name: friedman1, n_samples: 120, n_train: 60, seed: 0}
model: {name: mlp, hidden: [8], epochs: 4, batch_size: 16, regularization: decoupled}
lambdas: [0, 1e-3, 1e-1]
seeds: 1
grid:
  model.lr: [1e-3, 1e-2, 3e-2]
"""


def _sweep(config, out, *extra):
    result = runner.invoke(app, ["sweep", str(config), "-o", str(out), "-q", "-f", "json", *extra])
    assert result.exit_code == 0, result.stderr
    return json.loads(out.read_text())


# --------------------------------------------------------------------------- the run key


def test_run_key_of_an_old_record_has_the_empty_point_and_fold_0():
    key = RunKey.of({"lambda": 0.1, "seed": 3})
    assert key == RunKey("{}", 0.1, 3, 0)
    assert key.to_json() == {"point": {}, "lambda": 0.1, "seed": 3, "fold": 0}
    other = RunKey.of({"point": {"b": 1, "a": [2]}, "lambda": 0.1, "seed": 3, "fold": 0})
    assert other.point == '{"a": [2], "b": 1}' == point_text({"a": [2], "b": 1})
    assert other.row == ('{"a": [2], "b": 1}', 0.1)


def test_split_done_matches_on_the_point_too():
    units = [Unit(0, (0.0, 1.0), points=('{"x": 1}',)), Unit(0, (0.0, 1.0), points=('{"x": 2}',))]
    done = [{"point": {"x": 1}, "lambda": lam, "seed": 0, "fold": 0} for lam in (0.0, 1.0)]
    done.append({"point": {"x": 2}, "lambda": 0.0, "seed": 0, "fold": 0})  # half a unit
    todo, kept = split_done(units, done)
    assert todo == [units[1]] and kept == done[:2]


# --------------------------------------------------------------------------- config


def test_points_are_the_product_in_written_order(write_config):
    config = load_config(write_config(DEGREE), grid=["dataset.noise=0.1,0.5"])
    points = grid_points(config)
    assert len(points) == 6
    assert json.loads(points[1]) == {"dataset.degree": 1, "dataset.noise": 0.5}
    assert point_config(config, points[5]).dataset.degree == 12
    assert point_config(config, points[5]).dataset.noise == 0.5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--grid", "dataset.degree=0,3"], "grid dataset.degree=0: dataset.degree: must be ≥ 1"),
        (["--grid", "model.lr=1e-3"], "grid model.lr=0.001: model.lr: unknown key"),
        (
            ["--grid", "model.solver=svd,eigh", "--tune", "model.solver=svd,eigh"],
            "tune: model.solver: in both grid and tune; an axis is one or the other",
        ),
        (["--grid", "seeds=1,2"], "grid.seeds: not an axis (λ and seeds have keys of their own)"),
        (
            # validation axes ran every point with the base's folds (or crashed mid-sweep)
            ["--grid", "validation.kind=holdout,kfold"],
            "grid: validation.kind: not an axis (every point is validated alike, each fold a run "
            "key of its own; run one sweep per validation)",
        ),
        (
            # one point: the results carried no points and their title no point
            ["--set", "grid={dataset.degree: [5]}"],
            "grid: dataset.degree: one value makes one point, not a grid (its results would "
            "carry no points); set it under dataset: instead",
        ),
        (["--grid", "dataset.n_train=20,20.0"], "grid: dataset.n_train: duplicate value"),
        (
            # a nested mapping read "grid.model: must be a valid list"
            ["--set", "grid={model: {solver: [svd, eigh]}}"],
            "grid.model: axes are dotted keys, each with a list of values: grid: "
            "{model.solver: [...]}",
        ),
        (
            ["--grid", "tolerance=0.05,0.1"],
            "grid.tolerance: not an axis (it changes the verdicts, not what trains)",
        ),
        (
            ["--grid", "tune_holdout=0.2,0.3"],
            "grid.tune_holdout: not an axis (axes are dataset and model keys)",
        ),
        (
            ["--grid", "model.lr"],
            "--grid model.lr: expected key=value,value,… (e.g. model.lr=1e-3,1e-2)",
        ),
        (
            ["--tune", "dataset.noise=1,2"],
            "tune: dataset.noise: only model keys can be tuned (every candidate trains on the same data); put it under grid:",
        ),
        (["--grid", "dataset.noise=-1"], "grid dataset.noise=-1: dataset.noise: must be ≥ 0"),
        (
            ["--grid", "model.solver=svd,eigh", "--tune", "model.name=linear"],
            "tune: model.name: cannot be tuned (it changes the model or what λ means, so the "
            "candidates' λ would not be comparable); put it under grid:",
        ),
        (
            ["--grid", "dataset=1,2"],
            "grid: dataset.degree: lies inside the axis dataset; use one of them",
        ),
        (
            ["--tune", "model.solver=svd,eigh", "--grid", "model=1,2"],
            "tune: model.solver: in both grid and tune; an axis is one or the other",
        ),
        (["--grid", "dataset.n_samples=null"], "dataset.n_samples: must be a valid integer"),
        (
            ["--tune", "model.solver=svd"],
            "tune: model.solver: one candidate leaves nothing to choose, yet tune would hold out "
            "training rows to choose it; set it under model: instead",
        ),
        (
            ["--tune", "model.solver=svd,eigh", "--set", "tune_holdout=0.99"],
            "tune_holdout: 0.99 of 30 training rows holds out 30 and trains on 0; each needs at "
            "least 5 (the default tune_holdout is 0.25)",
        ),
    ],
)
def test_bad_axis_values_fail_in_one_line_before_anything_runs(
    write_config, tmp_path, extra, message
):
    config = write_config(DEGREE)
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["sweep", str(config), "-o", str(out), *extra])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].endswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "r.journal.jsonl").exists()


def test_an_axis_over_dataset_name_starts_each_dataset_from_its_own_defaults(write_config):
    # diabetes's n_samples default (null: every row) must not carry over into friedman1, as
    # it did (make_friedman1 crashed on n_samples=None); keys set in the file do carry over.
    text = (
        "name: sw\ndataset: {name: diabetes, n_train: 100}\nmodel: {name: linear}\nlambdas: [1]\n"
    )
    config = load_config(write_config(text), grid=["dataset.name=diabetes,friedman1"])
    friedman = point_config(config, grid_points(config)[1]).dataset
    assert (friedman.name, friedman.n_samples, friedman.n_train) == ("friedman1", 400, 100)
    poly = text.replace("diabetes, n_train: 100", "poly, degree: 3")
    with pytest.raises(ConfigError, match=r"dataset.name=\"diabetes\": dataset.degree: unknown"):
        load_config(write_config(poly), grid=["dataset.name=poly,diabetes"])
    out = write_config(text).parent / "sw.json"
    result = runner.invoke(app, ["sweep", str(write_config(text)), "-o", str(out), "-q",
                                 "-f", "markdown", "--grid", "dataset.name=diabetes,friedman1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "**sw: linear on friedman1, 1 λ × 1 seed at name=friedman1**" in result.stdout


def test_parse_axis_reads_values_as_a_yaml_list():
    assert parse_axis("--grid", "model.lr=1e-3,1e-2") == ("model.lr", [0.001, 0.01])
    assert parse_axis("--grid", "model.hidden=[16],[64, 64]") == ("model.hidden", [[16], [64, 64]])


def test_validate_counts_points(write_config):
    result = runner.invoke(app, ["validate", str(write_config(DEGREE))])
    assert result.exit_code == 0
    assert "3 points × 4 λ × 2 seeds = 24 runs" in result.stdout


def test_validate_names_every_dataset_of_a_dataset_axis(write_config):
    text = "name: sw\ndataset: {name: diabetes}\nmodel: {name: linear}\nlambdas: [1]\n"
    result = runner.invoke(app, ["validate", str(write_config(text)),
                                 "--grid", "dataset.name=diabetes,friedman1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(linear on diabetes, friedman1, 2 points × 1 λ × 1 seed = 2 runs)" in result.stdout


def test_a_point_whose_task_the_model_cannot_learn_is_named(write_config, tmp_path):
    text = "name: sw\ndataset: {name: wine}\nmodel: {name: logistic}\nlambdas: [1]\n"
    config = write_config(text)
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["sweep", str(config), "-o", str(out),
                                 "--grid", "dataset.name=wine,diabetes"])  # fmt: skip
    assert (result.exit_code, result.stderr) == (
        2,
        f"{config}: point dataset.name=diabetes: model.name: 'logistic' is for classification, "
        "but dataset 'diabetes' is regression; use linear or mlp\n",
    )
    assert not out.exists()


def test_a_data_error_at_the_first_point_names_the_point(write_config, tmp_path):
    # a grid that replaces the data at every point has its first point's data checked first,
    # and that error named no point (a later point's did)
    rows = [f"{i},{'a' if i < 12 else 'b'}" for i in range(40)]  # n_train: the first rows
    (tmp_path / "d.csv").write_text("x,y\n" + "\n".join(rows) + "\n")
    (tmp_path / "t.csv").write_text("x,y\n1.5,a\n30.5,b\n")
    text = ("name: sw\ndataset: {name: csv, path: d.csv, test_path: t.csv, target: y}\n"
            "model: {name: logistic}\nlambdas: [1]\n")  # fmt: skip
    config = write_config(text)
    for order in ("12,40", "40,12"):
        result = runner.invoke(app, ["validate", str(config), "--grid", f"dataset.n_train={order}"])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"{config}: point dataset.n_train=12: dataset: the "
                                        "training split (seed 0) holds only class 'a'")  # fmt: skip


def test_a_model_axis_is_checked_against_the_task_before_any_run(write_config):
    # it trained the linear points, then failed mid-sweep in a line naming no point
    text = "name: sw\ndataset: {name: diabetes}\nmodel: {name: linear}\nlambdas: [1]\n"
    config = write_config(text)
    result = runner.invoke(app, ["validate", str(config), "--grid", "model.name=linear,logistic"])
    assert (result.exit_code, result.stderr) == (
        2,
        f"{config}: point model.name=logistic: model.name: 'logistic' is for classification, "
        "but dataset 'diabetes' is regression; use linear or mlp\n",
    )


# --------------------------------------------------------------------------- sweep


def test_each_point_equals_its_own_sweep(write_config, tmp_path):
    config = write_config(DEGREE)
    grid = _sweep(config, tmp_path / "grid.json")
    alone = _sweep(config, tmp_path / "alone.json", "--set", "grid={}", "--set",
                   "dataset.degree=4")  # fmt: skip
    at_4 = [r for r in grid["runs"] if r["point"] == {"dataset.degree": 4}]
    assert [r["test_loss"] for r in at_4] == [r["test_loss"] for r in alone["runs"]]
    assert all(r["fold"] == 0 for r in grid["runs"])
    assert [s["point"]["dataset.degree"] for s in grid["points"]] == [1, 4, 12]
    selection = next(s for s in grid["points"] if s["point"] == {"dataset.degree": 4})
    assert selection["best_lambda"] == alone["best_lambda"]
    assert grid["best_lambda"] is None  # several points: λ_min is per point
    assert len(grid["summary"]) == 12 and grid["summary"][4]["point"] == {"dataset.degree": 4}


def test_markdown_has_a_table_per_point_and_the_pivot(write_config, tmp_path):
    config = write_config(DEGREE)
    result = runner.invoke(app, ["sweep", str(config), "-o", str(tmp_path / "r.json"),
                                 "-q", "-f", "markdown"])  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout.count("at degree=") == 3
    assert "| λ | degree=1 | degree=4 | degree=12 |" in result.stdout
    pivot = result.stdout.split("mean test loss**")[1]
    assert pivot.count(" *") == 3  # one λ_min per column


def test_stacked_learning_rates_equal_separate_sweeps_bit_for_bit(write_config, tmp_path):
    config = write_config(LR)
    grid = _sweep(config, tmp_path / "grid.json")
    assert len(plan_units(load_config(config))) == 1  # one stack: 3 lr × 3 λ
    for lr in (1e-3, 1e-2, 3e-2):
        alone = _sweep(config, tmp_path / f"{lr}.json", "--set", "grid={}", "--set",
                       f"model.lr={lr}")  # fmt: skip
        stacked = [r for r in grid["runs"] if r["point"] == {"model.lr": lr}]
        for a, b in zip(stacked, alone["runs"], strict=True):
            assert a["curve"] == b["curve"] and a["weight_sq_norm"] == b["weight_sq_norm"]


def test_a_grid_run_in_another_order_is_the_same_grid(write_config, tmp_path):
    # "grid differs", exit 2, for the same points, data and numbers
    _sweep(write_config(DEGREE), tmp_path / "a.json")
    _sweep(write_config(DEGREE.replace("[1, 4, 12]", "[12, 1, 4]")), tmp_path / "b.json")
    result = runner.invoke(app, ["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                                 "-d", "either"])  # fmt: skip
    assert result.exit_code == 0, result.stdout
    assert "at all 12 (point, λ); λ_min, λ_1se" in result.stdout


def test_compare_of_grid_results_exits_0_1_and_2(write_config, tmp_path):
    document = _sweep(write_config(DEGREE), tmp_path / "a.json")
    worse, missing = json.loads(json.dumps(document)), json.loads(json.dumps(document))
    worse["summary"][5]["test_loss_mean"] *= 2
    missing["summary"] = [r for r in missing["summary"] if r["point"]["dataset.degree"] != 12]
    missing["runs"] = [r for r in missing["runs"] if r["point"]["dataset.degree"] != 12]
    missing["points"] = [p for p in missing["points"] if p["point"]["dataset.degree"] != 12]
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    (tmp_path / "missing.json").write_text(json.dumps(missing))
    a = str(tmp_path / "a.json")
    assert runner.invoke(app, ["compare", a, a]).exit_code == 0
    result = runner.invoke(app, ["compare", a, str(tmp_path / "worse.json")])
    assert result.exit_code == 1
    assert (
        "test_loss worse at 1 of 12 (point, λ): dataset.degree=4 λ=1e-06 (+100 %)" in result.stdout
    )
    result = runner.invoke(app, ["compare", a, str(tmp_path / "missing.json")])
    assert result.exit_code == 1  # a missing point is a difference: its rows are missing
    assert "row missing at 4 of 12 (point, λ) (dataset.degree=12 λ=0," in result.stdout
    missing["config"]["grid"]["dataset.degree"] = [1, 4]  # another grid: other experiments
    (tmp_path / "other.json").write_text(json.dumps(missing))
    result = runner.invoke(app, ["compare", a, str(tmp_path / "other.json")])
    assert result.exit_code == 2
    assert "grid differs" in result.stderr
    common = runner.invoke(app, ["compare", a, str(tmp_path / "other.json"), "--common"])
    assert common.exit_code == 0


def test_compare_either_checks_lambda_min_and_1se_at_every_point(write_config, tmp_path):
    # a grid's λ_min moved at one point and `--direction either` said "unchanged"
    document = _sweep(write_config(DEGREE), tmp_path / "a.json")
    moved = json.loads(json.dumps(document))
    entry = moved["points"][1]
    before = entry["best_lambda"]
    entry["best_lambda"] = next(r["lambda"] for r in moved["summary"] if r["lambda"] != before)
    (tmp_path / "moved.json").write_text(json.dumps(moved))
    a, b = str(tmp_path / "a.json"), str(tmp_path / "moved.json")
    assert runner.invoke(app, ["compare", a, b]).exit_code == 0  # `worse` reads the losses only
    result = runner.invoke(app, ["compare", a, b, "-d", "either", "-f", "json"])
    assert result.exit_code == 1
    label = f"λ_min at dataset.degree={entry['point']['dataset.degree']}"
    assert json.loads(result.stdout)["comparisons"][0]["selection_changed"] == [label]
    assert result.stderr.endswith(
        f"{label} moved from {format_lambda(before)} to {format_lambda(entry['best_lambda'])} "
        "(rtol 0.05)\n"
    )


@pytest.mark.slow
def test_kill_9_then_resume_of_a_grid_sweep_is_bit_identical(wait_for_runs, write_config, tmp_path):
    config = write_config(
        """\
        name: slowgrid
        dataset: {name: regression, n_samples: 1500, n_features: 150, noise: 5.0}
        model: {name: linear, solver: svd}
        lambdas: [0, 1e-2, 1]
        seeds: 12
        grid:
          dataset.n_train: [100, 150, 300]
        """
    )
    killed, whole = tmp_path / "killed.json", tmp_path / "whole.json"
    journal = tmp_path / "killed.journal.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "wdcli", "sweep", str(config), "--out", str(killed), "-q",
         "-e", "serial"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for_runs(journal, at_least=6)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(read_journal(journal).runs)
    assert 6 <= done < 108 and not killed.exists()
    assert all("point" in run and run["fold"] == 0 for run in read_journal(journal).runs)
    resumed = runner.invoke(app, ["sweep", str(config), "-o", str(killed), "--resume", "-q",
                                  "-e", "serial"])  # fmt: skip
    assert resumed.exit_code == 0, resumed.stderr
    _sweep(config, whole, "-e", "serial")
    a, b = json.loads(killed.read_text()), json.loads(whole.read_text())
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in a["runs"]]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in b["runs"]]
    assert a["summary"] == b["summary"] and a["points"] == b["points"]


# --------------------------------------------------------------------------- tune


def test_tune_keeps_the_candidate_with_the_lowest_validation_loss(write_config, tmp_path):
    config = write_config(LR.replace("grid:", "tune:"))
    document = _sweep(config, tmp_path / "t.json")
    for run in document["runs"]:
        trials = run["tune_trials"]
        best = min(trials, key=lambda t: t["val_loss"])
        assert run["tuned"] == best["values"] and run["val_loss"] == best["val_loss"]
        assert run["test_loss"] == best["test_loss"]
        assert [t["values"]["model.lr"] for t in trials] == [1e-3, 1e-2, 3e-2]
    show = runner.invoke(app, ["show", str(tmp_path / "t.json")])
    assert "tuned" in show.stdout and "lr=" in show.stdout


def test_tune_prefers_a_candidate_that_trained():
    from wdcli.sweep.stacking import choose_candidate

    def trials(*pairs):
        return [{"status": status, "val_loss": loss} for status, loss in pairs]

    # a not_converged candidate with the lowest validation loss beat an ok one
    assert choose_candidate(trials(("not_converged", 1.0), ("ok", 2.0), ("ok", 3.0))) == 1
    assert choose_candidate(trials(("diverged", 0.5), ("no_fit", 4.0), ("not_converged", 3.0))) == 2
    assert choose_candidate(trials(("ok", 2.0), ("ok", 2.0))) == 0  # first on ties
    assert choose_candidate(trials(("diverged", None), ("diverged", None))) == 0


def test_tune_records_each_candidates_status_and_shows_no_choice_where_none_trained(
    write_config, tmp_path
):
    config = write_config(LR.replace("grid:", "tune:").replace("3e-2]", "3e-2, 30]"))
    document = _sweep(config, tmp_path / "t.json")
    for run in document["runs"]:
        statuses = {t["values"]["model.lr"]: t["status"] for t in run["tune_trials"]}
        assert statuses[30] == "diverged" and run["tuned"] != {"model.lr": 30}
        assert set(statuses.values()) <= {"ok", "not_converged", "no_fit", "diverged"}
    config = write_config(LR.replace("grid:", "tune:").replace("[1e-3, 1e-2, 3e-2]", "[30, 300]"))
    document = _sweep(config, tmp_path / "all.json")
    assert {run["status"] for run in document["runs"]} == {"diverged"}
    show = runner.invoke(app, ["show", str(tmp_path / "all.json"), "-f", "markdown"])
    rows = [[c.strip() for c in line.split("|")] for line in show.stdout.splitlines()
            if line.startswith("|")]  # fmt: skip
    column = rows[0].index("tuned")
    assert [row[column] for row in rows[2:]] == ["–", "–", "–"]  # lr=30 was shown


def test_tune_never_chooses_on_the_test_split(write_config, tmp_path):
    """The same training and validation rows with another test split choose the same."""
    config = write_config(LR.replace("grid:", "tune:").replace("n_samples: 120", "n_samples: 160"))
    a = _sweep(config, tmp_path / "a.json")
    b = _sweep(config, tmp_path / "b.json", "--set", "dataset.n_samples=120")
    assert [r["tuned"] for r in a["runs"]] != [] and all(
        isinstance(r["val_loss"], float) for r in a["runs"]
    )
    assert [r["tuned"] for r in a["runs"]] == [r["tuned"] for r in b["runs"]] or all(
        r["val_loss"] != s["val_loss"] for r, s in zip(a["runs"], b["runs"], strict=True)
    )


def test_tune_works_for_ridge_through_a_second_fit(write_config, tmp_path):
    config = write_config(DEGREE + "tune:\n  model.solver: [svd, eigh]\n")
    document = _sweep(config, tmp_path / "t.json")
    for run in document["runs"]:
        trials = run["tune_trials"]
        assert [t["values"]["model.solver"] for t in trials] == ["svd", "eigh"]
        best = min(trials, key=lambda t: t["val_loss"])
        assert run["tuned"] == best["values"] and run["val_loss"] == best["val_loss"]


# --------------------------------------------------------------------------- schedules, decay


def _opts(**kw):
    from wdcli.config import MLPModel

    return MLPModel(name="mlp", **kw)


def test_lr_multipliers():
    cosine = _opts(schedule="cosine", epochs=10, warmup_epochs=2)
    assert lr_multiplier(cosine, 0, 5) == pytest.approx(0.1)
    assert lr_multiplier(cosine, 9, 5) == 1.0
    assert lr_multiplier(cosine, 10, 5) == 1.0
    assert lr_multiplier(cosine, 30, 5) == pytest.approx(0.5)
    assert lr_multiplier(cosine, 50, 5) == pytest.approx(0.0)
    step = _opts(schedule="step", step_epochs=3, step_gamma=0.5)
    assert [lr_multiplier(step, s, 2) for s in (0, 5, 6, 12)] == [1.0, 1.0, 0.5, 0.25]
    assert lr_multiplier(_opts(), 123, 4) == 1.0


def test_warmup_longer_than_training_is_refused(write_config):
    config = write_config(LR)
    result = runner.invoke(app, ["validate", str(config), "--set", "model.schedule=cosine",
                                 "--set", "model.warmup_epochs=4"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("model: warmup_epochs (4) must be < epochs (4)")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [(["model.step_epochs=4"], "model: step_epochs (4) must be < epochs (4): the learning rate "
      "would never drop"),
     (["model.step_epochs=1", "model.step_gamma=1"], "model.step_gamma: 1 drops nothing, so "
      "schedule: step would train as constant; set step_gamma < 1 or schedule: constant")],
)  # fmt: skip
def test_a_step_schedule_that_never_drops_is_refused(write_config, overrides, message):
    # it trained as constant, bit for bit, and the results file said schedule: step
    config = write_config(LR)
    sets = [part for o in ["model.schedule=step", *overrides] for part in ("--set", o)]
    result = runner.invoke(app, ["validate", str(config), *sets])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(message)
    ok = runner.invoke(app, ["validate", str(config), *sets[:-2], "--set", "model.step_epochs=3"])
    assert ok.exit_code == (2 if "step_gamma=1" in overrides else 0), ok.stderr


def _fit(lambdas=(0.0, 0.05), **kw):
    from wdcli.models.mlp import fit_mlp
    from wdcli.sweep import dataset_for

    config = load_config_text(LR)
    options = config.model.model_copy(update=kw)
    return fit_mlp(dataset_for(config, 0), np.array(lambdas), 0, options)


def load_config_text(text):
    from wdcli.config import parse_yaml, validate

    return validate(parse_yaml(text, "<t>"), "<t>")


def test_paper_decay_at_lr_times_lambda_is_torch_decay_at_lambda():
    kw = dict(optimizer="adam", regularization="decoupled", lr=0.01)
    torch = _fit(lambdas=(0.0, 0.5), decay_convention="torch", **kw)
    paper = _fit(lambdas=(0.0, 0.005), decay_convention="paper", **kw)
    assert np.allclose(torch.curves["train_loss"], paper.curves["train_loss"], rtol=1e-9)
    torch = _fit(decay_convention="torch", **kw)
    paper = _fit(decay_convention="paper", **kw)
    assert torch.train_loss[0] == paper.train_loss[0]  # λ = 0: no decay either way
    assert paper.weight_sq_norm[1] < torch.weight_sq_norm[1]  # 2λ per step, not lr·2λ


def test_a_constant_schedule_and_a_step_schedule_that_never_steps_agree():
    constant = _fit(optimizer="adam", lr=0.01)
    step = _fit(optimizer="adam", lr=0.01, schedule="step", step_epochs=100)
    assert np.allclose(constant.curves["test_loss"], step.curves["test_loss"], rtol=1e-12)
    cosine = _fit(optimizer="adam", lr=0.01, schedule="cosine")
    assert not np.allclose(constant.curves["test_loss"], cosine.curves["test_loss"])


def test_decoupled_sweeps_say_so_in_caption_file_and_plot(write_config, tmp_path):
    config = write_config(LR.replace("decoupled", "decoupled, decay_convention: paper"))
    document = _sweep(config, tmp_path / "d.json", "--set", "grid={}")
    assert document["convention"].startswith("decoupled decay w ← w − η_t·2λ·w after each step")
    shown = runner.invoke(app, ["show", str(tmp_path / "d.json"), "-f", "markdown"])
    assert "_decoupled decay w ← w − η_t·2λ·w" in shown.stdout and "J = " not in shown.stdout
    from wdcli.report.plots import validation_figure

    figure = validation_figure(load_results(tmp_path / "d.json"))
    assert figure.axes[-1].get_xlabel() == "λ (decoupled decay, w ← w − η_t·2λ·w, log scale)"


# --------------------------------------------------------------------------- plots


def test_a_panel_where_nothing_trained_is_drawn_and_says_so(write_config, tmp_path):
    # sgd at lr 1e4 diverges at every λ: its panel has nothing to draw on a log axis
    config = write_config(
        LR.replace("1e-3, 1e-2, 3e-2", "3e-2, 1e4")
        .replace("batch_size: 16", "optimizer: sgd")
        .replace("epochs: 4", "epochs: 60")
        + "  model.regularization: [l2, decoupled]\n"
    )
    _sweep(config, tmp_path / "g.json")
    out = tmp_path / "g.png"
    result = runner.invoke(app, ["plot", str(tmp_path / "g.json"), "-o", str(out), "-k",
                                 "lambda-curves", "--axis", "model.regularization"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    from wdcli.report import gridplots

    figure = gridplots.figure(load_results(tmp_path / "g.json"), "lambda-curves",
                              axis="model.regularization")  # fmt: skip
    texts = [[t.get_text() for t in ax.texts] for ax in figure.axes]
    assert texts == [[], ["no λ trained on every seed here\n(see each run's status)"]]
    assert [ax.get_yscale() for ax in figure.axes] == ["log", "linear"]
    diverged = write_config(LR.replace("1e-3, 1e-2, 3e-2", "1e3, 1e4")
                            .replace("batch_size: 16", "optimizer: sgd"), "d.yaml")  # fmt: skip
    _sweep(diverged, tmp_path / "d.json")
    result = runner.invoke(app, ["plot", str(tmp_path / "d.json"), "-o", str(out), "-k",
                                 "heatmap"])  # fmt: skip
    assert (result.exit_code, result.stderr) == (
        2,
        f"{tmp_path / 'd.json'}: no λ trained on every seed at any point: no heatmap to draw "
        "(see each run's status)\n",
    )


def test_per_epoch_curves_of_a_grid_are_drawn_per_point_never_averaged_over_points(
    write_config, tmp_path
):
    from wdcli.report.plots import curves_figure

    document = _sweep(write_config(LR), tmp_path / "g.json")
    figure = curves_figure(load_results(tmp_path / "g.json"))
    assert [ax.get_title() for ax in figure.axes] == [
        "lr (lr=0.001)", "lr (lr=0.01)", "lr (lr=0.03)"]  # fmt: skip
    for ax, lr in zip(figure.axes, (1e-3, 1e-2, 3e-2), strict=True):
        run = next(r for r in document["runs"]
                   if r["point"] == {"model.lr": lr} and r["lambda"] == 0)  # fmt: skip
        test = next(line for line in ax.get_lines() if line.get_gid() == "curve-test-0")
        np.testing.assert_allclose(test.get_ydata(), run["curve"]["test_loss"], rtol=1e-12)


def test_a_grid_overlaid_with_another_sweep_is_one_series_per_point_and_its_legend_fits(
    write_config, tmp_path
):
    from wdcli.report.plots import validation_figure

    _sweep(write_config(LR), tmp_path / "g.json")
    _sweep(write_config(LR.split("grid:")[0], "plain.yaml"), tmp_path / "p.json")
    out = tmp_path / "both.png"
    result = runner.invoke(app, ["plot", str(tmp_path / "g.json"), str(tmp_path / "p.json"),
                                 "-o", str(out)])  # fmt: skip
    assert (result.exit_code, result.stderr) == (0, f"wrote {out}\n")
    assert out.stat().st_size > 0
    figure = validation_figure([load_results(tmp_path / p) for p in ("g.json", "p.json")])
    figure.canvas.draw()
    (legend,) = figure.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[:2] == ["lr (lr=0.001): train", "lr (lr=0.001): test"]
    assert "lr: train" in labels
    box, page = legend.get_window_extent(), figure.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1


def test_many_lambda_curves_get_their_own_colours_and_a_legend_beside_the_panel(write_config,
                                                                               tmp_path):  # fmt: skip
    from wdcli.report import gridplots

    few, many = "[0, 1e-3, 1e-1]", "{start: 1e-5, stop: 1, num: 11, include_zero: true}"
    for lambdas, beside in ((few, False), (many, True)):
        config = write_config(LR.replace("[0, 1e-3, 1e-1]", lambdas), f"{beside}.yaml")
        _sweep(config, tmp_path / f"{beside}.json")
        figure = gridplots.figure(load_results(tmp_path / f"{beside}.json"), "lambda-curves",
                                  axis="model.lr")  # fmt: skip
        figure.canvas.draw()  # a Figure made directly gets an Agg canvas
        (ax,) = figure.axes
        curves = [line for line in ax.get_lines() if str(line.get_gid()).startswith("λ")]
        assert len(curves) == (3 if not beside else 12)
        assert len({line.get_color() if isinstance(line.get_color(), str)
                    else tuple(line.get_color()) for line in curves}) == len(curves)  # fmt: skip
        legend, panel = ax.get_legend().get_window_extent(), ax.get_window_extent()
        assert bool(legend.x0 >= panel.x1) == beside


def test_eleven_grid_values_get_eleven_colours(write_config, tmp_path):
    from wdcli.report import gridplots

    noises = ", ".join(f"{0.1 * (i + 1):.1f}" for i in range(11))
    config = write_config("name: n\ndataset: {name: poly, n_samples: 30}\nmodel: {name: linear}\n"
                          f"lambdas: [0.01, 1]\ngrid:\n  dataset.noise: [{noises}]\n")  # fmt: skip
    _sweep(config, tmp_path / "n.json")
    figure = gridplots.figure(load_results(tmp_path / "n.json"), "curves", axis="dataset.noise")
    curves = [
        line for line in figure.axes[0].get_lines() if str(line.get_gid()).startswith("noise=")
    ]
    assert len(curves) == 11
    assert len({str(line.get_color()) for line in curves}) == 11


def test_heatmap_marks_each_columns_best_and_isolation_is_the_tune_default(write_config, tmp_path):
    from wdcli.report import gridplots

    config = write_config(
        LR.replace("epochs: 4", "epochs: 60") + "  model.regularization: [l2, decoupled]\n"
    )
    document = _sweep(config, tmp_path / "g.json")
    figure = gridplots.figure(
        load_results(tmp_path / "g.json"), axis="model.lr"
    )  # heatmaps, one per regularisation
    assert len(figure.axes) == 3  # two panels and the colour bar
    stars = [line for ax in figure.axes[:2] for line in ax.lines if line.get_gid().startswith("b")]
    assert len(stars) == sum(s["best_lambda"] is not None for s in document["points"]) >= 5
    assert figure.axes[0].get_ylabel().startswith("λ (L2 penalty")
    assert figure.axes[1].get_ylabel().startswith("λ (decoupled decay")
    _sweep(write_config(LR.replace("grid:", "tune:"), "t.yaml"), tmp_path / "t.json")
    isolation = gridplots.figure(load_results(tmp_path / "t.json"))
    gids = [line.get_gid() for line in isolation.axes[0].lines]
    assert "tuned" in gids and "fixed lr=0.001" in gids
    out = tmp_path / "x.png"
    result = runner.invoke(app, ["plot", str(tmp_path / "t.json"), "-o", str(out), "-k",
                                 "heatmap"])  # fmt: skip
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.strip().endswith("--kind heatmap needs a grid with two or more points")
    result = runner.invoke(
        app, ["plot", str(tmp_path / "t.json"), "-o", str(out), "--axis", "model.lr"]
    )  # fmt: skip  (it was ignored, exit 0)
    assert (result.exit_code, result.stderr) == (2, "--axis model.lr: the isolation plot has one "
        "panel per grid point and no axis to choose; --kind curves, heatmap or lambda-curves "
        "take --axis\n")  # fmt: skip
    assert math.isfinite(document["runs"][0]["test_loss"])


def test_isolation_lines_under_cross_validation_average_the_folds_as_the_tuned_line(
    write_config, tmp_path
):
    """Fold 0 is scored on the test split, folds 1…k give the cv loss: each fixed value's line
    must average the same runs (healthy, folds 1…k) as the tuned line, the summary's cv loss."""
    from wdcli.report import gridplots

    config = write_config(
        LR.replace("grid:", "tune:")
        .replace("seeds: 1", "seeds: 2")
        .replace("epochs: 4", "epochs: 30")
    )
    out = tmp_path / "t.json"
    document = _sweep(config, out, "--set", "validation={kind: kfold, folds: 3}")
    lambdas = sorted({row["lambda"] for row in document["summary"]})
    runs = [run for run in document["runs"] if run["status"] == "ok"]
    assert {run["fold"] for run in runs} == {0, 1, 2, 3}

    def means(folds):
        found = {}
        for k, lam in enumerate(lambdas):
            for run in (r for r in runs if r["lambda"] == lam and r["fold"] in folds):
                for trial in run["tune_trials"]:  # those that trained, as the summary's
                    label = f"fixed lr={trial['values']['model.lr']:g}"
                    losses = found.setdefault(label, [[] for _ in lambdas])[k]
                    losses += [trial["test_loss"] if trial["status"] == "ok" else np.nan]
        return {label: [np.mean(v) if v else np.nan for v in values]  # NaN if one failed
                for label, values in found.items()}  # fmt: skip

    cv, every_fold = means({1, 2, 3}), means({0, 1, 2, 3})
    figure = gridplots.figure(load_results(out))
    lines = {line.get_gid(): list(line.get_ydata()) for line in figure.axes[0].lines}
    assert len(cv) == 3 and len(runs) == len(document["runs"])  # every run trained
    for label, expected in cv.items():
        assert lines[label] == pytest.approx(expected, rel=1e-12, nan_ok=True)
        if not np.isnan(expected).all():  # a value that never trained has no line to compare
            assert lines[label] != pytest.approx(every_fold[label], rel=1e-6, nan_ok=True)
    assert sum(not np.isnan(v).all() for v in cv.values()) >= 2
    summary = [row["test_loss_mean"] for row in document["summary"]]
    assert lines["tuned"] == pytest.approx(summary, rel=1e-12)
    assert "cv loss" in figure.get_suptitle() and "test loss" not in figure.get_suptitle()
    assert figure.axes[0].get_ylabel() == "mean cv loss (log scale)"
    # one trial of a value that trained elsewhere fails at one λ: that λ leaves its line (its
    # mean over the trials that trained drew a failing lr 8 % better than its runs were)
    label, k = next((label, k) for label, v in cv.items() for k in range(len(v))
                    if np.isfinite(v[k]))  # fmt: skip
    edited = json.loads(out.read_text())
    trial = next(t for r in edited["runs"] if r["lambda"] == lambdas[k] and r["fold"] == 2
                 for t in r["tune_trials"] if f"fixed lr={t['values']['model.lr']:g}" == label)  # fmt: skip
    trial["status"] = "not_converged"
    out.write_text(json.dumps(edited))
    lines = {line.get_gid(): list(line.get_ydata()) for line in
             gridplots.figure(load_results(out)).axes[0].lines}  # fmt: skip
    assert np.isnan(lines[label][k])
    assert [v for i, v in enumerate(lines[label]) if i != k] == pytest.approx(
        [v for i, v in enumerate(cv[label]) if i != k], rel=1e-12, nan_ok=True
    )


def test_lambda_zero_on_an_ill_conditioned_point_is_announced_with_its_point(write_config):
    result = runner.invoke(app, ["validate", str(write_config(DEGREE))])
    assert result.exit_code == 0
    notes = result.stderr.splitlines()
    assert len(notes) == 1  # degrees 1 and 4 are well conditioned
    assert notes[0].startswith("note: point dataset.degree=12: λ = 0: the training features ")


def test_a_point_whose_data_cannot_be_built_fails_before_any_run(write_config, tmp_path):
    config = write_config(DEGREE)
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["sweep", str(config), "-o", str(out),
                                 "--grid", "dataset.n_train=20,100"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr == (
        f"{config}: point dataset.degree=1, dataset.n_train=100: dataset.n_train: must be < the "
        "number of samples (80), got 100\n"
    )
    assert not out.exists() and not (tmp_path / "r.journal.jsonl").exists()


def test_the_terminal_chart_draws_one_curve_per_point(write_config, tmp_path):
    from wdcli.report.termchart import grid_chart

    document = _sweep(write_config(DEGREE), tmp_path / "r.json")
    text = grid_chart(load_results(tmp_path / "r.json"), width=90, color=False).plain
    lines = text.splitlines()
    assert lines[0].startswith("  mean test loss: 1 degree=1   2 degree=4   3 degree=12")
    for digit in "123":
        assert sum(line.count(digit) for line in lines[1:-2]) >= 1  # markers (may overlap)
    many = json.loads(json.dumps(document))
    moved = {}
    for i, row in enumerate(many["summary"]):
        moved[json.dumps(row["point"]), row["lambda"]] = {"x": i}
        row["point"] = {"x": i}
    for run in many["runs"]:  # each run to its row's new point
        run["point"] = moved[json.dumps(run["point"]), run["lambda"]]
    assert grid_chart(check_document(many, "many")).plain.startswith("(12 points: too many curves")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("dataset.degree=3", "--set dataset.degree: dataset.degree is an axis of grid:, whose "
         "values set it at every point, so this would change nothing; change the axis instead "
         "(--grid dataset.degree=…)"),
        ("grid.dataset.degree=[1, 2]", "--set grid.dataset.degree: the axes of grid: are dotted "
         "keys, not nested ones; use --grid dataset.degree=v1,v2 (or --set "
         "'grid={dataset.degree: [v1, v2]}')"),
    ],
)  # fmt: skip
def test_a_set_that_a_grid_axis_would_override_is_refused(write_config, option, message):
    # `--set` of an axis key validated and then did nothing: the axis' values won
    result = runner.invoke(app, ["validate", str(write_config(DEGREE)), "--set", option])
    assert (result.exit_code, result.stderr) == (2, message + "\n")


@pytest.mark.parametrize(
    ("chosen", "cell"),
    [
        ([0.01, 0.01], "lr=0.01"),
        ([0.01, 0.01, 0.1], "lr=0.01 (2/3)"),
        ([0.1, 0.01], "lr=0.01 or lr=0.1 (1/2 each)"),  # a tie was shown as lr=0.1 (1/2)
    ],
)
def test_the_tuned_cell_names_the_most_chosen_values_and_ties(chosen, cell):
    from conftest import results_of

    from wdcli.report.table import csv_text, tuned_cell

    runs = [
        {"point": {}, "lambda": 0.1, "seed": seed, "status": "ok", "train_loss": 1.0,
         "test_loss": 1.0, "tuned": {"model.lr": lr}}
        for seed, lr in enumerate(chosen)
    ]  # fmt: skip
    document = results_of({"summary": [{"lambda": 0.1, "test_loss_mean": 1.0}], "runs": runs})
    assert tuned_cell(document, document.summary[0]) == cell
    header, row = csv_text(document).splitlines()
    assert header.endswith(",tuned,mark") and row.endswith(f",{cell},")  # csv had no column


def test_a_point_of_another_dataset_keeps_every_key_the_config_writes(write_config, tmp_path):
    # noise: 0.3 is poly's default: friedman1's point dropped it for friedman1's own, 1.0
    config = write_config(
        "name: g\ndataset: {name: poly, n_samples: 60, n_train: 30, noise: 0.3}\n"
        "model: {name: linear}\nlambdas: [0, 0.1]\nseeds: 2\n"
    )
    grid = _sweep(config, tmp_path / "g.json", "--grid", "dataset.name=poly,friedman1")
    alone = _sweep(config, tmp_path / "f.json", "--set", "dataset.name=friedman1")
    point = [r for r in grid["runs"] if r["point"] == {"dataset.name": "friedman1"}]
    assert [r["test_loss"] for r in point] == [r["test_loss"] for r in alone["runs"]]
    assert len(point) == 4


def test_csv_paths_of_the_files_own_axes_are_read_beside_it(tmp_path, monkeypatch):
    # they were read from the current folder: another a.csv there was swept without a word
    (tmp_path / "sub").mkdir()
    for folder, scale in ((tmp_path, 1), (tmp_path / "sub", 30)):
        for name in ("a.csv", "b.csv"):
            rows = "".join(f"{i},{(i * 7) % 11},{scale * ((i * 3) % 5)}\n" for i in range(40))
            (folder / name).write_text("x,z,y\n" + rows)
    config = tmp_path / "sub" / "g.yaml"
    config.write_text(
        "name: g\ndataset: {name: csv, path: a.csv, target: y}\nmodel: {name: linear}\n"
        "lambdas: [0.1]\ngrid: {dataset.path: [a.csv, b.csv]}\n"
    )
    monkeypatch.chdir(tmp_path)
    here = _sweep(config, tmp_path / "here.json")
    monkeypatch.chdir(tmp_path / "sub")
    there = _sweep(config, tmp_path / "there.json")
    assert here["data_fingerprint"] == there["data_fingerprint"]
    assert here["runs"][0]["baseline_loss"] > 100  # sub's a.csv, its y 30 × larger
    # the points keep the paths as written: compared, the two sweeps are one (they were
    # refused as other grids, "sub/a.csv" against "a.csv")
    assert {run["point"]["dataset.path"] for run in here["runs"]} == {"a.csv", "b.csv"}
    args = ["compare", str(tmp_path / "here.json"), str(tmp_path / "there.json")]
    assert runner.invoke(app, [*args, "--direction", "either", "--rtol", "0"]).exit_code == 0


def test_a_tune_in_k_fold_counts_the_rows_a_fold_trains_on(write_config):
    # 20 training rows passed; each fold trains on 15, and tune held out 4 of those
    config = write_config(
        "name: t\ndataset: {name: friedman1, n_samples: 200, n_train: 20}\nmodel: {name: mlp, "
        "hidden: [4], epochs: 2}\nlambdas: [0.1]\ntune: {model.lr: [0.01, 0.1]}\n"
        "validation: {kind: kfold, folds: 4}\n"
    )
    result = runner.invoke(app, ["validate", str(config)])
    assert (result.exit_code, result.stderr) == (2, (
        f"{config}: tune_holdout: 0.25 of the 15 training rows of a fold holds out 4 and trains "
        "on 11; each needs at least 5 (the default tune_holdout is 0.25)\n"))  # fmt: skip


def test_a_config_named_like_a_field_is_named_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Path("tune.yaml")  # "tune.yaml: …" read as a field's message: named twice
    config.write_text(
        "name: t\ndataset: {name: friedman1, n_samples: 200, n_train: 12}\nmodel: {name: mlp, "
        "hidden: [4], epochs: 2}\nlambdas: [0.1]\ntune: {model.lr: [0.01, 0.1]}\n"
    )
    result = runner.invoke(app, ["validate", str(config), "--grid", "dataset.n_train=12,100"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{config}: point dataset.n_train=12: tune_holdout: ")


def _csv_grid(folder: Path, own: str) -> Path:
    """A linear config on `own` with a grid over two CSVs beside it, a.csv and b.csv."""
    for name in ("a.csv", "b.csv"):
        rows = "".join(f"{i},{(i * 7) % 11},{(i * 3) % 5 + 0.5}\n" for i in range(40))
        (folder / name).write_text("x,z,y\n" + rows)
    path = folder / "g.yaml"
    path.write_text(
        f"name: g\ndataset: {{name: csv, path: {own}, target: y}}\nmodel: {{name: linear}}\n"
        "lambdas: [0.1]\ngrid: {dataset.path: [a.csv, b.csv]}\n"
    )
    return path


def test_a_data_file_of_a_grid_point_is_part_of_the_data_a_resume_checks(tmp_path):
    # only the config's own dataset was fingerprinted: after b.csv was edited, a resume mixed
    # its old runs with runs of the new data, exit 0
    from wdcli.sweep import prepare

    path = _csv_grid(tmp_path, "a.csv")
    before = prepare(load_config(path)).data.combined
    (tmp_path / "b.csv").write_text((tmp_path / "b.csv").read_text().replace("\n3,", "\n30,"))
    after = prepare(load_config(path)).data.combined
    assert before != after


def test_a_grid_point_whose_test_split_holds_an_unseen_class_is_refused_up_front(write_config):
    # validate said ok; the sweep stopped partway, naming neither the file nor the point
    config = write_config(
        "name: i\ndataset: {name: iris, n_train: 100}\nmodel: {name: logistic}\n"
        "lambdas: [0.01]\nseeds: 2\n"
    )
    result = runner.invoke(app, ["validate", str(config), "--grid", "dataset.n_train=3,100"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{config}: point dataset.n_train=3: dataset: class")


def test_lambda_curves_join_the_points_in_the_order_of_their_axis(write_config, tmp_path):
    # joined as written (lr=0.03,0.001,0.01), every curve doubled back: false peaks
    from wdcli.report import gridplots

    config = write_config(LR.replace("[1e-3, 1e-2, 3e-2]", "[3e-2, 1e-3, 1e-2]"))
    _sweep(config, tmp_path / "g.json")
    figure = gridplots.figure(load_results(tmp_path / "g.json"), "lambda-curves", axis="model.lr")
    for line in figure.axes[0].get_lines():
        assert list(line.get_xdata()) == [1e-3, 1e-2, 3e-2]


def test_grid_values_written_as_whole_numbers_or_floats_compare_as_one(write_config, tmp_path):
    # --grid dataset.noise=1,20 against noise: [1.0, 20.0]: "grid differs", exit 2, and with
    # --common "no λ in common", though the runs were bit-identical
    config = write_config(
        "name: g\ndataset: {name: poly, n_samples: 60}\nmodel: {name: linear}\n"
        "lambdas: [0.01, 1]\nseeds: 2\ngrid: {dataset.noise: [1.0, 20.0]}\n"
    )
    _sweep(config, tmp_path / "f.json")
    _sweep(config, tmp_path / "i.json", "--grid", "dataset.noise=1,20")
    result = runner.invoke(app, ["compare", str(tmp_path / "f.json"), str(tmp_path / "i.json"),
                                 "--direction", "either", "--rtol", "0"])  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr


def test_a_config_path_that_every_grid_point_replaces_need_not_exist(tmp_path):
    # it was read all the same: "missing.csv: no such file", naming neither config nor field
    path = _csv_grid(tmp_path, "missing.csv")
    document = _sweep(path, tmp_path / "g.json")
    points = {run["point"]["dataset.path"] for run in document["runs"]}
    assert points == {"a.csv", "b.csv"}  # as written: read beside g.yaml


def test_a_lambda_where_not_every_run_trained_is_no_point_of_the_grid_figures_or_pivot(
    write_config, tmp_path
):
    # its mean over the seeds that trained was drawn as an ordinary cell (a heatmap's best)
    # and printed unmarked in the pivot, where docs/grids.md promises it left out
    from wdcli.report import gridplots
    from wdcli.report.table import pivot

    document = _sweep(write_config(DEGREE), tmp_path / "g.json")
    broken = {"dataset.degree": 4}
    for run in document["runs"]:
        if run["point"] == broken and run["lambda"] == 1e-3 and run["seed"] == 1:
            run.update(status="diverged", train_loss=None, test_loss=None)
    for row in document["summary"]:
        if row["point"] == broken and row["lambda"] == 1e-3:
            row.update(n_diverged=1, regime=None)
    results = check_document(document, "g.json")
    headers, body = pivot(results)
    column = headers.index("degree=4")
    assert [cells[column] for cells in body][2] == "–"
    assert all(cells[column] != "–" for i, cells in enumerate(body) if i != 2)
    heatmap = gridplots.figure(results, kind="heatmap", axis="dataset.degree")
    cells = heatmap.axes[0].images[0].get_array()
    assert cells.mask.tolist()[2] == [False, True, False]  # λ = 1e-3 × degree 4
    # ... and marked: a blank cell said nothing (a point of lr = 3 whose runs all diverged)
    assert [t.get_gid() for t in heatmap.axes[0].texts] == ["untrained-1-2"]
    assert "; × not every run trained" in " ".join(heatmap.get_suptitle().split())
    curves = gridplots.figure(results, kind="curves", axis="dataset.degree")
    (line,) = [ln for ln in curves.axes[0].lines if ln.get_gid() == "degree=4"]
    assert np.isnan(line.get_ydata()).tolist() == [False, False, True, False]
    # the best λ per point skips it, even as a point's first λ (min() kept a leading NaN)
    for row in document["summary"]:
        if row["point"] == broken and row["lambda"] == 0:
            row.update(n_diverged=1, regime=None)
    results = check_document(document, "g.json")
    lines = gridplots.figure(results, kind="lambda-curves", axis="dataset.degree").axes[0].lines
    (best,) = [ln for ln in lines if ln.get_gid() == "best"]
    four = [r["test_loss_mean"] for r in document["summary"]
            if r["point"] == broken and r["lambda"] in (1e-6, 1e-1)]  # fmt: skip
    assert best.get_ydata()[1] == min(four)


def test_a_bracketed_list_given_to_grid_says_how_to_write_its_values(write_config):
    # "one value makes one point" did not say that the brackets made the list one value
    config = write_config(DEGREE)
    result = runner.invoke(app, ["validate", str(config), "--set", "grid={}",
                                 "--grid", "dataset.noise=[0.1,0.3]"])  # fmt: skip
    assert (result.exit_code, result.stderr) == (2, (
        f"{config}: grid: dataset.noise: one value, the list [0.1, 0.3], makes one point, not a "
        "grid; for a point per item, separate them by commas: --grid dataset.noise=0.1,0.3 (a "
        "list value keeps its brackets: model.hidden=[16],[32,32])\n"
    ))  # fmt: skip
    # a list-valued option's items keep their brackets (hidden=8,16 is refused)
    mlp = write_config(LR, "lr.yaml")
    result = runner.invoke(app, ["validate", str(mlp), "--set", "grid={}",
                                 "--grid", "model.hidden=[8,16]"])  # fmt: skip
    assert "separate them by commas: --grid model.hidden=[8],[16] (" in result.stderr
    # items that are lists already keep theirs, and the suggestion then validates
    result = runner.invoke(app, ["validate", str(mlp), "--set", "grid={}",
                                 "--grid", "model.hidden=[[8],[16,4]]"])  # fmt: skip
    assert "separate them by commas: --grid model.hidden=[8],[16,4] (" in result.stderr
    result = runner.invoke(app, ["validate", str(mlp), "--set", "grid={}",
                                 "--grid", "model.hidden=[8],[16,4]"])  # fmt: skip
    assert result.exit_code == 0, result.stderr


def test_tune_holds_out_each_class_in_proportion_and_keeps_a_row_of_each_to_train_on():
    # a random cut of 30 rows (14 a, 14 b, 2 c) took both c rows for seed 14: the runs trained
    # without c, `ok`, with test losses 9× the other seed's
    from wdcli.data import Dataset
    from wdcli.sweep.stacking import carve

    y = np.array([0] * 14 + [1] * 14 + [2] * 2)
    X = np.random.default_rng(0).normal(size=(30, 3))
    data = Dataset(X, y, X[:6], y[:6], "classification", ["a", "b", "c"])
    for seed in range(40):
        tuned = carve(data, 0.25, seed)
        assert set(tuned.y_train) == {0, 1, 2}
        assert np.bincount(tuned.y_val, minlength=3).tolist() == [4, 4, 1]


def test_tune_keeps_unscaled_inputs_unscaled():
    # modular's one-hot codes stay 0/1 (STANDARDISE False); the carve standardised them
    from wdcli.data import Dataset
    from wdcli.sweep.stacking import carve

    X = np.eye(8)[np.random.default_rng(1).integers(0, 8, size=40)]
    data = Dataset(X, np.arange(40) % 3, X[:5], np.arange(5) % 3, "classification", list("abc"))
    tuned = carve(data, 0.25, 0, rescale=False)
    assert set(np.unique(tuned.X_train)) <= {0.0, 1.0}
    assert set(np.unique(tuned.X_val)) <= {0.0, 1.0} and set(np.unique(tuned.X_test)) <= {0.0, 1.0}
    assert not set(np.unique(carve(data, 0.25, 0).X_train)) <= {0.0, 1.0}  # others are scaled
