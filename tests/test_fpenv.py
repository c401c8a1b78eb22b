"""Flush-to-zero around training: on where the platform allows, and never left on."""

from __future__ import annotations

import numpy as np
import pytest

from wdcli import fpenv
from wdcli.config import MLPModel
from wdcli.data import REGRESSION, Dataset
from wdcli.models.mlp import fit_mlp

SUB32, SUB64 = np.float32(1e-39), np.float64(1e-310)  # subnormal in each type

needs_fpenv = pytest.mark.skipif(not fpenv.supported(), reason="x86-64 Linux with glibc only")


def _subnormals_survive() -> bool:
    return bool(np.array([SUB32]) * np.float32(1) != 0) and bool(np.array([SUB64]) * 1.0 != 0)


@needs_fpenv
def test_subnormals_are_zero_inside_and_kept_outside():
    assert _subnormals_survive()
    with fpenv.flush_to_zero():
        assert (np.array([SUB32]) * np.float32(1))[0] == 0  # flush-to-zero of a result
        assert (np.array([SUB64]) + 0.0)[0] == 0  # denormals-are-zero of an input
        assert (np.array([np.float32(1e-30)]) * np.float32(1e-10))[0] == 0  # 1e-40 underflows
        assert (np.array([1.5e-38], np.float32) * np.float32(1))[0] != 0  # normal: untouched
    assert _subnormals_survive()


@needs_fpenv
def test_the_register_is_restored_when_training_raises():
    with pytest.raises(RuntimeError), fpenv.flush_to_zero():
        raise RuntimeError
    assert _subnormals_survive()


def test_training_leaves_subnormal_arithmetic_as_it_found_it():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    data = Dataset(X[:30], y[:30], X[30:], y[30:], REGRESSION, [])
    fit_mlp(data, np.array([0.0, 1.0]), 0, MLPModel(name="mlp", hidden=[4], epochs=2))
    assert _subnormals_survive()
