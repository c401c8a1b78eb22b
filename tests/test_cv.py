"""Cross-validation, leave-one-out, the paired standard error and target scaling, each
against scikit-learn or an independent computation."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import RepeatedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from wdcli.config import load_config, validate
from wdcli.data.build import build_split
from wdcli.data.folds import fold_numbers
from wdcli.errors import ConfigError
from wdcli.metrics.selection import (
    NO_DIFFERENCE,
    constant_best_note,
    grid_notes,
    identical_seeds_note,
    untrained_better_note,
    untrained_neighbour_note,
    worse_than_constant_note,
)
from wdcli.metrics.summary import summarise
from wdcli.store.results import now
from wdcli.sweep import dataset_for, finish, plan_units, run_unit, split_done

LAMBDAS = [float(v) for v in np.logspace(-4, 1, 11)]


def _config(**extra):
    data = {
        "name": "cv",
        "dataset": {"name": "diabetes", "seed": 0, "n_train": 330},
        "model": {"name": "linear"},
        "lambdas": LAMBDAS,
        **extra,
    }
    return validate(data, "<test>")


def _document(config) -> dict:
    runs = [run for unit in plan_units(config) for run in run_unit(config, unit)]
    return finish(config, runs, now(), "serial")


@pytest.mark.slow
def test_kfold_ridge_equals_cross_val_score_over_the_same_folds():
    config = _config(validation={"kind": "kfold", "folds": 10})
    document = _document(config)
    split = build_split(config.dataset, 0)
    folds = RepeatedKFold(n_splits=10, n_repeats=1, random_state=0)  # the run's seed
    n_fold_train = 330 - 33
    expected = []
    for lam in LAMBDAS:
        pipeline = make_pipeline(StandardScaler(), Ridge(alpha=n_fold_train * lam))
        scores = -cross_val_score(
            pipeline, split.X_train, split.y_train, cv=folds, scoring="neg_mean_squared_error"
        )
        expected.append((scores.mean(), scores.std(ddof=1) / math.sqrt(len(scores))))
    got = [(row["test_loss_mean"], row["test_loss_se"]) for row in document["summary"]]
    np.testing.assert_allclose(got, expected, rtol=1e-8)
    means = [m for m, _ in expected]
    assert document["best_lambda"] == LAMBDAS[int(np.argmin(means))]
    # the test split stays apart: fold 0 trains on all 330 rows and scores the other 112
    assert {run["fold"] for run in document["runs"]} == set(range(11))
    assert document["final_test_loss"]["best_lambda"] is not None


def test_leave_one_out_reproduces_ridgecv():
    config = _config(validation={"kind": "loo"})
    document = _document(config)
    split = build_split(config.dataset, 0)
    n = len(split.y_train)
    alphas = [n * lam for lam in LAMBDAS]
    ridge_cv = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas, store_cv_results=True))
    ridge_cv.fit(split.X_train, split.y_train)
    chosen = ridge_cv[-1]
    assert document["best_lambda"] * n == pytest.approx(chosen.alpha_, rel=1e-12)
    assert LAMBDAS.index(document["best_lambda"]) == alphas.index(chosen.alpha_)
    loo = chosen.cv_results_  # (n, alphas): squared LOO errors, scoring=None
    got = [row["test_loss_mean"] for row in document["summary"]]
    np.testing.assert_allclose(got, loo.mean(axis=0), rtol=1e-10)
    se = loo.std(axis=0, ddof=1) / math.sqrt(n)  # over samples
    np.testing.assert_allclose([r["test_loss_se"] for r in document["summary"]], se, rtol=1e-8)
    # the full fit that the rows report: Ridge(alpha = n·λ) on every training row
    X = StandardScaler().fit_transform(split.X_train)
    for row, alpha in zip(document["summary"], alphas, strict=True):
        ridge = Ridge(alpha=alpha).fit(X, split.y_train)
        residual = split.y_train - ridge.predict(X)
        assert row["train_loss_mean"] == pytest.approx(np.mean(residual**2), rel=1e-10)
        assert row["weight_sq_norm_mean"] == pytest.approx(ridge.coef_ @ ridge.coef_, rel=1e-10)


def test_seeds_that_drew_the_same_data_repeat_its_leave_one_out_samples():
    # a fixed dataset.seed gives every seed the same data: 3 seeds counted each sample 3
    # times, shrank every SE by √3 and moved λ_1se
    one = _document(_config(validation={"kind": "loo"}))
    three = _document(_config(validation={"kind": "loo"}, seeds=3))
    keys = ("test_loss_mean", "test_loss_std", "test_loss_se", "test_loss_paired_se", "n_units")
    assert [[row[k] for k in keys] for row in three["summary"]] == [
        [pytest.approx(row[k], rel=1e-13) for k in keys] for row in one["summary"]
    ]
    assert three["summary"][0]["n_units"] == 330
    assert (three["best_lambda"], three["lambda_1se"]) == (one["best_lambda"], one["lambda_1se"])


def test_a_key_of_another_kind_of_validation_says_to_replace_the_mapping():
    # `--set validation.kind=loo` on a k-fold config: "validation.folds: unknown key"
    with pytest.raises(ConfigError) as err:
        _config(validation={"kind": "loo", "folds": 5})
    assert str(err.value) == (
        "<test>: validation.folds: not a key of kind loo (it belongs to kfold); replace the "
        "whole mapping: validation: {kind: loo}"
    )


def test_loo_is_refused_for_other_models():
    with pytest.raises(ConfigError) as err:
        validate(
            {
                "name": "x",
                "dataset": {"name": "diabetes"},
                "model": {"name": "mlp"},
                "lambdas": [1],
                "validation": {"kind": "loo"},
            },
            "c.yaml",
        )
    assert str(err.value) == (
        "c.yaml: validation.kind: loo is exact for ridge only (model.name: linear), "
        "not 'mlp'; use {kind: kfold}"
    )


def test_folds_are_cut_from_the_training_split_and_standardised_on_their_own_part():
    config = _config(validation={"kind": "kfold", "folds": 5, "repeats": 2})
    assert fold_numbers(config) == list(range(11))
    holdout = dataset_for(config, 0, 0)
    split = build_split(config.dataset, 0)
    held_out = []
    for fold in range(1, 6):
        data = dataset_for(config, 0, fold)
        np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(data.X_train.std(axis=0), 1, rtol=1e-12)
        held_out.append(data.y_test)
        assert len(data.y_train) + len(data.y_test) == 330
    # the five folds of the first repeat partition the training split, never the test split
    assert sorted(np.concatenate(held_out)) == sorted(split.y_train)
    np.testing.assert_array_equal(holdout.y_test, split.y_test)


def test_stratified_folds_keep_class_proportions():
    config = validate(
        {
            "name": "s",
            "dataset": {"name": "breast_cancer", "seed": 0},
            "model": {"name": "logistic"},
            "lambdas": [0.01],
            "validation": {"kind": "kfold", "folds": 4},
        },
        "<test>",
    )
    share = dataset_for(config, 0, 0).y_train.mean()
    for fold in range(1, 5):
        assert dataset_for(config, 0, fold).y_test.mean() == pytest.approx(share, abs=0.02)


# --------------------------------------------------------------------------- statistics


def _runs(losses: dict[float, list[float]]) -> list[dict]:
    """Runs of one seed with one validation fold per value (fold 0: a test split apart)."""
    runs = []
    for lam, values in losses.items():
        runs.append({"lambda": lam, "seed": 0, "fold": 0, "status": "ok",
                     "train_loss": 0.0, "test_loss": 9.0})  # fmt: skip
        runs += [
            {
                "lambda": lam,
                "seed": 0,
                "fold": f + 1,
                "status": "ok",
                "train_loss": 0.0,
                "test_loss": v,
            }  # fmt: skip
            for f, v in enumerate(values)
        ]
    return runs


def test_cvsd_paired_se_and_lambda_1se_against_numpy():
    rng = np.random.default_rng(3)
    fold_effect = rng.normal(0, 1.0, 8)  # shared by every λ: the paired SE removes it
    curve = {0.001: 2.0, 0.01: 1.5, 0.1: 1.2, 1.0: 1.25, 10.0: 1.32, 100.0: 2.5}
    losses = {lam: list(t + fold_effect + rng.normal(0, 0.05, 8)) for lam, t in curve.items()}
    rows, lam_min, lam_1se = summarise(_runs(losses), tolerance=0.05)
    L = np.array([losses[lam] for lam in curve])  # (λ, folds)
    T = L.mean(axis=1)
    cvsd = np.sqrt(((L - T[:, None]) ** 2).mean(axis=1) / (8 - 1))  # cv.glmnet's formula
    np.testing.assert_allclose([r["test_loss_se"] for r in rows], cvsd, rtol=1e-12)
    best = int(np.argmin(T))
    assert lam_min == list(curve)[best]
    D = L - L[best]
    paired = D.std(axis=1, ddof=1) / math.sqrt(8)
    np.testing.assert_allclose([r["test_loss_paired_se"] for r in rows], paired, atol=1e-15)
    within = [lam for lam, d, se in zip(curve, D.mean(axis=1), paired, strict=True) if d <= se]
    assert lam_1se == max(within)
    # the unpaired SE (±1 over a fold effect of std 1) would call everything equal
    assert T[best] + cvsd[best] > T[list(curve).index(10.0)]
    assert [r["regime"] for r in rows][0] == "overfit" and rows[-1]["regime"] == "underfit"
    assert all(r["holdout_test_loss_mean"] == 9.0 for r in rows)


def test_no_measurable_difference_labels_every_row_flat():
    rng = np.random.default_rng(0)
    losses = {lam: list(5.0 + rng.normal(0, 1.0, 10)) for lam in (0.01, 0.1, 1.0)}
    rows, lam_min, _ = summarise(_runs(losses), tolerance=0.0)
    assert {r["regime"] for r in rows} == {"flat"}
    config = _config(lambdas=[0.01, 0.1, 1.0], validation={"kind": "kfold", "folds": 10})
    from wdcli.sweep import selection_fields

    fields = selection_fields(config, "regression", _runs(losses), rows, lam_min, None)
    assert NO_DIFFERENCE in fields["notes"]


def test_grid_end_notes_suggest_the_extension():
    grid = [1e-3, 1e-2, 1e-1, 1.0]
    assert grid_notes(grid, 1.0) == [
        "λ_min is the largest λ of the grid (1): the best may lie above it; extend the grid "
        "up, e.g. stop: 100"
    ]  # two steps of the grid: four (1e+04) suggested λ far beyond any use
    assert grid_notes(grid, 1e-3)[0].endswith("extend the grid down, e.g. start: 1e-05")
    assert grid_notes(grid, 1e-2) == []
    assert grid_notes([0.0, *grid], 1e-3) == []  # between 0 and the grid: interior
    assert grid_notes([0.0, *grid], 0.0)[0].startswith("λ_min = 0: no penalty is best")
    coarse = [1e-3, 0.1]  # a step of 100: two decades, not two steps (4)
    assert grid_notes([0.0, *coarse], 0.0)[0].endswith(
        "(e.g. start: 1e-05) to see whether a small λ helps"
    )
    assert grid_notes(coarse, 0.1)[0].endswith("e.g. stop: 10")
    fine = [1e-3 * 10 ** (i / 8) for i in range(9)]  # a step of 10^(1/8): at least a decade
    assert grid_notes(fine, fine[-1])[0].endswith("e.g. stop: 0.1")
    # one positive λ beside 0: a decade (there was no note at all)
    assert grid_notes([0.0, 1e-9], 1e-9) == [
        "λ_min is the largest λ of the grid (1e-09): the best may lie above it; extend the grid "
        "up, e.g. stop: 1e-08"
    ]
    # λ_min next to a λ that did not train: its loss is unknown, the best may lie there
    rows = [{"lambda": lam, "regime": regime} for lam, regime in
            [(0.0, None), (1e-3, None), (1e-2, "good"), (1e-1, "underfit"), (1.0, None)]]  # fmt: skip
    assert untrained_neighbour_note(rows, 1e-2) == [
        "λ_min (0.01) is next to λ = 0.001, where not every run trained: the best may lie "
        "there; make those runs train (see the warning) before trusting λ_min"
    ]
    assert untrained_neighbour_note(rows, 1e-1)[0].startswith("λ_min (0.1) is next to λ = 1,")
    assert untrained_neighbour_note(rows, None) == []
    rows[1]["regime"] = "overfit"
    assert untrained_neighbour_note(rows, 1e-2) == []
    # seeds that repeat one run (ridge on a fixed dataset.seed): ± and SE are 0
    same = [{"lambda": 0.1, "n_runs": 3, "test_loss_mean": 3328.0, "test_loss_std": 4e-13},
            {"lambda": 1.0, "n_runs": 3, "test_loss_mean": 3647.0, "test_loss_std": 0.0}]  # fmt: skip
    assert identical_seeds_note(same)[0].startswith("the 3 seeds gave the same numbers")
    # without a dataset.seed or a test file the seeds drew one split by chance (5 rows): the
    # note said dataset.seed made them the same, and to leave out what was not there
    assert (
        "(they drew the same split by chance, as few rows make likely,"
        in (identical_seeds_note(same, fixed_split=False)[0])
    )
    same[1]["test_loss_std"] = 0.01
    assert identical_seeds_note(same) == []
    # test losses that tie while the training losses do not (an outlier swamped the test
    # loss; an MLP's seeds trained apart): no "this model has no other randomness"
    same[1]["test_loss_std"] = 0.0
    same[0].update(train_loss_mean=0.5, train_loss_std=0.01)
    assert identical_seeds_note(same) == []
    # λ = 0 interpolating: training losses at round-off (2e-30 and 1.9e-30) tie on the test
    # loss's scale; the note went missing and 19.05 ± 0 looked certain
    same[0].update(train_loss_mean=2e-30, train_loss_std=7e-32)
    assert identical_seeds_note(same)[0].startswith("the 3 seeds gave the same numbers")
    same[0].update(train_loss_mean=2e-3, train_loss_std=7e-4)  # seeds that fit apart
    assert identical_seeds_note(same) == []
    # a list has no stop: the suggestion is a value to add
    assert grid_notes(grid, 1.0, kind="list")[0].endswith(
        "extend the grid up, e.g. add 100 to lambdas"
    )
    # an auto grid takes no start or stop: the suggestion is a grid written out
    assert grid_notes(grid, 1e-3, kind="auto")[0].endswith(
        "extend the grid down, e.g. lambdas: {start: 1e-05, stop: 1, num: 8}"
    )
    assert grid_notes([1e-6, 1e300], 1e300)[0].endswith("e.g. stop: 1e+302")  # no overflow


def test_an_extension_up_stays_below_the_lambda_decoupled_decay_cannot_train():
    from wdcli.sweep.run import decay_ceiling

    grid = [0.0, 1.0, 3.0]
    # lr 0.1: λ ≥ 5 cannot train (lr·2λ ≥ 1); it suggested 30, whose runs were all refused
    assert grid_notes(grid, 3.0, kind="list", ceiling=5.0) == [
        "λ_min is the largest λ of the grid (3): the best may lie above it, but decoupled decay "
        "trains no λ ≥ 5 at this learning rate (lr·2λ < 1); lower model.lr to try larger λ"
    ]
    assert grid_notes([0.0, 0.3, 1.0], 1.0, kind="list", ceiling=5.0)[0].endswith(
        "e.g. add 2.24 to lambdas"  # halfway to 5 on a log scale
    )
    assert grid_notes(grid, 3.0, kind="list", ceiling=1e3)[0].endswith("add 30 to lambdas")
    mlp = {"name": "mlp", "lr": 0.1, "regularization": "decoupled"}
    config = validate({"name": "x", "dataset": {"name": "friedman1"}, "model": mlp,
                       "lambdas": [1]}, "<test>")  # fmt: skip
    assert decay_ceiling(config) == 5.0
    paper = config.model_copy(update={"model": config.model.model_copy(
        update={"decay_convention": "paper"})})  # fmt: skip
    assert decay_ceiling(paper) == 0.5
    tuned = validate({"name": "x", "dataset": {"name": "friedman1"}, "model": mlp, "lambdas": [1],
                      "tune": {"model.lr": [0.01, 0.1]}}, "<test>")  # fmt: skip
    assert decay_ceiling(tuned) == 50.0
    assert decay_ceiling(_config()) is None  # ridge: the penalty is exact at any λ


def test_untrained_lambdas_that_beat_lambda_min_are_named_and_the_flat_verdict_is_not_said():
    # a deep net: λ = 1e-5 and 1e-3 trained on 3 of 4 seeds at 0.4 × the constant's test
    # loss, λ_min = 10 (a constant) and "λ makes no measurable difference in this range"
    from wdcli.metrics.selection import NO_DIFFERENCE
    from wdcli.sweep.run import selection_fields

    tests = {1e-5: [12.0, 11.0, 13.0, None], 1e-3: [9.0, None, 10.0, 10.5],
             0.1: [26.9, 26.6, 26.8, 26.8], 10.0: [26.7, 26.8, 26.7, 26.8]}  # fmt: skip
    runs = [{"lambda": lam, "seed": seed, "fold": 0, "test_loss": loss, "train_loss": 23.46,
             "baseline_loss": 23.45, "status": "ok" if loss is not None else "not_converged"}
            for lam, losses in tests.items() for seed, loss in enumerate(losses)]  # fmt: skip
    summary, lam_min, _ = summarise(runs, 0.05)
    assert lam_min == 10.0 and [row["regime"] for row in summary] == [None, None, "flat", "flat"]
    note = (
        "λ = 1e-05, 0.001, where not every run trained, beat λ_min (10) on the seeds where they "
        "did (held-out loss lower by 14.73 over 3 runs, 16.9 over 3 runs): λ_min is chosen only "
        "among the λ where every run trained; make those runs train (see the warning) before "
        "trusting it"
    )
    assert untrained_better_note(summary, runs, 10.0) == [note]
    assert selection_fields(_config(), "regression", runs, summary, 10.0, 10.0)["notes"] == [note]
    # one lucky seed's split: below λ_min's mean over every seed (26.825), above λ_min's
    # loss on that seed (26.6): named before, as a better λ
    lucky = [{**run, "test_loss": loss, "status": "ok" if loss else "not_converged"}
             for run, loss in zip([r for r in runs if r["lambda"] in (1e-3, 10.0)],
                                  [None, None, None, 26.7, 26.9, 26.9, 26.9, 26.6], strict=True)]  # fmt: skip
    two, _, _ = summarise(lucky, 0.05)
    assert two[0]["test_loss_mean"] < two[1]["test_loss_mean"]  # unpaired, it looked better
    assert untrained_better_note(two, lucky, 10.0) == []
    # better on average, but by less than the paired SE: no evidence either
    lucky[:4] = [{**run, "status": "ok", "test_loss": loss}
                 for run, loss in zip(lucky[:4], [26.0, 27.5, 26.2, 27.0], strict=True)]  # fmt: skip
    assert untrained_better_note(two, lucky + [{**lucky[0], "seed": 9, "test_loss": None,
                                                "status": "diverged"}], 10.0) == []  # fmt: skip
    two, _, _ = summarise(lucky, 0.05)
    assert [row["regime"] for row in two] == ["flat", "flat"]
    notes = selection_fields(_config(), "regression", lucky, two, 10.0, 10.0)["notes"]
    assert NO_DIFFERENCE in notes
    assert untrained_better_note(two, lucky, None) == []


def test_a_lambda_min_that_predicts_a_constant_is_said():
    # every λ that fit the data did worse on test than the constant predictor at λ = 1
    run = {"lambda": 1.0, "status": "ok", "baseline_loss": 2.3026}
    runs = [run | {"train_loss": 2.2921}, run | {"train_loss": 2.2931},
            run | {"lambda": 0.0, "train_loss": 0.01}, run | {"status": "no_fit", "train_loss": 0.0}]  # fmt: skip
    assert constant_best_note(runs, 1.0) == [
        "at λ_min (1) the models predict about a constant (training loss 2.293, the best "
        "constant's 2.303): every λ of this grid whose models fit their training rows more did "
        "worse on the held-out rows, so little of what the inputs say carries over, and λ_min "
        "does not say which penalty is best"
    ]
    assert constant_best_note(runs, 0.0) == constant_best_note(runs, None) == []
    runs[0]["train_loss"] = runs[1]["train_loss"] = 0.99 * 2.3026 - 1e-9  # 1 % below: learnt
    assert constant_best_note(runs, 1.0) == []
    # a weak signal: λ_min = 0 is the best fit of all (0.4 % below the constant) and beats
    # the constant on the test split; no λ fit more, so none "did worse by fitting more"
    weak = [run | {"lambda": lam, "train_loss": fit} for lam, fit in
            ((0.0, 2.2934), (0.0, 2.2930), (0.1, 2.2990), (1.0, 2.3020))]  # fmt: skip
    assert constant_best_note(weak, 0.0) == []
    weak.append(run | {"lambda": 1e-3, "train_loss": 2.2})  # one that did fit more, by 4 %
    assert constant_best_note(weak, 0.0)[0].startswith("at λ_min (0) the models predict")


def test_a_lambda_min_that_generalises_worse_than_a_constant_is_said():
    # a network before it groks: test accuracy 0, test loss 4.6 × ln 13, `good` and λ_min
    run = {"lambda": 0.3, "status": "ok", "baseline_test_loss": 2.5, "baseline_loss": 2.3}
    runs = [run | {"test_loss": 11.0}, run | {"test_loss": 12.0},
            run | {"status": "diverged", "test_loss": None}, run | {"lambda": 1.0, "test_loss": 0.5}]  # fmt: skip
    assert worse_than_constant_note(runs, 0.3) == [
        "at λ_min (0.3) the held-out loss (11.5) is 4.6 × the best constant's on the same rows "
        "(2.5): no λ of this grid generalises better than ignoring the inputs would, so λ_min "
        "ranks models that do not generalise"
    ]
    assert worse_than_constant_note(runs, 1.0) == worse_than_constant_note(runs, None) == []
    runs[0]["test_loss"] = runs[1]["test_loss"] = 1.01 * 2.5  # worse than the constant
    assert worse_than_constant_note(runs, 0.3)[0].startswith(
        "at λ_min (0.3) the held-out loss (2.525) is 1.01 ×"
    )
    runs[0]["test_loss"] = runs[1]["test_loss"] = 2.5  # no worse: it may have learnt a little
    assert worse_than_constant_note(runs, 0.3) == []


def test_resume_keys_carry_the_fold():
    config = _config(lambdas=[0.1, 1.0], validation={"kind": "kfold", "folds": 3})
    units = plan_units(config)
    assert sorted({u.fold for u in units}) == [0, 1, 2, 3]
    done = run_unit(config, units[0]) + run_unit(config, units[2])
    todo, kept = split_done(units, done)
    assert units[0] not in todo and units[2] not in todo and len(todo) == len(units) - 2
    assert len(kept) == len(done)
    # a run of fold 1 does not count for fold 2
    fake = [{**run, "fold": 2} for run in run_unit(config, units[1])]
    assert units[1] in split_done(units, fake)[0]


# --------------------------------------------------------------------------- the CLI

CV_CONFIG = """\
name: dcv
dataset: {name: diabetes, seed: 0}
model: {name: linear}
lambdas: [1.0e-6, 1.0e-5, 1.0e-4, 1.0e-3]
validation: {kind: kfold, folds: 10}
"""


def _sweep(*args):
    from typer.testing import CliRunner

    from wdcli.cli import app

    return CliRunner().invoke(app, ["sweep", *args, "--no-chart", "--format", "markdown"])


def _cli(command, *args):
    from typer.testing import CliRunner

    from wdcli.cli import app

    return CliRunner().invoke(app, [command, *args])


def test_cli_flat_curve_and_grid_end_are_said(write_config, tmp_path):
    import json

    out = tmp_path / "r.json"
    result = _sweep(str(write_config(CV_CONFIG)), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "4 λ × 1 seed × 10 folds (cross-validation)" in result.stdout
    assert "| λ | train loss | cv loss | gap | Δ ± paired SE |" in result.stdout
    assert "_λ makes no measurable difference in this range_" in result.stdout
    assert "extend the grid up, e.g. add 0.1 to lambdas_" in result.stdout
    assert "±: sample std over 1 seed × 10 folds" in result.stdout
    document = json.loads(out.read_text())
    assert {row["regime"] for row in document["summary"]} == {"flat"}
    assert len(document["runs"]) == 4 * 11
    assert all(run["fold"] in range(11) for run in document["runs"])


def test_cli_auto_grid_and_validate(write_config, tmp_path):
    from typer.testing import CliRunner

    from wdcli.cli import app

    path = write_config(CV_CONFIG.replace("lambdas: [1.0e-6, 1.0e-5, 1.0e-4, 1.0e-3]",
                                          "lambdas: {auto: true, num: 8}"))  # fmt: skip
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.stdout.strip() == (
        f"{path}: ok (linear on diabetes, 8 λ × 1 seed × (10 folds + the holdout fit) = 88 runs, "
        "λ chosen from the data)"
    )
    out = tmp_path / "auto.json"
    result = _sweep(str(path), "--out", str(out), "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "8 λ × 1 seed × 10 folds" in result.stdout
    assert "λ makes no measurable difference" not in result.stdout
    assert "extend the grid" not in result.stdout  # λ_min inside the automatic grid


def test_cli_resume_of_a_cross_validated_sweep(write_config, tmp_path):
    import json

    from wdcli.store.journal import Journal, journal_path

    config_path = write_config(CV_CONFIG)
    out = tmp_path / "r.json"
    whole = tmp_path / "whole.json"
    assert _sweep(str(config_path), "--out", str(whole), "--quiet").exit_code == 0
    expected = json.loads(whole.read_text())
    # a journal holding folds 0-4 only, as a crash would leave it
    from wdcli.config import load_config

    config = load_config(config_path)
    journal = Journal.create(journal_path(out), {"name": "dcv", "config_hash": config.hash(),
                                                 "config": config.resolved()})  # fmt: skip
    for run in expected["runs"]:
        if run["fold"] < 5:
            journal.append(run)
    journal.close()
    result = _sweep(str(config_path), "--out", str(out), "--resume")
    assert result.exit_code == 0, result.stderr
    assert "resuming" in result.stderr and "20 runs already done" in result.stderr
    assert json.loads(out.read_text())["summary"] == expected["summary"]


@pytest.mark.parametrize("command", ["sweep", "validate"])
def test_folds_the_data_cannot_give_are_one_line_before_anything_is_written(
    write_config, tmp_path, command
):
    # validate used to say ok and leave these to sweep; the messages named neither the file
    # nor the class
    path = write_config(CV_CONFIG.replace("seed: 0}", "seed: 0, n_train: 8}"))
    out = tmp_path / "r.json"
    result = _cli(command, str(path), *["--out", str(out)] * (command == "sweep"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"{path}: validation.folds: 10 folds need ≥ that many training samples, got 8\n"
    )
    assert list(tmp_path.iterdir()) == [path]  # no results file, no journal
    iris = write_config(
        "name: i\ndataset: {name: iris, n_train: 20, seed: 1}\nmodel: {name: logistic}\n"
        "lambdas: [0.1]\nvalidation: {kind: kfold, folds: 10}\n",
        name="iris.yaml",
    )
    extra = ["--out", str(tmp_path / "i.json")] * (command == "sweep")
    result = _cli(command, str(iris), *extra)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{iris}: validation.stratify: class '0' has only 5 training samples, fewer "
        "than validation.folds (10); use fewer folds or stratify: false\n"
    )
    assert not (tmp_path / "i.journal.jsonl").exists()


def test_a_cross_validated_grid_says_cv_loss_and_keeps_each_points_lines(write_config):
    # every point's table lost its "test split:" line and its notes (they live in the
    # document's `points`), the pivot said "mean test loss" of the folds' loss, and the tuned
    # column counted the holdout fits with the folds (7/8 for 2 seeds × 3 folds)
    config = write_config(
        "name: g\ndataset: {name: diabetes, seed: 0}\nmodel: {name: linear}\n"
        "lambdas: [1.0e-4, 1.0e-2]\nseeds: 2\nvalidation: {kind: kfold, folds: 3}\n"
        "grid: {dataset.n_train: [100, 200]}\ntune: {model.solver: [svd, eigh]}\n"
    )
    result = _cli(
        "sweep", str(config), "--out", str(config.parent / "g.json"), "-q", "-f", "markdown"
    )
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.count("test split: ") == 2  # one per point
    assert "**g: mean cv loss**" in text and "mean test loss" not in text
    assert text.count("λ_min is the largest λ of the grid") == 2
    counts = re.findall(r"solver=\w+ \((\d+)/(\d+)\)", text)
    assert counts and {total for _, total in counts} == {"6"}  # 2 seeds × 3 folds


def _fold_classes_config(write_config, tmp_path, labels: str, folds: int, repeats: int):
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    (tmp_path / "d.csv").write_text("x,y\n" + rows)
    return write_config(
        "name: f\ndataset: {name: csv, path: d.csv, target: y, test_size: 0.01, seed: 0}\n"
        f"model: {{name: logistic}}\nlambdas: [0.1]\nvalidation: {{kind: kfold, folds: {folds}, "
        f"repeats: {repeats}, stratify: false}}\n"
    )


def _first_bad_fold(config, bad) -> int:
    """The number of the first unstratified fold (as scikit-learn cuts them) where bad(train
    labels, held-out labels)."""
    y = build_split(config.dataset, 0).y_train
    splitter = RepeatedKFold(n_splits=config.validation.folds, n_repeats=config.validation.repeats,
                             random_state=0)  # fmt: skip
    for number, (train, held_out) in enumerate(splitter.split(y), start=1):
        if bad(set(y[train]), set(y[held_out])):
            return number
    raise AssertionError("no such fold")


def test_an_unstratified_fold_training_on_one_class_is_refused(write_config, tmp_path):
    # its runs were no_fit with "raise model.max_iter", and the sweep lost its λ_min
    path = _fold_classes_config(write_config, tmp_path, "bb" + "a" * 18, folds=3, repeats=5)
    number = _first_bad_fold(_load(path), lambda train, held_out: len(train) < 2)
    result = _cli("validate", str(path))
    assert (result.exit_code, result.stderr) == (2, (
        f"{path}: validation: fold {number} trains on class 'a' alone; a classifier needs two: "
        "use stratify: true, fewer folds or more training rows\n"))  # fmt: skip


def test_an_unstratified_fold_holding_out_a_class_it_did_not_train_on_is_refused(
    write_config, tmp_path
):
    path = _fold_classes_config(write_config, tmp_path, "c" + "ab" * 10, folds=4, repeats=1)
    number = _first_bad_fold(_load(path), lambda train, held_out: bool(held_out - train))
    result = _cli("validate", str(path))
    assert (result.exit_code, result.stderr) == (2, (
        f"{path}: validation: fold {number} holds out 'c', which none of its training rows "
        "holds (no model can predict it); use stratify: true, fewer folds or more training "
        "rows\n"))  # fmt: skip


def _load(path):
    from wdcli.config import load_config

    return load_config(path)


@pytest.mark.parametrize(("n", "d", "alone"), [(20, 40, False), (12, 11, False), (20, 3, True)])
def test_leave_one_out_at_lambda_0_of_a_fit_that_interpolates_is_the_minimum_norm_refit(
    n, d, alone
):
    # r_i / (1 − H_ii) was 0/0: every λ = 0 run `diverged`, "check the data for extreme values",
    # or, for the one row of a category (leverage 1), a wrong ok loss: 1.131 for 0.8535
    from wdcli.models.linear import ridge_loo

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    if alone:  # an indicator that one row alone holds
        X = np.column_stack([X, np.eye(n)[6]])
        d += 1
    y = X[:, :5] @ rng.normal(size=min(5, d)) + rng.normal(size=n)
    squared, _, _, _ = ridge_loo(X, y, np.array([0.0, 0.1]))
    for k, lam in enumerate([0.0, 0.1]):
        expected = []
        for i in range(n):
            rows = np.arange(n) != i
            Xc, yc = X[rows] - X[rows].mean(0), y[rows] - y[rows].mean()
            penalty = n * lam * np.eye(d)  # the full fit's nλ, as RidgeCV keeps it
            w = (
                np.linalg.pinv(Xc) @ yc
                if lam == 0
                else np.linalg.solve(Xc.T @ Xc + penalty, Xc.T @ yc)
            )
            expected.append((y[i] - y[rows].mean() - (X[i] - X[rows].mean(0)) @ w) ** 2)
        assert squared[k] == pytest.approx(expected, rel=1e-9)


def test_the_accuracy_of_cross_validation_is_named_as_its_loss_is():
    # under kfold the column of the folds' accuracy read "test acc", beside "cv loss"
    from conftest import results_of

    from wdcli.report.table import rows

    row = {
        "lambda": 0.1,
        "test_loss_mean": 0.5,
        "train_accuracy_mean": 0.9,
        "test_accuracy_mean": 0.8,
    }
    for kind, names in (("kfold", ("cv loss", "cv acc")), ("holdout", ("test loss", "test acc"))):
        document = results_of({"summary": [row], "validation": {"kind": kind}})
        headers, _ = rows(document)
        assert headers[1:3] == ["train loss", names[0]] and headers[-4:-2] == [
            "train acc",
            names[1],
        ]


def test_a_fold_with_nothing_to_impute_a_column_from_is_refused_before_the_sweep(
    write_config, tmp_path
):
    # validate said ok; the sweep failed midway, its journal written, and once the file was
    # fixed neither the same command nor --resume ran it
    rows = "".join(f"{i},{i % 7},{'5' if i == 3 else ''},{i % 5}\n" for i in range(40))
    (tmp_path / "d.csv").write_text("a,b,rare,y\n" + rows)
    (tmp_path / "t.csv").write_text("a,b,rare,y\n1,2,3,4\n2,3,4,5\n")
    path = write_config(
        "name: f\ndataset: {name: csv, path: d.csv, test_path: t.csv, target: y, impute: mean}\n"
        "model: {name: linear}\nlambdas: [0.1]\nvalidation: {kind: kfold, folds: 5}\n"
    )
    config = _load(path)
    y = build_split(config.dataset, 0).y_train
    splitter = RepeatedKFold(n_splits=5, n_repeats=1, random_state=0)
    number = next(n for n, (train, _) in enumerate(splitter.split(y), start=1) if 3 not in train)
    for command in ("validate", "sweep"):
        result = _cli(
            command, str(path), *(["-o", str(tmp_path / "r.json")] if command == "sweep" else [])
        )
        assert (result.exit_code, result.stderr) == (2, (
            f"{path}: validation: fold {number}: column 'rare' has no value in its training rows "
            "to fill its missing cells from (dataset.impute); leave it out of dataset.features, or "
            "use fewer folds\n"))  # fmt: skip
    assert not (tmp_path / "r.journal.jsonl").exists()


def test_the_notes_at_lambda_min_read_the_folds_not_the_holdout_refit():
    # the test split's refit (fold 0) was averaged in: 6.044 for the folds' 6.673
    from wdcli.sweep.run import selection_fields

    config = _config(lambdas=[1.0], validation={"kind": "kfold", "folds": 3})
    runs = [{"lambda": 1.0, "seed": 0, "fold": fold, "status": "ok", "test_loss": loss,
             "train_loss": 0.1, "baseline_loss": 2.0, "baseline_test_loss": 2.0}
            for fold, loss in [(0, 1.0), (1, 6.0), (2, 7.0), (3, 8.0)]]  # fmt: skip
    summary = [{"lambda": 1.0, "regime": "good", "test_loss_mean": 7.0, "test_loss_se": 0.5,
                "test_loss_std": 1.0, "n_runs": 3}]  # fmt: skip
    notes = selection_fields(config, "regression", runs, summary, 1.0, 1.0)["notes"]
    assert notes[0].startswith(
        "at λ_min (1) the held-out loss (7) is 3.5 × the best constant's on the same rows (2)"
    )


def test_the_constants_held_out_loss_is_the_training_constant_scored_on_held_out_rows():
    from wdcli.metrics.health import baseline_test_loss

    y_train, y_test = np.array([1.0, 2.0, 6.0]), np.array([0.0, 4.0])
    assert baseline_test_loss(y_train, y_test, False) == (9.0 + 1.0) / 2
    labels_train, labels_test = np.array([0, 0, 0, 1]), np.array([0, 1])
    assert baseline_test_loss(labels_train, labels_test, True) == pytest.approx(
        -(math.log(0.75) + math.log(0.25)) / 2
    )


def test_models_that_beat_the_constant_on_held_out_rows_get_no_failure_note(tmp_path):
    # against the training rows' variance (lower by about 2/n), weak-signal models that beat the
    # constant on every seed were told that no λ generalises
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 5))
    y = 0.25 * X[:, 0] + 0.15 * X[:, 1] + rng.normal(size=1200)
    rows = "".join(",".join(f"{v:.6f}" for v in (*x, t)) + "\n" for x, t in zip(X, y, strict=True))
    (tmp_path / "d.csv").write_text("a,b,c,d,e,y\n" + rows)
    config = tmp_path / "c.yaml"
    config.write_text("name: w\ndataset: {name: csv, path: d.csv, target: y, n_train: 150}\n"
                      "model: {name: linear}\nlambdas: [0.1, 1, 10, 1000000]\nseeds: 5\n")  # fmt: skip
    assert _sweep(str(config), "-o", str(tmp_path / "r.json"), "-q").exit_code == 0
    document = json.loads((tmp_path / "r.json").read_text())
    runs = [r for r in document["runs"] if r["lambda"] == document["best_lambda"]]
    assert all(r["test_loss"] < r["baseline_test_loss"] for r in runs)  # each beats the constant
    assert not any("generalises" in note for note in document["notes"])


def _one_row_folds(write_config, tmp_path, model: str, extra: str = "") -> str:
    """A config of 12 training rows (a fixed CSV with its own test file) in 12 folds."""
    rng = np.random.default_rng(0)
    for name, n in (("train.csv", 12), ("test.csv", 8)):
        X = rng.normal(size=(n, 2))
        rows = [f"{a:.6f},{b:.6f},{a + 2 * b + 0.1 * rng.normal():.6f}" for a, b in X]
        (tmp_path / name).write_text("a,b,y\n" + "\n".join(rows) + "\n")
    return str(write_config(
        f"name: rows\ndataset: {{name: csv, path: train.csv, test_path: test.csv, target: y}}\n"
        f"model: {model}\nlambdas: [0.01, 1]\nseeds: 2\n"
        f"validation: {{kind: kfold, folds: 12{extra}}}\n"
    ))  # fmt: skip


def test_one_row_folds_that_would_repeat_their_units_are_refused(write_config, tmp_path):
    # 12 folds of 12 rows are the same for every seed and repeat: ridge counted each row's loss
    # once per seed (and repeat), so the SEs shrank √8 times and λ_1se moved, exit 0
    from typer.testing import CliRunner

    from wdcli.cli import app

    def validate_(config: str, *args: str):
        return CliRunner().invoke(app, ["validate", config, *args])

    config = _one_row_folds(write_config, tmp_path, "{name: linear}")
    result = validate_(config)
    assert (result.exit_code, result.stderr) == (2, (
        f"{config}: seeds: 12 folds of 12 training rows hold out one row each, and seeds 0 and "
        "1 train on the same rows, where linear has no randomness of its own: every seed would "
        "repeat the same losses, shrinking the SEs; use one seed, or validation: {kind: loo}\n"
    ))  # fmt: skip
    assert validate_(config, "--set", "seeds=1").exit_code == 0
    repeated = validate_(config, "--set", "seeds=1", "--set", "validation.repeats=3")
    assert (repeated.exit_code, repeated.stderr) == (2, (
        f"{config}: validation.repeats: 12 folds of 12 training rows hold out one row each, so "
        "every repeat cuts the same folds and would count each row's loss 3 times, shrinking "
        "the SEs; set repeats: 1\n"
    ))  # fmt: skip
    assert validate_(config, "--set", "validation.folds=6").exit_code == 0  # folds differ
    # an MLP's seeds start from other weights: other losses, other units
    mlp = _one_row_folds(write_config, tmp_path, "{name: mlp, hidden: [4], epochs: 5}")
    assert validate_(mlp).exit_code == 0
    # without a test file: 5 rows, of which seeds 0 and 1 draw the same 3 to train on, in
    # another order (the fingerprint saw two datasets, and 6 folds counted as 6 units)
    (tmp_path / "five.csv").write_text(
        "a,b,y\n-0.80,2.19,-2.84\n-1.32,1.08,-6.14\n-0.25,,-1.96\n0.42,-0.93,1.81\n"
        "1.14,-1.15,4.55\n"
    )
    five = str(write_config(
        "name: five\ndataset: {name: csv, path: five.csv, target: y, impute: mean}\n"
        "model: {name: linear}\nlambdas: [0, 0.1]\nseeds: 2\nvalidation: {kind: kfold, "
        "folds: 3}\n", "five.yaml"
    ))  # fmt: skip
    first, second = (build_split(load_config(five).dataset, seed) for seed in (0, 1))
    assert first.X_train.numeric.tolist() != second.X_train.numeric.tolist()  # other order
    result = validate_(five)
    assert (result.exit_code, result.stderr) == (2, (
        f"{five}: seeds: 3 folds of 3 training rows hold out one row each, and seeds 0 and 1 "
        "train on the same rows, where linear has no randomness of its own: every seed would "
        "repeat the same losses, shrinking the SEs; use one seed, or validation: {kind: loo}\n"
    ))  # fmt: skip
