"""Grokking on modular arithmetic: the dataset, full-batch training, the step columns, plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import results_of
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.config import MLPModel, validate
from wdcli.data.build import build_dataset
from wdcli.errors import ConfigError
from wdcli.metrics import grokking
from wdcli.models.mlp import encode_targets, fit_mlp, init_params, train_stacked
from wdcli.report import table as report
from wdcli.report.plots import curves_figure
from wdcli.store.results import dumps

runner = CliRunner()


def modular(**changes):
    data = {"name": "modular", "p": 7} | changes
    config = validate({"name": "m", "dataset": data, "model": {"name": "mlp"}, "lambdas": [0]}, "t")
    return config.dataset


# --------------------------------------------------------------------------- the dataset


@pytest.mark.parametrize(
    ("operation", "label"),
    [("add", lambda a, b: (a + b) % 7), ("subtract", lambda a, b: (a - b) % 7),
     ("multiply", lambda a, b: (a * b) % 7)],
)  # fmt: skip
def test_every_pair_once_with_the_right_label(operation, label):
    data = build_dataset(modular(operation=operation), seed=3)
    X = np.concatenate([data.X_train, data.X_test])
    y = np.concatenate([data.y_train, data.y_test])
    assert X.shape == (49, 14) and set(np.unique(X)) == {0.0, 1.0}
    assert (X[:, :7].sum(axis=1) == 1).all() and (X[:, 7:].sum(axis=1) == 1).all()
    a, b = X[:, :7].argmax(axis=1), X[:, 7:].argmax(axis=1)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [
        (i, j) for i in range(7) for j in range(7)
    ]
    assert (y == label(a, b)).all()
    assert data.task == "classification" and data.classes == [str(c) for c in range(7)]


def test_the_split_follows_train_fraction_and_the_seed():
    data = build_dataset(modular(p=11, train_fraction=0.3), seed=0)
    assert len(data.y_train) == math.floor(0.3 * 121) == 36 and len(data.y_test) == 85
    again = build_dataset(modular(p=11, train_fraction=0.3), seed=0)
    other = build_dataset(modular(p=11, train_fraction=0.3), seed=1)
    assert again.fingerprint() == data.fingerprint() != other.fingerprint()
    fixed = modular(p=11, train_fraction=0.3, seed=5)
    assert build_dataset(fixed, 0).fingerprint() == build_dataset(fixed, 1).fingerprint()
    assert len(build_dataset(modular(p=11, n_train=100), 0).y_train) == 100


def test_the_inputs_are_not_standardised():
    data = build_dataset(modular(p=5, train_fraction=0.4), seed=0)
    assert set(np.unique(data.X_test)) == {0.0, 1.0}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"test_size": 0.5}, "t: dataset: test_size does not apply: modular uses all p² pairs, "
         "split by train_fraction (or n_train)"),
        ({"p": 1}, "t: dataset.p: must be ≥ 2"),
        ({"operation": "divide"}, "t: dataset.operation: must be 'add', 'subtract' or 'multiply'"),
        ({"train_fraction": 1}, "t: dataset.train_fraction: must be < 1"),
        ({"train_fraction": 0.01},
         "t: dataset: train_fraction leaves no training pairs of the 49 (p = 7)"),
        ({"n_train": 49}, "t: dataset: n_train leaves no test pairs of the 49 (p = 7)"),
    ],
)  # fmt: skip
def test_config_errors_name_the_field(changes, message):
    with pytest.raises(ConfigError) as err:
        modular(**changes)
    assert str(err.value) == message


def test_batch_size_takes_an_integer_or_full():
    with pytest.raises(ConfigError) as err:
        validate({"name": "m", "dataset": {"name": "modular"},
                  "model": {"name": "mlp", "batch_size": "all"}, "lambdas": [0]}, "t")  # fmt: skip
    assert str(err.value) == "t: model.batch_size: must be an integer ≥ 1 or 'full', got 'all'"
    assert MLPModel(name="mlp", batch_size="full").batch_rows(37) == 37
    assert MLPModel(name="mlp", batch_size=64).batch_rows(37) == 37


@pytest.mark.parametrize(
    ("model", "message"),
    [
        # each was two lines naming pydantic's validators, or a bare "must be a valid list"
        ({"eval_every": 0}, "model.eval_every: must be an integer ≥ 1 or 'auto', got 0"),
        ({"hidden": 0}, "model.hidden: must be a list of layer widths such as [64, 64], got 0"),
        # eval_points silently won over an eval_every that was set
        ({"eval_every": 100, "eval_points": 150}, "model: eval_every (100) and eval_points (150): "
         "set one; eval_points records log-spaced epochs instead of every eval_every-th "
         "(eval_points: null to use eval_every)"),
    ],
)  # fmt: skip
def test_curve_and_width_settings_fail_in_one_line(model, message):
    with pytest.raises(ConfigError) as err:
        validate({"name": "m", "dataset": {"name": "modular"},
                  "model": {"name": "mlp", **model}, "lambdas": [0]}, "t")  # fmt: skip
    assert str(err.value) == f"t: {message}"


# --------------------------------------------------------------------------- full batch


def options(**changes) -> MLPModel:
    defaults = dict(name="mlp", hidden=[16], epochs=30, lr=0.01, eval_every=1)
    return MLPModel(**(defaults | changes))


@pytest.mark.parametrize("regularization", ["l2", "decoupled"])
def test_full_batch_equals_one_mini_batch_of_every_row(regularization):
    data = build_dataset(modular(p=7), seed=0)
    lambdas = np.array([0.0, 1e-3, 1e-1])
    full = fit_mlp(data, lambdas, 0, options(batch_size="full", regularization=regularization))
    one = options(batch_size=len(data.y_train), regularization=regularization)
    # The same training rows in one batch each epoch: the mini-batch path, identity order.
    Y, loss = encode_targets(data.y_train, data.task, data.n_classes, np.float64)
    Yt, _ = encode_targets(data.y_test, data.task, data.n_classes, np.float64)
    init = np.random.default_rng(np.random.SeedSequence(0).spawn(2)[0])
    params = init_params((14, 16, 7), "relu", "auto", init)
    orders = [np.arange(len(Y))] * 30
    mini = train_stacked(data.X_train, Y, params, lambdas, orders, one, loss, data.X_test, Yt)
    np.testing.assert_array_equal(full.curves["train_loss"], mini.train_curve)
    np.testing.assert_array_equal(full.curves["test_accuracy"], mini.test_accuracy_curve)
    # ... and in a shuffled order each epoch: the same to rounding.
    shuffled = fit_mlp(data, lambdas, 0, one)
    np.testing.assert_allclose(shuffled.train_loss, full.train_loss, rtol=1e-9)
    np.testing.assert_allclose(shuffled.curves["test_loss"], full.curves["test_loss"], rtol=1e-9)


def test_accuracy_curves_end_at_the_reported_accuracy():
    data = build_dataset(modular(p=7), seed=0)
    fit = fit_mlp(data, np.array([0.0, 0.1]), 0, options(batch_size="full", eval_every=7))
    assert fit.curves["epoch"].tolist() == [0, 7, 14, 21, 28, 30]
    for split in ("train", "test"):
        curve = fit.curves[f"{split}_accuracy"]
        assert curve.shape == (2, 6)
        np.testing.assert_array_equal(curve[:, -1], fit.metrics[f"{split}_accuracy"])
        n = len(data.y_train if split == "train" else data.y_test)
        np.testing.assert_allclose(curve * n, np.round(curve * n))  # whole numbers of pairs


def test_full_batch_reports_every_evaluation():
    data = build_dataset(modular(p=5), seed=0)
    heard = []
    fit_mlp(data, np.array([0.0, 1.0]), 0, options(batch_size="full", epochs=10, eval_every=5),
            on_eval=lambda *args: heard.append(args))  # fmt: skip
    assert [(step, steps) for step, steps, *_ in heard] == [(0, 10), (5, 10), (10, 10)]
    assert heard[-1][3].shape == (2,)


# --------------------------------------------------------------------------- step columns


def test_first_reached_and_the_run_fields():
    curve = {"epoch": [0, 10, 20, 30], "train_accuracy": [0.1, 0.995, 1.0, 1.0],
             "test_accuracy": [0.0, 0.2, None, 0.99]}  # fmt: skip
    assert grokking.run_fields(curve) == {
        "train_acc_99_step": 10, "test_acc_99_step": 30, "grok_delay": 20}  # fmt: skip
    curve["test_accuracy"][-1] = 0.98
    assert grokking.run_fields(curve)["test_acc_99_step"] is None
    # the untrained network right by chance on a tiny test split is no generalisation
    curve["test_accuracy"] = [1.0, 0.0, 0.0, 0.0]
    assert grokking.run_fields(curve)["test_acc_99_step"] is None
    assert grokking.run_fields(curve)["grok_delay"] is None
    assert grokking.run_fields({"epoch": [0], "train_loss": [1.0]}) == {}


def _document(rows, epochs=2000, batch_size="full", **extra):
    return results_of(
        {
            **extra,
            "config": {
                "name": "g",
                "model": {
                    "name": "mlp",
                    "batch_size": batch_size,
                    "epochs": epochs,
                    "eval_every": 100,
                },
                "dataset": {"name": "modular"},
                "tolerance": 0.05,
            },  # fmt: skip
            "summary": rows,
            "best_lambda": None,
            "lambda_1se": None,
        }
    )


def _row(lam, runs):
    from wdcli.metrics.summary import summarise_lambda

    for run in runs:
        run.update({"lambda": lam, "status": "ok", "train_loss": 0.1, "test_loss": 1.0})
    row = summarise_lambda(lam, runs)
    row["regime"] = "good"
    return row


def test_table_columns_steps_delay_and_not_within():
    rows = [
        _row(0.0, [{"train_acc_99_step": 300, "test_acc_99_step": None, "grok_delay": None}]),
        _row(1.0, [{"train_acc_99_step": 400, "test_acc_99_step": 1700, "grok_delay": 1300}]),
    ]
    headers, body = report.rows(_document(rows))
    assert headers[-5:-2] == ["step train acc ≥ 99 %", "step test acc ≥ 99 %", "delay"]
    assert body[0][-5:-2] == ["300", "not within 2000", "–"]
    assert body[1][-5:-2] == ["400", "1700", "1300"]
    # a λ whose runs were refused before training (lr·2λ ≥ 1) did not fail to reach anything
    never = [{"train_acc_99_step": None, "test_acc_99_step": None, "grok_delay": None}]
    rows.append(_row(30.0, never))
    rows[-1].update(n_diverged=1, regime=None)
    headers, body = report.rows(_document(rows))
    at = headers.index("step train acc ≥ 99 %")
    assert body[2][at : at + 3] == ["–", "–", "–"] and body[2][at + 3] == "1/1 diverged"
    assert "every 100 of 2000" in report.caption(_document(rows))
    assert "step test acc ≥ 99 %" in report.markdown(_document(rows))


def test_table_cells_over_seeds_say_how_many_reached():
    runs = [
        {"train_acc_99_step": 300, "test_acc_99_step": 1000, "grok_delay": 700},
        {"train_acc_99_step": 500, "test_acc_99_step": None, "grok_delay": None},
    ]
    row = _row(0.3, runs)
    assert row["n_test_acc_99_step"] == 1 and row["train_acc_99_step_mean"] == 400
    _, body = report.rows(_document([row]))
    assert body[0][-5:-2] == ["400 ± 1.4e+02", "1000 (1 of 2)", "700 (1 of 2)"]  # delay said 700
    # a mean that is not a whole step keeps its half (7.5 and 6.5 read "8" and "6")
    halves = [{"train_acc_99_step": 1, "test_acc_99_step": t, "grok_delay": t - 1} for t in (2, 13)]
    _, body = report.rows(_document([_row(1.0, halves)]))
    assert [cell.split(" ±")[0] for cell in body[0][-5:-2]] == ["1", "7.5", "6.5"]


def test_no_step_columns_for_mini_batches():
    rows = [_row(0.0, [{"train_acc_99_step": 3, "test_acc_99_step": 5, "grok_delay": 2}])]
    assert "delay" in report.rows(_document(rows))[0]
    assert "delay" not in report.rows(_document(rows, batch_size=32))[0]


# --------------------------------------------------------------------------- end to end

CONFIG = """\
name: tiny-grok
dataset: {name: modular, p: 7, train_fraction: 0.6, seed: 0}
model: {name: mlp, hidden: [32], lr: 0.01, batch_size: full, epochs: 60, eval_every: 20,
        regularization: decoupled, beta2: 0.98}
lambdas: [0, 0.1]
"""


@pytest.mark.slow
def test_sweep_show_and_plot_of_a_full_batch_sweep(write_config, tmp_path):
    out = tmp_path / "g.json"
    result = runner.invoke(app, ["sweep", str(write_config(CONFIG)), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "step test acc ≥ 99 %" in result.stdout
    text = out.read_text()
    document = json.loads(text)
    run = document["runs"][0]
    assert run["curve"]["epoch"] == [0, 20, 40, 60]
    assert set(run["curve"]) == {"epoch", "train_loss", "test_loss", "train_accuracy",
                                 "test_accuracy"}  # fmt: skip
    assert run["train_acc_99_step"] in (None, 20, 40, 60)
    assert '"epoch": [0, 20, 40, 60]' in text  # a curve is one line
    assert dumps(document) == text
    figure = tmp_path / "g.png"
    result = runner.invoke(app, ["plot", str(out), "--curves", "-o", str(figure)])
    assert result.exit_code == 0, result.output
    assert figure.stat().st_size > 10_000
    svg = tmp_path / "g.svg"
    runner.invoke(app, ["plot", str(out), "--curves", "-o", str(svg), "--lambda", "0.1"])
    text = svg.read_text()
    assert 'id="step-test-accuracy-0.1"' in text and 'id="step-train-loss-0.1"' in text
    assert 'id="step-test-accuracy-0"' not in text  # only the λ asked for


def test_eval_points_are_log_spaced_and_end_at_the_last_step():
    from wdcli.models.mlp import eval_epochs

    steps = eval_epochs(20000, 1, points=150)
    assert steps[0] == 0 and steps[-1] == 20000 and len(steps) <= 151
    assert steps[1:18].tolist() == list(range(1, 18))  # dense early
    ratios = steps[-10:] / steps[-11:-1]
    np.testing.assert_allclose(ratios, 20000 ** (1 / 149), rtol=0.01)  # even in log(step)
    assert eval_epochs(10, 1, points=2).tolist() == [0, 1, 10]


# --------------------------------------------------------------------------- progress


def test_progress_reports_steps_and_the_best_test_accuracy(write_config):
    from wdcli.config import load_config
    from wdcli.executors import SerialExecutor, progress
    from wdcli.sweep import plan_units, run_unit

    config = load_config(write_config(CONFIG))
    events = []
    with progress.listen(events.append):
        runs = [run for unit_runs in SerialExecutor().run(run_unit, config, plan_units(config))
                for run in unit_runs]  # fmt: skip
    assert events[0]["unit"] == "seed 0 · λ 0…0.1 · step"
    assert events[0]["step"] == 0 and events[-1]["step"] == events[-1]["steps"] == 60
    assert events[-1]["done"] and events[-1]["metric"] == "acc"
    best = max(max(run["curve"]["test_accuracy"]) for run in runs)
    assert events[-1]["best"] == best
    assert progress.describe(events[-1]).startswith(f"best test acc {best:.4g} (λ ")
    # Nobody listening: no hook, nothing sent.
    assert progress.evaluation_hook(0, [0.0]) is None


def test_list_datasets_shows_modular_without_the_refused_keys():
    result = runner.invoke(app, ["list", "datasets"], terminal_width=200)
    line = next(line for line in result.stdout.splitlines() if "│ modular" in line)
    assert "p=31, operation=add, train_fraction=0.5" in line and "n_samples=" not in line


def test_the_resolved_config_leaves_out_the_refused_keys_and_validates_again():
    from wdcli.config import load_config

    config = load_config(Path(__file__).parent.parent / "configs" / "grokking.yaml")
    resolved = config.resolved()
    assert "test_size" not in resolved["dataset"] and "n_samples" not in resolved["dataset"]
    assert validate(resolved, "again").hash() == config.hash()
    assert config.model.batch_size == "full" and config.model.regularization == "decoupled"


@pytest.mark.slow
def test_progress_comes_back_from_worker_processes(write_config):
    from wdcli.config import load_config
    from wdcli.executors import ProcessExecutor, progress
    from wdcli.sweep import plan_units, run_unit

    config = load_config(write_config(CONFIG))
    events = []
    with progress.listen(events.append):
        units = plan_units(config, lambdas_per_unit=1)
        list(ProcessExecutor(2).run(run_unit, config, units))
    done = {event["unit"] for event in events if event["done"]}
    assert done == {"seed 0 · λ 0 · step", "seed 0 · λ 0.1 · step"}


def test_a_full_batch_sweep_that_diverged_at_once_is_drawn_as_such(write_config, tmp_path):
    out = tmp_path / "g.json"
    config = write_config(CONFIG)
    result = runner.invoke(app, ["sweep", str(config), "--out", str(out), "-q",
                                 "--set", "model.lr=100"])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert {run["status"] for run in document["runs"]} == {"diverged"}
    for run in document["runs"]:  # found at step 20: no loss and no accuracy from there on
        assert run["curve"]["test_loss"][1:] == run["curve"]["test_accuracy"][1:] == [None] * 3
    fig = curves_figure(results_of(document))
    top = fig.axes[0]
    assert [t.get_text() for t in top.texts] == [
        "no run trained past its first step: nothing to draw\n(see each run's status)"
    ]
    assert top.get_xlim() == pytest.approx((0.9, 66.0))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == ["λ = 0 (1/1 diverged)", "λ = 0.1 (1/1 diverged)"]


@pytest.mark.parametrize("every", [20, 1])
def test_a_loss_that_spikes_between_evaluations_is_diverged_whatever_the_stride(
    write_config, tmp_path, every
):
    # Adam at lr 10 spikes above 10× the baseline within the first epochs and then comes back
    # down; with curve points 20 epochs apart the spike fell between them, λ = 0 ended `ok`
    # and λ = 0.1 `no_fit`. The loss is now checked after every epoch.
    out = tmp_path / "g.json"
    result = runner.invoke(app, ["sweep", str(write_config(CONFIG)), "--out", str(out), "-q",
                                 "--set", "model.lr=10", "--set", f"model.eval_every={every}"])  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert [r["status"] for r in document["runs"]] == ["diverged", "diverged"]
    assert document["best_lambda"] is None


def test_a_modular_split_missing_a_class_names_train_fraction(write_config):
    # the refusal suggested test_size and a test file, which modular refuses and lacks
    from typer.testing import CliRunner

    from wdcli.cli import app

    config = write_config(
        "name: m\ndataset: {name: modular, p: 31, train_fraction: 0.05, seed: 0}\n"
        "model: {name: mlp, hidden: [8], batch_size: full, epochs: 2}\nlambdas: [0.1]\n"
    )
    result = CliRunner().invoke(app, ["validate", str(config)])
    assert result.exit_code == 2
    assert result.stderr.endswith(
        "use a larger train_fraction (or n_train), or another dataset.seed\n"
    )


def test_under_k_fold_the_step_column_names_the_folds_accuracy():
    # it said "step test acc ≥ 99 %" of the held-out folds' accuracy, beside "cv acc"
    rows = [_row(0.0, [{"train_acc_99_step": 3, "test_acc_99_step": 5, "grok_delay": 2}])]
    headers, _ = report.rows(_document(rows, validation={"kind": "kfold"}))
    assert "step cv acc ≥ 99 %" in headers and "step test acc ≥ 99 %" not in headers
