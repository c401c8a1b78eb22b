"""Deliberate bugs in training health (wdcli/health.py and where models, summary, report and
figures apply it); each must make the quick suite fail."""

from __future__ import annotations

from mutants import Mutant

MLP, HEALTH = "wdcli/models/mlp.py", "wdcli/metrics/health.py"

HEALTH_MUTANTS = [
    Mutant("health-weight-bound", MLP,
           "bad = ~(max_abs(self.layout, self.theta) <= self.limit)",
           "bad = ~np.isfinite(max_abs(self.layout, self.theta))",
           "parameters beyond the bound are not diverged"),
    Mutant("health-optimiser-state", MLP,
           "            bad |= ~np.isfinite(max_abs(self.layout, state))", "            pass",
           "Adam's overflowed state (λ = 1e300) goes unnoticed"),
    Mutant("health-loss-blowup", MLP,
           "self._freeze(health.blew_up(out[0], start_loss, self.baseline))",
           "self._freeze(~np.isfinite(out[0]))",
           "a training loss far above its start is not diverged"),
    Mutant("health-late-epoch", MLP, "            elif epoch == late:", "            elif False:",
           "the objective is not measured at the start of the last tenth"),
    Mutant("health-weight-limit-scale", HEALTH,
           "    return WEIGHT_BOUND * max(1.0, top if np.isfinite(top) else 1.0)",
           "    return WEIGHT_BOUND", "the weight bound ignores the targets' scale"),
    Mutant("health-no-fit-margin", HEALTH, "NO_FIT_MARGIN = 0.25", "NO_FIT_MARGIN = 0.5",
           "another no_fit margin than the documented one"),
    Mutant("health-no-fit-compare", HEALTH, "        no_fit = train_loss > threshold",
           "        no_fit = train_loss >= threshold", "no_fit at the threshold itself"),
    Mutant("health-still-falling", HEALTH, "STILL_FALLING = 0.05", "STILL_FALLING = 0.5",
           "another not_converged share than the documented one"),
    Mutant("health-flat-floor", HEALTH,
           "    return big & (late_decrease(start, late, end) > STILL_FALLING)",
           "    return late_decrease(start, late, end) > STILL_FALLING",
           "noise on a flat objective counts as still falling"),
    Mutant("health-precedence", HEALTH,
           "    out[no_fit] = NO_FIT\n    out[diverged] = DIVERGED",
           "    out[diverged] = DIVERGED\n    out[no_fit] = NO_FIT",
           "no_fit overrides diverged"),
    Mutant("health-logistic-step-test", "wdcli/models/logistic.py",
           "not_converged=~(path.grad_norm <= options.tol),",
           "not_converged=~path.converged,",
           "λ = 0 on separable classes is not_converged (the shipped logistic config changes)"),
    Mutant("health-summary-lax", "wdcli/metrics/summary.py",
           "    return row.get(\"n_runs\", 1) > 0 and unhealthy == 0 and",
           "    return row.get(\"n_runs\", 1) > 0 and",
           "a λ with runs that did not train can be λ_min"),
    Mutant("health-chart-draws-all", "wdcli/report/termchart.py",
           "    return bool(regime) and regime != \"diverged\" and not unhealthy",
           "    return True", "the terminal chart draws unhealthy λ as fine"),
    Mutant("health-figure-draws-all", "wdcli/report/plots.py",
           "np.nan if r.get(key) is None or (hide and not trained(r)) else r[key]",
           "np.nan if r.get(key) is None else r[key]", "the figure draws unhealthy λ as fine"),
    Mutant("health-no-stderr-line", "wdcli/cli/app.py",
           "    if not quiet:\n        _health_warning(document)\n", "    if not quiet:\n",
           "sweep says nothing on stderr about runs that did not train"),
]  # fmt: skip
