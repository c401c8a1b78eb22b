"""Training health through the command line: a sweep of each kind of failure, with its
statuses, table, stderr line and exit code; and how tables, charts and figures show them."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import results_of
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wdcli.cli import app
from wdcli.metrics.summary import summarise
from wdcli.models import MODELS
from wdcli.records import Results
from wdcli.report import table as report
from wdcli.report.plots import curves_figure, validation_figure
from wdcli.report.termchart import loss_chart

MLP = MODELS["mlp"]  # the health hints of the documents below

runner = CliRunner()

TINY_MLP = """\
name: tiny-mlp
dataset: {name: diabetes, n_train: 100}
model: {name: mlp, hidden: [8], optimizer: sgd, lr: 1.0, epochs: 3}
lambdas: [0, 0.01]
seeds: 2
"""


def sweep(config, tmp_path, *extra):
    """Run `wdcli sweep` with floating point warnings as errors; (result, document)."""
    out = tmp_path / "r.json"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runner.invoke(
            app, ["sweep", str(config), "--out", str(out), "--format", "markdown", *extra]
        )
    assert result.exit_code == 0, result.stderr + repr(result.exception)
    assert "Warning" not in result.stderr
    return result, json.loads(out.read_text())


def stderr_lines(result) -> list[str]:
    return result.stderr.strip().splitlines()


def test_sgd_with_a_large_learning_rate_diverges_every_run(write_config, tmp_path):
    result, document = sweep(write_config(TINY_MLP), tmp_path)
    assert {run["status"] for run in document["runs"]} == {"diverged"}
    assert {run["diverged_by"] for run in document["runs"]} == {"blew_up"}
    for run in document["runs"]:
        assert run["train_loss"] is run["test_loss"] is run["weight_sq_norm"] is None
    assert "| 0 | – | – | – | – | 2/2 diverged | – |  |" in result.stdout
    assert "| 0.01 | – | – | – | – | 2/2 diverged | – |  |" in result.stdout
    assert "_no λ trained on every seed: nothing can be said" in result.stdout
    assert document["best_lambda"] is None and document["lambda_1se"] is None
    assert stderr_lines(result) == [
        "warning: no run trained: 4 diverged (loss or weights blew up) at λ = 0, 0.01: "
        "lower model.lr; so no λ has a regime and there is no λ_min (docs/health.md)",
        f"wrote {tmp_path / 'r.json'}",
    ]


def _prices_csv(path):
    """A regression CSV in the units of house prices: y ≈ 5e5 ± 4e4, features on scales 1e3
    and 1, and a category."""
    rng = np.random.default_rng(1)
    a, b, city = rng.normal(size=300) * 1000, rng.normal(size=300), rng.choice(["x", "y", "z"], 300)
    price = 5e5 + 30 * a + 2e4 * b + 1e4 * rng.normal(size=300)
    rows = [f"{x},{z},{c},{y}" for x, z, c, y in zip(a, b, city, price, strict=True)]
    path.write_text("a,b,city,price\n" + "\n".join(rows) + "\n")


PRICES = """\
name: prices
dataset: {name: csv, path: prices.csv, target: price, categorical: [city]}
model: {name: mlp, hidden: [32], optimizer: adam, lr: 3.0, epochs: 50, batch_size: 32}
lambdas: [0, 0.001, 0.01]
seeds: 2
"""


def test_adam_bouncing_at_a_learning_rate_far_too_large_is_diverged(write_config, tmp_path):
    # The losses jump to 6–200 × their start and fall back, never overflowing: every run
    # ended far above what lr 0.01 reaches (2e8 against 1e8), and was once reported `ok`,
    # with all three λ `flat`.
    _prices_csv(tmp_path / "prices.csv")
    result, document = sweep(write_config(PRICES), tmp_path)
    assert {run["status"] for run in document["runs"]} == {"diverged"}
    assert document["best_lambda"] is None
    assert stderr_lines(result)[0].startswith(
        "warning: no run trained: 6 diverged (loss or weights blew up) at λ = 0, 0.001, 0.01: "
        "lower model.lr;"
    )
    _, sane = sweep(write_config(PRICES), tmp_path, "--set", "model.lr=0.01", "--force")
    assert {run["status"] for run in sane["runs"]} == {"ok"}


def test_a_learning_rate_far_too_small_is_not_converged(write_config, tmp_path):
    # sgd at lr 1e-6 leaves the networks where they started (J moves by 0.2 %); one seed's
    # start happened to beat the mean, and was once reported `ok`.
    _prices_csv(tmp_path / "prices.csv")
    config = write_config(PRICES)
    result, document = sweep(config, tmp_path, "--set", "model.optimizer=sgd",
                             "--set", "model.lr=1e-6")  # fmt: skip
    statuses = {(run["seed"], run["status"]) for run in document["runs"]}
    assert (0, "not_converged") in statuses and (0, "ok") not in statuses
    assert "raise model.epochs or model.lr" in stderr_lines(result)[0]


def test_too_few_epochs_is_no_fit(write_config, tmp_path):
    config = write_config(TINY_MLP)
    result, document = sweep(
        config, tmp_path, "--set", "model.optimizer=adam", "--set", "model.lr=0.001",
        "--set", "model.epochs=2",
    )  # fmt: skip
    assert {run["status"] for run in document["runs"]} == {"no_fit"}
    for run in document["runs"]:  # the diabetes targets are ~150: far from the mean
        assert run["train_loss"] > 1.25 * run["baseline_loss"]
    assert "| 0 | – | – | – | – | 2/2 no_fit | – |  |" in result.stdout
    assert [row["n_no_fit"] for row in document["summary"]] == [2, 2]
    assert stderr_lines(result)[0] == (
        "warning: no run trained: 4 no_fit (no better on the training split than predicting the "
        "mean) at λ = 0, 0.01: raise model.epochs or model.lr; so no λ has a regime and there "
        "is no λ_min (docs/health.md)"
    )


@pytest.mark.parametrize(
    ("convention", "lambdas", "factor"),
    [("paper", "[0, 0.1, 0.5, 1]", "1 − 2λ"), ("torch", "[0, 0.1, 20, 100]", "1 − model.lr·2λ")],
)
def test_decoupled_decay_that_would_flip_the_weights_is_not_trained(
    write_config, tmp_path, convention, lambdas, factor
):
    # at r·2λ ≥ 1 (r = 1 under the paper's convention, lr under torch's) each step multiplies
    # the weights by a factor ≤ 0: at λ = 1 they flipped sign every step, kept their size,
    # and the runs were `ok` and `underfit`
    config = write_config(
        "name: flip\ndataset: {name: moons, n_samples: 120, seed: 0}\n"
        "model: {name: mlp, hidden: [8], lr: 0.03, epochs: 40, regularization: decoupled, "
        f"decay_convention: {convention}}}\nlambdas: {lambdas}\n"
    )
    result, document = sweep(config, tmp_path)
    assert [run["status"] for run in document["runs"]] == ["ok", "ok", "diverged", "diverged"]
    assert document["runs"][3]["curve"]["train_loss"][0] is None  # never trained
    top = lambdas.strip("[]").split(", ")[2:]
    assert stderr_lines(result)[0] == (
        f"warning: 2 of 4 runs did not train: 2 diverged (not trained: the decay factor is ≤ 0) at λ = "
        f"{top[0]}, {top[1]}: lower the largest λ (decoupled decay multiplies the weights by "
        f"{factor} ≤ 0 there at the full rate, η_t = 1: they were not trained); those λ get no regime "
        "and are never λ_min or λ_1se (docs/health.md)"
    )


def test_the_decay_hint_reads_the_grid_points_regularization(write_config, tmp_path):
    # with regularization as a grid axis the hint read the base config (l2) and said
    # "lower model.lr", which cannot help under the paper's convention
    config = write_config(
        "name: gf\ndataset: {name: moons, n_samples: 120, seed: 0}\nmodel: {name: mlp, "
        "hidden: [8], lr: 0.03, epochs: 40, decay_convention: paper}\nlambdas: [0, 0.1, 1]\n"
        "grid: {model.regularization: [l2, decoupled]}\n"
    )
    result, _ = sweep(config, tmp_path)
    assert stderr_lines(result)[0].startswith(
        "warning: 1 of 6 runs did not train: 1 diverged (not trained: the decay factor is ≤ 0) at λ = 1 of "
        "model.regularization=decoupled: lower the largest λ (decoupled decay multiplies the "
        "weights by 1 − 2λ ≤ 0"
    )  # the grid point is named (it was not)


def test_runs_still_falling_after_a_bounce_point_to_a_smaller_learning_rate():
    # a curve that ends 1.5 × above its lowest point bounced: the steps are too large, and
    # "raise model.epochs or model.lr" pointed the wrong way
    plain = _plain_document({0.01: ["not_converged", "ok"], 0.1: ["ok", "ok"]})
    plain["runs"][0]["curve"] = {
        "epoch": [0, 50, 90, 100],
        "train_loss": [1.0, 0.01, 0.3, 0.2],
        "test_loss": [1.0, 0.5, 0.6, 0.6],
    }
    note = report.health_note(results_of(plain), MLP)
    assert "1 not_converged (training objective still falling at the end, barely moved, or ended above the constant predictor's) at λ = 0.01: lower " \
           "model.lr (a training loss ended well above its lowest: the steps are too large) " \
           "or raise model.epochs;" in note  # fmt: skip
    plain["runs"][0]["curve"]["train_loss"][-1] = 0.014  # within 1.5 × its lowest: steady
    note = report.health_note(results_of(plain), MLP)
    assert "at λ = 0.01: raise model.epochs or model.lr;" in note
    # J far above the constant predictor's: its data loss rises as the penalty shrinks the
    # weights, which is no bounce, and a smaller lr would not help (it said "lower model.lr")
    plain["runs"][0]["curve"]["train_loss"][-1] = 0.3
    plain["runs"][0].update(objective=670.0, baseline_loss=1.0)
    note = report.health_note(results_of(plain), MLP)
    assert "at λ = 0.01: raise model.epochs or model.lr (J = data loss + λ·Σw² ended above the " \
           "constant predictor's: far from its minimum);" in note  # fmt: skip
    # ... which decoupled decay at λ > 0 does not descend: there the rule does not apply
    plain["config"]["model"]["regularization"] = "decoupled"
    note = report.health_note(results_of(plain), MLP)
    assert "at λ = 0.01: lower model.lr (a training loss ended well above its lowest" in note


def test_a_spike_at_the_start_of_the_last_tenth_is_not_a_run_still_falling(write_config, tmp_path):
    # momentum on circles bounces between 0.13 and 0.41 with no trend; J at epoch 180 landed
    # on a high point, so the last tenth "fell" by 7 % of the whole decrease: not_converged.
    # The late point is now the lowest J reached by then.
    config = write_config(
        "name: mc\ndataset: {name: circles}\nmodel: {name: mlp, hidden: [32, 32], activation: "
        "tanh, optimizer: momentum, lr: 0.1, batch_size: 16, epochs: 200}\nlambdas: [0.01]\n"
        "seeds: [0]\n"
    )
    _, document = sweep(config, tmp_path)
    run = document["runs"][0]
    assert run["status"] == "ok" and run["late_decrease"] < 0.05


def test_a_solver_stopped_early_is_not_converged(write_config, tmp_path):
    config = write_config(
        """\
        name: early
        dataset: {name: breast_cancer, n_train: 60}
        model: {name: logistic, max_iter: 1}
        lambdas: [0.001, 0.1]
        seeds: 2
        """
    )
    result, document = sweep(config, tmp_path)
    assert {run["status"] for run in document["runs"]} == {"not_converged"}
    assert all(run["grad_norm"] > 1e-8 for run in document["runs"])
    assert "| 0.001 | – | – | – | – | 2/2 not_converged | – |  |" in result.stdout
    assert stderr_lines(result)[0] == (
        "warning: no run trained: 4 not_converged (solver tolerance not met) at λ = 0.001, "
        "0.1: raise model.max_iter; so no λ has a regime and there is no λ_min (docs/health.md)"
    )


def test_lambda_zero_on_separable_classes_has_no_minimiser_and_the_warning_says_so(
    write_config, tmp_path
):
    # it was `ok` with whatever numbers max_iter left (at 20: `good` and λ_min), and once
    # flagged, "raise model.max_iter" could not help, nor could the λ next to it train "there"
    config = write_config(
        """\
        name: separable
        dataset: {name: breast_cancer, n_train: 60}
        model: {name: logistic, max_iter: 20}
        lambdas: [0, 0.01, 0.1]
        seeds: 2
        """
    )
    result, document = sweep(config, tmp_path)
    zero = [run for run in document["runs"] if run["lambda"] == 0]
    assert {run["status"] for run in zero} == {"not_converged"}
    assert all(run["grad_norm"] <= 1e-8 and run["converged"] is False for run in zero)
    assert document["best_lambda"] == 0.01
    assert stderr_lines(result)[0] == (
        "warning: 2 of 6 runs did not train: 2 not_converged (no minimiser: the training "
        "classes are separable, wholly or in part, so without a penalty the weights grow "
        "without bound and the numbers depend on model.max_iter) at λ = 0: any λ > 0 has a minimiser (this row is "
        "why the penalty is needed); those λ get no regime and are never λ_min or λ_1se "
        "(docs/health.md)"
    )
    assert document["notes"] == [
        "λ_min is the smallest λ of the grid (0.01): the best may lie below it; extend the "
        "grid down, e.g. add 0.0001 to lambdas"
    ]
    # beside a λ > 0 that ran out of iterations, each says its own (lumped, both got
    # "raise model.max_iter", which for λ = 0 only moves where it stops)
    result, _ = sweep(config, tmp_path, "--set", "lambdas=[0, 1e-14, 0.01]", "--force")
    assert stderr_lines(result)[0] == (
        "warning: only λ = 0.01 trained on every seed (4 of 6 runs did not): 2 not_converged "
        "(no minimiser: the training classes are separable, wholly or in part, so without a "
        "penalty the weights grow without bound and the numbers depend on model.max_iter) at "
        "λ = 0: any λ > 0 has "
        "a minimiser (this row is why the penalty is needed); 2 not_converged (solver "
        "tolerance not met) at λ = 1e-14: raise model.max_iter; so no λ has a regime and there "
        "is no λ_min (docs/health.md)"
    )


@pytest.mark.slow
def test_a_dead_network_is_no_fit_at_any_lambda_where_others_fit(write_config, tmp_path):
    # a deep ReLU stack whose units died sits at the constant predictor; Adam shrank its
    # weights below a tenth of their start at λ = 1e-3, so it passed for the λ → ∞ limit:
    # `ok`, averaged in, while other seeds fit at 0.4 × the baseline there, on the same data
    config = write_config(
        """\
        name: dead
        dataset: {name: diabetes, seed: 0}
        model: {name: mlp, hidden: [8, 8, 8, 8, 8, 8, 8, 8, 8, 8], lr: 0.01, epochs: 30}
        lambdas: [0, 1.0e-4, 1.0e-3]
        seeds: 4
        """
    )
    result, document = sweep(config, tmp_path)
    at = {run["seed"]: run for run in document["runs"] if run["lambda"] == 1e-3}
    assert [at[seed]["status"] for seed in range(4)] == ["no_fit", "no_fit", "ok", "no_fit"]
    assert all(at[s]["train_loss"] >= 0.99 * at[s]["baseline_loss"] for s in (0, 1, 3))
    assert at[2]["objective"] <= 0.75 * at[2]["baseline_loss"]
    assert at[0]["weight_sq_norm"] < 5  # from about 80: decayed like the λ → ∞ limit
    assert stderr_lines(result)[0] == (
        "warning: no λ trained on every seed (6 of 12 runs did not): 6 no_fit (no better on "
        "the training split than predicting the mean) at λ = 0, 0.0001, 0.001: lower "
        "model.lr (the training loss fell to the constant predictor's in the first epochs and "
        "stayed there: steps too large leave units dead); so no λ has a regime and there is "
        "no λ_min (docs/health.md)"
    )
    # seeds that draw their own split vouch for nothing: the constant may be the minimiser
    # of one draw's J where another's fits (an identity network, convex in effect, had 3 of
    # 10 seeds `no_fit` at their global minimiser)
    own = sweep(write_config(config.read_text().replace(", seed: 0}", "}")), tmp_path,
                "--force")[1]  # fmt: skip
    assert {r["status"] for r in own["runs"] if r["lambda"] == 1e-3 and r["seed"] == 0} == {"ok"}


def test_an_absurd_lambda_diverges_and_the_rest_of_the_sweep_stands(write_config, tmp_path):
    config = write_config(TINY_MLP)
    result, document = sweep(
        config, tmp_path, "--set", "model.optimizer=adam", "--set", "model.lr=0.01",
        "--set", "dataset.name=friedman1", "--set", "dataset.n_samples=200",
        "--set", "model.epochs=100", "--set", "lambdas=[0, 0.01, 1e300]",
    )  # fmt: skip
    statuses = [(run["lambda"], run["status"]) for run in document["runs"]]
    assert statuses == [(0.0, "ok")] * 2 + [(0.01, "ok")] * 2 + [(1e300, "diverged")] * 2
    assert document["best_lambda"] == 0.01
    # two seeds: 0 and 0.01 are not measurably different (paired SE), so `flat`; 1e300 has none
    assert [row["regime"] for row in document["summary"]] == ["flat", "flat", None]
    assert "| 1e+300 | – | – | – | – | – | 2/2 diverged | – |  |" in result.stdout
    assert "| 0.01 | " in result.stdout and " |  | flat | λ_min = λ_1se |" in result.stdout
    assert stderr_lines(result)[0] == (
        "warning: 2 of 6 runs did not train: 2 diverged (loss or weights blew up) at "
        "λ = 1e+300: lower the largest λ (every diverged run has λ·model.lr ≥ 1); those λ get "
        "no regime and are never λ_min or λ_1se (docs/health.md)"
    )
    # `show` says it again
    shown = runner.invoke(app, ["show", str(tmp_path / "r.json"), "--format", "csv"])
    assert shown.exit_code == 0 and shown.stderr == result.stderr.splitlines()[0] + "\n"
    header, *rows = shown.stdout.splitlines()
    assert header.startswith("lambda,n_runs,n_diverged,n_not_converged,n_no_fit,")
    assert rows[2].startswith("1e+300,2,2,0,0,,")


def test_quiet_keeps_the_warning_and_the_runs_column(write_config, tmp_path):
    # --quiet, as CI scripts run a sweep, hid that no run trained: exit 0 and not a word
    result, document = sweep(write_config(TINY_MLP), tmp_path, "--quiet")
    assert [line.split(":")[0] for line in stderr_lines(result)] == ["warning"]
    assert stderr_lines(result)[0].startswith("warning: ")
    assert "| 0 | – | – | – | – | 2/2 diverged | – |  |" in result.stdout
    again, _ = sweep(write_config(TINY_MLP), tmp_path, "--quiet", "--resume")  # a retry loop
    assert stderr_lines(again) == stderr_lines(result)  # on the finished sweep: it said nothing


def test_a_healthy_sweep_prints_no_warning_and_no_runs_column(ridge_config, tmp_path):
    result, document = sweep(ridge_config, tmp_path)
    assert {run["status"] for run in document["runs"]} == {"ok"}
    assert "| runs |" not in result.stdout
    assert stderr_lines(result) == [f"wrote {tmp_path / 'r.json'}"]


# --------------------------------------------------------------------------- rendering


def _document(statuses: dict[float, list[str]]) -> Results:
    """A results document whose runs at each λ have the given statuses."""
    return results_of(_plain_document(statuses))


def _plain_document(statuses: dict[float, list[str]]) -> dict:
    """The same as plain data (to change before reading it)."""
    runs = [
        {
            "lambda": lam,
            "seed": seed,
            "status": status,
            "train_loss": None if status == "diverged" else 0.5 + lam,
            "test_loss": None if status == "diverged" else 1.0 + abs(np.log10(lam or 1e-3) + 1),
        }
        for lam, row in statuses.items()
        for seed, status in enumerate(row)
    ]
    summary, best, one_se = summarise(runs, 0.05)
    return {
        "config": {"name": "t", "model": {"name": "mlp", "lr": 0.01}, "dataset": {"name": "d"}},
        "task": "regression",
        "runs": runs,
        "summary": summary,
        "best_lambda": best,
        "lambda_1se": one_se,
    }


MIXED = {
    0.0: ["diverged", "ok", "ok"],
    1e-3: ["ok"] * 3,
    1e-2: ["ok"] * 3,
    0.1: ["ok"] * 3,
    1.0: ["no_fit", "not_converged", "diverged"],
}


def test_the_table_counts_what_did_not_train():
    headers, body = report.rows(_document(MIXED))
    assert headers[-3:] == ["runs", "regime", ""]
    assert [cells[-3:-1] for cells in body] == [
        ["1/3 diverged", "–"],
        ["", "overfit"],
        ["", "overfit"],
        ["", "good"],
        ["1/3 diverged, 1/3 no_fit, 1/3 not_converged", "–"],
    ]
    assert body[0][2] == "3 ± 0"  # the mean of the two healthy runs, shown, not ranked


def test_one_trained_lambda_is_named_and_gets_no_verdict():
    document = _document({1e-3: ["not_converged"] * 2, 0.1: ["ok"] * 2, 1.0: ["no_fit", "ok"]})
    assert document.best_lambda is None
    assert report.caption(document).endswith(
        "only λ = 0.1 trained on every seed: nothing can be said about over- or underfitting"
    )
    assert report.health_note(document, MLP).startswith(
        "warning: only λ = 0.1 trained on every seed (3 of 6 runs did not): "
    )
    assert loss_chart(document).plain == "(nothing to chart: only λ = 0.1 trained on every seed)"


def test_the_note_lists_each_status_with_its_lambdas_and_knob():
    note = report.health_note(_document(MIXED), MLP)
    assert note == (
        "warning: 4 of 15 runs did not train: 2 diverged (loss or weights blew up) at λ = 0, 1: "
        "lower model.lr; 1 no_fit (no better on the training split than predicting the mean) at "
        "λ = 1: raise model.epochs or model.lr; 1 not_converged (training objective still "
        "falling at the end, barely moved, or ended above the constant predictor's) at λ = 1: raise "
        "model.epochs or model.lr; those λ get no regime and are never λ_min or "
        "λ_1se (docs/health.md)"
    )
    assert report.health_note(_document({0.1: ["ok"], 1.0: ["ok"]})) is None
    many = _document({lam: ["no_fit"] for lam in (0.0, 1e-4, 1e-3, 1e-2)})
    assert (
        "4 no_fit (no better on the training split than predicting the mean) at λ = 0 … 0.01 (4 λ)"
        in (report.health_note(many, MLP))
    )


STATUS = st.sampled_from(["ok", "ok", "ok", "diverged", "no_fit", "not_converged"])


@given(st.lists(st.lists(STATUS, min_size=3, max_size=3), min_size=1, max_size=6))
@settings(max_examples=150, deadline=None)
def test_any_mix_of_statuses_is_counted_shown_and_never_selected(grid):
    grid_lambdas = (0.0, 1e-3, 1e-2, 0.1, 1.0, 10.0)[: len(grid)]
    statuses = dict(zip(grid_lambdas, grid, strict=True))
    document = _document(statuses)
    rows = {row.lambda_: row for row in document.summary}
    trained = sum(set(row_statuses) == {"ok"} for row_statuses in grid)
    verdict = trained >= min(2, len(grid))  # one trained λ of several is no verdict
    for lam, row_statuses in statuses.items():
        row = rows[lam]
        for status in ("diverged", "no_fit", "not_converged"):
            assert row.count(status) == row_statuses.count(status)
        healthy = set(row_statuses) == {"ok"}
        assert (row.regime is not None) == (healthy and verdict)
        assert (report.health_cell(row) == "") == healthy
    for chosen in (document.best_lambda, document.lambda_1se):
        if chosen is not None:
            assert set(statuses[chosen]) == {"ok"}
    bad = sum(s != "ok" for row in grid for s in row)
    note = report.health_note(document, MLP)
    assert (note is None) == (bad == 0)
    if note:
        assert note.startswith("warning: no run trained" if bad == 3 * len(grid) else "warning: ")
        assert f"{bad} of {3 * len(grid)} runs" in note or bad == 3 * len(grid)
    headers, body = report.rows(document)
    assert ("runs" in headers) == (bad > 0)
    loss_chart(document, width=80, color=False)  # draws whatever the mix


def test_no_fit_after_unstable_training_asks_for_a_lower_learning_rate():
    document = _plain_document({0.1: ["no_fit", "no_fit"], 1.0: ["ok", "ok"], 10.0: ["ok", "ok"]})
    for run in document["runs"][:2]:
        run["curve"] = {"epoch": [0, 1, 2], "train_loss": [1.0, 0.5, 0.9], "test_loss": [1.0] * 3}
    assert ": raise model.epochs or model.lr;" in report.health_note(results_of(document), MLP)
    document["runs"][1]["curve"]["train_loss"][-1] = 1.0000001  # ended above its start
    assert report.health_note(results_of(document), MLP) == (
        "warning: 2 of 6 runs did not train: 2 no_fit (no better on the training split than "
        "predicting the mean) at λ = 0.1: lower model.lr (training left the loss above where it "
        "started); those λ get no regime and are never λ_min or λ_1se (docs/health.md)"
    )


def test_the_chart_leaves_out_what_did_not_train():
    chart = loss_chart(_document(MIXED), width=100, color=False).plain.splitlines()
    plot = "\n".join(chart[1:-3])
    assert plot.count("●") == 3  # test-loss markers at 0.001, 0.01 and 0.1 only
    assert chart[-1].strip().startswith("├") and "diverged" in chart[-1]
    assert "overfit" in chart[-1] and "good" in chart[-1]
    nothing = loss_chart(_document({0.1: ["no_fit"], 1.0: ["diverged"]}), color=False)
    assert nothing.plain == "(nothing to chart: no λ trained on every seed)"


def test_the_figure_leaves_out_what_did_not_train():
    fig = validation_figure(_document(MIXED))
    (main,) = [ax for ax in fig.axes if ax.get_xscale() == "log"]
    (test_line,) = [line for line in main.get_lines() if line.get_gid() == "test-loss"]
    assert np.isnan(test_line.get_ydata()[-1])  # λ = 1 is not on the curve
    assert np.isfinite(test_line.get_ydata()[:-1]).all()
    crosses = [line for ax in fig.axes for line in ax.get_lines() if line.get_gid() == "diverged"]
    assert sorted(float(line.get_xdata()[0]) for line in crosses) == [0.0, 1.0]
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "diverged" in labels
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "runs that did not train" in legend


def test_the_curves_of_a_lambda_that_did_not_train_say_so():
    document = _plain_document({0.01: ["ok", "ok"], 0.1: ["ok", "ok"], 1.0: ["no_fit", "ok"]})
    for run in document["runs"]:
        run["curve"] = {"epoch": [0, 1], "train_loss": [2.0, 1.0], "test_loss": [2.0, 1.5]}
    fig = curves_figure(results_of(document), lambdas=[0.1, 1.0])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[:2] == ["λ = 0.1 (λ_min)", "λ = 1 (1/2 no_fit)"]


def test_a_figure_with_one_healthy_lambda_says_so_and_crosses_only_the_others():
    fig = validation_figure(_document({0.0: ["ok", "ok"], 0.1: ["no_fit", "ok"]}))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "only λ = 0 trained on every seed: nothing to draw\n(see each run's status)" in texts
    crosses = [line for ax in fig.axes for line in ax.get_lines() if line.get_gid() == "diverged"]
    assert sorted({float(line.get_xdata()[0]) for line in crosses}) == [0.1]


def test_curves_cut_by_a_diverged_run_end_in_a_cross_on_an_axis_of_every_epoch():
    document = _plain_document({0.01: ["ok", "ok"], 1.0: ["diverged", "ok"]})
    for run in document["runs"]:
        cut = run["status"] == "diverged"  # its curve is null from epoch 2 on
        run["curve"] = {"epoch": [0, 1, 2, 3], "train_loss": [2.0, 1.5, None if cut else 1.2, None if cut else 1.0],
                        "test_loss": [2.5, 2.0, None if cut else 1.8, None if cut else 1.7]}  # fmt: skip
    fig = curves_figure(results_of(document), lambdas=[0.01, 1.0])
    (ax,) = fig.axes
    crosses = [line for line in ax.get_lines() if line.get_gid() == "curve-cut-1"]
    assert sorted((float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in crosses) == [
        (1.0, 1.5), (1.0, 2.0)]  # fmt: skip
    assert not [line for line in ax.get_lines() if line.get_gid() == "curve-cut-0.01"]
    assert ax.get_xlim() == pytest.approx((-0.06, 3.06))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # only λ = 0.01 trained on every seed: no λ_min, and its healthy curve gets no suffix
    assert labels == ["λ = 0.01", "λ = 1 (1/2 diverged)", "test", "train", "a run diverged"]


def test_a_figure_of_nothing_trained_says_so():
    fig = validation_figure(_document({0.1: ["no_fit"], 1.0: ["no_fit"]}))
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no λ trained on every seed: nothing to draw\n(see each run's status)" in texts


# --------------------------------------------------------------------------- shipped configs


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "poly",
        "linear",
        "logistic",
        "mlp",
        "adamw",
        "mlp_classification",
        "diabetes_cv",
        "diabetes_mlp",
    ],
)
def test_every_run_of_the_shipped_configs_is_ok(name, tmp_path):
    out = tmp_path / f"{name}.json"
    result = runner.invoke(app, ["sweep", f"configs/{name}.yaml", "--out", str(out), "-f", "csv"])
    assert result.exit_code == 0 and result.stderr == f"wrote {out}\n"  # no health warning
    document = json.loads(out.read_text())
    assert {run["status"] for run in document["runs"]} == {"ok"}
    assert all(row["regime"] in ("overfit", "good", "underfit") for row in document["summary"])
    late = [run.get("late_decrease") for run in document["runs"] if "late_decrease" in run]
    assert all(share < 0.045 for share in late)  # below the 5 % of not_converged


def test_the_figure_leaves_out_a_lambda_where_only_some_runs_trained():
    # λ = 0.1 has a mean over its one ok run, but it is not drawn: it averages other seeds.
    fig = validation_figure(
        _document({0.01: ["ok", "ok"], 0.1: ["ok", "diverged"], 1.0: ["ok", "ok"]})
    )
    (main,) = [ax for ax in fig.axes if ax.get_xscale() == "log"]
    (test_line,) = [line for line in main.get_lines() if line.get_gid() == "test-loss"]
    assert np.isnan(test_line.get_ydata()).tolist() == [False, True, False]


def test_with_a_tuned_learning_rate_the_note_points_to_the_tuned_values():
    document = _plain_document({0.0: ["diverged", "ok"], 1.0: ["not_converged", "ok"]})
    document["config"]["tune"] = {"model.lr": [0.3, 1.0]}
    note = report.health_note(results_of(document), MLP)
    assert "at λ = 0: lower the tune: model.lr values;" in note
    assert "at λ = 1: raise model.epochs or the tune: model.lr values;" in note


def test_a_linear_network_that_does_not_fit_is_told_to_use_an_activation():
    # identity on circles: "raise model.epochs or model.lr", which cannot help a linear model
    plain = _plain_document({0.0: ["no_fit", "no_fit"], 0.1: ["ok", "ok"]})
    assert "λ = 0: raise model.epochs or model.lr;" in report.health_note(results_of(plain), MLP)
    plain["config"]["model"]["activation"] = "identity"
    assert "λ = 0: use a non-linear model.activation (with identity the network is a linear " \
           "model, which may not fit this target at all) or raise model.epochs;" in \
           report.health_note(results_of(plain), MLP)  # fmt: skip


# A six-layer sigmoid network that ends predicting the mean of its training rows (docs/health.md)
FLAT_SIGMOID = """\
name: flat
dataset: {name: friedman1, n_samples: 540, n_train: 40, noise: 1.0}
model: {name: mlp, hidden: [16, 16, 16, 16, 16, 16], activation: sigmoid, optimizer: momentum,
        lr: 0.001, batch_size: full, epochs: 300}
lambdas: [0, 0.001]
seeds: [1, 2, 3]
"""


def test_an_lr_grid_gives_each_run_the_status_it_has_alone(write_config, tmp_path):
    # the stacked fit's slices lost Σw² at the start: no_fit went unchecked, all ok, a λ_min
    path = write_config(FLAT_SIGMOID)
    _, alone = sweep(path, tmp_path)
    _, grid = sweep(path, tmp_path, "--force", "--grid", "model.lr=0.001,0.0005")
    assert {run["status"] for run in alone["runs"]} == {"no_fit"}
    stacked = [run for run in grid["runs"] if run["point"] == {"model.lr": 0.001}]
    assert [r["status"] for r in stacked] == [r["status"] for r in alone["runs"]]
    assert {run["status"] for run in grid["runs"]} == {"no_fit"}


def test_a_tuned_run_is_judged_against_the_rows_it_trained_on(write_config, tmp_path):
    # its baseline came from every training row, not those left by carving: a network
    # predicting the mean of its 20 rows was ok at 0.72 × the other rows' variance
    path = write_config(FLAT_SIGMOID + "tune: {model.momentum: [0.9, 0.8]}\ntune_holdout: 0.5\n")
    _, document = sweep(path, tmp_path)
    assert {run["status"] for run in document["runs"]} == {"no_fit"}
    for run in document["runs"]:
        assert run["train_loss"] == pytest.approx(run["baseline_loss"], rel=2e-3)


def test_a_run_that_lost_its_fit_says_so_not_that_it_blew_up(write_config, tmp_path):
    # every diverged run read "loss or weights blew up", though this one's numbers stayed
    # finite: its objective rose far above its lowest
    config = write_config(
        "name: relapse\ndataset: {name: friedman1, n_samples: 300}\nmodel: {name: mlp, hidden: "
        "[16], lr: 0.3, epochs: 30}\nlambdas: [0, 0.001, 0.1]\nseeds: 2\n"
    )
    result, document = sweep(config, tmp_path)
    diverged = [run for run in document["runs"] if run["status"] == "diverged"]
    assert [(run["lambda"], run["seed"], run["diverged_by"]) for run in diverged] == [
        (0, 0, "relapsed")
    ]
    assert stderr_lines(result)[0].startswith(
        "warning: 1 of 6 runs did not train: 1 diverged (objective ended far above its lowest: "
        "the fit was lost) at λ = 0: lower model.lr;"
    )
    assert all("diverged_by" not in run for run in document["runs"] if run["status"] == "ok")


def test_runs_cut_short_by_a_step_schedule_point_to_the_schedule():
    # "raise model.epochs" could not help: more epochs cut the learning rate further
    plain = _plain_document({0.01: ["not_converged", "ok"], 0.1: ["ok", "ok"]})
    plain["config"]["model"].update(schedule="step", step_epochs=10, step_gamma=0.1, epochs=150)
    note = report.health_note(results_of(plain), MLP)
    assert ("at λ = 0.01: raise model.step_epochs or model.step_gamma (the step schedule cut the "
            "learning rate to 1e-14 × model.lr by the end), or model.lr;") in note  # fmt: skip
    plain["config"]["model"].update(step_epochs=100)  # × 0.1 at the end: epochs may help
    assert "at λ = 0.01: raise model.epochs or model.lr;" in report.health_note(
        results_of(plain), MLP
    )


@pytest.mark.parametrize(
    ("activation", "knob"),
    [
        ("relu", "lower model.lr (the training loss fell to the constant predictor's in the "
                 "first epochs and stayed there: steps too large leave units dead)"),
        ("identity", "use a non-linear model.activation"),  # no unit of it can die
    ],
)  # fmt: skip
def test_lower_lr_for_runs_that_fell_to_the_constant_at_once_only_where_units_die(activation, knob):
    document = _plain_document({0.0: ["no_fit", "no_fit"], 1.0: ["ok", "ok"]})
    document["config"]["model"]["activation"] = activation
    for run in document["runs"]:
        run["baseline_loss"] = 10.0
        if run["status"] == "no_fit":  # a jump to 1.6 × the baseline, then down to it for
            # good (log-spaced points: the first quarter of the epochs, not of the points)
            run["curve"] = {"epoch": [0, 1, 2, 4, 8, 16],
                            "train_loss": [10.2, 16, 10.5, 10.1, 10, 10.02],
                            "test_loss": [16, 11, 11, 11, 11, 11]}  # fmt: skip
    note = report.health_note(results_of(document), MLP)
    assert f"at λ = 0: {knob}" in note
