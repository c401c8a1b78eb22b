"""Training health: the rules of wdcli.metrics.health at their thresholds, and where models apply them.

Every threshold is tested on both sides of its boundary; the models' checks are tested on the
trainer itself (a parameter at the bound, one just past it) and end to end on real training.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.dummy import DummyClassifier
from sklearn.metrics import log_loss

from wdcli.config import LinearModel, LogisticModel, MLPModel
from wdcli.data import CLASSIFICATION, REGRESSION, Dataset
from wdcli.metrics import health
from wdcli.metrics.selection import still_gaining_note
from wdcli.metrics.summary import summarise
from wdcli.models import mlp
from wdcli.models.linear import fit_ridge_path
from wdcli.models.logistic import fit_logistic
from wdcli.models.mlp import fit_mlp

up = np.nextafter  # the next float towards the second argument

finite = st.floats(-1e6, 1e6, allow_nan=False)


def options(**changes) -> MLPModel:
    defaults = dict(name="mlp", hidden=[5], batch_size=8, epochs=4, lr=0.01, eval_every=1)
    return MLPModel(**(defaults | changes))


def dataset(kind="regression", n_train=40, n_test=30, d=4, seed=0, shift=0.0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_test, d))
    if kind == "regression":
        y = X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(len(X)) + shift
        return Dataset(X[:n_train], y[:n_train], X[n_train:], y[n_train:], REGRESSION)
    y = (X[:, 0] + 0.5 * rng.standard_normal(len(X)) > 0).astype(np.int64)
    if kind == "separable":
        y = (X[:, 0] > 0).astype(np.int64)
    return Dataset(X[:n_train], y[:n_train], X[n_train:], y[n_train:], CLASSIFICATION, ["0", "1"])


# --------------------------------------------------------------------------- the baseline


@given(st.lists(finite, min_size=1, max_size=50))
def test_regression_baseline_is_the_loss_of_predicting_the_mean(values):
    y = np.array(values)
    assert health.baseline_loss(y, False) == pytest.approx(np.mean((y - y.mean()) ** 2), abs=1e-9)


@given(st.lists(st.integers(0, 4), min_size=1, max_size=60))
def test_classification_baseline_is_the_cross_entropy_of_the_class_frequencies(labels):
    y = np.array(labels)
    if len(set(labels)) == 1:
        assert health.baseline_loss(y, True) == 0.0
        return
    prior = DummyClassifier(strategy="prior").fit(np.zeros((len(y), 1)), y)
    expected = log_loss(y, prior.predict_proba(np.zeros((len(y), 1))), labels=prior.classes_)
    assert health.baseline_loss(y, True) == pytest.approx(expected, rel=1e-12)


def test_no_fit_threshold_is_a_quarter_above_the_baseline_plus_rounding():
    y = np.array([1.0, 3.0])  # variance 1, mean(y²) 5
    assert health.no_fit_threshold(y, False) == 1.25 * 1.0 + 1e-28 * 5.0
    assert health.no_fit_threshold(np.array([0, 1]), True) == 1.25 * math.log(2) + 1e-12


@pytest.mark.parametrize("offset", [1e6, 1e9, -1e9])
def test_no_fit_threshold_does_not_move_with_an_offset_in_y(offset):
    # 1e-12 × mean(y²) let a run at 3 × the baseline pass as ok once y was shifted by 1e9
    y = np.array([1.0, 3.0, 2.0, 7.0])
    expected = health.no_fit_threshold(y, False)
    assert health.no_fit_threshold(y + offset, False) == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- statuses


@given(st.floats(1e-6, 1e6))
def test_no_fit_begins_just_above_the_threshold(threshold):
    losses = [threshold, up(threshold, np.inf), 0.0]
    assert health.statuses(losses, threshold) == ["ok", "no_fit", "ok"]


def test_statuses_take_the_first_that_applies():
    flags = dict(diverged=[True, False, False, False], not_converged=[True, True, True, False])
    losses = [5.0, 5.0, 1.0, 1.0]  # threshold 2: the first two are worse than the baseline
    assert health.statuses(losses, 2.0, **flags) == ["diverged", "no_fit", "not_converged", "ok"]
    assert health.statuses([np.nan, np.inf], 2.0) == ["diverged", "diverged"]


@given(st.floats(1e-3, 1e6), st.floats(1e-3, 1e6))
def test_a_loss_blows_up_just_above_ten_times_its_start_or_the_baseline(start, baseline):
    limit = 10 * max(start, baseline)
    losses = np.array([limit, up(limit, np.inf), np.nan, np.inf])
    assert health.blew_up(losses, np.full(4, start), baseline).tolist() == [
        False,
        True,
        True,
        True,
    ]


def test_weight_limit_scales_with_the_targets():
    assert health.weight_limit(np.array([0.5, -0.2])) == 1e6
    assert health.weight_limit(np.array([300.0, -450.0])) == 4.5e8


@given(
    st.just(0.0) | st.floats(-1e6, -1e-100) | st.floats(1e-100, 1e6),
    st.just(0.0) | st.floats(1e-100, 1e6),  # no subnormals: scaling them is not exact
    st.just(0.0) | st.floats(1e-100, 1e6),
    st.integers(-20, 20),
)
@settings(max_examples=300)
def test_still_falling_is_scale_free_and_monotone_in_the_late_value(end, late_gap, whole, power):
    start, late, end = [end + whole], [end + late_gap], [end]
    verdict = health.still_falling(start, late, end)
    c = 2.0**power  # exact scaling
    scaled = health.still_falling(np.multiply(start, c), np.multiply(late, c), np.multiply(end, c))
    assert scaled.tolist() == verdict.tolist()
    if verdict[0]:  # a later value further above the end is still falling
        assert health.still_falling(start, [late[0] + late_gap], end)[0]


def test_a_last_tenth_that_fell_by_1_percent_of_the_baseline_is_noted_not_excluded():
    # a steep first drop from 40 hid a slow second phase: 1.52 → 1.16 in the last tenth is
    # 0.9 % of the whole decrease (still_falling says no), but 1.5 % of the baseline (24)
    assert health.still_falling([40.4], [1.52], [1.16]).tolist() == [False]
    assert health.late_fall([1.52], [1.16], 24.0)[0] == pytest.approx(0.36 / 24)
    run = dict(status="ok", late_fall=0.015)
    runs = [run | {"lambda": 0.0}, run | {"lambda": 0.0, "late_fall": 0.01},  # exactly 1 %: no
            run | {"lambda": 1.0, "status": "not_converged"}, run | {"lambda": 2.0, "late_fall": None}]  # fmt: skip
    assert still_gaining_note(runs) == [
        "still gaining at the end: the training objective of runs at λ = 0 (1/2) fell by more "
        "than 1% of the baseline in the last tenth of the epochs; more model.epochs may change "
        "their losses and λ_min"
    ]
    assert still_gaining_note(runs[1:]) == []


def test_still_falling_boundaries():
    # 5 % of the decrease: not yet; just more: yes (the decrease is far above 0.1 % of J).
    assert health.still_falling([20.0], [10.5], [10.0]).tolist() == [False]
    assert health.still_falling([20.0], [up(10.5, 11)], [10.0]).tolist() == [True]
    # A run that moved (1.5 % of its start) with more than 5 % of that in its last tenth, but
    # not more than 0.1 % of J: noise on a flat curve; just more than 0.1 %: still falling.
    assert health.still_falling([101.5], [100.1], [100.0]).tolist() == [False]
    assert health.still_falling([101.5], [up(100.1, 101)], [100.0]).tolist() == [True]
    # A run that moved by less than 1 % of its start, steadily (more than 5 % of that in its
    # last tenth): barely trained, however small the change; exactly 1 % counts as moved.
    assert health.still_falling([100.5], [100.1], [100.0]).tolist() == [True]
    assert health.still_falling([100.5], [100.02], [100.0]).tolist() == [False]
    assert health.still_falling([100.0], [99.06], [99.0]).tolist() == [False]
    assert health.still_falling([100.0], [99.06], [up(99.0, 100)]).tolist() == [True]
    # J did not decrease, or is not finite: not "still falling"
    assert health.still_falling(
        [1.0, np.inf, np.nan], [1.0, 5.0, 2.0], [2.0, 1.0, 1.0]
    ).tolist() == [
        False,
        False,
        False,
    ]


def test_late_epoch_is_the_start_of_the_last_tenth():
    assert [health.late_epoch(e) for e in (1, 5, 10, 11, 150, 200)] == [0, 4, 9, 9, 135, 180]
    constant = [health.late_epoch(e, np.full(e, 3.0)) for e in (1, 5, 10, 11, 150, 200)]
    assert constant == [0, 4, 9, 9, 135, 180]


def test_under_a_schedule_the_late_part_is_the_last_tenth_of_the_learning_rate():
    # step: 10 epochs at 1, 10 at 0.1, 10 at 0.01 (total 11.1): the last 1.11 takes the last
    # 10 epochs (0.1) and 10 of the 0.1-epochs (1.0), and one more to pass 1.11
    rates = 0.1 ** (np.arange(30) // 10)
    assert health.late_epoch(30, rates) == 9
    # a rate that is 0 in its last epochs: those bring nothing, the late part starts earlier
    assert health.late_epoch(10, [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]) == 7


def test_relapsed_is_a_fit_found_and_lost_by_a_quarter_of_the_baseline():
    loss = np.array([0.75, up(0.75, 2), 0.9, 0.85])
    lowest = np.array([0.5, 0.5, 0.1, 0.6])
    lambdas = np.array([0.0, 0.0, 0.1, 0.1])
    # the rise over the lowest must exceed 0.25 × the baseline (1.0): at 0.5 × the 10-class
    # network of configs/mlp_classification.yaml at lr 0.1, up from 0.001 to 0.80 nats
    # against a baseline of 2.3, was ok
    assert health.relapsed(loss, lowest, 1.0, lambdas, decoupled=False).tolist() == [
        False, True, True, False,
    ]  # fmt: skip
    # decoupled decay at λ > 0 descends another objective: not judged (see went_up)
    assert health.relapsed(loss, lowest, 1.0, lambdas, decoupled=True).tolist() == [
        False, True, False, False,
    ]  # fmt: skip


# --------------------------------------------------------------------------- the MLP's checks


def _trainer(loss="squared_error", optimizer="adam", K=3, y_scale=1.0):
    data = dataset()
    Y = (y_scale * data.y_train).reshape(-1, 1)
    opts = options(optimizer=optimizer)
    layout = mlp.Layout((4, 5, 1), K)
    theta = np.zeros(layout.size)
    params = mlp.init_params(layout.sizes, "relu", "auto", np.random.default_rng(0))
    mlp.stack(layout, params, theta)
    return mlp._Trainer(layout, theta, data.X_train, Y, np.zeros(K), opts, loss), layout


@pytest.mark.parametrize("where", [0, 4, -1])  # a weight of layer 1, its bias, output bias
def test_a_parameter_beyond_the_bound_diverges_its_model_only(where):
    trainer, layout = _trainer(y_scale=100.0)
    limit = trainer.limit
    assert limit == health.weight_limit(trainer.Yt)
    views = layout.views(trainer.theta)
    first = layout.first(views[0])  # (d + 1, K, h1)
    if where == -1:
        views[-1][2, 0] = -limit  # model 2's output bias, exactly at the bound: fine
    else:
        first[where, 2, 0] = limit
    trainer.check_parameters()
    assert trainer.diverged.tolist() == [False, False, False]
    if where == -1:
        views[-1][1, 0] = -up(limit, np.inf)
    else:
        first[where, 1, 0] = up(limit, np.inf)
    trainer.check_parameters()
    assert trainer.diverged.tolist() == [False, True, False]


def test_a_nan_parameter_or_an_overflowed_optimiser_state_diverges():
    trainer, layout = _trainer()
    layout.views(trainer.theta)[1][0, 2, 0] = np.nan  # model 0, layer 2's weights
    layout.views(trainer.optimizer.v)[2][2, 0] = np.inf  # model 2, Adam's Σg² of a bias
    trainer.check_parameters()
    assert trainer.diverged.tolist() == [True, False, True]


def test_a_training_loss_far_above_its_start_diverges_at_the_evaluation():
    trainer, layout = _trainer(K=2)
    evaluator = mlp._Evaluator(layout, dataset().X_train, trainer.Yt.T, "squared_error", float)
    out = np.empty((1, 2))
    trainer.evaluate([evaluator], out)
    np.testing.assert_array_equal(trainer.start_loss, out[0])  # epoch 0 sets the start
    loss = out[0].copy()
    # as if the start had been a tenth of the loss (model 0) or less (model 1)
    trainer.start_loss, trainer.baseline = np.array([loss[0] / 10 * 1.0001, loss[1] / 20]), 0.0
    trainer.evaluate([evaluator], out)
    assert trainer.diverged.tolist() == [False, True]
    assert out[0, 0] == loss[0] and np.isnan(out[0, 1])


def _no_warnings(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("regularization", ["l2", "decoupled"])
def test_a_huge_lambda_diverges_quietly_whatever_the_optimiser(optimizer, regularization):
    opts = options(optimizer=optimizer, regularization=regularization, epochs=3)
    fit = _no_warnings(fit_mlp, dataset(), np.array([0.0, 1e300]), 0, opts)
    assert fit.diverged.tolist() == [False, True]
    assert np.isnan(fit.train_loss[1]) and np.isnan(fit.weight_sq_norm[1])


def test_adam_at_lambda_1e300_does_not_sit_at_its_initial_weights_as_ok():
    # The gradient 2λw squares to ∞ in Adam's state: every step is 0 from the first one.
    fit = _no_warnings(fit_mlp, dataset("binary"), np.array([1e300]), 0, options(epochs=2))
    assert fit.diverged.tolist() == [True]


@pytest.mark.parametrize("loss_check", [True, False])
def test_weights_are_frozen_at_the_bound_long_before_they_would_overflow(monkeypatch, loss_check):
    # No hidden layer, sgd with lr·2λ = 2.5: each step multiplies the weights by about −1.5
    # (×7.6 per epoch of 5 steps); unchecked, they would pass 1e308 at about epoch 350. The
    # epoch's loss check stops the run first; without it, the weight bound does.
    if not loss_check:
        monkeypatch.setattr(health, "LOSS_BLOWUP", np.inf)
    data, epochs = dataset(), 400
    limit = health.weight_limit(data.y_train)
    opts = options(optimizer="sgd", lr=0.01, epochs=epochs, eval_every=epochs, hidden=[])
    trained = _no_warnings(
        mlp.train_stacked,
        data.X_train,
        data.y_train.reshape(-1, 1),
        mlp.init_params((4, 1), "relu", "auto", np.random.default_rng(0)),
        np.array([0.0, 125.0]),
        [np.arange(40)] * epochs,
        opts,
        "squared_error",
    )
    assert trained.diverged.tolist() == [False, True]
    top = max(np.abs(p[1]).max() for p in trained.params)
    assert top < 10 * limit  # stopped within one epoch of crossing the bound, or before
    assert (top < limit) == loss_check
    assert np.isfinite(mlp.weight_sq_norm(trained.params)).all()
    assert np.isnan(trained.late_decrease[1]) and not trained.not_converged[1]


def test_late_decrease_is_read_off_the_curve_at_lambda_zero():
    fit = fit_mlp(dataset(), np.array([0.0]), 0, options(epochs=20))
    curve = fit.curves["train_loss"][0]  # J = L_data at λ = 0; the last tenth: epochs 18–20
    share = (curve[18] - curve[20]) / (curve[0] - curve[20])
    assert fit.metrics["late_decrease"][0] == pytest.approx(share, rel=1e-12)
    moving = curve[18] - curve[20] > 1e-3 * curve[20] or curve[0] - curve[20] < 1e-2 * curve[0]
    assert fit.not_converged[0] == (share > 0.05 and moving)
    fall = (curve[18] - curve[20]) / health.baseline_loss(dataset().y_train, False)
    assert fit.metrics["late_fall"][0] == pytest.approx(fall, rel=1e-12)


def test_too_few_epochs_is_not_converged_and_enough_is():
    data, lambdas = dataset(), np.array([0.0, 0.01])
    short = fit_mlp(data, lambdas, 0, options(epochs=3, lr=0.003))
    assert short.not_converged.all() and (short.metrics["late_decrease"] > 0.05).all()
    long = fit_mlp(data, lambdas, 0, options(epochs=400, lr=0.01, batch_size=40))
    assert not long.not_converged.any()


def test_above_constant_boundaries():
    # the constant predictor has J = the baseline at any λ: a minimiser of J is below it
    assert health.above_constant([1.25, up(1.25, 2)], 1.0, [1.0, 1.0], False).tolist() == [
        False,
        True,
    ]
    # decoupled decay descends another objective for λ > 0 (J may rise there); not at λ = 0
    assert health.above_constant([9.0, 9.0], 1.0, [0.0, 1.0], True).tolist() == [True, False]
    assert health.above_constant([np.nan], 1.0, [1.0], False).tolist() == [False]


def test_a_run_far_above_the_constant_predictor_is_not_converged_however_flat_its_end():
    # 3000 features, 100 rows, adam at lr 3e-4 for 30 epochs, λ = 10: J ends at 8.4 × the
    # baseline while its last tenth brings 2.6 % of its decrease, under the 5 % rule; it was
    # `ok`, `good` and λ_min (a run at 670 × the baseline was, on a user's wide CSV)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 3000))
    y = X[:, :5].sum(1) + rng.standard_normal(150)
    data = Dataset(X[:100], y[:100], X[100:], y[100:], REGRESSION)
    opts = options(hidden=[16], lr=3e-4, epochs=30, batch_size=32)
    fit = fit_mlp(data, np.array([10.0]), 0, opts)
    objective = fit.train_loss + 10.0 * fit.weight_sq_norm
    assert objective[0] > 1.25 * health.baseline_loss(data.y_train, False)
    assert fit.metrics["late_decrease"][0] < 0.05 and fit.not_converged[0]


@pytest.mark.parametrize("schedule", ["cosine", "step"])
def test_a_schedule_that_anneals_the_rate_does_not_hide_a_run_still_falling(schedule):
    # sgd at lr 0.003 for 30 epochs is far from trained; the schedule leaves its last tenth
    # of epochs almost no learning rate (cosine) or a hundredth of it (step), so that tenth
    # showed no fall and every run was `ok`. The late part is now the last tenth of the rate.
    opts = options(optimizer="sgd", lr=0.003, epochs=30, schedule=schedule, step_epochs=10)
    fit = fit_mlp(dataset(), np.array([0.0, 0.01]), 0, opts)
    assert fit.not_converged.all(), fit.metrics["late_decrease"]
    steady = fit_mlp(dataset(), np.array([0.0, 0.01]), 0, opts.model_copy(update={"lr": 0.1}))
    assert not steady.not_converged.any(), steady.metrics["late_decrease"]


def test_a_network_that_never_moved_is_not_converged():
    # lr 1e-30: J did not change at all, so `still_falling` had no decrease to measure, and a
    # random start 5 % below the baseline passed the no_fit margin: `ok`, `good`, λ_min
    assert health.never_moved([100.0, 100.0, 100.0], [100.0, up(99.0, 100), 99.0],
                              [0.0, 0.1, 0.1], False).tolist() == [True, True, False]  # fmt: skip
    # decoupled decay at λ > 0 descends another objective: its J may stay or rise
    assert health.never_moved([5.0, 5.0], [5.0, 5.0], [0.0, 1.0], True).tolist() == [True, False]
    # seed 24's random start is 31 % below the baseline: no other rule sees it
    fit = fit_mlp(dataset(), np.array([0.0]), 24, options(lr=1e-30, epochs=5))
    assert fit.train_loss[0] < 0.75 * health.baseline_loss(dataset().y_train, False)
    assert fit.not_converged.all() and not fit.diverged.any()


def test_a_learning_rate_far_too_small_is_not_converged_however_flat_its_curve():
    # sgd at lr 1e-6: J falls at a steady pace, by far less than 1 % of its start: every
    # tenth of training brings about a tenth of the decrease, but less than 0.1 % of J.
    fit = fit_mlp(dataset(), np.array([0.0, 0.01]), 0, options(optimizer="sgd", lr=1e-6, epochs=20))
    curve = fit.curves["train_loss"][0]  # J at λ = 0
    assert 0 < curve[0] - curve[20] < 1e-2 * curve[0]
    assert curve[18] - curve[20] < 1e-3 * curve[20]  # what the flatness guard alone let pass
    assert (fit.metrics["late_decrease"] > 0.05).all() and fit.not_converged.all()


@pytest.mark.parametrize("every", [1, 60])
def test_a_fit_found_and_lost_is_diverged_whatever_the_evaluation_stride(every):
    # Adam at lr 1: at λ = 0.01 the objective J falls to 0.51 and ends at 6.2, above the
    # baseline (4.9): with curve points only at the ends it looked like a run that ended
    # where it started
    opts = options(hidden=[16], lr=1.0, epochs=60, batch_size=8, eval_every=every)
    # λ = 1e-3 falls to 2.9 and bounces back to the baseline for good: lost by 0.4 × it
    fit = fit_mlp(dataset(n_train=60), np.array([0.0, 1e-3, 1e-2]), 0, opts)
    assert fit.diverged.tolist() == [False, True, True]


@pytest.mark.parametrize("seed", [0, 2])
def test_a_large_lambda_that_lets_the_fit_go_is_not_a_relapse(seed):
    # the λ → ∞ limit: configs/mlp.yaml with a wide tanh network at λ = 0.53 fits in its
    # first epochs (13 against a baseline of 24), then climbs back to the baseline as the
    # penalty shrinks the weights while J keeps falling. Judged on the data loss, such runs
    # were `diverged`, in the middle of the underfit side.
    from wdcli.config import load_config
    from wdcli.sweep import dataset_for

    changes = ["model.activation=tanh", "model.hidden=[128,128]", "model.batch_size=16",
               "model.lr=0.001", "model.epochs=60"]  # fmt: skip
    config = load_config(Path(__file__).parents[1] / "configs" / "mlp.yaml", changes)
    data = dataset_for(config, seed)
    fit = fit_mlp(data, np.array([0.3, 0.53, 0.95]), seed, config.model)
    curve, baseline = fit.curves["train_loss"][1], health.baseline_loss(data.y_train, False)
    assert curve.min() < 0.6 * baseline and curve[-1] > 0.99 * baseline  # found, let go
    assert not fit.diverged.any()


def test_went_up_counts_only_the_runs_whose_optimiser_descends_j():
    start, end = [1.0, 1.0, 1.0, 1.0, np.nan, 1.0], [1.5, 1.0, 0.5, 1.5, 2.0, np.inf]
    lambdas = np.array([0.1, 0.1, 0.1, 0.0, 0.1, 0.1])
    assert health.went_up(start, end, lambdas, decoupled=False).tolist() == [
        True, False, False, True, False, False]  # fmt: skip
    assert health.went_up(start, end, lambdas, decoupled=True).tolist() == [
        False, False, False, True, False, False]  # fmt: skip


def test_a_run_whose_objective_ends_above_its_start_is_diverged(monkeypatch):
    # adam at lr 2 (λ = 0.01): J ends a little above its start without ever passing the
    # blow-up bound (lifted here, so that this rule alone decides).
    monkeypatch.setattr(health, "LOSS_BLOWUP", 1e12)
    data, lambdas, epochs = dataset(), np.array([0.0, 0.01, 0.1]), 10
    Y = data.y_train.reshape(-1, 1)
    params = mlp.init_params((4, 5, 1), "relu", "auto", np.random.default_rng(0))
    orders = [np.random.default_rng(e).permutation(40) for e in range(epochs)]
    opts = options(optimizer="adam", lr=2.0, epochs=epochs)
    trained = _no_warnings(mlp.train_stacked, data.X_train, Y, params, lambdas, orders, opts,
                           "squared_error")  # fmt: skip
    stacked = [np.repeat(p[None], 3, axis=0) for p in params]
    start = mlp.objective_and_gradient(stacked, data.X_train, Y, lambdas, "relu", "squared_error")[
        0
    ]
    end = mlp.objective_and_gradient(trained.params, data.X_train, Y, lambdas, "relu",
                                     "squared_error")[0]  # fmt: skip
    assert (end > start).tolist() == [False, True, False]
    assert trained.diverged.tolist() == [False, True, False]
    assert np.isnan(trained.train_curve[1, -1]) and np.isfinite(trained.train_curve[1, :-1]).all()
    assert np.isfinite(trained.train_curve[[0, 2]]).all()


def test_the_convergence_check_does_not_depend_on_eval_every():
    data, lambdas = dataset(), np.array([0.0, 0.01])
    every = fit_mlp(data, lambdas, 0, options(epochs=30))
    rarely = fit_mlp(data, lambdas, 0, options(epochs=30, eval_every=30))
    np.testing.assert_array_equal(every.train_loss, rarely.train_loss)
    np.testing.assert_allclose(
        every.metrics["late_decrease"], rarely.metrics["late_decrease"], rtol=1e-12
    )
    np.testing.assert_array_equal(every.not_converged, rarely.not_converged)


# --------------------------------------------------------------------------- the other models


def test_logistic_is_not_converged_exactly_when_the_solver_did_not_converge():
    data = dataset("binary")
    lambdas = np.array([0.01, 0.1])
    short = fit_logistic(data, lambdas, 0, LogisticModel(name="logistic", max_iter=1))
    assert (short.metrics["grad_norm"] > 1e-8).all()
    assert short.not_converged.all() and not short.metrics["converged"].any()
    full = fit_logistic(data, lambdas, 0, LogisticModel(name="logistic"))
    assert not full.not_converged.any() and full.metrics["converged"].all()


def test_a_tiny_lambda_is_solved_to_its_minimiser_not_stopped_by_a_small_gradient():
    # the curvature 2λ is tiny there: max|∇J| ≤ tol stopped λ = 1e-12 on separable data at 5×
    # its minimum J and 85 % off its test loss, `ok` and converged
    data = dataset("separable")
    lambdas = np.array([1e-12, 1e-8])
    fit = fit_logistic(data, lambdas, 0, LogisticModel(name="logistic", max_iter=1000))
    exact = fit_logistic(data, lambdas, 0, LogisticModel(name="logistic", max_iter=1000,
                                                          tol=1e-14))  # fmt: skip
    assert fit.metrics["converged"].all() and not fit.not_converged.any()
    np.testing.assert_allclose(fit.test_loss, exact.test_loss, rtol=1e-3)
    np.testing.assert_allclose(fit.weight_sq_norm, exact.weight_sq_norm, rtol=1e-3)


def test_logistic_at_lambda_zero_on_separable_classes_is_not_converged():
    # No minimiser exists (the weights run off to infinity): its numbers are wherever max_iter
    # stopped it, and one such run (max_iter 20) was `ok`, `good` and λ_min
    data = dataset("separable")
    # the step test, relative to |θ|, passed after about 1/√tol steps: at max_iter 2000 (or
    # tol 1e-4, the loosest allowed, in some 100) λ = 0 was converged, `ok` and λ_min again
    for max_iter, tol in ((20, 1e-8), (100, 1e-8), (2000, 1e-8), (400, 1e-4)):
        options = LogisticModel(name="logistic", max_iter=max_iter, tol=tol)
        fit = fit_logistic(data, np.array([0.0, 0.01]), 0, options)
        assert fit.metrics["grad_norm"][0] <= options.tol and fit.train_loss[0] < 1e-6
        assert fit.not_converged.tolist() == [True, False]
        grad, converged = fit.metrics["grad_norm"][0], bool(fit.metrics["converged"][0])
        assert health.no_minimiser(0.0, float(grad), converged, options.tol)
    assert not health.no_minimiser(0.01, 0.0, False, 1e-8)  # λ > 0 has a minimiser
    assert not health.no_minimiser(0.0, 2e-8, False, 1e-8)  # too few iterations, not separation
    assert not health.no_minimiser(0.0, 1e-9, True, 1e-8)


def test_a_run_at_the_constant_is_stuck_where_a_run_at_a_larger_lambda_fits():
    lambdas = [0.0, 0.01, 0.01, 0.1, 1.0]
    train = [0.99, 1.0, 0.5, up(0.99, 1), 1.0]  # as ratios to each run's baseline
    objective = [0.99, 1.0, 0.6, 0.75, 1.0]  # λ = 0.1 fits, just: J = 0.75 × the baseline
    ok = [True, True, True, True, True]
    stuck = health.stuck_at_constant(lambdas, train, objective, ok)
    # 0.99 is near-constant below, not stuck; λ = 1 has no fitting run at or above it
    assert stuck.tolist() == [False, True, False, True, False]
    objective[3] = up(0.75, 1)  # λ = 0.1 no longer fits: only λ ≤ 0.01 can be stuck
    assert health.stuck_at_constant(lambdas, train, objective, ok).tolist() == [
        False, True, False, False, False]  # fmt: skip
    ok[2] = False  # a fit that is not ok vouches for nothing
    assert not health.stuck_at_constant(lambdas, train, objective, ok).any()
    assert not health.stuck_at_constant([0.1], [np.nan], [np.nan], [True]).any()


def _status(fit, data):
    from wdcli.sweep.unit import _statuses

    return _statuses(fit, data)


def test_a_weak_real_signal_lowers_the_no_fit_margin_to_half_its_best_linear_gain():
    # y = 0.07·x₁ + unit noise: least squares ends at 0.992 × the baseline, so every network
    # at that optimum was no_fit (not 1 % below it), with advice to leave identity
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 3))
    y = 0.07 * X[:, 0] + rng.normal(size=2000)
    centred = X - X.mean(axis=0)
    residual = y - y.mean() - centred @ np.linalg.lstsq(centred, y - y.mean(), rcond=None)[0]
    gain = 1 - residual.var() / y.var()
    assert 0.006 < gain < 0.01  # above 3 × (3 + 1) / 2000 = 0.006, below 1 %
    assert health.weak_signal_margin(X, y) == pytest.approx(gain / 2, rel=1e-12)
    noise = rng.normal(size=2000)  # no signal: a flat network must still be caught
    assert health.weak_signal_margin(X, noise) == health.NEAR_CONSTANT
    assert health.weak_signal_margin(X, X[:, 0] ** 2) == health.NEAR_CONSTANT  # not linear
    assert health.weak_signal_margin(X, X[:, 0] + noise) == health.NEAR_CONSTANT  # strong
    assert health.weak_signal_margin(X[:10], y[:10]) == health.NEAR_CONSTANT  # too few rows
    # an identity network at that optimum is ok at every λ that trains (all were no_fit)
    X_test = rng.normal(size=(500, 3))
    data = Dataset(X, y, X_test, 0.07 * X_test[:, 0] + rng.normal(size=500), REGRESSION)
    model = MLPModel(name="mlp", hidden=[16], activation="identity", lr=0.003, batch_size=64,
                     epochs=60)  # fmt: skip
    fit = fit_mlp(data, np.array([0.0, 1e-3]), 0, model)
    assert (fit.train_loss < 0.995 * health.baseline_loss(data.y_train, False)).all()
    assert _status(fit, data) == ["ok", "ok"]


def test_no_better_than_the_constant_with_weights_far_from_it_is_no_fit_at_its_boundaries():
    # not 1 % below the baseline: a deep sigmoid stack whose output stayed flat ended 1e-6
    # below it, and was `ok`
    y = np.array([1.0, 3.0])  # baseline 1, mean(y²) 5: the rounding allowance is 5e-28
    edge = 0.99 + 1e-28 * 5.0
    loss = [up(edge, 2), up(edge, 2), edge, up(edge, 2), np.nan]
    sq_norm = [up(0.1, 1), 0.1, 1.0, up(0.1, 1), 1.0]  # against a start of 1
    assert health.no_better_than_constant(loss, y, False, sq_norm, np.ones(5)).tolist() == [
        True, False, False, True, False]  # fmt: skip
    flags = health.no_better_than_constant(loss, y, False, sq_norm, np.ones(5))
    assert health.statuses(loss, 1.25, not_converged=[True] * 5, no_fit=flags) == [
        "no_fit", "not_converged", "not_converged", "no_fit", "diverged"]  # fmt: skip


def test_the_infinite_lambda_limit_is_ok_and_underfit():
    """Every model at λ → ∞ is the constant predictor: its loss is the baseline's, not worse."""
    lambdas = np.array([0.0, 0.01, 1e8])
    cases = [
        (fit_ridge_path, dataset(shift=50.0), LinearModel(name="linear")),
        (fit_logistic, dataset("binary"), LogisticModel(name="logistic")),
        (fit_mlp, dataset(shift=5.0), options(lr=0.05, epochs=300, batch_size=40)),
        (fit_mlp, dataset("binary"), options(lr=0.05, epochs=300, batch_size=40)),
    ]
    for fit_function, data, opts in cases:
        fit = fit_function(data, lambdas, 0, opts)
        baseline = health.baseline_loss(data.y_train, data.task == CLASSIFICATION)
        assert fit.train_loss[-1] == pytest.approx(baseline, rel=0.05), fit_function
        assert _status(fit, data) == ["ok", "ok", "ok"], fit_function
        runs = [
            {"lambda": lam, "seed": 0, "status": "ok", "train_loss": tr, "test_loss": te}
            for lam, tr, te in zip(lambdas, fit.train_loss, fit.test_loss, strict=True)
        ]
        rows, _, _ = summarise(runs, 0.05)
        assert rows[-1]["regime"] == "underfit", fit_function


def test_an_mlp_that_never_reached_the_mean_is_no_fit():
    # Targets around 50 and Adam at lr 0.001 for 3 epochs: the output moves ~0.015.
    data = dataset(shift=50.0)
    fit = fit_mlp(data, np.array([0.0, 1.0]), 0, options(lr=0.001, epochs=3))
    assert (fit.train_loss > 10 * health.baseline_loss(data.y_train, False)).all()
    assert _status(fit, data) == ["no_fit", "no_fit"]


def test_ridge_is_never_unhealthy_on_ordinary_data():
    data = dataset()
    fit = fit_ridge_path(data, np.logspace(-8, 8, 9), 0, LinearModel(name="linear"))
    assert fit.not_converged is None and fit.diverged is None
    assert set(_status(fit, data)) == {"ok"}


def test_decoupled_decay_under_plain_sgd_gets_the_statuses_of_l2_whose_step_it_is():
    # the same update, w ← (1 − lr·2λ)·w − lr·∇L: l2 was ok at lr·2λ ≥ 1 and decoupled
    # `diverged` (decay_flips) with the note "not trained: the decay factor is ≤ 0"
    data, lambdas = dataset(), np.array([0.01, 60.0, 99.0])
    sgd = {"optimizer": "sgd", "lr": 0.01, "epochs": 30}
    l2 = fit_mlp(data, lambdas, 0, options(**sgd))
    decoupled = fit_mlp(data, lambdas, 0, options(**sgd, regularization="decoupled"))
    np.testing.assert_allclose(decoupled.train_loss, l2.train_loss, rtol=1e-12)
    assert _status(decoupled, data) == _status(l2, data)
    assert not decoupled.diverged.any()
    paper = fit_mlp(data, lambdas, 0, options(**sgd, regularization="decoupled",
                                              decay_convention="paper"))  # fmt: skip
    assert paper.diverged.tolist() == [False, True, True]  # 1 − 2λ ≤ 0: not l2's step
    assert health.decouples("decoupled", "adam", "torch")
    assert not health.decouples("decoupled", "sgd", "torch")
    assert health.decouples("decoupled", "sgd", "paper")
    assert not health.decouples("l2", "adam", "torch")
