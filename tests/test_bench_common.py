"""benchmarks/common.py: the statistics every benchmark prints, and docs naming real scripts."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import common  # noqa: E402


def test_timing_reports_median_and_range():
    timing = common.Timing([3.0, 1.0, 2.0, 10.0])
    assert (timing.median, timing.min, timing.max) == (2.5, 1.0, 10.0)
    assert str(timing) == "2.5 s (1 s–10 s)"
    assert str(common.Timing([0.01234, 0.5, 123.4])) == "0.5 s (0.0123 s–123 s)"


def test_ratio_is_of_medians_with_the_range_of_per_round_ratios():
    slow, fast = common.Timing([4.0, 9.0, 6.0]), common.Timing([2.0, 3.0, 1.0])
    assert common.ratio(slow, fast) == "3.00× (2.00–6.00)"


def test_interleaved_runs_jobs_in_turns_after_the_warmup():
    calls = []
    jobs = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    times = common.interleaved(jobs, repeats=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert [len(t.seconds) for t in times.values()] == [3, 3]
    assert all(s >= 0 for t in times.values() for s in t.seconds)


def test_measure_runs_the_warmup_untimed():
    calls = []
    timing = common.measure(lambda: calls.append(1), repeats=2, warmup=3)
    assert len(calls) == 5 and len(timing.seconds) == 2


def test_matmul_peak_counts_two_n_cubed_flops(monkeypatch):
    monkeypatch.setattr(common, "timed", lambda job: (job(), 0.5)[1])
    assert common.matmul_peak("float32", size=10, repeats=2) == pytest.approx(2 * 10**3 / 0.5 / 1e9)


def test_header_names_the_blas_kernel_in_use(capsys, monkeypatch):
    fake = [{"user_api": "blas", "internal_api": "openblas", "version": "0.3.99",
             "architecture": "Zen", "num_threads": 2, "filepath": "/x"},
            {"user_api": "openmp", "internal_api": "openmp", "version": None,
             "num_threads": 2}]  # fmt: skip
    monkeypatch.setattr(common, "threadpool_info", lambda: fake)
    monkeypatch.setattr(common, "matmul_peak", lambda dtype: {"float64": 80.0}.get(dtype, 160.0))
    assert common.header("a title") == {"float64": 80.0, "float32": 160.0}
    out = capsys.readouterr().out
    assert out.startswith("# a title\n")
    assert "blas: openblas 0.3.99, kernel Zen, 2 threads\n" in out
    assert "openmp" not in out
    assert "80.0 GF/s float64, 160.0 GF/s float32" in out


def test_table_is_markdown(capsys):
    common.table(["case", "time"], [["a", "1 s"], ["b", "2 s"]])
    assert (
        capsys.readouterr().out == "| case | time |\n| --- | ---: |\n| a | 1 s |\n| b | 2 s |\n\n"
    )


def invocations() -> list[tuple[str, str, list[str]]]:
    """(document, script, its --options) of every `python benchmarks/X.py …` in the docs."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"python benchmarks/(\w+\.py)([^\n`|#]*)", text):
            found.append((path.name, match.group(1), re.findall(r"--[\w-]+", match.group(2))))
    return found


def test_every_benchmark_a_doc_names_exists_with_the_options_given():
    assert {script for _, script, _ in invocations()} >= {"bench_mlp.py", "bench_ridge.py"}
    for document, script, flags in invocations():
        source = ROOT / "benchmarks" / script
        assert source.exists(), f"{document} names {script}, which does not exist"
        text = source.read_text(encoding="utf-8")
        for flag in flags:
            assert f'"{flag}"' in text, f"{document}: {script} has no option {flag}"
