"""Shared fixtures: small configs written to a temporary folder."""

from __future__ import annotations

import copy
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wdcli.records import Results


@pytest.fixture
def write_config(tmp_path: Path):
    """Write YAML text (dedented) to a file in tmp_path and return its path."""

    def write(text: str, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


RIDGE_CONFIG = """\
name: tiny-ridge
dataset: {name: regression, n_samples: 60, n_features: 20, noise: 5.0, test_size: 0.5}
model: {name: linear}
lambdas: [0, 1e-3, 1e-1, 10]
seeds: 2
"""


@pytest.fixture
def ridge_config(write_config) -> Path:
    return write_config(RIDGE_CONFIG)


@pytest.fixture
def wait_for_runs():
    """wait(journal, at_least): block until a sweep's journal holds more than at_least runs."""

    def wait(journal: Path, at_least: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if journal.exists() and journal.read_bytes().count(b"\n") > at_least:
                return
            time.sleep(0.01)
        raise AssertionError(f"{journal} did not reach {at_least} runs")

    return wait


_BAD_INPUTS: set[str] = set()


@pytest.fixture(scope="session")
def bad_inputs() -> set[str]:
    """Tests add a digest of every broken file they try; the count is printed at the end."""
    return _BAD_INPUTS


def pytest_terminal_summary(terminalreporter) -> None:
    if _BAD_INPUTS:
        terminalreporter.write_line(f"distinct broken files tried: {len(_BAD_INPUTS)}")
    edges = sys.modules.get("test_config_edges")
    if edges is not None and edges.BAD_CONFIGS:
        terminalreporter.write_line(f"distinct bad configs tried: {len(edges.BAD_CONFIGS)}")


def results_of(document: dict) -> Results:
    """A hand-built document as a `Results`, with what the test leaves out filled in: the
    config's names, each summary row's train loss and regime (its test loss, null), its n_runs
    runs, ok where the row has a test loss (one without n_runs), no λ_min or λ_1se."""
    filled = copy.deepcopy(document)
    filled.setdefault("schema_version", 2)
    config = filled.setdefault("config", {})
    config.setdefault("name", "test")
    for section in ("dataset", "model"):
        config.setdefault(section, {}).setdefault("name", section)
    for row in filled["summary"]:
        row.setdefault("train_loss_mean", row.get("test_loss_mean"))
        row.setdefault("regime", None)
    if not filled.get("runs"):
        filled["runs"] = [
            {
                "point": row.get("point", {}),
                "lambda": row["lambda"],
                "seed": seed,
                "status": "ok" if row["test_loss_mean"] is not None else "diverged",
                "train_loss": row["train_loss_mean"],
                "test_loss": row["test_loss_mean"],
            }
            for row in filled["summary"]
            for seed in range(row.get("n_runs") or 1)
        ]
    filled.setdefault("best_lambda", None)
    filled.setdefault("lambda_1se", None)
    return Results.model_validate(filled).with_plain(filled)
