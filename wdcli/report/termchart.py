"""A compact chart of mean train and test loss against λ, for the terminal, under the table.

    console.print(loss_chart(results, width=console.width, color=not no_color))

λ runs left to right on a log scale, λ = 0 (when swept) in its own column at the left behind a
broken axis; lines are braille dots (2 × 4 per character cell), each λ's mean is a marker
(○ train, ● test), the dotted vertical line is λ_min, and the row under the λ labels names the
regime of each stretch of λ. Markers and the regime names carry the meaning without colour.
A λ whose runs did not all train (wdcli.metrics.health) has no marker and no line through it; the
regime row names what went wrong there instead (diverged, no_fit, not_converged).
"""

from __future__ import annotations

import math

from rich.text import Text

from wdcli.metrics.health import UNHEALTHY
from wdcli.metrics.summary import no_verdict
from wdcli.records import Results, SummaryRow

CURVES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")  # one per point
REGIME_COLOURS = {  # shared with the figures (wdcli.report.plots)
    "overfit": "#d62728",
    "good": "#2ca02c",
    "underfit": "#9467bd",
    "diverged": "#7f7f7f",
    "no_fit": "#7f7f7f",
    "not_converged": "#7f7f7f",
}
STYLES = {
    **{f"curve{i}": colour for i, colour in enumerate(CURVES)},
    "train": "#1f77b4",
    "test": "#ff7f0e",
    "best": "dim",
    "axis": "dim",
    **REGIME_COLOURS,
}
MARKERS = {"train": "○", "test": "●"}
# Braille dot bits by (column, row) inside a cell: U+2800 + the sum of the raised dots.
DOTS = {
    (0, 0): 0x01,
    (0, 1): 0x02,
    (0, 2): 0x04,
    (0, 3): 0x40,
    (1, 0): 0x08,
    (1, 1): 0x10,
    (1, 2): 0x20,
    (1, 3): 0x80,
}
ZERO_GAP = 5  # cells between the λ = 0 column and the log-λ axis


def _frame(finite: list[float], lams: list[float], width: int, height: int):
    """(y scale, margin, plot columns, x cell per λ, empty canvas) of a chart `width` wide."""
    scale = _YScale(min(finite), max(finite), height)
    margin = max(len(label) for _, label in scale.ticks()) + 1
    cols = max(width - margin - 1, 12)
    return scale, margin, cols, _x_cells(lams, cols), _Canvas(cols, height)


def loss_chart(results: Results, width: int = 80, height: int = 8, color: bool = True) -> Text:
    """The chart of a results document as a rich Text, at most `width` cells wide.

    height is the number of rows of the plotting area; color=False gives plain text (the
    same characters, no styles).
    """
    rows = results.summary
    lams = [float(row.lambda_) for row in rows]
    series = {
        split: [row.stat(f"{split}_loss") if trained(row) else None for row in rows]
        for split in MARKERS
    }
    finite = [v for vals in series.values() for v in vals if _ok(v)]
    if not finite:
        reason = no_verdict([row.plain() for row in rows]) or "no λ trained on every seed"
        return Text(f"(nothing to chart: {reason})")
    scale, margin, cols, xs, canvas = _frame(finite, lams, width, height)  # type: ignore[arg-type]
    best = results.best_lambda
    if best is not None and float(best) in lams:
        canvas.vline(xs[lams.index(float(best))], "best")
    for split in ("train", "test"):
        points = []
        for lam, x, v in zip(lams, xs, series[split], strict=True):
            points.append((2 * x, scale.px(v)) if _ok(v) else None)
            if lam == 0:  # λ = 0 stands alone, beyond the break of the axis
                points.append(None)
        canvas.polyline(points, split)
    for split in ("train", "test"):
        for x, v in zip(xs, series[split], strict=True):
            if _ok(v):
                canvas.mark(x, scale.px(v) // 4, MARKERS[split], split)
    lines = [
        _header(results, scale, width),
        *_plot_lines(canvas, scale, margin),
        _axis(xs, lams, cols, margin),
        _labels(xs, lams, best, cols, margin),
        _regimes(xs, [regime_label(row) for row in rows], cols, margin),
    ]
    out = Text("\n").join(lines)
    if not color:
        out = Text(out.plain)
    return out


def healthy(row: SummaryRow) -> bool:
    """Whether every run of a summary row trained (an older file's regime `diverged` did not)."""
    return row.all_trained()


def trained(row: SummaryRow) -> bool:
    """Whether a summary row is drawn: it has a regime and every run of it trained (a lone
    healthy λ has no regime: there is nothing to compare it with)."""
    return bool(row.regime) and healthy(row)


def regime_label(row: SummaryRow) -> str:
    """The row's regime, or for a row that is not drawn what went wrong (first by precedence)."""
    if trained(row):
        return str(row.regime)
    return next((s for s in UNHEALTHY if row.count(s)), str(row.regime or "–"))


def _ok(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


class _YScale:
    """Loss → braille pixel row (0 at the top); log when the loss spans more than 30×."""

    def __init__(self, lo: float, hi: float, height: int):
        self.log = lo > 0 and hi / lo > 30
        self.lo, self.hi = (math.log10(lo), math.log10(hi)) if self.log else (lo, hi)
        if self.hi == self.lo:
            pad = abs(self.hi) * 0.1 or 1.0
            self.lo, self.hi = self.lo - pad, self.hi + pad
        self.height = height

    def px(self, value: float) -> int:
        v = math.log10(value) if self.log else value
        frac = (self.hi - v) / (self.hi - self.lo)
        return min(max(round(frac * (4 * self.height - 1)), 0), 4 * self.height - 1)

    def ticks(self) -> list[tuple[int, str]]:
        """(row, label) at the top, middle and bottom rows of the plot."""
        out = []
        for row in sorted({0, (self.height - 1) // 2, self.height - 1}):
            v = self.hi - (self.hi - self.lo) * (4 * row + 1.5) / (4 * self.height - 1)
            out.append((row, f"{10**v if self.log else v:.3g}"))
        return out


def _x_cells(lams: list[float], cols: int) -> list[int]:
    """Column of every λ: λ = 0 at the left edge, positive λ spread by log10 over the rest."""
    positive = [lam for lam in lams if lam > 0]
    has_zero = len(positive) < len(lams)
    first = 1 + ZERO_GAP if has_zero and positive else 1
    last = cols - 2
    lo, hi = (math.log10(min(positive)), math.log10(max(positive))) if positive else (0, 0)
    out = []
    for lam in lams:
        if lam <= 0:
            out.append(1 if positive else cols // 2)
        elif hi == lo:
            out.append((first + last) // 2)
        else:
            out.append(first + round((math.log10(lam) - lo) / (hi - lo) * (last - first)))
    return out


class _Canvas:
    """A grid of braille cells, each with its dots, an optional overriding glyph and a style."""

    def __init__(self, cols: int, rows: int):
        self.cols, self.rows = cols, rows
        self.bits = [[0] * cols for _ in range(rows)]
        self.glyph: list[list[str | None]] = [[None] * cols for _ in range(rows)]
        self.style: list[list[str | None]] = [[None] * cols for _ in range(rows)]

    def dot(self, px: int, py: int, style: str) -> None:
        cx, cy = px // 2, py // 4
        if 0 <= cx < self.cols and 0 <= cy < self.rows:
            self.bits[cy][cx] |= DOTS[(px % 2, py % 4)]
            self.style[cy][cx] = style
            if self.glyph[cy][cx] == "┊":
                self.glyph[cy][cx] = None

    def vline(self, cx: int, style: str) -> None:
        """A dotted line, shown only in cells that nothing else is drawn in."""
        for cy in range(self.rows):
            self.glyph[cy][cx], self.style[cy][cx] = "┊", style

    def polyline(self, points, style: str) -> None:
        """Straight segments between consecutive points; None breaks the line."""
        for a, b in zip(points, points[1:], strict=False):
            if a is None or b is None:
                continue
            steps = max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1)
            for i in range(steps + 1):
                self.dot(
                    round(a[0] + (b[0] - a[0]) * i / steps),
                    round(a[1] + (b[1] - a[1]) * i / steps),
                    style,
                )

    def mark(self, cx: int, cy: int, glyph: str, style: str) -> None:
        self.glyph[cy][cx], self.style[cy][cx] = glyph, style

    def row(self, cy: int) -> Text:
        out = Text()
        for cx in range(self.cols):
            glyph = self.glyph[cy][cx] or chr(0x2800 + self.bits[cy][cx])
            style = self.style[cy][cx]
            out.append(glyph, style=STYLES[style] if style else None)
        return out


def _header(results: Results, scale: _YScale, width: int) -> Text:
    out = Text("  ")
    out.append(f"{MARKERS['train']} train", style=STYLES["train"])
    out.append("   ")
    from wdcli.report.table import loss_name, spread

    out.append(
        f"{MARKERS['test']} {loss_name(results).removesuffix(' loss')}", style=STYLES["test"]
    )
    best = results.best_lambda
    if best is not None:
        out.append(f"   ┊ λ_min = {_short(float(best))}", style=STYLES["best"])
    seeds_note = f"mean loss over {spread(results)}"
    notes = [f"{seeds_note}, log scale", "log scale"] if scale.log else [seeds_note]
    for note in notes:  # the longest that fits
        if len(out) + len(note) + 5 <= width:
            out.append(f"   ({note})", style="dim")
            break
    return out


def _plot_lines(canvas: _Canvas, scale: _YScale, margin: int) -> list[Text]:
    labels = dict(scale.ticks())
    out = []
    for cy in range(canvas.rows):
        line = Text()
        line.append(labels.get(cy, "").rjust(margin - 1) + " ", style="dim")
        line.append("┤" if cy in labels else "│", style=STYLES["axis"])
        line.append_text(canvas.row(cy))
        out.append(line)
    return out


def _axis(xs: list[int], lams: list[float], cols: int, margin: int) -> Text:
    chars = ["─"] * cols
    positive = [x for x, lam in zip(xs, lams, strict=True) if lam > 0]
    if positive and len(positive) < len(xs):
        for c in range(3, 1 + ZERO_GAP):
            chars[c] = "┈"
    for x in xs:
        chars[x] = "┬"
    return Text(" " * margin + "└" + "".join(chars), style=STYLES["axis"])


def _labels(xs: list[int], lams: list[float], best, cols: int, margin: int) -> Text:
    """λ under its tick where there is room: λ = 0, the ends and λ_min first, then the rest."""
    positive = [i for i, lam in enumerate(lams) if lam > 0]
    ends = {i for i, lam in enumerate(lams) if lam == 0} | set(positive[:1] + positive[-1:])
    order = sorted(
        range(len(lams)), key=lambda i: (0 if i in ends else 1 if lams[i] == best else 2, i)
    )
    line = [" "] * (cols + 1)
    taken = [False] * (cols + 1)
    for i in order:
        text = "λ=0" if lams[i] == 0 else _short(lams[i])
        start = min(max(xs[i] + 1 - len(text) // 2, 0), cols + 1 - len(text))
        if any(taken[c] for c in range(max(start - 1, 0), min(start + len(text) + 1, cols + 1))):
            continue  # a label needs a space on each side
        for k, ch in enumerate(text):
            line[start + k], taken[start + k] = ch, True
    return Text(" " * margin + "".join(line), style="dim")


def _short(lam: float) -> str:
    """3 significant digits, exponent without padding: 0, 1e-6, 3.16e-4, 0.01, 1, 100."""
    if lam == 0 or 1e-3 <= lam < 1e4:
        return f"{lam:.3g}"
    mantissa, exponent = f"{lam:.2e}".split("e")
    return f"{float(mantissa):.3g}e{int(exponent)}"


def _regimes(xs: list[int], regimes: list[str], cols: int, margin: int) -> Text:
    """Each stretch of equal regime as ├─ name ─┤ under its λ (the name cut to fit)."""
    out = Text(" " * (margin + 1))
    edges = [0] + [(a + b + 1) // 2 for a, b in zip(xs, xs[1:], strict=False)] + [cols]
    at, i = 0, 0
    while i < len(regimes):
        j = i
        while j + 1 < len(regimes) and regimes[j + 1] == regimes[i]:
            j += 1
        start, stop = max(edges[i], at), edges[j + 1]
        out.append(_bracket(regimes[i], stop - start), style=STYLES.get(regimes[i]))
        at, i = stop, j + 1
    return out


def _bracket(name: str, n: int) -> str:
    if n <= 0:
        return ""
    if len(name) + 2 <= n:  # ├─ name ─┤
        label = f" {name} " if len(name) + 4 <= n else name
        left = (n - 2 - len(label)) // 2
        return "├" + "─" * left + label + "─" * (n - 2 - len(label) - left) + "┤"
    if len(name) <= n:
        return name.center(n)
    initial = "×" if name in UNHEALTHY else name[:1]  # too narrow for the word: o, g, u, ×
    return "├" + initial.center(n - 2, "─") + "┤" if n >= 3 else initial.center(n)


def grid_chart(document: Results, width: int = 80, height: int = 10, color: bool = True) -> Text:
    """Mean test loss against λ, one curve per grid point (digits 1, 2, … as markers, a
    legend above), for a grid of at most len(CURVES) points; a note for larger grids."""
    from wdcli.report.table import loss_name, point_documents, varying_axes
    from wdcli.runkey import point_label

    docs = point_documents(document)
    if len(docs) > len(CURVES):
        return Text(f"({len(docs)} points: too many curves for the terminal; use wdcli plot)")
    axes = varying_axes(document)
    lams = sorted({float(row.lambda_) for row in document.summary})
    series = []
    for doc in docs:
        by_lam = {float(r.lambda_): r.test_loss_mean for r in doc.summary}
        series.append([by_lam.get(lam) for lam in lams])
    finite = [v for vals in series for v in vals if _ok(v)]
    if not finite:
        return Text("(no finite loss to chart: every run diverged)")
    scale, margin, cols, xs, canvas = _frame(finite, lams, width, height)  # type: ignore[arg-type]
    for i, values in enumerate(series):
        points = []
        for lam, x, v in zip(lams, xs, values, strict=True):
            points.append((2 * x, scale.px(v)) if _ok(v) else None)
            if lam == 0:
                points.append(None)
        canvas.polyline(points, f"curve{i}")
    for i, values in enumerate(series):
        for x, v in zip(xs, values, strict=True):
            if _ok(v):
                canvas.mark(x, scale.px(v) // 4, str(i + 1), f"curve{i}")
    legend = Text(f"  mean {loss_name(document)}: ")
    for i, doc in enumerate(docs):
        label = point_label({k: doc.value("point").get(k) for k in axes})
        legend.append(f"{i + 1} {label}   ", style=STYLES[f"curve{i}"])
    lines = [
        legend,
        *_plot_lines(canvas, scale, margin),
        _axis(xs, lams, cols, margin),
        _labels(xs, lams, None, cols, margin),
    ]
    out = Text("\n").join(lines)
    return out if color else Text(out.plain)
