"""Compare results files per (point, λ): is a candidate worse than the baseline, within tolerance?

Rows are matched on (point, λ) of the run key (wdcli.runkey); a point that only one file has
is a difference, like another λ grid.

A λ is worse when the candidate's mean metric is beyond atol + rtol·|baseline| on the bad side
(higher for losses, lower for accuracies), or when its runs diverged and the baseline's did not.
Files are comparable when their dataset, model, λ grid and seeds agree; otherwise the caller is
told what differs, and may compare anyway on the λ both files have.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from wdcli.errors import WdcliError
from wdcli.report import format_lambda
from wdcli.runkey import EMPTY_POINT, point_label, point_text, points_of, row_group


class IncomparableError(WdcliError):
    """The files differ in what they measured (dataset, model, λ grid, seeds)."""


@dataclass
class Row:
    lam: float
    baseline: float | None
    candidate: float | None
    baseline_regime: str
    candidate_regime: str
    verdict: str  # "ok", "worse" or "better"
    point: str = EMPTY_POINT  # canonical JSON of the grid point

    @property
    def where(self) -> str:
        """'λ' or 'λ at point' for messages."""
        label = point_label(self.point)
        return format_lambda(self.lam) + (f" at {label}" if label else "")

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline


@dataclass
class Comparison:
    baseline: str
    candidate: str
    metric: str
    rtol: float
    atol: float
    rows: list[Row] = field(default_factory=list)
    best: tuple[float | None, float | None] = (None, None)  # λ_min of baseline, candidate
    one_se: tuple[float | None, float | None] = (None, None)
    differences: list[str] = field(default_factory=list)  # what differs (compared anyway)
    point_best: list[tuple[str, float | None, float | None]] = field(default_factory=list)

    @property
    def worse(self) -> list[float]:
        return [row.lam for row in self.rows if row.verdict == "worse"]

    @property
    def worse_rows(self) -> list[Row]:
        return [row for row in self.rows if row.verdict == "worse"]

    @property
    def has_points(self) -> bool:
        return any(row.point != EMPTY_POINT for row in self.rows)

    @property
    def regime_changes(self) -> list[Row]:
        return [row for row in self.rows if row.baseline_regime != row.candidate_regime]


def higher_is_better(metric: str) -> bool:
    return "accuracy" in metric


def differences(baseline: dict, candidate: dict) -> list[str]:
    """What makes two results files measure different things, one phrase each."""
    found = []
    if baseline.get("schema_version") != candidate.get("schema_version"):
        found.append(
            f"schema version {baseline.get('schema_version')} vs {candidate.get('schema_version')}"
        )
    for section in ("dataset", "model"):
        a, b = baseline["config"].get(section, {}), candidate["config"].get(section, {})
        if a.get("name") != b.get("name"):  # another dataset or model: its options say nothing
            found.append(f"{section} differs ({a.get('name')} vs {b.get('name')})")
            continue
        changed = [
            f"{key}: {_show(a.get(key))} vs {_show(b.get(key))}"
            for key in sorted(set(a) | set(b))
            if _value(a, key, section) != _value(b, key, section)
        ]
        if changed:
            found.append(f"{section} differs ({'; '.join(changed)})")
    grid_a, grid_b = _lambdas(baseline), _lambdas(candidate)
    if grid_a != grid_b:
        found.append(
            f"λ grid differs ({len(grid_a)} vs {len(grid_b)} values, "
            f"{len(set(grid_a) & set(grid_b))} in common)"
        )
    only = _only_points(baseline, candidate)
    if only:
        found.append(only)
    for section in ("tune",):
        if baseline["config"].get(section, {}) != candidate["config"].get(section, {}):
            found.append(f"{section} differs")
    seeds_a, seeds_b = _seeds(baseline), _seeds(candidate)
    if seeds_a != seeds_b:
        found.append(f"seeds differ ({_show(seeds_a)} vs {_show(seeds_b)})")
    return found


def _value(options: dict, key: str, section: str):
    """options[key], or the schema's default when a file from an older wdcli lacks the key
    (a key added later with a default that keeps the old behaviour is not a difference)."""
    if key in options:
        return options[key]
    from wdcli.config import DATASET_CONFIGS, MODEL_CONFIGS

    table = DATASET_CONFIGS if section == "dataset" else MODEL_CONFIGS
    fields = getattr(table.get(options.get("name")), "model_fields", {})
    if key in fields and not fields[key].is_required():
        return fields[key].get_default(call_default_factory=True)
    return None


def _show(value) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _lambdas(document: dict) -> list[float]:
    return sorted({row["lambda"] for row in document["summary"]})


def _only_points(baseline: dict, candidate: dict) -> str | None:
    """'points differ (…)' when a grid point is in one file only."""
    a, b = points_of(baseline["summary"]), points_of(candidate["summary"])
    missing = [p for p in a if p not in b]
    extra = [p for p in b if p not in a]
    if not missing and not extra:
        return None
    parts = []
    if missing:
        parts.append(
            "missing in the candidate: " + "; ".join(point_label(p) or "{}" for p in missing)
        )
    if extra:
        parts.append("only in the candidate: " + "; ".join(point_label(p) or "{}" for p in extra))
    return f"points differ ({', '.join(parts)})"


def _seeds(document: dict) -> list[int]:
    return sorted({run["seed"] for run in document["runs"]})


def metric_names(document: dict) -> list[str]:
    """The per-λ metrics a file has: the X of every X_mean in its summary."""
    keys = dict.fromkeys(k for row in document["summary"] for k in row)
    return [k.removesuffix("_mean") for k in keys if k.endswith("_mean")]


def compare(
    baseline: dict,
    candidate: dict,
    *,
    names: tuple[str, str],
    metric: str = "test_loss",
    rtol: float = 0.05,
    atol: float = 0.0,
    common: bool = False,
) -> Comparison:
    """Compare candidate to baseline per λ; IncomparableError unless comparable (or `common`)."""
    for name, document in zip(names, (baseline, candidate), strict=True):
        if metric not in metric_names(document):
            raise IncomparableError(
                f"{name}: no metric '{metric}' (it has: {', '.join(metric_names(document))})"
            )
    found = differences(baseline, candidate)
    rows_a = {row_group(row): row for row in baseline["summary"]}
    rows_b = {row_group(row): row for row in candidate["summary"]}
    shared = [key for key in rows_a if key in rows_b]
    grid = any(key[0] != EMPTY_POINT for key in [*rows_a, *rows_b])
    what = "(point, λ)" if grid else "λ"
    if found and not common:
        raise IncomparableError(
            f"cannot compare {names[0]} and {names[1]}: "
            + "; ".join(found)
            + f"; pass --common to compare anyway on the {len(shared)} {what} both have"
        )
    if not shared:
        raise IncomparableError(f"cannot compare {names[0]} and {names[1]}: no λ in common")
    result = Comparison(
        names[0],
        names[1],
        metric,
        rtol,
        atol,
        differences=found,
        best=(baseline.get("best_lambda"), candidate.get("best_lambda")),
        one_se=(baseline.get("lambda_1se"), candidate.get("lambda_1se")),
    )
    best_b = {point_text(p["point"]): p["best_lambda"] for p in candidate.get("points", [])}
    for selection in baseline.get("points", []):
        point = point_text(selection["point"])
        if point in best_b and point != EMPTY_POINT:
            result.point_best.append((point, selection["best_lambda"], best_b[point]))
    for key in sorted(shared, key=lambda k: (points_of(baseline["summary"]).index(k[0]), k[1])):
        a, b = rows_a[key].get(f"{metric}_mean"), rows_b[key].get(f"{metric}_mean")
        result.rows.append(
            Row(
                key[1],
                a,
                b,
                rows_a[key]["regime"],
                rows_b[key]["regime"],
                _verdict(a, b, metric, rtol, atol),
                key[0],
            )
        )
    return result


def _verdict(a: float | None, b: float | None, metric: str, rtol: float, atol: float) -> str:
    if a is None or b is None:  # diverged on one side (or both)
        return "ok" if a is None and b is None else ("worse" if b is None else "better")
    change = (a - b) if higher_is_better(metric) else (b - a)  # > 0: the candidate is worse
    allowed = atol + rtol * abs(a)
    if change > allowed:
        return "worse"
    return "better" if -change > allowed else "ok"


# --------------------------------------------------------------------------- rendering

VERDICT_STYLES = {"worse": "bold red", "better": "green", "ok": ""}


def _fmt(value: float | None, spec: str = ".4g") -> str:
    return "–" if value is None else format(value, spec)


def _percent(row: Row) -> str:
    if row.delta is None or not row.baseline:
        return "–"
    return f"{100 * row.delta / abs(row.baseline):+.2f}%"


def _regime(row: Row) -> str:
    if row.baseline_regime == row.candidate_regime:
        return row.baseline_regime
    return f"{row.baseline_regime} → {row.candidate_regime}"


def headline(result: Comparison) -> str:
    """One line: the verdict of the whole comparison."""
    tolerance = f"rtol {result.rtol:g}" + (f", atol {result.atol:g}" if result.atol else "")
    if result.worse:
        where = ", ".join(row.where for row in result.worse_rows)
        return (
            f"{result.candidate}: {result.metric} worse than {result.baseline} at "
            f"{len(result.worse)} of {len(result.rows)} λ ({where}; {tolerance})"
        )
    return (
        f"{result.candidate}: {result.metric} no worse than {result.baseline} at all "
        f"{len(result.rows)} λ ({tolerance})"
    )


def _lam(value: float | None) -> str:
    return "–" if value is None else format_lambda(value)


def _selection(result: Comparison) -> str:
    if result.point_best:
        return "; ".join(
            f"λ_min at {point_label(point)} {_lam(a)} → {_lam(b)}"
            for point, a, b in result.point_best
        )
    best = " → ".join(format_lambda(v) if v is not None else "–" for v in result.best)
    one_se = " → ".join(format_lambda(v) if v is not None else "–" for v in result.one_se)
    return f"λ_min {best}; λ_1se {one_se}"


def rich_table(result: Comparison):
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"{result.metric}: baseline → candidate",
        caption=_selection(result),
        caption_justify="left",
    )
    for header, justify in (
        ("λ", "right"),
        ("baseline", "right"),
        ("candidate", "right"),
        ("Δ", "right"),
        ("Δ%", "right"),
        ("regime", "left"),
        ("verdict", "left"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)
    for row in result.rows:
        table.add_row(
            row.where,
            _fmt(row.baseline),
            _fmt(row.candidate),
            _fmt(row.delta, "+.3g"),
            _percent(row),
            _regime(row),
            Text(row.verdict, style=VERDICT_STYLES[row.verdict]),
        )
    return table


def markdown(result: Comparison) -> str:
    lines = [
        f"**{result.metric}: `{result.baseline}` → `{result.candidate}`**",
        "",
        "| λ | baseline | candidate | Δ | Δ% | regime | verdict |",
        "|---:|---:|---:|---:|---:|:---|:---|",
    ]
    for row in result.rows:
        verdict = f"**{row.verdict}**" if row.verdict == "worse" else row.verdict
        lines.append(
            f"| {row.where} | {_fmt(row.baseline)} | {_fmt(row.candidate)} "
            f"| {_fmt(row.delta, '+.3g')} | {_percent(row)} | {_regime(row)} | {verdict} |"
        )
    lines += ["", headline(result) + ".", "", _selection(result) + "."]
    if result.differences:
        lines += ["", "Compared on the common λ although: " + "; ".join(result.differences) + "."]
    return "\n".join(lines) + "\n"


def as_json(results: list[Comparison]) -> dict:
    return {
        "ok": not any(r.worse for r in results),
        "comparisons": [
            {
                **{k: v for k, v in asdict(r).items() if k != "rows"},
                "worse": r.worse,
                "worse_keys": [
                    {"point": json.loads(row.point), "lambda": row.lam} for row in r.worse_rows
                ],
                "regime_changes": [
                    {
                        "point": json.loads(row.point),
                        "lambda": row.lam,
                        "baseline": row.baseline_regime,
                        "candidate": row.candidate_regime,
                    }
                    for row in r.regime_changes
                ],
                "rows": [
                    {
                        "point": json.loads(row.point),
                        "lambda": row.lam,
                        "baseline": row.baseline,
                        "candidate": row.candidate,
                        "delta": row.delta,
                        "baseline_regime": row.baseline_regime,
                        "candidate_regime": row.candidate_regime,
                        "verdict": row.verdict,
                    }
                    for row in r.rows
                ],
            }
            for r in results
        ],
    }
