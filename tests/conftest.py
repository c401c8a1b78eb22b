"""Shared fixtures: small configs written to a temporary folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


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
