"""λ_min, λ_1se and the regimes, as DESIGN.md defines them."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wdcli.metrics.summary import no_verdict, summarise


def _runs(losses: dict[float, list[float]]) -> list[dict]:
    return [
        {
            "lambda": lam,
            "seed": s,
            "train_loss": 0.0,
            "test_loss": v,
            "status": "ok",
            "weight_sq_norm": 1.0,
        }
        for lam, values in losses.items()
        for s, v in enumerate(values)
    ]


def test_regimes_best_and_one_standard_error():
    runs = _runs(
        {
            0.0: [5.0, 5.2],
            0.01: [2.0, 2.2],
            0.1: [1.0, 1.2],
            1.0: [1.1, 1.2],
            10.0: [1.4, 1.6],
            100.0: [3.0, 3.0],
        }
    )
    rows, lam_min, lam_1se = summarise(runs, tolerance=0.05)
    assert lam_min == 0.1
    se = math.sqrt(0.02) / math.sqrt(2)  # std of [1.0, 1.2] / √2 = 0.1
    assert rows[2]["test_loss_se"] == pytest.approx(se)
    assert lam_1se == 1.0  # 1.15 ≤ 1.1 + 0.1, while 1.5 is not
    assert [r["regime"] for r in rows] == [
        "overfit",
        "overfit",
        "good",
        "good",
        "underfit",
        "underfit",
    ]


def test_ties_go_to_more_regularisation_and_one_seed_has_no_1se():
    rows, lam_min, lam_1se = summarise(_runs({0.1: [1.0], 1.0: [1.0], 10.0: [2.0]}), 0.05)
    assert lam_min == 1.0 and lam_1se is None
    assert rows[0]["test_loss_std"] is None


def test_best_lambda_zero_means_nothing_is_overfit():
    rows, lam_min, _ = summarise(_runs({0.0: [1.0, 1.1], 1.0: [2.0, 2.1], 10.0: [3.0, 3.0]}), 0.05)
    assert lam_min == 0.0
    assert [r["regime"] for r in rows] == ["good", "underfit", "underfit"]


def test_only_healthy_runs_enter_the_means_and_counts_are_kept():
    runs = _runs({0.0: [1.0, 1.2, 1.4], 1.0: [2.0, 2.2, 2.4]})
    runs[0].update(status="diverged", train_loss=None, test_loss=None)
    runs[1].update(status="no_fit", test_loss=9.0)
    runs[4].update(status="not_converged", test_loss=7.0)
    rows, _, _ = summarise(runs, 0.05)
    assert rows[0]["n_runs"] == 3 and rows[0]["test_loss_mean"] == 1.4
    assert [rows[0][k] for k in ("n_diverged", "n_not_converged", "n_no_fit")] == [1, 0, 1]
    assert [rows[1][k] for k in ("n_diverged", "n_not_converged", "n_no_fit")] == [0, 1, 0]
    assert rows[1]["test_loss_mean"] == pytest.approx(2.2)  # 2.0 and 2.4


def test_a_lambda_with_any_unhealthy_run_gets_no_regime_and_is_never_selected():
    # λ = 0.1 has the lowest mean over its healthy runs, and λ = 1 would be within one SE:
    # each has one run that did not train, so neither can be λ_min or λ_1se.
    runs = _runs({0.0: [3.0, 3.2], 0.01: [2.0, 2.4], 0.1: [0.5, 0.6], 1.0: [2.1, 2.2]})
    runs[4]["status"] = "not_converged"
    runs[7]["status"] = "no_fit"
    rows, lam_min, lam_1se = summarise(runs, 0.05)
    assert rows[2]["test_loss_mean"] == 0.6 and rows[2]["regime"] is None
    assert rows[3]["regime"] is None
    assert (lam_min, lam_1se) == (0.01, 0.01)
    assert [r["regime"] for r in rows] == ["overfit", "good", None, None]


def test_an_ok_run_with_a_non_finite_loss_counts_as_diverged():
    runs = _runs({0.0: [1.0, 1.1], 1.0: [2.0, 2.1], 10.0: [3.0, 3.1]})
    runs[1]["test_loss"] = float("inf")
    rows, lam_min, _ = summarise(runs, 0.05)
    assert rows[0]["n_diverged"] == 1 and rows[0]["regime"] is None and lam_min == 1.0


def test_one_trained_lambda_of_several_is_no_verdict():
    # λ = 1 alone trained on every seed: it is not "best" and not "good", there is no λ_min
    runs = _runs({0.0: [1.0, 1.1], 0.1: [0.5, 0.6], 1.0: [2.0, 2.1]})
    runs[1]["status"] = runs[2]["status"] = "not_converged"
    rows, lam_min, lam_1se = summarise(runs, 0.05)
    assert (lam_min, lam_1se) == (None, None)
    assert [r["regime"] for r in rows] == [None, None, None]
    assert no_verdict(rows) == "only λ = 1 trained on every seed"
    runs[2]["status"] = "ok"  # two trained λ: a verdict again
    rows, lam_min, _ = summarise(runs, 0.05)
    assert lam_min == 0.1 and no_verdict(rows) is None
    assert [r["regime"] for r in rows] == [None, "good", "underfit"]
    # a grid of one λ is the user's choice: it is its own λ_min
    rows, lam_min, _ = summarise(_runs({0.5: [1.0, 1.2]}), 0.05)
    assert lam_min == 0.5 and rows[0]["regime"] == "good" and no_verdict(rows) is None


def test_when_no_lambda_trained_there_is_no_regime_and_no_selection():
    runs = _runs({0.0: [1.0, 1.2], 1.0: [2.0, 2.2]})
    for run in runs[::2]:
        run["status"] = "diverged"
    rows, lam_min, lam_1se = summarise(runs, 0.05)
    assert lam_min is None and lam_1se is None
    assert [r["regime"] for r in rows] == [None, None]
    assert [r["test_loss_mean"] for r in rows] == [1.2, 2.2]


@given(st.lists(st.floats(-1e308, 1e308, allow_nan=False, allow_infinity=False), min_size=1))
def test_huge_finite_numbers_never_crash_the_summary(values):
    # a journal written before statuses existed may hold Σw² = 1.8e231 marked ok
    runs = [
        {"lambda": 0.1, "seed": s, "status": "ok", "train_loss": 1.0, "test_loss": v,
         "weight_sq_norm": abs(v)}
        for s, v in enumerate(values)
    ]  # fmt: skip
    (row,), _, _ = summarise(runs, 0.05)
    for key in ("test_loss_mean", "test_loss_std", "weight_sq_norm_mean", "weight_sq_norm_se"):
        assert row.get(key) is None or math.isfinite(row[key])
    if all(abs(v) < 1e150 for v in values):
        assert row["test_loss_mean"] == pytest.approx(math.fsum(values) / len(values))
    json.dumps(row, allow_nan=False)


def test_overflowing_spread_is_computed_on_a_scaled_copy():
    runs = _runs({1.0: [1e200, -1e200, 1e200]})
    (row,), _, _ = summarise(runs, 0.05)
    assert row["test_loss_mean"] == pytest.approx(1e200 / 3)
    # deviations 2/3, −4/3, 2/3 (× 1e200): std = √((4/9 + 16/9 + 4/9) / 2) · 1e200
    assert row["test_loss_std"] == pytest.approx(math.sqrt(12 / 9) * 1e200)


@pytest.mark.parametrize("scale", [2.0**-10, 1.0, 2.0**12])
def test_the_good_band_is_relative_and_closed_at_every_loss_scale(scale):
    # best = 4·scale and tolerance 1/4 put the band's edge at exactly 5·scale (no rounding):
    # a loss on the edge is good, the next float above it is not, on both sides of λ_min.
    edge, above = 5 * scale, math.nextafter(5 * scale, math.inf)
    losses = {0.0: [above], 0.01: [edge], 0.1: [4 * scale], 1.0: [edge], 10.0: [above]}
    rows, lam_min, _ = summarise(_runs(losses), tolerance=0.25)
    assert lam_min == 0.1
    assert [r["regime"] for r in rows] == ["overfit", "good", "good", "good", "underfit"]
