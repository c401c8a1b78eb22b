"""The deliberate bugs of the mutation check: (name, file, exact old snippet, new, what)."""

from __future__ import annotations

from typing import NamedTuple


class Mutant(NamedTuple):
    name: str
    file: str
    old: str
    new: str
    what: str


MUTANTS: list[Mutant] = []

# Files wdcli reads, write errors, compare --direction.
MUTANTS += [
    Mutant(
        "records-lax",
        "wdcli/records.py",
        'model_config = ConfigDict(strict=True, extra="allow"',
        'model_config = ConfigDict(strict=False, extra="allow"',
        "results files read without strict types: '1.5' passes as a number",
    ),
    Mutant(
        "records-nan-kept",
        "wdcli/records.py",
        "return value if value is None or math.isfinite(value) else None",
        "return value",
        "a NaN in a results file is kept as NaN (and compares as 'ok')",
    ),
    Mutant(
        "journal-foreign-runs",
        "wdcli/store/journal.py",
        'if entry.config_hash is not None and entry.config_hash != header["config_hash"]:',
        "if False:",
        "a journal accepts run lines of another config",
    ),
    Mutant(
        "resume-off-grid",
        "wdcli/store/destination.py",
        "        if wanted is not None and key not in wanted:",
        "if False:",
        "resume silently accepts runs that the config does not have",
    ),
    Mutant(
        "resume-mixed-data",
        "wdcli/store/destination.py",
        "    if found != first:",
        "    if False:",
        "resume accepts runs of one seed trained on different data",
    ),
    Mutant(
        "journal-oserror-escapes",
        "wdcli/store/journal.py",
        "            os.fsync(self._handle.fileno())\n        except OSError as exc:\n            raise _write_error(self.path, exc) from None",
        "            os.fsync(self._handle.fileno())\n        except OSError as exc:\n            raise",
        "a full disk while journalling ends in a traceback",
    ),
    Mutant(
        "compare-either-blind",
        "wdcli/report/compare.py",
        '"either": {"worse", "better", "changed", "missing", "new"},',
        '"either": {"worse", "missing"},',
        "compare --direction either passes a 99 % 'better' candidate",
    ),
    Mutant(
        "compare-status-ignored",
        "wdcli/report/compare.py",
        "    if row.share < 0:  # a run that trained before",
        "    if False:  # a run that trained before",
        "compare passes a row where a run now diverges",
    ),
    Mutant(
        "compare-broken-baseline",
        "wdcli/report/compare.py",
        "    if all(row.baseline is None for row in result.rows):",
        "    if False:",
        "a baseline in which nothing trained lets every candidate pass",
    ),
]

from health_mutants import HEALTH_MUTANTS  # noqa: E402

MUTANTS += HEALTH_MUTANTS

# The math and the selection rules: factors, comparisons, and which spread is used.
SUMMARY, SELECTION, MLP, LINEAR, SWEEP = (
    "wdcli/metrics/summary.py",
    "wdcli/metrics/selection.py",
    "wdcli/models/mlp.py",
    "wdcli/models/linear.py",
    "wdcli/sweep/unit.py",
)
MUTANTS += [
    Mutant(
        "lambda-1se-strict",
        SUMMARY,
        'within = [r for r in scored if r["test_loss_mean"] <= best + se]',
        'within = [r for r in scored if r["test_loss_mean"] < best + se]',
        "unpaired λ_1se with < instead of ≤",
    ),
    Mutant(
        "lambda-1se-paired-strict",
        SELECTION,
        'and r["test_loss_mean"] - best <= r["test_loss_paired_se"]',
        'and r["test_loss_mean"] - best < r["test_loss_paired_se"]',
        "paired λ_1se with < instead of ≤",
    ),
    Mutant(
        "se-is-std",
        SELECTION,
        "return mean, std, std / math.sqrt(k)",
        "return mean, std, std",
        "the standard error replaced by the standard deviation",
    ),
    Mutant(
        "good-band-strict",
        SUMMARY,
        "        elif loss <= ceiling:",
        "        elif loss < ceiling:",
        "the good band with < instead of ≤",
    ),
    Mutant(
        "tolerance-absolute",
        SUMMARY,
        "ceiling = best + tolerance * abs(best)",
        "ceiling = best + tolerance",
        "an absolute instead of a relative tolerance",
    ),
    Mutant(
        "lambda-min-ties-low",
        SUMMARY,
        'lam_min_row = [r for r in scored if r["test_loss_mean"] == best][-1]',
        'lam_min_row = [r for r in scored if r["test_loss_mean"] == best][0]',
        "ties of λ_min go to less regularisation",
    ),
    Mutant(
        "distinct-one-se",
        SELECTION,
        "return loss - best > DISTINCT_SE * se",
        "return loss - best > se",
        "'measurably worse' at one paired SE instead of the stated two",
    ),
    Mutant(
        "penalty-doubled",
        SWEEP,
        '"penalty": _number(result.loss_scale * lam * wsq),',
        '"penalty": _number(2 * result.loss_scale * lam * wsq),',
        "a run's penalty doubled",
    ),
    Mutant(
        "objective-is-train-loss",
        SWEEP,
        '"objective": _number(train + result.loss_scale * lam * wsq),',
        '"objective": _number(train),',
        "the objective replaced by the train loss",
    ),
    Mutant(
        "he-variance",
        MLP,
        "W, b = rng.normal(0.0, math.sqrt(2.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)",
        "W, b = rng.normal(0.0, math.sqrt(1.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)",
        "He initialisation with the wrong variance",
    ),
    Mutant(
        "sklearn-init-gain",
        MLP,
        'gain = 2.0 if init == "sklearn" and activation == "sigmoid" else 6.0',
        'gain = 2.0 if init == "sklearn" and activation == "sigmoid" else 3.0',
        "scikit-learn's (default) initialisation with the wrong bound",
    ),
    Mutant(
        "sklearn-init-zero-bias",
        MLP,
        'b = rng.uniform(-bound, bound, fan_out) if init == "sklearn" else np.zeros(fan_out)',
        "b = np.zeros(fan_out)",
        "scikit-learn's initialisation without its bias draws",
    ),
    Mutant(
        "mse-gradient-half",
        MLP,
        '"squared_error": Loss(None, gradient_scale=2.0, rows=_squared_rows),',
        '"squared_error": Loss(None, gradient_scale=1.0, rows=_squared_rows),',
        "the squared error's gradient without its factor 2",
    ),
    Mutant(
        "l2-gradient-half",
        "wdcli/optim.py",
        "return np.concatenate([2 * lambdas, np.zeros_like(lambdas)])",
        "return np.concatenate([lambdas, np.zeros_like(lambdas)])",
        "the L2 gradient λ·w instead of 2λ·w",
    ),
    Mutant(
        "subnormals-kept",
        "wdcli/fused.py",
        "np.copyto(values, 0, where=np.abs(values) < tiny)",
        "np.copyto(values, 0, where=np.abs(values) < 0)",
        "the numpy path's flush leaves subnormal numbers",
    ),
    Mutant(
        "subnormals-kept-compiled",
        "wdcli/fused.py",
        "                mi = zero if abs(mi) < tiny else mi\n",
        "",
        "the compiled Adam keeps a subnormal first moment",
    ),
    Mutant(
        "relu-mask-compiled",
        "wdcli/fused.py",
        "            d[i] = d[i] * (one if a[i] > zero else zero)",
        "            d[i] = d[i]",
        "the compiled relu backward forgets the mask",
    ),
    Mutant(
        "groups-overlap",
        MLP,
        "    return [slice(a, b) for a, b in pairwise(cuts)]",
        "    return [slice(max(0, a - 1), b) for a, b in pairwise(cuts)]",
        "groups of models overlap",
    ),
    Mutant(
        "ridge-path-lambda-not-scaled",
        LINEAR,
        "    if path is None:\n        path = _path_by_svd(X - x_mean, yc, n * lambdas)",
        "    if path is None:\n        path = _path_by_svd(X - x_mean, yc, lambdas)",
        "the ridge path (by SVD) with λ instead of n·λ",
    ),
    Mutant(
        "ridge-loo-lambda-not-scaled",
        LINEAR,
        "inverse = 1.0 / (s**2 + n * lambdas[:, None])  # (K, r)",
        "inverse = 1.0 / (s**2 + lambdas[:, None])  # (K, r)",
        "leave-one-out with λ instead of n·λ",
    ),
    Mutant(
        "standardise-ddof1",
        "wdcli/data/preprocess.py",
        "tiny, X.std(axis=0), np.sqrt",
        "tiny, X.std(axis=0, ddof=1), np.sqrt",
        "features scaled by the sample std instead of the population std",
    ),
]
