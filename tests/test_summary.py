"""λ_min, λ_1se and the regimes, as DESIGN.md defines them."""

from __future__ import annotations

import math

import pytest

from wdcli.summary import summarise


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


def test_diverged_runs_are_kept_and_a_fully_diverged_lambda_is_labelled():
    runs = _runs({0.0: [1.0, 1.2], 1.0: [2.0, 2.2]})
    runs[0].update(status="diverged", test_loss=None)
    runs += [
        {"lambda": 5.0, "seed": 0, "train_loss": None, "test_loss": None, "status": "diverged"}
    ]
    rows, lam_min, _ = summarise(runs, 0.05)
    assert rows[0]["n_diverged"] == 1 and rows[0]["test_loss_mean"] == 1.2
    assert rows[2]["regime"] == "diverged" and rows[2]["test_loss_mean"] is None
    assert lam_min == 0.0
