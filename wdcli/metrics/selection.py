"""Choosing λ from losses that share their splits: the paired standard error and its uses.

All λ of one (seed, fold) share the data, the split and the initial weights, so the loss
difference L(λ) − L(λ_min) of one (seed, fold) is far less noisy than either loss. Over the k
units u (seeds × folds, or samples with leave-one-out):

    T(λ)        = mean_u L_u(λ)                      the curve
    SE(λ)       = std_u L_u(λ) / √k                  cv.glmnet's cvsd (sample std, ddof 1)
    D(λ)        = T(λ) − T(λ_min)
    pSE(λ)      = std_u (L_u(λ) − L_u(λ_min)) / √k   the paired standard error of D(λ)
    λ_1se       = the largest λ with D(λ) ≤ pSE(λ)
    distinct(λ) = D(λ) > 2·pSE(λ)                    measurably worse than λ_min

docs/validation.md says why the paired error is the right one.
"""

from __future__ import annotations

import math

from wdcli.runkey import RunKey

DISTINCT_SE = 2.0  # a λ is measurably worse than λ_min beyond this many paired SE
CEILING_ROOM = 2.0  # below this factor between λ_min and the untrainable λ, suggest no larger λ


def unit_losses(runs: list[dict]) -> dict[tuple, float]:
    """{unit: loss} of one λ's healthy runs; a unit is (seed, fold), or with leave-one-out a
    sample of one dataset: (its data fingerprint, sample). Exact leave-one-out depends on the
    data alone, so seeds that drew the same data (a fixed dataset.seed) repeat its samples
    rather than add new ones, and counting them again would shrink every SE by √seeds."""
    losses: dict[tuple, float] = {}
    for run in runs:
        if run.get("status", "ok") != "ok" or not _finite(run.get("test_loss")):
            continue
        key = RunKey.unit_of(run)
        pointwise = run.get("pointwise_test_loss")
        if pointwise is not None:
            data = run.get("data_fingerprint") or key
            losses.update({(data, i): v for i, v in enumerate(pointwise) if _finite(v)})
        else:
            losses[key] = run["test_loss"]
    return losses


def mean_std_se(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Mean, sample std (ddof 1) and std/√k; None where undefined or beyond a float."""
    if not values:
        return None, None, None
    try:
        stats = _mean_std_se(values)
    except OverflowError:  # values near the float limit: the same, computed on a scaled copy
        top = max(abs(v) for v in values)
        stats = tuple(  # type: ignore[assignment]
            None if x is None else x * top for x in _mean_std_se([v / top for v in values])
        )
    return tuple(x if x is None or math.isfinite(x) else None for x in stats)  # type: ignore[return-value]


def _mean_std_se(values: list[float]) -> tuple[float, float | None, float | None]:
    k = len(values)
    mean = math.fsum(values) / k
    if k < 2:
        return mean, None, None
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (k - 1))
    return mean, std, std / math.sqrt(k)


def paired_se(losses: dict[tuple, float], best: dict[tuple, float]) -> float | None:
    """SE of the mean of L_u(λ) − L_u(λ_min) over the units both have; None below 2."""
    diffs = [losses[u] - best[u] for u in losses if u in best]
    return mean_std_se(diffs)[2]


def lambda_1se_paired(rows: list[dict], lam_min: float) -> float | None:
    """The largest λ whose difference from λ_min is within one paired SE of it."""
    best = next(r for r in rows if r["lambda"] == lam_min)["test_loss_mean"]
    within = [
        r["lambda"]
        for r in rows
        if r.get("test_loss_paired_se") is not None
        and r["test_loss_mean"] - best <= r["test_loss_paired_se"]
    ]
    return max(within) if within else None


def distinct(row: dict, best: float) -> bool | None:
    """Whether the row is measurably worse than λ_min; None without a paired SE."""
    se, loss = row.get("test_loss_paired_se"), row.get("test_loss_mean")
    if se is None or loss is None:
        return None
    return loss - best > DISTINCT_SE * se


def grid_notes(
    lambdas: list[float], lam_min: float | None, kind: str = "grid", ceiling: float | None = None
) -> list[str]:
    """Warnings when λ_min sits at an end of the grid, with the extension to try, said as the
    config's `lambdas` is written (`kind`): a {start, stop} grid's key, a value to add to a
    list, or a grid written out for an `auto` one (which takes no start or stop). `ceiling`
    is the smallest λ that cannot train (decoupled decay's lr·2λ ≥ 1): an extension up stays
    below it, and without room there the note says so."""
    positive = sorted(lam for lam in lambdas if lam > 0)
    if lam_min is None or not positive:
        return []
    low, high = positive[0], positive[-1]
    # two of the grid's steps (its spacing as a factor), at least one decade and at most two
    # (four steps of a coarse grid suggested λ far beyond any use: 1e+03 after a grid ending
    # at 0.1); a decade beyond a single positive λ
    if len(positive) > 1:
        step = (high / low) ** (1 / (len(positive) - 1))
        span = 100.0 if step >= 10.0 else max(step**2, 10.0)
    else:
        span = 10.0
    if lam_min == high:
        above = f"λ_min is the largest λ of the grid ({high:.3g}): the best may lie above it"
        up = high * span
        if ceiling is not None and up >= ceiling:
            if ceiling / high < CEILING_ROOM:
                return [
                    f"{above}, but decoupled decay trains no λ ≥ {ceiling:.3g} at this "
                    "learning rate (lr·2λ < 1); lower model.lr to try larger λ"
                ]
            up = high * math.sqrt(ceiling / high)  # halfway to the limit, on a log scale
        return [
            f"{above}; extend the grid up, e.g. "
            f"{_extended('stop', up, low, high, len(positive), kind)}"
        ]
    if lam_min == low and 0.0 not in lambdas:
        return [
            f"λ_min is the smallest λ of the grid ({low:.3g}): the best may lie below it; "
            f"extend the grid down, e.g. {_extended('start', low / span, low, high, len(positive), kind)}"
        ]
    if lam_min == 0.0:
        return [
            "λ_min = 0: no penalty is best in this grid; extend it down "
            f"(e.g. {_extended('start', low / span, low, high, len(positive), kind)}) to see "
            "whether a small λ helps"
        ]
    return []


def identical_seeds_note(summary: list[dict], fixed_split: bool = True) -> list[str]:
    """A note when every λ's seeds gave the same test loss (to rounding): a fixed
    dataset.seed and a model without other randomness (ridge, logistic) repeat one run, so
    the ± and the paired SE are 0 and any difference looks measurable. Without a fixed split
    (`fixed_split` False) the seeds drew the same split by chance, as a tiny dataset does."""
    rows = [row for row in summary if (row.get("n_runs") or 0) > 1]
    if not rows or any(row.get("test_loss_std") is None for row in rows):
        return []
    for row in rows:  # both losses: test losses alone tie when an outlier swamps them
        # (1e178 ± 0), while an MLP's seeds still train apart; a train loss at round-off
        # (λ = 0 interpolating: 2e-30 and 1.9e-30) ties on the test loss's scale
        test, train = abs(row.get("test_loss_mean") or 0), abs(row.get("train_loss_mean") or 0)
        if (row.get("test_loss_std") or 0) > 1e-9 * test or (
            row.get("train_loss_std") or 0
        ) > 1e-9 * max(train, test):
            return []
    seeds = max(row["n_runs"] for row in rows)
    if not fixed_split:
        return [
            f"the {seeds} seeds gave the same numbers (they drew the same split by chance, as "
            "few rows make likely, and this model has no other randomness): ± and SE are 0; "
            "for a spread, use more seeds or validation: {kind: kfold}"
        ]
    return [
        f"the {seeds} seeds gave the same numbers (the data and the split are the same for "
        "every seed, as dataset.seed or a separate test file makes them, and this model has no "
        "other randomness): ± and SE are 0; for a spread, leave dataset.seed out or use "
        "validation: {kind: kfold}"
    ]


def still_gaining_note(runs: list[dict]) -> list[str]:
    """A note naming the λ whose `ok` runs were still gaining fast when training stopped (J
    fell by more than health.LATE_FALL × the baseline in the last tenth): they count, but
    more epochs may change their losses, and λ_min with them."""
    from wdcli.metrics.health import LATE_FALL, OK

    def gaining(run: dict) -> bool:
        fall = run.get("late_fall")
        return run["status"] == OK and isinstance(fall, float) and fall > LATE_FALL  # NaN: no

    by_lambda: dict[float, list[bool]] = {}
    for run in runs:
        by_lambda.setdefault(run["lambda"], []).append(gaining(run))
    shown = [
        f"{lam:.3g} ({sum(flags)}/{len(flags)})"
        for lam, flags in sorted(by_lambda.items())
        if any(flags)
    ]
    if not shown:
        return []
    return [
        f"still gaining at the end: the training objective of runs at λ = {', '.join(shown)} "
        f"fell by more than {LATE_FALL:.0%} of the baseline in the last tenth of the epochs; "
        "more model.epochs may change their losses and λ_min"
    ]


def constant_best_note(runs: list[dict], lam_min: float | None) -> list[str]:
    """A note when the models at λ_min predict about a constant: their mean training loss is
    not health.NEAR_CONSTANT below the baseline's, and some λ's models fit their training rows
    better by more than that (else λ_min is the best fit the models find: a weak signal whose
    whole gain is under NEAR_CONSTANT, λ_min = 0). Every λ whose models fit more did worse on
    the held-out rows (or did not train), so λ_min says that little any model of this grid
    learnt carries over (nothing, or a weak signal: a 0.99 × baseline fit that beats the
    constant on the test split), not which penalty is best."""
    from wdcli.metrics.health import NEAR_CONSTANT

    means = _against_baseline(runs, lam_min, "train_loss")
    if means is None or means[0] < (1 - NEAR_CONSTANT) * means[1]:
        return []
    loss, base = means
    fits = [m[0] for lam in {run["lambda"] for run in runs}
            if (m := _against_baseline(runs, lam, "train_loss")) is not None]  # fmt: skip
    if not any(fit < loss - NEAR_CONSTANT * base for fit in fits):
        return []  # no λ fit more (a weak signal: λ_min = 0 is the best fit there is)
    return [
        f"at λ_min ({lam_min:.3g}) the models predict about a constant (training loss "
        f"{loss:.4g}, the best constant's {base:.4g}): every λ of this grid whose models fit "
        "their training rows more did worse on the held-out rows, so little of what the inputs "
        "say carries over, and λ_min does not say which penalty is best"
    ]


def worse_than_constant_note(runs: list[dict], lam_min: float | None) -> list[str]:
    """A note when the models at λ_min predict the test split (or the held-out folds) worse
    than the best constant does on the same rows (`baseline_test_loss`): every λ failed to
    generalise, so λ_min ranks failures (a grokking network before it groks: test accuracy 0,
    `good`, and λ_min). The training baseline is lower by about 2/n and by chance: against it,
    models that beat the constant on every seed were called failures."""
    means = _against_baseline(runs, lam_min, "test_loss", "baseline_test_loss")
    if means is None or means[0] <= means[1]:
        return []
    loss, base = means
    return [
        f"at λ_min ({lam_min:.3g}) the held-out loss ({loss:.4g}) is {loss / base:.3g} × the "
        f"best constant's on the same rows ({base:.4g}): no λ of this grid generalises better "
        "than ignoring the inputs would, so λ_min ranks models that do not generalise"
    ]


def _against_baseline(
    runs: list[dict], lam: float | None, key: str, base_key: str = "baseline_loss"
) -> tuple[float, float] | None:
    """(mean `key` loss, mean `base_key` baseline) over the ok runs at λ with both finite;
    None if none (a file from before the held-out baseline was recorded has none)."""
    from wdcli.metrics.health import OK

    mine = [run for run in runs if lam is not None and run["lambda"] == lam and run["status"] == OK]
    pairs = [(run.get(key), run.get(base_key)) for run in mine]
    pairs = [(loss, base) for loss, base in pairs if _finite(loss) and _finite(base)]
    if not pairs:
        return None
    loss, base = (sum(values) / len(pairs) for values in zip(*pairs, strict=True))
    return loss, base


def untrained_neighbour_note(summary: list[dict], lam_min: float | None) -> list[str]:
    """A note when λ_min sits next to a λ whose runs did not all train (no regime): its test
    loss is unknown, so the best may lie there, as it may beyond an end of the grid."""
    if lam_min is None:
        return []
    rows = sorted(summary, key=lambda row: row["lambda"])
    i = next(i for i, row in enumerate(rows) if row["lambda"] == lam_min)
    beside = [rows[j]["lambda"] for j in (i - 1, i + 1)
              if 0 <= j < len(rows) and rows[j]["regime"] is None]  # fmt: skip
    if not beside:
        return []
    shown = " and ".join(f"{lam:.3g}" for lam in beside)
    return [
        f"λ_min ({lam_min:.3g}) is next to λ = {shown}, where not every run trained: the best "
        "may lie there; make those runs train (see the warning) before trusting λ_min"
    ]


def untrained_better_note(
    summary: list[dict], runs: list[dict], lam_min: float | None
) -> list[str]:
    """A note naming the λ whose runs did not all train (no regime) but whose runs that did
    beat λ_min on the same seeds and folds, by more than the paired SE (with one pair, at all):
    λ_min was chosen among the λ where every run trained, so "flat" or "about a constant"
    there says nothing of these (a deep network whose λ = 1e-5 runs that trained reached
    0.4 × the constant's test loss, beside λ_min = 10, a constant, and "λ makes no measurable
    difference"). Paired: one lucky seed's split beside every seed's mean is no evidence.
    `runs`: those λ_min was chosen on (the folds under cross-validation)."""
    if lam_min is None:
        return []
    by_lambda: dict[float, list[dict]] = {}
    for run in runs:
        by_lambda.setdefault(run["lambda"], []).append(run)
    best = unit_losses(by_lambda.get(lam_min, []))
    better = []
    for row in summary:
        mine = unit_losses(by_lambda.get(row["lambda"], []))
        diffs = [mine[unit] - best[unit] for unit in mine if unit in best]
        if row["regime"] is not None or not diffs:
            continue
        mean, _, se = mean_std_se(diffs)
        if mean is not None and mean < -(se or 0.0):
            better.append((row["lambda"], mean, len(diffs)))
    if not better:
        return []
    shown = ", ".join(f"{lam:.3g}" for lam, _, _ in better)
    gains = ", ".join(f"{-gain:.4g} over {n} run{'s' * (n != 1)}" for _, gain, n in better)
    return [
        f"λ = {shown}, where not every run trained, beat λ_min ({lam_min:.3g}) on the seeds "
        f"where they did (held-out loss lower by {gains}): λ_min is chosen only among the λ "
        "where every run trained; make those runs train (see the warning) before trusting it"
    ]


def _extended(key: str, value: float, low: float, high: float, num: int, kind: str) -> str:
    if kind == "list":
        return f"add {value:.3g} to lambdas"
    if kind != "auto":
        return f"{key}: {value:.3g}"
    start, stop = (value, high) if key == "start" else (low, value)
    return f"lambdas: {{start: {start:.3g}, stop: {stop:.3g}, num: {num + 4}}}"


NO_DIFFERENCE = "λ makes no measurable difference in this range"


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
