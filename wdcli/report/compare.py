"""Compare results files per (point, λ): does a candidate differ from the baseline?

Rows match on the run key's (point, λ). Two modes (`direction`):
- `worse` (the default): a row fails when the candidate's mean metric is beyond
  atol + rtol·|baseline| on the bad side (higher for losses, lower for accuracies), when it is
  missing or non-finite where the baseline had a number, or when a smaller share of its runs
  is `ok`.
- `either`: a row also fails when it is better beyond the tolerance, when its regime or its
  runs' statuses changed, or when the candidate has a row the baseline lacks; and the whole
  comparison fails when λ_min or λ_1se moved. This is the mode for checking that a change to
  the code changed nothing (wdcli's own CI against its committed references).
Files are comparable when their data, dataset, model, λ grid, grid axes and seeds agree;
otherwise the caller is told what differs, and may compare anyway on the rows both files have.
The data are compared by their fingerprint: a changed data file differs even at the same
path, and the same data read from another path (a config run from another folder) does not.
Files whose metric means another thing (regression against classification, a cross-validated
loss against a test-split loss) are never compared. λ_min and λ_1se are compared per grid
point. A
baseline with no value of the metric at any λ (no run of it trained) is refused: a broken
reference must not let every candidate pass. Rows with no value on either side pass, and the
headline names them as not compared.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field

from wdcli.errors import WdcliError
from wdcli.metrics.grokking import FIELDS as STEP_METRICS
from wdcli.records import Results, SummaryRow
from wdcli.report.table import format_lambda, unbroken
from wdcli.runkey import EMPTY_POINT, HOLDOUT_FOLD, RowKey, point_text, same_numbers

DIRECTIONS = ("worse", "either")
# Verdicts that fail a comparison, per direction.
FAILING = {
    "worse": {"worse", "missing"},
    "either": {"worse", "better", "changed", "missing", "new"},
}


class IncomparableError(WdcliError):
    """The files differ in what they measured (dataset, model, λ grid, seeds)."""


def point_label(point: dict) -> str:
    """'dataset.n_train=50 model.lr=0.1' for a grid point, '' for none."""
    return " ".join(f"{k}={_show(v)}" for k, v in sorted(point.items()))


@dataclass
class Row:
    lam: float
    baseline: float | None
    candidate: float | None
    baseline_regime: str | None
    candidate_regime: str | None
    verdict: str  # ok, worse, better, changed (regime or statuses), missing, new, not compared
    point: dict = field(default_factory=dict)
    baseline_ok: str = ""  # ok runs of all, e.g. "3/3"; "" when the row is absent
    candidate_ok: str = ""
    paired: tuple = (None, None)  # the means over the runs that trained in both files
    share: int = 0  # the candidate's share of ok runs against the baseline's: -1, 0 or 1
    # a step metric's runs that reached the step, of all runs ("3/4"), in each file, when
    # that share changed (`share` is then -1 if it or the ok share fell)
    reached: tuple = ()

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline

    @property
    def label(self) -> str:
        """λ, after the point's values when there is a grid: 'dataset.n_train=50 λ=0.1'."""
        if not self.point:
            return format_lambda(self.lam)
        return f"{point_label(self.point)} λ={format_lambda(self.lam)}"


@dataclass
class Moved:
    """λ_min or λ_1se (`name`) of one point, when it is not the same in both files."""

    point: dict
    name: str
    baseline: float | None
    candidate: float | None

    @property
    def label(self) -> str:
        return self.name + (f" at {point_label(self.point)}" if self.point else "")


@dataclass
class Comparison:
    baseline: str
    candidate: str
    metric: str
    rtol: float
    atol: float
    direction: str = "worse"
    rows: list[Row] = field(default_factory=list)
    best: tuple[float | None, float | None] = (None, None)  # λ_min of baseline, candidate
    one_se: tuple[float | None, float | None] = (None, None)
    differences: list[str] = field(default_factory=list)  # what differs (compared anyway)
    moved: list[Moved] = field(default_factory=list)  # λ_min / λ_1se that moved, per point

    @property
    def worse(self) -> list[float]:
        return [row.lam for row in self.rows if row.verdict == "worse"]

    @property
    def failing(self) -> list[Row]:
        """The rows that fail in this comparison's direction."""
        return [row for row in self.rows if row.verdict in FAILING[self.direction]]

    @property
    def selection_changed(self) -> list[str]:
        """'λ_min' and/or 'λ_1se' when they moved ('λ_min at degree=15' in a grid)."""
        return [move.label for move in self.moved]

    @property
    def failed(self) -> bool:
        moved = self.direction == "either" and self.selection_changed
        return bool(self.failing or moved)

    @property
    def blind(self) -> list[Row]:
        """Rows with no value on either side (no run trained in either file): not compared."""
        return [row for row in self.rows if row.verdict == NOT_COMPARED]

    @property
    def regime_changes(self) -> list[Row]:
        return [
            row
            for row in self.rows
            if row.verdict not in ("missing", "new") and row.baseline_regime != row.candidate_regime
        ]


NOT_COMPARED = "not compared"  # the verdict of a row with no value in either file
CURVES_ONLY = ("eval_every", "eval_points", "eval_rows")  # where curves are sampled: no loss


def higher_is_better(metric: str) -> bool:
    return "accuracy" in metric


WITHOUT_SIDE = ("weight_sq_norm", "df")  # neither more nor less is worse: only a change


LOCATION = ("path", "test_path")  # where a file is read from: the fingerprint says what it held


def unlike(baseline: Results, candidate: Results, metric: str = "test_loss") -> list[str]:
    """What makes the two files' metrics mean different things (never compared)."""
    found = []
    steps = [_evaluated_steps(document) for document in (baseline, candidate)]
    if metric in STEP_METRICS and all(steps) and steps[0] != steps[1]:
        only = [sorted(a - b) for a, b in ((steps[0], steps[1]), (steps[1], steps[0]))]
        where = "; ".join(f"{_steps_text(o)} in the {which} file only"
                          for o, which in zip(only, ("first", "second"), strict=True) if o)  # fmt: skip
        found.append(  # the step a run first reached 99 % is found on this grid
            f"the curves were evaluated at other steps ({len(steps[0])} and {len(steps[1])} "
            f"steps, {where}: eval_every or eval_points): {metric} has another resolution"
        )
    tasks = [_task(document) for document in (baseline, candidate)]
    if None not in tasks and tasks[0] != tasks[1]:
        found.append(f"task differs ({tasks[0]} vs {tasks[1]}): other losses")
    kinds = [_validation_kind(document) for document in (baseline, candidate)]
    if kinds[0] != kinds[1]:
        why = (
            "a cross-validated loss is not a test-split loss"
            if "holdout" in kinds
            else "losses averaged over other folds, each trained on other rows"
        )
        found.append(f"validation differs ({kinds[0]} vs {kinds[1]}): {why}")
    return found


def _steps_text(steps: list[int]) -> str:
    """'step 40', 'steps 40, 80, 100, …' (the first three)."""
    shown = ", ".join(map(str, steps[:3])) + (", …" if len(steps) > 3 else "")
    return f"step{'s' * (len(steps) > 1)} {shown}"


def _evaluated_steps(document: Results) -> frozenset[int]:
    """Every step (epoch) at which the file's runs were evaluated: the grid a grokking step is
    found on, whatever options set it (eval_every 1 and eval_points 40 of 40 are one grid)."""
    return frozenset(e for run in document.runs if run.curve is not None for e in run.curve.epoch)


def _task(document: Results) -> str | None:
    """The file's task, or, in a file without one, what its rows say: classifiers report an
    accuracy (None for a file with no rows)."""
    if document.task is not None:
        return document.task
    if not document.summary:
        return None
    return "classification" if "test_accuracy" in metric_names(document) else "regression"


def _validation_kind(document: Results) -> str:
    value = _axis(document, "validation")
    if value is None:
        return "holdout"
    return str(value.get("kind", value) if isinstance(value, dict) else value)


def differences(baseline: Results, candidate: Results) -> list[str]:
    """What makes two results files measure different things, one phrase each. Where curves
    are sampled (CURVES_ONLY) changes no loss; a step metric's resolution is `unlike`'s, judged
    by the steps themselves."""
    found = []
    prints = (baseline.data_fingerprint, candidate.data_fingerprint)
    known = None not in prints  # then the fingerprints, not the paths, say whether data differ
    axes = _axis_keys(baseline) & _axis_keys(candidate)  # compared as the grids, below
    for section in ("dataset", "model"):
        a, b = baseline.config.options(section), candidate.config.options(section)
        if a.get("name") != b.get("name"):  # another dataset or model: its options say nothing
            found.append(f"{section} differs ({a.get('name')} vs {b.get('name')})")
            continue
        a, b = _in_effect(section, a, axes, baseline), _in_effect(section, b, axes, candidate)
        changed = [
            f"{key}: {_show(a.get(key))} vs {_show(b.get(key))}"
            for key in sorted(set(a) | set(b))
            if _value(a, key, section) != _value(b, key, section)
            and key not in CURVES_ONLY
            and not (section == "dataset" and known and key in LOCATION)
        ]
        if changed:
            found.append(f"{section} differs ({'; '.join(changed)})")
    seeds_a, seeds_b = _seeds(baseline), _seeds(candidate)
    if (not found and known and prints[0] != prints[1]
            and (seeds_a == seeds_b or _data_of_common_runs_differ(baseline, candidate))):  # fmt: skip
        found.append(
            f"the data differ (fingerprint {prints[0]} → {prints[1]}: a changed data file, or "
            "a change in how wdcli prepares the data)"
        )
    for section in ("grid", "validation", "tune"):  # axes, folds, candidates: other numbers
        a, b = _axis(baseline, section), _axis(candidate, section)
        if _unordered(a) != _unordered(b):  # a grid's points, whatever order they ran in
            found.append(f"{section} differs ({_show(a)} vs {_show(b)})")
    if _axis(baseline, "tune") or _axis(candidate, "tune"):  # the rows every candidate trains on
        a, b = (document.config.value("tune_holdout") for document in (baseline, candidate))
        if a != b:
            found.append(f"tune_holdout differs ({_show(a)} vs {_show(b)})")
    grid_a, grid_b = _lambdas(baseline), _lambdas(candidate)
    if grid_a != grid_b:
        found.append(
            f"λ grid differs ({len(grid_a)} vs {len(grid_b)} values, "
            f"{len(set(grid_a) & set(grid_b))} in common)"
        )
    if seeds_a != seeds_b:
        found.append(f"seeds differ ({_show(seeds_a)} vs {_show(seeds_b)})")
    tolerances = [document.config.value("tolerance") for document in (baseline, candidate)]
    if tolerances[0] != tolerances[1]:  # the `good` band: other regimes from the same runs
        found.append(f"tolerance differs ({_show(tolerances[0])} vs {_show(tolerances[1])})")
    return found


def _data_of_common_runs_differ(baseline: Results, candidate: Results) -> bool:
    """Whether the data differ where both files have runs (the same point and seed): with
    other seeds, the files' fingerprints (over every seed) differ by the seeds alone, which a
    changed data file does not explain."""
    prints = [
        {(point_text(run.point), run.seed): run.data_fingerprint for run in document.runs
         if run.fold == HOLDOUT_FOLD}
        for document in (baseline, candidate)
    ]  # fmt: skip
    common = prints[0].keys() & prints[1].keys()  # none: nothing says the data changed
    return any(prints[0][key] != prints[1][key] for key in common)


def _axis_keys(document: Results) -> set[str]:
    """The dotted keys of the document's grid and tune axes (their values set every point)."""
    return {key for section in ("grid", "tune") for key in (_axis(document, section) or {})}


def _in_effect(section: str, options: dict, axes: set[str], document: Results) -> dict:
    """A section's options as they act: without keys an axis sets at every point, or that
    another key overrides (test_size beside n_train) or the model ignores (scale_target but
    for an MLP's regression), and with `auto`/unset values written out (an MLP's init, its
    scale_target), so that writing a default out, or a base value no point uses, is no
    difference."""
    if section == "dataset":
        if options.get("n_train") is not None or "dataset.n_train" in axes:
            options = {k: v for k, v in options.items() if k != "test_size"}
        scaled = (
            _task(document) != "classification"
            and "model.name" not in axes
            and (document.config.options("model").get("name") == "mlp")
        )  # ridge's fit scales with y exactly: only an MLP's training sees the scale
        if "scale_target" in options and not scaled:
            options = {k: v for k, v in options.items() if k != "scale_target"}
        elif "scale_target" in options:
            options = {**options, "scale_target": options["scale_target"] is not False}
    if section == "model" and options.get("init") == "auto" and "model.activation" not in axes:
        # (with an activation axis, auto means one start at some points and another at others)
        options = {**options, "init": "he" if options.get("activation") == "sigmoid" else "sklearn"}
    return {k: v for k, v in options.items() if f"{section}.{k}" not in axes}


def _axis(document: Results, section: str):
    """A config's grid or validation, None when it is the default (no grid, holdout)."""
    value = document.config.value(section)
    if not value:
        return None
    if section == "validation" and isinstance(value, dict) and value.get("kind") == "holdout":
        return None  # the test split, as a version-1 file (without the key) has it
    return value


def _unordered(axes):
    """A grid's axes with each one's values as a set (other values pass through)."""
    if not isinstance(axes, dict) or not all(isinstance(v, list) for v in axes.values()):
        return axes
    return {
        key: sorted(json.dumps(same_numbers(v), sort_keys=True) for v in values)
        for key, values in axes.items()
    }


def _row(key: RowKey) -> RowKey:
    """A row key whose point's numbers compare as one however written (`same_numbers`)."""
    return key if key.point == EMPTY_POINT else RowKey(_point_of(key.point), key.lam)


def _point_of(point) -> str:
    """A point's canonical text with whole floats as ints (`same_numbers`)."""
    return point_text(same_numbers(json.loads(point) if isinstance(point, str) else point or {}))


def _value(options: dict, key: str, section: str):
    """options[key], or the schema's default when a file from an older wdcli lacks the key
    (a key added later with a default that keeps the old behaviour is not a difference)."""
    if key in options:
        return options[key]
    from wdcli.config import DATASET_CONFIGS, MODEL_CONFIGS

    table = DATASET_CONFIGS if section == "dataset" else MODEL_CONFIGS
    fields = getattr(table.get(options.get("name")), "model_fields", {})  # type: ignore[arg-type]
    if key in fields and not fields[key].is_required():
        return fields[key].get_default(call_default_factory=True)
    return None


def _show(value) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _lambdas(document: Results) -> list[float]:
    """The λ grid the file was run on: its config's, else its summary's."""
    declared = document.config.value("lambdas")
    if isinstance(declared, list):
        return sorted(declared)
    return sorted({row.lambda_ for row in document.summary})


def _seeds(document: Results) -> list[int]:
    return sorted({run.seed for run in document.runs})


def _number(value) -> float | None:
    """A finite number, or None (missing, null, NaN, ±inf: nothing to compare with)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _statuses(document: Results) -> dict[RowKey, Counter]:
    counts: dict[RowKey, Counter] = {}
    for run in document.runs:
        counts.setdefault(_row(run.key().row), Counter())[run.status] += 1
    return counts


def _run_statuses(document: Results) -> dict[RowKey, dict]:
    """Per row, each run's status by its unit (seed, fold)."""
    found: dict[RowKey, dict] = {}
    for run in document.runs:
        key = run.key()
        found.setdefault(_row(key.row), {})[(key.seed, key.fold)] = run.status
    return found


def _ok_values(document: Results, metric: str) -> dict[RowKey, dict]:
    """Per row, the metric of each run that trained, by its key (seed, fold)."""
    values: dict[RowKey, dict] = {}
    for run in document.runs:
        value = _number(run.value(metric))
        if run.status == "ok" and value is not None:
            key = run.key()
            values.setdefault(_row(key.row), {})[(key.seed, key.fold)] = value
    return values


def _paired_means(a: dict | None, b: dict | None) -> tuple[float | None, float | None]:
    """The two files' means over the runs that trained in both (None, None: no such run)."""
    both = sorted(set(a or {}) & set(b or {}))
    if not both:
        return None, None
    return (sum(a[k] for k in both) / len(both), sum(b[k] for k in both) / len(both))  # type: ignore[index]


def metric_names(document: Results) -> list[str]:
    """The per-λ metrics a file has: the X of every X_mean in its summary."""
    keys = dict.fromkeys(k for row in document.summary for k in row.names())
    return [k.removesuffix("_mean") for k in keys if k.endswith("_mean")]


def compare(
    baseline: Results,
    candidate: Results,
    *,
    names: tuple[str, str],
    metric: str = "test_loss",
    rtol: float = 0.05,
    atol: float = 0.0,
    common: bool = False,
    direction: str = "worse",
) -> Comparison:
    """Compare candidate to baseline per (point, λ); IncomparableError unless comparable.

    With `common`, files that differ in what they measured are compared on the rows both
    have; without it, a row of the baseline that the candidate lacks is `missing`.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    if metric in WITHOUT_SIDE and direction == "worse":  # a larger Σw² was called worse
        raise IncomparableError(
            f"--metric {metric}: has no better or worse side, so --direction worse cannot "
            "judge it; pass --direction either to fail on any change beyond the tolerance"
        )
    for name, document in zip(names, (baseline, candidate), strict=True):
        trained = any(run.status == "ok" for run in document.runs)
        if document is candidate and not trained:  # it has no value: worse where the baseline
            continue  # had one (its task is still checked below)
        if metric not in metric_names(document):
            raise IncomparableError(
                f"{name}: no metric '{metric}' (it has: {', '.join(metric_names(document))})"
            )
    never = unlike(baseline, candidate, metric)
    if never:
        raise IncomparableError(
            f"cannot compare {names[0]} and {names[1]}: " + "; ".join(never) + " (not even with "
            "--common)"
        )
    found = differences(baseline, candidate)
    rows_a = {_row(row.row_key()): row for row in baseline.summary}
    rows_b = {_row(row.row_key()): row for row in candidate.summary}
    shared = [key for key in rows_a if key in rows_b]
    if found and not common:
        hint = (
            f"pass --common to compare anyway on the {len(shared)} λ both have"
            if shared
            else "they have no λ (at the same grid point) in common"
        )
        raise IncomparableError(
            f"cannot compare {names[0]} and {names[1]}: " + "; ".join(found) + f"; {hint}"
        )
    if not shared:
        raise IncomparableError(f"cannot compare {names[0]} and {names[1]}: no λ in common")
    keys = shared if common else list(rows_a) + [k for k in rows_b if k not in rows_a]
    result = Comparison(
        names[0],
        names[1],
        metric,
        rtol,
        atol,
        direction,
        differences=found,
        best=(baseline.best_lambda, candidate.best_lambda),
        one_se=(baseline.lambda_1se, candidate.lambda_1se),
        moved=_moved(baseline, candidate, {point_text(key.point) for key in keys}),
    )
    status_a, status_b = _statuses(baseline), _statuses(candidate)
    values_a, values_b = _ok_values(baseline, metric), _ok_values(candidate, metric)
    units_a, units_b = _run_statuses(baseline), _run_statuses(candidate)
    for key in sorted(keys, key=lambda k: (k[0], k[1])):
        a, b = rows_a.get(key), rows_b.get(key)
        row = Row(
            key.lam,
            _number(a.stat(metric)) if a else None,
            _number(b.stat(metric)) if b else None,
            a.regime if a else None,
            b.regime if b else None,
            "ok",
            point=_point(a, b),
            baseline_ok=_ok_of(status_a.get(key)) if a else "",
            candidate_ok=_ok_of(status_b.get(key)) if b else "",
        )
        runs_a, runs_b = status_a.get(key) or Counter(), status_b.get(key) or Counter()
        if a and b:
            row.share = _share_order(runs_a["ok"], sum(runs_a.values()),
                                     runs_b["ok"], sum(runs_b.values()))  # fmt: skip
        if a and b and metric in STEP_METRICS:
            # a run that trained but never reached the step has no value: the mean is over the
            # runs that reached it, so fewer of them (of all runs) is worse whatever the mean
            # says, and more of them is better unless those in both got worse
            reached_a, reached_b = len(values_a.get(key, {})), len(values_b.get(key, {}))
            total_a, total_b = sum(runs_a.values()), sum(runs_b.values())
            reach = _share_order(reached_a, total_a, reached_b, total_b)
            if reach:
                row.reached = (f"{reached_a}/{total_a}", f"{reached_b}/{total_b}")
            row.share = -1 if -1 in (row.share, reach) else max(row.share, reach)
        row.paired = _paired_means(values_a.get(key), values_b.get(key))
        row.verdict = _row_verdict(row, a, b, runs_a, runs_b, metric, rtol, atol)
        if row.verdict == "ok" and _swapped(units_a.get(key, {}), units_b.get(key, {})):
            row.verdict = "changed"  # the same counts, but another seed's run failed
        # a script reading the verdicts must not count it; under `either` a run that failed
        # otherwise is a change, under `worse` no comparison (it passed as "changed")
        blind = row.baseline is None and row.candidate is None
        if blind and (row.verdict == "ok" or (row.verdict == "changed" and direction == "worse")):
            row.verdict = NOT_COMPARED
        result.rows.append(row)
    if all(row.baseline is None for row in result.rows):  # a broken reference passes nothing
        trained = any(counts["ok"] for counts in status_a.values())
        why = ("its runs trained, but none has a value of it: a step never reached, say"
               if trained else "none of its runs trained")  # fmt: skip
        raise IncomparableError(
            f"cannot compare {names[0]} and {names[1]}: {names[0]} has no {metric} at any λ "
            f"({why}), so there is nothing to compare against"
        )
    return result


def _selections(document: Results) -> dict[str, tuple[float | None, float | None]]:
    """(λ_min, λ_1se) per point (canonical text): a grid's per point, else the file's."""
    whole = (document.best_lambda, document.lambda_1se)
    chosen = {
        _point_of(s["point"]): (s.get("best_lambda"), s.get("lambda_1se"))
        for s in document.value("points") or []
    }
    return {_point_of(point): chosen.get(_point_of(point), whole) for point in document.points()}


def _moved(baseline: Results, candidate: Results, compared: set[str]) -> list[Moved]:
    """The λ_min and λ_1se that differ, at the points compared (in the baseline's order)."""
    a, b = _selections(baseline), _selections(candidate)
    shown = {_point_of(point): point for point in baseline.points()}  # as the baseline writes it
    return [
        Moved(json.loads(point_text(shown[point])), name, a[point][i], b[point][i])
        for point in a
        if point in b and point in compared
        for i, name in enumerate(("λ_min", "λ_1se"))
        if a[point][i] != b[point][i]
    ]


def _point(a: SummaryRow | None, b: SummaryRow | None) -> dict:
    row = a or b
    return (row.point if row else None) or {}


def _ok_of(counts: Counter | None) -> str:
    if not counts:
        return ""
    return f"{counts['ok']}/{sum(counts.values())}"


def _row_verdict(row: Row, a, b, runs_a: Counter, runs_b: Counter, metric, rtol, atol) -> str:
    """The verdict of a row of both files (`runs_a`, `runs_b`: its runs' statuses counted)."""
    if b is None:
        return "missing"
    if a is None:
        return "new"
    if row.share < 0:  # a run that trained before no longer does, whatever the mean says
        return "worse"
    if row.share > 0:  # a run that did not train now does: the means are over other runs, so
        # the runs that trained in both decide whether it is also worse (it passed at +13 %)
        worse = _verdict(row.paired[0], row.paired[1], metric, rtol, atol) == "worse"
        return "worse" if worse else "better"
    total_a, total_b = sum(runs_a.values()), sum(runs_b.values())
    verdict = _verdict(row.baseline, row.candidate, metric, rtol, atol)
    if verdict != "ok":
        return verdict
    shares_differ = any(
        _share_order(runs_a[status], total_a, runs_b[status], total_b)
        for status in {*runs_a, *runs_b}
    )
    if row.baseline_regime != row.candidate_regime or shares_differ:
        return "changed"
    return "ok"


def _swapped(a: dict, b: dict) -> bool:
    """Whether a run of the same unit (seed, fold) ended with another status in each file."""
    return any(b[unit] != status for unit, status in a.items() if unit in b)


def _share_order(count_a: int, total_a: int, count_b: int, total_b: int) -> int:
    """-1, 0 or 1 as b's share count_b/total_b is below, equal to or above a's, compared
    exactly: files of other seeds or folds (under --common) hold other numbers of runs, and
    5/5 against 10/10 is no change."""
    a, b = count_a * total_b, count_b * total_a
    return (b > a) - (b < a)


def _verdict(a: float | None, b: float | None, metric: str, rtol: float, atol: float) -> str:
    if a is None or b is None:  # non-finite or diverged on one side (or both)
        return "ok" if a is None and b is None else ("worse" if b is None else "better")
    change = (a - b) if higher_is_better(metric) else (b - a)  # > 0: the candidate is worse
    allowed = atol + rtol * abs(a)
    if change > allowed:
        return "worse"
    return "better" if -change > allowed else "ok"


# --------------------------------------------------------------------------- rendering

VERDICT_STYLES = {
    NOT_COMPARED: "dim",
    "worse": "bold red",
    "missing": "bold red",
    "better": "green",
    "changed": "yellow",
    "new": "yellow",
    "ok": "",
}


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "–" if value is None else format(value, spec)


def _percent(row: Row) -> str:
    if row.delta is None or not row.baseline:
        return "–"
    return f"{100 * row.delta / abs(row.baseline):+.2f}%"


def _regime(row: Row) -> str:
    a, b = row.baseline_regime or "–", row.candidate_regime or "–"
    if row.verdict == "missing":
        return a
    if row.verdict == "new":
        return b
    return a if a == b else f"{a} → {b}"


def _ok_runs(row: Row) -> str:
    a, b = row.baseline_ok or "–", row.candidate_ok or "–"
    return a if a == b else f"{a} → {b}"


def _show_ok_runs(result: Comparison) -> bool:
    return any(row.baseline_ok != row.candidate_ok for row in result.rows)


def _where(rows: list[Row], shown: int = 6, by: bool = False) -> str:
    """The rows' labels; `by`: each with its relative change ('0.01 (+10.2 %)')."""
    more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
    return ", ".join(row.label + (_by(row) if by else "") for row in rows[:shown]) + more


def _share_changed(row: Row) -> bool:
    """Whether the share of ok runs differs ("5/5" against "10/10" does not)."""
    if not row.baseline_ok or not row.candidate_ok:
        return row.baseline_ok != row.candidate_ok
    return row.share != 0


def _by(row: Row) -> str:
    if row.reached and row.share:
        return f" (runs that reached it {row.reached[0]} → {row.reached[1]})"
    if _share_changed(row):  # the reason, before any change of the mean
        shares = f"ok runs {row.baseline_ok or '–'} → {row.candidate_ok or '–'}"
        a, b = row.paired
        if row.verdict == "worse" and a and b is not None and row.share > 0:
            return (
                f" ({100 * (b - a) / abs(a):+.3g} % over the runs that trained in both; {shares})"
            )
        return f" ({shares})"
    if row.delta is None or not row.baseline:
        return "" if row.candidate is not None else " (no value)"
    return f" ({100 * row.delta / abs(row.baseline):+.3g} %)"


def headline(result: Comparison) -> str:
    """One line: the verdict of the whole comparison."""
    tolerance = f"rtol {result.rtol:g}" + (f", atol {result.atol:g}" if result.atol else "")
    n, blind = len(result.rows), result.blind
    lam = "(point, λ)" if any(row.point for row in result.rows) else "λ"  # a grid's rows
    at = f"all {n} {lam}" if not blind else f"the {n - len(blind)} of {n} {lam} compared"
    why = ("no run reached it in either file" if result.metric in STEP_METRICS
           else "no run trained in either file")  # fmt: skip
    unseen = f"; not compared, as {why}: λ = {_where(blind)}" if blind else ""
    if result.direction == "worse" and not result.failed:
        return (
            f"{result.candidate}: {result.metric} no worse than {result.baseline} at {at} "
            f"({tolerance}){unseen}"
        )
    if not result.failed:
        return (
            f"{result.candidate}: {result.metric} within tolerance of {result.baseline} at {at}; "
            f"λ_min, λ_1se, regimes and run statuses unchanged ({tolerance}){unseen}"
        )
    parts = []
    for verdict, words in (
        ("worse", f"{result.metric} worse"),
        ("better", f"{result.metric} better"),
        ("changed", "regime or run statuses changed"),
        ("missing", "row missing"),
        ("new", "row not in the baseline"),
    ):
        rows = [row for row in result.failing if row.verdict == verdict]
        if rows:
            if verdict in ("worse", "better"):  # and by how much
                parts.append(f"{words} at {len(rows)} of {n} {lam}: {_where(rows, by=True)}")
            else:
                parts.append(f"{words} at {len(rows)} of {n} {lam} ({_where(rows)})")
    if result.direction == "either":
        for move in result.moved:
            parts.append(
                f"{move.label} moved from {_lambda_or_dash(move.baseline)} to "
                f"{_lambda_or_dash(move.candidate)}"
            )
    verb = "worse than" if result.direction == "worse" else "differs from"
    return f"{result.candidate}: {verb} {result.baseline}: " + "; ".join(parts) + f" ({tolerance})"


def _lambda_or_dash(value: float | None) -> str:
    return "–" if value is None else format_lambda(value)


def _selection(result: Comparison) -> str:
    if not any(row.point for row in result.rows):
        best = " → ".join(_lambda_or_dash(v) for v in result.best)
        one_se = " → ".join(_lambda_or_dash(v) for v in result.one_se)
        return f"λ_min {best}; λ_1se {one_se}"
    if not result.moved:
        return "λ_min and λ_1se the same at every point"
    return "; ".join(
        f"{move.label} {_lambda_or_dash(move.baseline)} → {_lambda_or_dash(move.candidate)}"
        for move in result.moved
    )


def _columns(result: Comparison) -> list[tuple[str, str]]:
    columns = [("λ", "right"), ("baseline", "right"), ("candidate", "right"), ("Δ", "right")]
    columns += [("Δ%", "right"), ("regime", "left")]
    if _show_ok_runs(result):
        columns.append(("ok runs", "right"))
    return columns + [("verdict", "left")]


def _cells(result: Comparison, row: Row) -> list[str]:
    cells = [
        row.label,
        _fmt(row.baseline),
        _fmt(row.candidate),
        _fmt(row.delta, "+.3g"),
        _percent(row),
        _regime(row),
    ]
    return cells + ([_ok_runs(row)] if _show_ok_runs(result) else [])


def rich_table(result: Comparison):
    from rich.table import Table
    from rich.text import Text

    caption = _selection(result)
    if result.differences:  # as the markdown says it: what --common compared across
        caption += "\ncompared on the common λ although: " + "; ".join(result.differences)
    table = Table(
        title=f"{result.metric}: baseline → candidate",
        caption=caption,
        caption_justify="left",
    )
    body = [[*_cells(result, row), row.verdict] for row in result.rows]
    for i, (header, justify) in enumerate(_columns(result)):
        widths = unbroken([header] + [cells[i] for cells in body])
        table.add_column(header, justify=justify, **widths)  # type: ignore[arg-type]
    for row, cells in zip(result.rows, body, strict=True):
        style = VERDICT_STYLES[row.verdict] if row.verdict in FAILING[result.direction] else ""
        table.add_row(*cells[:-1], Text(row.verdict, style=style))
    return table


def markdown(result: Comparison) -> str:
    columns = _columns(result)
    lines = [
        f"**{result.metric}: `{result.baseline}` → `{result.candidate}`**",
        "",
        "| " + " | ".join(header for header, _ in columns) + " |",
        "|" + "|".join("---:" if justify == "right" else ":---" for _, justify in columns) + "|",
    ]
    for row in result.rows:
        verdict = f"**{row.verdict}**" if row.verdict in FAILING[result.direction] else row.verdict
        lines.append("| " + " | ".join([*_cells(result, row), verdict]) + " |")
    lines += ["", headline(result) + ".", "", _selection(result) + "."]
    if result.differences:
        lines += ["", "Compared on the common λ although: " + "; ".join(result.differences) + "."]
    return "\n".join(lines) + "\n"


def as_json(results: list[Comparison], refused: list[str] | None = None) -> dict:
    """The comparisons as JSON data; `refused`: why other candidates were not compared."""
    return {
        "ok": not refused and not any(r.failed for r in results),
        "refused": refused or [],
        "comparisons": [
            {
                **{k: v for k, v in asdict(r).items() if k != "rows"},
                "failed": r.failed,
                "worse": r.worse,
                "failing": [{"point": row.point, "lambda": row.lam} for row in r.failing],
                "selection_changed": r.selection_changed,
                "regime_changes": [
                    {
                        "point": row.point,
                        "lambda": row.lam,
                        "baseline": row.baseline_regime,
                        "candidate": row.candidate_regime,
                    }
                    for row in r.regime_changes
                ],
                "rows": [
                    {
                        "point": row.point,
                        "lambda": row.lam,
                        "baseline": row.baseline,
                        "candidate": row.candidate,
                        "delta": row.delta,
                        "baseline_regime": row.baseline_regime,
                        "candidate_regime": row.candidate_regime,
                        "baseline_ok": row.baseline_ok,
                        "candidate_ok": row.candidate_ok,
                        "verdict": row.verdict,
                    }
                    for row in r.rows
                ],
            }
            for r in results
        ],
    }
