"""Training health: whether a run trained, and if not, why. Pure numpy, vectorised over runs.

Every run gets one status (the first that applies, in this order):

    diverged       its loss or parameters went non-finite, or were about to: the training
                   loss rose above LOSS_BLOWUP × max(its starting loss, the baseline), or a
                   parameter above WEIGHT_BOUND × max(1, max|y|), or the optimiser's state
                   overflowed. Training stops there (the run is frozen), its numbers are null.
                   Also a run whose training ended with its objective J above where it
                   started (`went_up`), or RELAPSE × the baseline above the lowest it
                   reached (`relapsed`): the optimiser went the wrong way.
                   The loss is checked after every epoch (the mean of its mini-batch losses),
                   so these do not depend on how often the curves are evaluated.
    no_fit         its loss on its own training split is above (1 + NO_FIT_MARGIN) × the
                   baseline: the loss of predicting the training mean (regression: the
                   variance of y) or the class frequencies (classification: their entropy);
                   or not NEAR_CONSTANT below the baseline (half the least-squares fit's
                   gain on a weak signal: `weak_signal_margin`) while its weights are far from
                   that constant predictor (Σw² above COLLAPSED × its start; `no_better_than_
                   constant`): a network that learnt nothing, not the λ → ∞ limit; or, once
                   the sweep is done, not NEAR_CONSTANT below it while another run of the
                   same network at the same or a larger λ fits (`stuck_at_constant`).
    not_converged  the training objective J = L_data + λ·Σw² was still falling at the end:
                   its last LATE_FRACTION of the epochs (of the learning rate's total, under a
                   schedule: `late_epoch`) brought more than STILL_FALLING of its
                   whole decrease, and either more than FLAT × J or the whole decrease was
                   below UNTRAINED × J(0) (it barely moved, steadily: an lr far too small);
                   or J fell by less than UNTRAINED × J(0) over the whole run, not at all
                   included (`never_moved`: it never left its random start);
                   or J ended above (1 + ABOVE_CONSTANT) × the baseline (`above_constant`):
                   the constant predictor (weights 0) has J = the baseline at every λ, so
                   such a run is far from any minimum of J, however good its data loss;
                   or a solver ended above its gradient tolerance. (A run whose last tenth
                   alone fell by LATE_FALL × the baseline stays `ok`, with a note:
                   `late_fall`.)
    ok             none of these.

The baseline is what any model can reach by ignoring its inputs; a very large λ converges to
exactly that predictor, so its loss is within the margin and the run is `ok` (underfit).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

OK, DIVERGED, NOT_CONVERGED, NO_FIT = "ok", "diverged", "not_converged", "no_fit"
STATUSES = (OK, DIVERGED, NOT_CONVERGED, NO_FIT)
UNHEALTHY = (DIVERGED, NO_FIT, NOT_CONVERGED)  # the order of precedence, and of messages

# Why a run is `diverged` (its record's `diverged_by`, where the model says)
BLEW_UP, WENT_UP, RELAPSED, DECAY_FLIPS = "blew_up", "went_up", "relapsed", "decay_flips"

NO_FIT_MARGIN = 0.25  # no_fit: training loss above 1.25 × the baseline's ...
COLLAPSED = 0.1  # ... or not 1 % below the baseline's with Σw² above 10 % of its start
NEAR_CONSTANT = 0.01
CHANCE = 3  # a linear fit's gain is a signal above 3 × what noise gives, (d + 1) / n
RELAPSE = 0.25  # diverged: J ended 0.25 × the baseline above its lowest (0.5 missed a
# 10-class network that rose from 0.001 to 0.80 nats, the baseline being 2.3)
LOSS_BLOWUP = 10.0  # diverged: training loss above 10 × max(its start, the baseline)
WEIGHT_BOUND = 1e6  # diverged: a parameter above 1e6 × max(1, max|y|)
LATE_FRACTION = 0.1  # not_converged: the last tenth of the epochs ...
STILL_FALLING = 0.05  # ... brought more than 5 % of the objective's whole decrease ...
FLAT = 1e-3  # ... and more than 0.1 % of its final value ...
UNTRAINED = 1e-2  # ... or a whole decrease below 1 % of its start
LATE_FALL = 0.01  # a note: the last tenth alone fell by 1 % of the baseline
ABOVE_CONSTANT = 0.25  # not_converged: J ended above 1.25 × the baseline (a run at 670 × was
# `ok` and λ_min: 40 epochs at lr 1e-4 on 20 000 features, λ = 10)
_ROUNDING = 1e-12  # no_fit ignores an excess below this many nats (classification) or the
_RESIDUAL_ROUNDING = 1e-14  # square of this fraction of |y|: some 50 ulps of each target (at
# 1e-12 × mean(y²), an offset of 1e9 in y allowed 40 000 × the baseline: a shifted target
# changed statuses)


def baseline_loss(y: np.ndarray, classification: bool) -> float:
    """The training loss of the best constant prediction: the mean of y (squared error:
    the population variance) or the class frequencies (cross-entropy: their entropy, nats)."""
    y = np.asarray(y)
    if y.size == 0:
        return float("nan")
    if not classification:
        y = y.astype(np.float64)
        return float(np.mean(np.square(y - y.mean())))
    _, counts = np.unique(y, return_counts=True)
    p = counts / y.size
    return float(-np.sum(p * np.log(p)))


def baseline_test_loss(y_train: np.ndarray, y_test: np.ndarray, classification: bool) -> float:
    """The held-out loss of the best constant fitted on the training rows: the training mean
    (squared error) or class frequencies (cross-entropy) scored on the held-out rows. What a
    model must beat to have learnt anything that carries over (the training baseline is lower
    by about 2/n, and by chance)."""
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if y_train.size == 0 or y_test.size == 0:
        return float("nan")
    if not classification:
        return float(np.mean(np.square(y_test.astype(np.float64) - y_train.mean())))
    classes = int(max(y_train.max(), y_test.max())) + 1
    share = np.bincount(y_train.astype(np.int64), minlength=classes) / y_train.size
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(share[y_test.astype(np.int64)])))


def no_fit_threshold(y: np.ndarray, classification: bool, margin: float = NO_FIT_MARGIN) -> float:
    """The training loss above which a run is `no_fit`: (1 + margin) × the baseline, plus a
    rounding allowance (an exact fit of a nearly constant target is not flagged), at the scale
    of float64 rounding of the targets: shifting y by a constant must not change a status."""
    if classification:
        allowance = _ROUNDING
    else:
        allowance = _RESIDUAL_ROUNDING**2 * float(np.mean(np.square(np.asarray(y, np.float64))))
    return (1 + margin) * baseline_loss(y, classification) + allowance


def weak_signal_margin(X: np.ndarray, y: np.ndarray) -> float:
    """How far below the baseline a regression's training loss must be to count as a fit:
    NEAR_CONSTANT, or half the relative gain of the least-squares linear fit when that gain is
    below NEAR_CONSTANT yet CHANCE × above what d features gain on pure noise, (d + 1) / n
    (a weak real signal: 0.07·x plus unit noise, whose best fit is 0.992 × the baseline, was
    `no_fit` at every λ). A target no linear fit explains keeps NEAR_CONSTANT, so a flat
    network on y = x² is still caught."""
    n, d = X.shape
    centred = y - y.mean()
    total = float(centred @ centred)
    if n <= CHANCE * (d + 1) or total == 0:
        return NEAR_CONSTANT
    Xc = X - X.mean(axis=0)
    residual = centred - Xc @ np.linalg.lstsq(Xc, centred, rcond=None)[0]
    gain = 1 - float(residual @ residual) / total
    return gain / 2 if CHANCE * (d + 1) / n < gain < NEAR_CONSTANT else NEAR_CONSTANT


def no_better_than_constant(
    train_loss: np.ndarray,
    y: np.ndarray,
    classification: bool,
    sq_norm: np.ndarray,
    start_sq_norm: np.ndarray,
    near: float = NEAR_CONSTANT,
) -> np.ndarray:
    """Runs whose training loss is not `near` (NEAR_CONSTANT, or `weak_signal_margin`) × the
    baseline below it while their Σw² is
    above COLLAPSED × its value at the start: not the λ → ∞ limit, whose weights decay to 0
    (it *is* the constant predictor, jitter and all), but a network that learnt nothing (a
    deep sigmoid stack whose output stays flat ends 1e-6 below the baseline, by chance on
    either side) or fits worse than ignoring its inputs. For models trained from a random
    start."""
    threshold = no_fit_threshold(y, classification, margin=-near)
    loss, sq_norm = np.asarray(train_loss, np.float64), np.asarray(sq_norm, np.float64)
    with np.errstate(invalid="ignore"):
        return (loss > threshold) & (sq_norm > COLLAPSED * np.asarray(start_sq_norm, np.float64))


def no_minimiser(lam: float, grad_norm: object, converged: object, tol: object) -> bool:
    """Whether a logistic run is at λ = 0 with its gradient below the solver's tolerance yet
    not converged (its Newton step stayed large): J reached its infimum 0 while the weights ran
    off to infinity, the mark of separable classes. No max_iter trains it; any λ > 0 can be."""
    numbers = [v for v in (grad_norm, tol) if isinstance(v, (int, float))]
    return lam == 0 and len(numbers) == 2 and numbers[0] <= numbers[1] and converged is False


def stuck_at_constant(
    lambdas: ArrayLike, train_ratio: ArrayLike, objective_ratio: ArrayLike, ok: ArrayLike
) -> np.ndarray:
    """Among the `ok` runs of one model on the same data (seeds that start from other weights;
    losses as ratios to the baseline): those whose training loss is not NEAR_CONSTANT below the baseline while a
    run at the same or a larger λ has J = L_data + λ·Σw² at most (1 − NO_FIT_MARGIN) × its
    baseline. J at a smaller λ is lower for the same weights, so weights that good exist here
    too, and the constant predictor (J = the baseline at any λ) is where training stalled
    (ReLUs that died), not where this λ leads, though its weights decayed like the λ → ∞
    limit's (Adam shrinks dead units' weights at any λ > 0): `no_fit`."""
    lambdas = np.asarray(lambdas, np.float64)
    train_ratio, objective_ratio = (
        np.asarray(a, np.float64) for a in (train_ratio, objective_ratio)
    )
    ok = np.asarray(ok, bool)
    with np.errstate(invalid="ignore"):
        fits = ok & (objective_ratio <= 1 - NO_FIT_MARGIN)
        flat = ok & ~(train_ratio <= 1 - NEAR_CONSTANT)
    if not fits.any():
        return np.zeros(lambdas.shape, bool)
    return flat & (lambdas <= lambdas[fits].max())


def weight_limit(y: np.ndarray) -> float:
    """The largest |parameter| a run may reach before it counts as diverged."""
    y = np.asarray(y, np.float64)
    top = float(np.max(np.abs(y), initial=0.0))
    return WEIGHT_BOUND * max(1.0, top if np.isfinite(top) else 1.0)


def blew_up(train_loss: np.ndarray, start_loss: np.ndarray, baseline: float) -> np.ndarray:
    """Runs whose training loss is non-finite or above LOSS_BLOWUP × max(start, baseline)."""
    with np.errstate(invalid="ignore"):
        reference = np.fmax(np.asarray(start_loss, np.float64), baseline)
        return ~(np.asarray(train_loss) <= LOSS_BLOWUP * reference)


def late_decrease(start: np.ndarray, late: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The share of the objective's whole decrease, start → end, that came after `late`:
    (J_late − J_end) / (J_start − J_end); NaN when J did not decrease at all."""
    start, late, end = (np.asarray(a, np.float64) for a in (start, late, end))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        whole = start - end
        share = (late - end) / whole
    return np.where(whole > 0, share, np.nan)


def still_falling(start: np.ndarray, late: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Runs whose objective J fell, over the last LATE_FRACTION of training (late → end), by
    more than STILL_FALLING of its whole decrease and either more than FLAT × |J_end| (a
    curve not yet flat) or with a whole decrease below UNTRAINED × |J_start| (a run that
    barely moved, at a steady pace: far from trained, however flat it looks)."""
    start = np.asarray(start, np.float64)
    late, end = np.asarray(late, np.float64), np.asarray(end, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        big = (late - end) > FLAT * np.abs(end)
        barely_moved = (start - end) < UNTRAINED * np.abs(start)
    return (big | barely_moved) & (late_decrease(start, late, end) > STILL_FALLING)


def late_fall(late: np.ndarray, end: np.ndarray, baseline: float) -> np.ndarray:
    """How far the objective J fell over the last LATE_FRACTION of training, as a fraction of
    the baseline. Above LATE_FALL the run was still gaining fast when training stopped; it
    stays `ok` (the share rule of `still_falling` decides that), since excluding such runs
    would favour the large λ, which converge first, but the report says more epochs may
    move λ_min (a sigmoid network at 150 epochs fell from 1.52 to 1.16 in its last tenth,
    0.9 % of its whole decrease from 40 but 1.5 % of the baseline, and at 600 epochs
    λ_min moved from 0 to 0.001)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return (np.asarray(late, np.float64) - np.asarray(end, np.float64)) / baseline


DECAY_KEYS = ("regularization", "optimizer", "decay_convention")  # `decouples`' arguments


def decouples_in(options) -> bool:
    """`decouples` for a model's options (a model without these keys: False)."""
    return decouples(*(getattr(options, key, None) for key in DECAY_KEYS))


def decouples(regularization: object, optimizer: object, convention: object) -> bool:
    """Whether the decay acts apart from the data loss's gradient: `decoupled`, except under
    plain SGD at the torch convention, whose step w ← (1 − lr·η·2λ)·w − lr·η·∇L is `l2`'s
    exactly (so the same runs get the same statuses, and the decay_flips rule does not apply:
    lr·2λ ≥ 1 is a gradient step on J, which blows up, and is caught, only beyond 2)."""
    sgd_torch = optimizer == "sgd" and convention != "paper"
    return regularization == "decoupled" and not sgd_torch


def descends_j(lambdas: ArrayLike, decoupled: bool) -> np.ndarray:
    """Runs whose optimiser descends J = L_data + λ·Σw²: all of them under the L2 penalty, and
    at λ = 0 (J is the data loss) under decoupled decay too, whose optimiser descends another
    objective for λ > 0 (J may rise there as the weights grow, docs/grokking.md, or keep
    falling long after the fit as the decay shrinks them)."""
    lambdas = np.asarray(lambdas, np.float64)
    return np.ones(lambdas.shape, bool) if not decoupled else lambdas == 0


def went_up(start: np.ndarray, end: np.ndarray, lambdas: np.ndarray, decoupled: bool) -> np.ndarray:
    """Runs whose objective J ended above where it started (both finite), among those whose
    optimiser descends J (`descends_j`)."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    with np.errstate(invalid="ignore"):
        return (
            descends_j(lambdas, decoupled) & np.isfinite(start) & np.isfinite(end) & (end > start)
        )


def relapsed(
    objective: np.ndarray,
    lowest: np.ndarray,
    baseline: float,
    lambdas: np.ndarray,
    decoupled: bool,
) -> np.ndarray:
    """Runs whose objective J = L_data + λ·Σw² ended more than RELAPSE × the baseline above
    the lowest it reached (an epoch's mean mini-batch loss plus λ·Σw², or an evaluation): the
    optimiser lost ground on the very objective it descends, as one stepping too far does
    (a run that memorised its data and ended at the constant predictor). A very large λ
    pulls the data loss up to the baseline while J keeps falling, so it is not flagged.
    Among runs whose optimiser descends J (`descends_j`)."""
    objective, lowest = np.asarray(objective, np.float64), np.asarray(lowest, np.float64)
    with np.errstate(invalid="ignore"):
        return descends_j(lambdas, decoupled) & (objective - lowest > RELAPSE * baseline)


def never_moved(
    start: np.ndarray, end: np.ndarray, lambdas: np.ndarray, decoupled: bool
) -> np.ndarray:
    """Runs whose objective J fell by less than UNTRAINED × |J(0)| over the whole training
    (not at all included: `still_falling` needs some decrease to measure its pace), among those
    whose optimiser descends J (`descends_j`): a network that never moved from its start (lr
    1e-30) was `ok` wherever its random start happened to beat the no_fit margin."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return descends_j(lambdas, decoupled) & (start - end < UNTRAINED * np.abs(start))


def above_constant(objective, baseline: float, lambdas: ArrayLike, decoupled: bool) -> np.ndarray:
    """Runs whose objective J = L_data + λ·Σw² ended above (1 + ABOVE_CONSTANT) × the
    baseline, among those whose optimiser descends J (`descends_j`). The constant predictor
    (every weight 0, the biases at the mean or the class frequencies) has J = the baseline at
    any λ, so a minimiser of J is below it: such a run is far from one, its penalty alone
    larger than the whole J it could have, however well it fits its training data (NaN: no)."""
    with np.errstate(invalid="ignore"):
        far = np.asarray(objective, np.float64) > (1 + ABOVE_CONSTANT) * np.asarray(baseline)
    return descends_j(lambdas, decoupled) & far


def decay_flips(lambdas, lrs, paper) -> np.ndarray:
    """Runs whose decoupled decay multiplies the weights by 1 − r·2λ ≤ 0 at the full rate
    (r = lr, or 1 under the paper's convention): their weights would flip sign or vanish at
    every step, which no λ means. Arguments broadcast (one value or one per run)."""
    return 2 * decay_rate(lrs, paper) * np.asarray(lambdas, np.float64) >= 1


def decay_rate(lrs, paper) -> np.ndarray:
    """r of decoupled decay's factor 1 − r·2λ: the lr, or 1 under the paper's convention."""
    return np.where(np.asarray(paper, bool), 1.0, np.asarray(lrs, np.float64))


def late_epoch(epochs: int, rates: np.ndarray | None = None) -> int:
    """The epoch from which the last LATE_FRACTION of training is measured (≥ 0): of the
    epochs, or, given each epoch's summed learning-rate multiplier (`rates`, a schedule's),
    of the learning rate's total, so that a schedule that anneals to 0 still leaves the last
    tenth room to show a run that is still falling (a constant rate gives the same epoch)."""
    if rates is None:
        return max(epochs - int(np.ceil(LATE_FRACTION * epochs)), 0)
    from_end = np.cumsum(np.asarray(rates, np.float64)[::-1])
    tail = int(np.searchsorted(from_end, LATE_FRACTION * from_end[-1] * (1 - 1e-12))) + 1
    return max(epochs - tail, 0)


def statuses(
    train_loss: np.ndarray,
    threshold: float,
    diverged: np.ndarray | None = None,
    not_converged: np.ndarray | None = None,
    no_fit: np.ndarray | None = None,
) -> list[str]:
    """One status per run from its final training loss, the no_fit threshold, and what the
    model found while training (None: nothing); `no_fit` adds runs found not to fit otherwise
    (`no_better_than_constant`). A non-finite loss is `diverged`."""
    train_loss = np.asarray(train_loss, np.float64).reshape(-1)
    K = len(train_loss)
    diverged = _flags(diverged, K) | ~np.isfinite(train_loss)
    not_converged = _flags(not_converged, K)
    with np.errstate(invalid="ignore"):
        no_fit = (train_loss > threshold) | _flags(no_fit, K)
    out = np.full(K, OK, dtype=object)
    out[not_converged] = NOT_CONVERGED
    out[no_fit] = NO_FIT
    out[diverged] = DIVERGED
    return out.tolist()


def _flags(values, K: int) -> np.ndarray:
    if values is None:
        return np.zeros(K, bool)
    return np.asarray(values, bool).reshape(K)
