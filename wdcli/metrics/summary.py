"""The summary per λ: means over seeds (and folds), λ_min, λ_1se and the regime of every λ.

From the per-λ mean test loss T(λ) over the k units (seeds × validation folds; the test split
with a holdout), as glmnet selects:
    λ_min  = the largest λ with T(λ) = min T (ties go to more regularisation)
    SE     = sample std / √k of the test loss (cv.glmnet's cvsd)
    λ_1se  = the largest λ with T(λ) − T(λ_min) ≤ its paired SE (selection.py; only k ≥ 2)
A λ is `good` when T(λ) ≤ T(λ_min)·(1 + tolerance), `overfit` when it is outside that band
below λ_min, `underfit` when outside above it. When no λ is measurably worse than λ_min (by
more than 2 paired SE), every row with a regime is `flat`: λ makes no measurable difference in
that range, whatever the tolerance says.

Only healthy runs (status `ok`, see wdcli.metrics.health) enter the means. A λ is *eligible* when
every one of its runs is healthy: only eligible λ get a regime and can be λ_min or λ_1se (the
others get regime None). Strict on purpose: means over different subsets of seeds are not
paired, so comparing them along λ would compare data draws, not λ. A grid of several λ in
which only one is eligible gets no λ_min and no regimes either: one λ shows nothing about
over- or underfitting, and calling it best would hide that the others did not train.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from wdcli.metrics import grokking, selection
from wdcli.metrics.health import DIVERGED, NO_FIT, NOT_CONVERGED, OK
from wdcli.runkey import averaged_runs, by_point

# Per-row counts of the runs that did not train, by status.
COUNTS = {DIVERGED: "n_diverged", NOT_CONVERGED: "n_not_converged", NO_FIT: "n_no_fit"}

# Per-run numbers summarised as mean/std/se for every λ, when the runs have them.
SUMMARISED = (
    "train_loss",
    "test_loss",
    "weight_sq_norm",
    "df",
    "train_accuracy",
    "test_accuracy",
)


def _stats(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Mean, sample std and standard error (None where undefined or beyond a float)."""
    return selection.mean_std_se(values)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def healthy(run: dict) -> bool:
    """Whether a run enters the means: status ok and finite losses."""
    return (
        run.get("status") == OK and _finite(run.get("test_loss")) and _finite(run.get("train_loss"))
    )


def summarise_lambda(lam: float, runs: list[dict]) -> dict:
    """One summary row: counts by status and mean/std/se of every summarised number over the
    healthy runs."""
    ok = [r for r in runs if healthy(r)]
    row: dict = {"lambda": lam, "n_runs": len(runs)}
    row.update({key: 0 for key in COUNTS.values()})
    for run in runs:
        if not healthy(run):  # an unknown status, or ok with a non-finite loss: diverged
            row[COUNTS.get(run.get("status"), "n_diverged")] += 1  # type: ignore[arg-type]
    for key in SUMMARISED:
        values = [r[key] for r in ok if _finite(r.get(key))]
        if key in ("train_loss", "test_loss") or values:
            mean, std, se = _stats(values) if values else (None, None, None)
            row.update({f"{key}_mean": mean, f"{key}_std": std, f"{key}_se": se})
    row.update(grokking.summarise([r for r in runs if r.get("status") != DIVERGED]))
    return row


def eligible(row: dict) -> bool:
    """Whether a summary row may get a regime and be selected: all its runs healthy."""
    unhealthy = sum(row.get(key) or 0 for key in COUNTS.values())
    return row.get("n_runs", 1) > 0 and unhealthy == 0 and row["test_loss_mean"] is not None


def select_lambdas(rows: list[dict]) -> tuple[float | None, float | None]:
    """(λ_min, λ_1se) among the eligible of summary rows sorted by λ; None where undefined."""
    if no_verdict(rows) is not None:
        return None, None
    scored = [r for r in rows if eligible(r)]
    best = min(r["test_loss_mean"] for r in scored)
    lam_min_row = [r for r in scored if r["test_loss_mean"] == best][-1]
    se = lam_min_row["test_loss_se"]
    if se is None:
        return lam_min_row["lambda"], None
    within = [r for r in scored if r["test_loss_mean"] <= best + se]
    return lam_min_row["lambda"], within[-1]["lambda"]


def no_verdict(rows: list[dict]) -> str | None:
    """Why summary rows hold no verdict about λ ('no λ trained on every seed', 'only λ = 0.1
    trained on every seed'), or None when at least two λ (or the only one) could be compared."""
    scored = [r["lambda"] for r in rows if eligible(r)]
    if not scored:
        return "no λ trained on every seed"
    if len(scored) == 1 and len(rows) > 1:
        return f"only λ = {scored[0]:g} trained on every seed"
    return None


def label_regimes(rows: list[dict], lam_min: float | None, tolerance: float) -> None:
    """Set each row's `regime` in place (see the module docstring)."""
    if lam_min is None:
        for row in rows:
            row["regime"] = None
        return
    best = next(r["test_loss_mean"] for r in rows if r["lambda"] == lam_min)
    ceiling = best + tolerance * abs(best)
    for row in rows:
        loss = row["test_loss_mean"]
        if not eligible(row):
            row["regime"] = None
        elif loss <= ceiling:
            row["regime"] = "good"
        else:
            row["regime"] = "overfit" if row["lambda"] < lam_min else "underfit"
    if is_flat(rows, best):
        for row in rows:
            if row["regime"] is not None:
                row["regime"] = "flat"


def is_flat(rows: list[dict], best: float) -> bool:
    """No eligible λ measurably worse than λ_min (needs paired SEs and two scored λ)."""
    verdicts = [selection.distinct(r, best) for r in rows if eligible(r)]
    return len(verdicts) >= 2 and all(v is False for v in verdicts)


def summarise(
    runs: Iterable[dict], tolerance: float
) -> tuple[list[dict], float | None, float | None]:
    """Summary rows (λ ascending), λ_min and λ_1se of a sweep's runs.

    With validation folds (fold ≥ 1) the rows summarise the folds, and each row also gets
    the test split's loss (fold 0) as `holdout_test_loss_*`."""
    averaged, holdout = averaged_runs(runs)
    keys = sorted(averaged, key=lambda key: key.lam)
    rows = [summarise_lambda(key.lam, averaged[key]) for key in keys]
    losses = {key.lam: selection.unit_losses(averaged[key]) for key in keys}
    for key, row in zip(keys, rows, strict=True):
        _unit_spread(row, losses[key.lam])
        if holdout is not None:
            held = summarise_lambda(key.lam, holdout.get(key, []))
            row.update({f"holdout_{k}": v for k, v in held.items() if k.startswith("test_loss")})
    lam_min, lam_1se = select_lambdas(rows)
    if lam_min is not None:
        for row in rows:
            row["test_loss_paired_se"] = selection.paired_se(losses[row["lambda"]], losses[lam_min])
        paired = selection.lambda_1se_paired([r for r in rows if eligible(r)], lam_min)
        lam_1se = paired if paired is not None else lam_1se
    label_regimes(rows, lam_min, tolerance)
    return rows, lam_min, lam_1se


def _unit_spread(row: dict, losses: dict[tuple, float]) -> None:
    """Std and SE of the test loss over the row's units (samples with leave-one-out)."""
    mean, std, se = selection.mean_std_se(list(losses.values()))
    if mean is not None and row.get("test_loss_mean") is not None:
        row.update({"test_loss_std": std, "test_loss_se": se, "n_units": len(losses)})


def summarise_points(runs: Iterable[dict], tolerance: float) -> tuple[list[dict], list[dict]]:
    """Summary rows of every point (each row carrying its point), and per point its λ_min and
    λ_1se: [{"point": {…}, "best_lambda": …, "lambda_1se": …}], points in order of the runs."""
    rows, selections = [], []
    for point, point_runs in by_point(runs).items():
        point_rows, lam_min, lam_1se = summarise(point_runs, tolerance)
        value = json.loads(point)
        rows += [{"point": value, **row} for row in point_rows]
        selections.append({"point": value, "best_lambda": lam_min, "lambda_1se": lam_1se})
    return rows, selections
