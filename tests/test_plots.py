"""Figures (wdcli.report.plots) and the terminal chart (wdcli.report.termchart) drawn from fixture results.

The fixtures in tests/fixtures/ are written by tests/fixtures/make_fixtures.py.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import results_of

from wdcli import CONVENTION
from wdcli.errors import ResultsError, WdcliError
from wdcli.records import Results
from wdcli.report.plots import (
    PlotError,
    curves_figure,
    nearest_lambda,
    output_path,
    render,
    save,
    validation_figure,
)
from wdcli.report.termchart import loss_chart
from wdcli.store.results import check_document

FIXTURES = Path(__file__).parent / "fixtures"


def raw(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def load(name: str) -> Results:
    return check_document(raw(name), f"{name}.json")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def by_gid(fig, gid: str) -> list:
    return fig.findobj(lambda a: a.get_gid() == gid)


@pytest.fixture(scope="module")
def regression_fig():
    return validation_figure(load("regression"), sources=["regression.json"])


# --- files -----------------------------------------------------------------------------------


def test_png_has_the_size_of_the_figure(tmp_path):
    path = render([load("regression")], tmp_path / "sweep.png")
    assert png_size(path) == (960, 600)


def test_classification_png_is_taller_for_the_accuracy_panel(tmp_path):
    path = render([load("classification")], tmp_path / "cls.PNG")
    assert png_size(path) == (960, 840)


def test_svg_is_xml_of_the_figure_size(tmp_path):
    path = render([load("regression")], tmp_path / "sweep.svg")
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("576pt", "360pt")


def test_output_is_byte_identical_across_renders(tmp_path):
    doc = load("mlp_curves")
    for suffix in (".svg", ".png"):
        first = render([doc], tmp_path / f"a{suffix}").read_bytes()
        second = render([doc], tmp_path / f"b{suffix}").read_bytes()
        assert first == second
    svg = (tmp_path / "a.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg


def test_bad_extension_is_refused_before_drawing(tmp_path):
    out = tmp_path / "sweep.pdf"
    with pytest.raises(PlotError) as info:
        render([{"not": "results"}], out)
    assert str(info.value) == f"{out}: the figure file must end in .png or .svg"
    assert isinstance(info.value, WdcliError) and info.value.exit_code == 2
    with pytest.raises(PlotError, match=r"^sweep: the figure file must end in \.png or \.svg$"):
        output_path("sweep")
    # `.png` ends in .png, yet is a hidden file without an extension: "must end in .png"
    with pytest.raises(PlotError, match=r"^\.PNG: the figure file needs a name before \.PNG$"):
        output_path(".PNG")


def test_curves_refuse_a_kind_that_they_would_ignore(tmp_path):
    # --curves --kind heatmap drew the plain curves, byte for byte, exit 0
    doc = load("regression")
    with pytest.raises(PlotError) as info:
        render([doc], tmp_path / "c.png", curves=True, kind="heatmap")
    assert str(info.value) == (
        "--kind heatmap: picks the figure of a grid or tune sweep, and --curves draws per-epoch "
        "curves; leave out one of them"
    )
    assert not (tmp_path / "c.png").exists()


def test_unwritable_folder_is_a_plot_error(tmp_path, regression_fig):
    out = tmp_path / "missing" / "sweep.png"
    with pytest.raises(PlotError, match=r"missing/sweep\.png: cannot write the figure: "):
        save(regression_fig, out)


def test_importing_draws_in_no_matplotlib():
    code = (
        "import sys, wdcli.report.plots, wdcli.report.termchart; print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the validation curve --------------------------------------------------------------------


def test_title_names_the_sweep_and_the_convention(regression_fig):
    title = regression_fig.get_suptitle()
    assert title.splitlines() == ["poly (linear): train and test loss against λ", CONVENTION]


def test_legend_has_the_curves_the_band_and_both_lambdas(regression_fig):
    assert legend_texts(regression_fig) == [
        "train",
        "test",
        "±1 SE over 3 seeds",
        "λ_min = 0.01",
        "λ_1se = 0.0316",
    ]


def test_lambda_min_and_1se_are_vertical_lines(regression_fig):
    (best,) = [ln for ln in by_gid(regression_fig, "best_lambda") if ln.get_label()[0] != "_"]
    (one_se,) = [ln for ln in by_gid(regression_fig, "lambda_1se") if ln.get_label()[0] != "_"]
    assert list(best.get_xdata()) == [0.01, 0.01]
    assert list(one_se.get_xdata()) == [0.0316, 0.0316]
    assert (best.get_linestyle(), one_se.get_linestyle()) == ("--", ":")


def test_regimes_are_shaded_and_named(regression_fig):
    for regime in ("overfit", "good", "underfit"):
        assert by_gid(regression_fig, f"region-{regime}"), regime
        (label,) = by_gid(regression_fig, f"region-label-{regime}")
        assert label.get_text() == regime
    assert not by_gid(regression_fig, "region-diverged")


def test_lambda_zero_is_its_own_point_in_its_own_panel(regression_fig):
    zero, main = regression_fig.axes[:2]
    assert [t.get_text() for t in zero.get_xticklabels()] == ["λ = 0"]
    assert main.get_xscale() == "log"
    points = [ln for ln in zero.get_lines() if (ln.get_gid() or "").startswith("lambda-zero")]
    assert {ln.get_gid() for ln in points} == {"lambda-zero-train-loss", "lambda-zero-test-loss"}
    assert all(list(ln.get_xdata()) == [0.0] for ln in points)
    test_line = by_gid(regression_fig, "test-loss")[0]
    assert 0.0 not in list(test_line.get_xdata())  # λ = 0 is not on the log axis
    assert by_gid(regression_fig, "axis-break")


def test_se_bands_cover_the_mean(regression_fig):
    (band,) = by_gid(regression_fig, "test-loss-se")
    doc = raw("regression")
    rows = [r for r in doc["summary"] if r["lambda"] > 0]
    lo, hi = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()
    assert lo == pytest.approx(min(r["test_loss_mean"] - r["test_loss_se"] for r in rows))
    assert hi == pytest.approx(max(r["test_loss_mean"] + r["test_loss_se"] for r in rows))


def test_classification_has_an_accuracy_panel():
    fig = validation_figure(load("classification"))
    assert [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()] == [
        "loss (cross-entropy)",
        "accuracy",
    ]
    assert by_gid(fig, "test-accuracy") and by_gid(fig, "train-accuracy")
    assert by_gid(fig, "lambda-zero-test-accuracy")
    assert fig.axes[1].get_yscale() == "log"  # λ = 0's loss is far off the others


def test_diverged_lambdas_are_crossed_on_the_axis():
    fig = validation_figure(load("diverged"))
    crosses = by_gid(fig, "diverged")
    assert sorted(float(ln.get_xdata()[0]) for ln in crosses) == [0.1, 1.0]
    assert all(ln.get_marker() == "x" for ln in crosses)
    assert "diverged runs" in legend_texts(fig)
    assert by_gid(fig, "region-diverged")
    assert len(fig.axes) == 1  # no λ = 0 in this grid, no λ = 0 panel


def test_one_seed_has_no_band_and_no_1se_line():
    fig = validation_figure(load("one_seed"))
    assert not by_gid(fig, "test-loss-se") and not by_gid(fig, "lambda_1se")
    assert legend_texts(fig) == ["train", "test", "λ_min = 0.000316"]


def test_a_single_lambda_draws_error_bars(tmp_path):
    with warnings.catch_warnings():  # matplotlib warned of identical x limits, on stderr
        warnings.simplefilter("error")
        fig = validation_figure(load("single_lambda"))
    lo, hi = fig.axes[0].get_xlim()
    assert lo < 0.01 < hi
    assert by_gid(fig, "test-loss-se")
    assert png_size(save(fig, tmp_path / "one.png")) == (960, 600)


def test_lambdas_out_to_1e300_draw_on_finite_axes_without_warnings(tmp_path):
    # matplotlib's autoscale margins and log ticks overflowed: a traceback, exit 1
    rows = [
        {"lambda": lam, "test_loss_mean": 1.0 + i} for i, lam in enumerate([0, 1e-300, 1.0, 1e300])
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = validation_figure(results_of({"summary": rows}))
        assert png_size(save(fig, tmp_path / "wide.png")) == (960, 600)
    lo, hi = fig.axes[1].get_xlim()
    assert 0 < lo <= 1e-300 and 1e300 <= hi < math.inf
    ticks = fig.axes[1].get_xticks()
    assert list(ticks) == [10.0**k for k in range(-300, 301, 100)]


def test_overlay_colours_each_file_and_labels_it():
    fig = validation_figure([load("mlp_curves"), load("mlp_decoupled")])
    labels = legend_texts(fig)
    assert {"mlp: train", "mlp: test", "mlp-decoupled: train", "mlp-decoupled: test"} <= set(labels)
    assert "mlp-decoupled: λ_min = 0.001" in labels
    tests = [ln for ln in by_gid(fig, "test-loss")]
    assert len({ln.get_color() for ln in tests}) == 2
    assert not fig.findobj(lambda a: (a.get_gid() or "").startswith("region"))
    assert fig.get_suptitle().startswith("mlp vs mlp-decoupled: ")


def test_an_overlay_of_more_files_than_the_palette_gives_each_its_own_colour():
    # the eighth file took the first file's colour
    doc = load("regression")
    sources = [f"runs/{i}.json" for i in range(9)]
    fig = validation_figure([doc] * 9, sources=sources)
    tests = by_gid(fig, "test-loss")
    assert len(tests) == 9 and len({str(ln.get_color()) for ln in tests}) == 9


def test_overlay_of_equal_names_uses_the_file_names():
    doc = load("regression")
    fig = validation_figure([doc, doc], sources=["runs/a.json", "runs/b.json"])
    assert "poly (a.json): test" in legend_texts(fig)
    assert "poly (b.json): test" in legend_texts(fig)


def test_regression_and_classification_do_not_overlay():
    with pytest.raises(PlotError) as info:
        validation_figure(
            [load("regression"), load("classification")], sources=["r.json", "c.json"]
        )
    assert str(info.value) == (
        "c.json: cannot overlay classification and regression results in one figure"
    )


def _first_row(**fields):
    """The regression fixture with its first summary row changed (None: the field removed)."""

    def change(document):
        row = document["summary"][0]
        for key, value in fields.items():
            if value is None:
                del row[key]
            else:
                row[key] = value
        return document

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d | {"summary": []}, "r.json: summary: is empty"),
        (lambda d: [], "r.json: not a results file (a JSON array, not an object)"),
        (_first_row(**{"lambda": "x"}), "r.json: summary[0].lambda: expected a number, got 'x'"),
        (
            _first_row(**{"lambda": -1}),
            "r.json: summary[0].lambda: expected a finite number ≥ 0, got -1",
        ),
        (
            _first_row(test_loss_mean=None),
            "r.json: summary[0].test_loss_mean: required field is missing",
        ),
    ],
)
def test_bad_documents_are_named_before_a_figure_is_drawn(change, message):
    """What a figure needs (rows, each with λ ≥ 0 and a test loss) is checked on reading."""
    with pytest.raises(ResultsError) as info:
        check_document(change(raw("regression")), "r.json")
    assert str(info.value) == message


# --- per-epoch curves ------------------------------------------------------------------------


def test_curves_default_to_smallest_best_and_largest_lambda(tmp_path):
    fig = curves_figure(load("mlp_curves"))
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "λ = 0",
        "λ = 0.01 (λ_min)",
        "λ = 1",
        "test",
        "train",
    ]
    assert ax.get_xlabel() == "epoch"
    test = by_gid(fig, "curve-test-0.01")[0]
    runs = [r for r in raw("mlp_curves")["runs"] if r["lambda"] == 0.01]
    assert test.get_ydata()[-1] == pytest.approx(sum(r["test_loss"] for r in runs) / len(runs))
    assert CONVENTION in fig.get_suptitle() and "mean over 3 seeds" in fig.get_suptitle()
    assert png_size(save(fig, tmp_path / "c.png")) == (960, 600)


def test_curves_of_a_kfold_sweep_average_its_folds_not_the_holdout_refit():
    # fold 0 (the refit on the whole training split, scored on the test split) was averaged
    # in: the mean matched neither the cv loss nor the test loss, under a "test" legend
    document = raw("mlp_curves")
    runs = []
    for run in document["runs"]:
        refit = json.loads(json.dumps(run))
        refit["curve"]["test_loss"] = [10 * v for v in refit["curve"]["test_loss"]]
        runs += [refit, {**run, "fold": 1}]
    document["runs"] = runs
    document["validation"] = {"kind": "kfold", "folds": 2, "repeats": 1, "stratify": True}
    fig = curves_figure(check_document(document, "cv.json"))
    test = by_gid(fig, "curve-test-0.01")[0]
    folds = [r for r in raw("mlp_curves")["runs"] if r["lambda"] == 0.01]
    assert test.get_ydata()[-1] == pytest.approx(sum(r["test_loss"] for r in folds) / len(folds))
    assert "cv" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_curves_at_given_lambdas_take_the_nearest_in_the_file():
    fig = curves_figure(load("mlp_curves"), lambdas=[2e-3, 0.5, 0.6])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["λ = 0.001", "λ = 1", "test", "train"]


def test_curves_of_several_files_are_side_by_side():
    fig = curves_figure([load("mlp_curves"), load("mlp_decoupled")])
    assert [ax.get_title() for ax in fig.axes] == ["mlp", "mlp-decoupled"]


def test_only_a_panel_with_a_cut_curve_explains_the_cross():
    # every panel's legend said "× a run diverged" when one panel's curve was cut
    cut = raw("mlp_curves")
    run = next(r for r in cut["runs"] if r["lambda"] == 0.01)
    run["curve"]["test_loss"][-1] = run["curve"]["train_loss"][-1] = None
    fig = curves_figure([load("mlp_curves"), check_document(cut, "cut.json")],
                        sources=["a.json", "cut.json"])  # fmt: skip
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert "a run diverged" not in legends[0] and "a run diverged" in legends[1]


def test_curves_of_many_panels_wrap_into_rows_of_three():
    # nine points of a grid were nine panels in one row, the title cut off at both sides
    files = [load("mlp_curves"), load("mlp_decoupled")] * 2
    fig = curves_figure(files, sources=["a.json", "b.json"] * 2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(visible) == 4
    rows = sorted({round(ax.get_position().y0, 3) for ax in visible})
    assert len(rows) == 2
    assert [bool(ax.get_ylabel()) for ax in visible] == [True, False, False, True]


def test_curves_of_a_file_without_them_say_so():
    with pytest.raises(PlotError) as info:
        render([load("regression")], "out.png", curves=True, sources=["regression.json"])
    assert str(info.value) == (
        "regression.json: no per-epoch curves in these results "
        "(model 'linear'; only mlp sweeps record them)"
    )
    mlp = load("mlp_curves").plain()  # an mlp file stripped of its curves: it said the same
    for run in mlp["runs"]:
        run.pop("curve", None)
    with pytest.raises(PlotError) as info:
        render([check_document(mlp, "m.json")], "out.png", curves=True, sources=["m.json"])
    assert str(info.value) == "m.json: no per-epoch curves in these results (its runs hold none)"


def test_nearest_lambda_is_nearest_on_a_log_scale():
    grid = [0.0, 1e-3, 1e-2, 1.0]
    assert nearest_lambda(grid, 0) == 0.0
    assert nearest_lambda(grid, 2e-3) == 1e-3
    assert nearest_lambda(grid, 4e-3) == 1e-2
    assert nearest_lambda(grid, 1e-9) == 1e-3
    assert nearest_lambda(grid, 50) == 1.0
    assert nearest_lambda([0.0], 0.3) == 0.0


# --- terminal chart --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["regression", "classification", "diverged", "one_seed", "single_lambda", "mlp_curves"]
)
@pytest.mark.parametrize("width", [40, 80, 120])
def test_chart_fits_the_width(name, width):
    chart = loss_chart(load(name), width=width, height=6)
    lines = chart.plain.splitlines()
    assert len(lines) == 6 + 4
    assert max(len(line) for line in lines) <= width


def test_chart_shows_markers_lambda_zero_and_regimes():
    lines = loss_chart(load("regression"), width=80, color=False).plain.splitlines()
    assert lines[0].startswith("  ○ train   ● test   ┊ λ_min")
    plot = "\n".join(lines[1:9])
    assert plot.count("●") == 14  # a test marker covers a train marker in the same cell
    assert 7 <= plot.count("○") < 14
    assert "λ=0" in lines[-2] and lines[-2].rstrip().endswith("1")
    assert [w for w in ("overfit", "good", "underfit") if w in lines[-1]] == [
        "overfit",
        "good",
        "underfit",
    ]


def test_chart_without_colour_has_no_styles():
    assert loss_chart(load("regression"), color=False).spans == []
    assert loss_chart(load("regression"), color=True).spans != []


def test_chart_marks_diverged_lambdas():
    regimes = loss_chart(load("diverged"), width=100, color=False).plain.splitlines()[-1]
    assert regimes.rstrip().endswith("┤├─×──┤")  # too narrow to spell "diverged"
    wide = loss_chart(load("diverged"), width=300, color=False).plain.splitlines()[-1]
    assert wide.rstrip().endswith("├─ diverged ─┤")


def test_chart_names_lambda_min_even_when_it_is_zero():
    doc = results_of(raw("regression") | {"best_lambda": 0.0})
    assert "┊ λ_min = 0 " in loss_chart(doc, width=100, color=False).plain.splitlines()[0]


def test_chart_of_nothing_finite_says_so():
    doc = results_of(
        {
            "summary": [
                {
                    "lambda": 0.1,
                    "train_loss_mean": None,
                    "test_loss_mean": None,
                    "regime": "diverged",
                }
            ],
            "best_lambda": None,
        }
    )
    assert loss_chart(doc).plain == "(nothing to chart: no λ trained on every seed)"


def test_a_requested_lambda_not_in_the_grid_is_drawn_as_the_nearest_with_a_note(tmp_path):
    from typer.testing import CliRunner

    from wdcli.cli import app

    fixture = FIXTURES / "mlp_curves.json"
    grid = sorted(row["lambda"] for row in raw("mlp_curves")["summary"])
    out = tmp_path / "c.png"
    args = ["plot", str(fixture), "--curves", "-l", str(grid[1]), "-l", "7", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    nearest = nearest_lambda(grid, 7.0)
    assert result.stderr.splitlines()[0] == (
        f"note: {fixture}: λ = 7 is not in its grid; drawing the nearest, {nearest:.3g}"
    )
    assert len(result.stderr.splitlines()) == 2 and out.exists()  # and "wrote …"


@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
def test_a_requested_lambda_that_is_no_lambda_is_refused(tmp_path, value):
    # inf crashed with a traceback (exit 1); nan drew the smallest λ with exit 0
    from typer.testing import CliRunner

    from wdcli.cli import app

    out = tmp_path / "c.png"
    args = ["plot", str(FIXTURES / "mlp_curves.json"), "--curves", "-l", value, "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert (result.exit_code, result.stderr) == (
        2,
        f"--lambda {float(value):g}: must be a λ ≥ 0 (a number, not inf or nan)\n",
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("curves", "drawn"),
    [(False, "this figure has no grid"), (True, "--curves draws per-epoch curves")],
)
def test_an_axis_without_a_grid_figure_is_refused(tmp_path, curves, drawn):
    # it was ignored: exit 0 and a figure
    with pytest.raises(PlotError) as error:
        render(load("regression"), tmp_path / "x.png", curves=curves, axis="foo")
    assert str(error.value) == f"--axis foo: picks the grid axis of a grid figure, and {drawn}"
    assert not (tmp_path / "x.png").exists()


def test_one_lambda_of_one_sweep_draws_without_warnings(tmp_path):
    # matplotlib warned of identical x limits, with a source line, on stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = validation_figure(load("one_lambda"))  # linear, 2 seeds, λ = 0.1 alone
    assert fig.axes[0].get_xlim() == pytest.approx((0.1 / 3, 0.1 * 3))


def test_curves_of_runs_of_other_lengths_average_the_epochs_they_share():
    # a tune over epochs: one seed's epoch 34 was averaged with the others' epoch 8
    from wdcli.report.plots import _documents, _mean_curve

    def run(seed, epochs, losses):
        curve = {"epoch": epochs, "train_loss": losses, "test_loss": losses}
        return {"point": {}, "lambda": 0.1, "seed": seed, "status": "ok", "train_loss": losses[-1],
                "test_loss": losses[-1], "curve": curve}  # fmt: skip

    def mean(seed_1_epochs, seed_1_losses):
        runs = [run(0, [0, 8], [5.0, 4.0]), run(1, seed_1_epochs, seed_1_losses),
                run(2, [0, 8], [6.0, 5.0])]  # fmt: skip
        document = results_of({"summary": [{"lambda": 0.1, "test_loss_mean": 3.0}], "runs": runs})
        (doc,) = _documents(document, None)
        return [list(values) for values in _mean_curve(doc, 0.1)]

    assert mean([0, 30, 60], [7.0, 3.0, 1.0]) == [[0], [6.0], [6.0]]  # epoch 0 alone is shared
    assert mean([0, 8, 60], [7.0, 3.0, 1.0]) == [[0, 8], [6.0, 4.0], [6.0, 4.0]]


def _full_batch(scale: float) -> Results:
    """mlp_curves as a full-batch classifier's sweep (accuracy curves), its losses × scale."""
    document = raw("mlp_curves")
    document["config"]["model"]["batch_size"] = "full"
    for run in document["runs"]:
        curve = run["curve"]
        for key in ("train_loss", "test_loss"):
            curve[key] = [None if v is None else v * scale for v in curve[key]]
        curve["train_accuracy"] = curve["test_accuracy"] = [0.5] * len(curve["epoch"])
    return check_document(document, f"x{scale}.json")


def test_step_curves_of_several_files_keep_every_panels_losses_on_the_shared_axis():
    # the loss row's limits were fixed from the first panel alone: another panel's losses,
    # 1e4 times smaller, fell off the axis
    fig = curves_figure([_full_batch(1.0), _full_batch(1e-4)], sources=["a.json", "b.json"])
    bottom = [ax for ax in fig.axes if ax.get_yscale() == "log"]
    low, high = bottom[0].get_ylim()
    drawn = np.concatenate([ln.get_ydata() for ax in bottom for ln in ax.lines
                            if str(ln.get_gid()).startswith("step-")])  # fmt: skip
    drawn = drawn[np.isfinite(drawn)]
    assert low <= drawn.min() and drawn.max() <= high
