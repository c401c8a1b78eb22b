"""The MLP's fast paths: compiled kernels against the numpy path, models trained in groups,
subnormal numbers flushed, and float32 against float64 on the shipped config."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_mlp import assert_same_fit, dataset, options
from typer.testing import CliRunner

from wdcli import fused
from wdcli.cli import app
from wdcli.config import MLPModel
from wdcli.models import mlp
from wdcli.models.mlp import encode_targets, fit_mlp, init_params

needs_numba = pytest.mark.skipif(not fused.available(), reason="numba is not installed")

CASES = {  # name: (kind, option changes, lrs)
    "relu-adam-l2": ("regression", dict(hidden=[6, 5], optimizer="adam"), None),
    "relu-one-layer": ("regression", dict(hidden=[7]), None),
    "tanh-adam-decoupled": ("multiclass", dict(activation="tanh", regularization="decoupled"), None),
    "relu-sgd": ("binary", dict(optimizer="sgd", hidden=[6, 1, 3]), None),
    "relu-nesterov-cosine": ("regression", dict(optimizer="momentum", nesterov=True,
                             schedule="cosine", regularization="decoupled"), None),
    "per-model-lr": ("regression", dict(optimizer="adam"), np.array([0.01, 0.03, 0.1])),
    "float32": ("multiclass", dict(dtype="float32", regularization="decoupled"), None),
    "paper-decay-step": ("binary", dict(regularization="decoupled", decay_convention="paper",
                         schedule="step", step_epochs=2), None),
}  # fmt: skip


@needs_numba
@pytest.mark.parametrize("case", CASES)
def test_compiled_kernels_give_the_numbers_of_the_numpy_path(case, monkeypatch):
    kind, changes, lrs = CASES[case]
    data, lambdas = dataset(kind), np.array([0.0, 0.01, 0.1])
    opts = options(epochs=5, **changes)
    monkeypatch.setattr(fused, "MODE", "numba")
    compiled = fit_mlp(data, lambdas, 3, opts, lrs=lrs)
    monkeypatch.setattr(fused, "MODE", "numpy")
    plain = fit_mlp(data, lambdas, 3, opts, lrs=lrs)
    assert_same_fit(compiled, plain, rtol=0)  # the same operations element by element


def test_training_in_groups_gives_the_numbers_of_one_stack(monkeypatch):
    data, lambdas = dataset("multiclass"), np.array([0.0, 1e-3, 1e-2, 0.1, 1.0])
    opts = options(hidden=[6, 4], epochs=3, optimizer="momentum")
    assert len(mlp.group_slices((4, 6, 4, 3), 5, np.float64, 8)) == 1
    whole = fit_mlp(data, lambdas, 5, opts)
    monkeypatch.setattr(mlp, "GROUP_BYTES", 1)  # every model its own group
    assert [s.stop - s.start for s in mlp.group_slices((4, 6, 4, 3), 5, np.float64, 8)] == [1] * 5
    assert_same_fit(whole, fit_mlp(data, lambdas, 5, opts), rtol=1e-12)


def test_groups_are_about_equal_and_cover_every_model(monkeypatch):
    # three models of (4, 5, 1) on batches of 2 rows: 31 parameters, 3·5·2 activations
    monkeypatch.setattr(mlp, "GROUP_BYTES", 8 * (5 * 31 + 3 * 5 * 2) * 3)
    groups = mlp.group_slices((4, 5, 1), 10, np.float64, 2)
    assert [(s.start, s.stop) for s in groups] == [(0, 2), (2, 5), (5, 8), (8, 10)]
    assert len(mlp.group_slices((4, 5, 1), 10, np.float64, 3)) == 4  # larger batches: more
    monkeypatch.setattr(mlp, "GROUP_BYTES", 3 * 2**20)
    sizes = (20, 64, 1)  # the benchmark's small network on batches of 64: 155 kB a model
    assert [s.stop - s.start for s in mlp.group_slices(sizes, 64, np.float64, 64)] == [16] * 4
    assert len(mlp.group_slices(sizes, 16, np.float64, 64)) == 1


def _long_full_batch(steps: int, flush_every: int, kernels=None):
    """θ and the optimiser's moments after a long full-batch float32 run with a penalty:
    the weights of dead units and their moments shrink towards zero geometrically."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    y = X @ rng.standard_normal(4)
    opts = MLPModel(name="mlp", hidden=[32], batch_size="full", epochs=steps, lr=0.01,
                    dtype="float32")  # fmt: skip
    layout = mlp.Layout((4, 32, 1), 4)
    theta = np.zeros(layout.size, np.float32)
    mlp.stack(layout, init_params(layout.sizes, "relu", "auto", np.random.default_rng(0)), theta)
    Y, loss = encode_targets(y, "regression", 0, np.float32)
    lambdas = np.array([0.0, 0.01, 0.1, 1.0])
    trainer = mlp._Trainer(layout, theta, X, Y, lambdas, opts, loss, kernels=kernels)
    fused.FLUSH_EVERY = flush_every
    with np.errstate(all="ignore"):
        for _ in range(steps):
            trainer.step(trainer.Xa, trainer.Yt)
    return [fused.subnormal_count(a) for a in (trainer.theta, *trainer.update.rule.moments())]


@pytest.mark.parametrize("compiled", [False, True])
def test_long_full_batch_runs_meet_no_subnormal_numbers(compiled, monkeypatch):
    if compiled and not fused.available():
        pytest.skip("numba is not installed")
    monkeypatch.setattr(fused, "FLUSH_EVERY", fused.FLUSH_EVERY)
    if not compiled:
        unflushed = _long_full_batch(4000, flush_every=10**9)
        assert sum(unflushed) > 20  # the run does meet them: θ and Adam's first moment
    kernels = fused.compiled() if compiled else None
    assert _long_full_batch(4000, flush_every=16, kernels=kernels) == [0, 0, 0]


def test_kernels_are_loaded_only_for_work_that_pays_for_them(monkeypatch):
    monkeypatch.setattr(fused, "MODE", "auto")
    monkeypatch.setattr(fused, "_compiled", None)
    monkeypatch.setattr(fused, "_work_seen", 0.0)
    assert fused.kernels_for(fused.MIN_WORK * 0.6) is None
    if fused.available():
        assert fused.kernels_for(fused.MIN_WORK * 0.6) is not None  # together they pay
        assert fused.kernels_for(1) is not None  # loaded now: free to use
    monkeypatch.setattr(fused, "MODE", "numpy")
    assert fused.kernels_for(1e12) is None


def test_subnormal_count_and_flush():
    tiny = np.finfo(np.float32).tiny
    values = np.array([0.0, tiny, tiny / 2, -tiny / 4, 1.0, -np.inf, np.nan], np.float32)
    assert fused.subnormal_count(values) == 2
    fused.flush_subnormals(values)
    np.testing.assert_array_equal(values[:5], [0.0, tiny, 0.0, 0.0, 1.0])
    assert values[5] == -np.inf and np.isnan(values[6])  # divergence stays visible


@needs_numba
def test_compiled_update_keeps_nan_and_inf_for_the_health_checks(monkeypatch):
    monkeypatch.setattr(fused, "MODE", "numba")
    fit = fit_mlp(dataset(), np.array([0.0, 1e300]), 0, options(epochs=3))
    assert fit.diverged.tolist() == [False, True]


@pytest.mark.slow
@pytest.mark.parametrize("config", ["configs/mlp.yaml"])
def test_float32_finds_the_regimes_and_lambda_min_of_float64(config, tmp_path):
    runner, found = CliRunner(), {}
    for dtype in ("float64", "float32"):
        out = tmp_path / f"{dtype}.json"
        result = runner.invoke(app, ["sweep", config, "--set", f"model.dtype={dtype}",
                                     "--out", str(out), "--quiet", "--format", "csv"])  # fmt: skip
        assert result.exit_code == 0, result.output
        document = json.loads(out.read_text())
        found[dtype] = (document["best_lambda"], [r["regime"] for r in document["summary"]])
    assert found["float32"] == found["float64"]


@pytest.mark.parametrize("hidden", [(4, 1, 3), (4, 1)])
def test_gradient_through_a_hidden_layer_of_one_unit(hidden):
    # Layer 2 with one unit: layer 1's gradient is Xᵀ·(f'(z)⊙δ) scaled by w2's columns
    # (this shape used to fail: the scaling was only set up for one hidden layer).
    rng = np.random.default_rng(2)
    X = rng.standard_normal((9, 3))
    Y, loss = encode_targets(X @ rng.standard_normal(3), "regression", 0, np.float64)
    lambdas = np.array([0.0, 0.3])
    one = init_params((3, *hidden, 1), "tanh", "glorot", rng)
    params = [np.stack([p + 0.2 * rng.standard_normal(p.shape) for _ in range(2)]) for p in one]
    _, grads = mlp.objective_and_gradient(params, X, Y, lambdas, "tanh", loss)
    h = 1e-6
    for p, g in zip(params, grads, strict=True):
        for index in np.ndindex(p.shape[1:]):
            entry = (slice(None),) + index
            saved = p[entry].copy()
            p[entry] = saved + h
            up, _ = mlp.objective_and_gradient(params, X, Y, lambdas, "tanh", loss)
            p[entry] = saved - h
            down, _ = mlp.objective_and_gradient(params, X, Y, lambdas, "tanh", loss)
            p[entry] = saved
            np.testing.assert_allclose(g[entry], (up - down) / (2 * h), rtol=1e-5, atol=1e-8)


def test_eval_rows_estimates_the_middle_of_the_curves_on_every_sth_row():
    data, lambdas = dataset("regression", n_train=200, n_test=300), np.array([0.0, 0.1])
    exact = fit_mlp(data, lambdas, 1, options(epochs=4))
    cheap = fit_mlp(data, lambdas, 1, options(epochs=4, eval_rows=64))
    # epochs 0, 3 (the start of the last tenth) and 4 (reported) use the whole split
    for name in ("train_loss", "test_loss"):
        np.testing.assert_array_equal(cheap.curves[name][:, [0, 3, 4]],
                                      exact.curves[name][:, [0, 3, 4]])  # fmt: skip
    np.testing.assert_array_equal(cheap.test_loss, exact.test_loss)
    assert not np.allclose(cheap.curves["test_loss"][:, 1], exact.curves["test_loss"][:, 1])
    # epoch 1 on the test split: every ⌈300/64⌉ = 5th row, of the network after one epoch
    after_one = mlp.train_stacked(
        data.X_train, data.y_train.reshape(-1, 1),
        init_params((4, 5, 1), "relu", "auto", np.random.default_rng(np.random.SeedSequence(1).spawn(2)[0])),
        lambdas, [np.random.default_rng(np.random.SeedSequence(1).spawn(2)[1]).permutation(200)],
        options(epochs=1), "squared_error",
    )  # fmt: skip
    loss, _ = mlp.objective_and_gradient(after_one.params, data.X_test[::5],
                                         data.y_test[::5].reshape(-1, 1), np.zeros(2), "relu",
                                         "squared_error")  # fmt: skip
    np.testing.assert_allclose(cheap.curves["test_loss"][:, 1], loss, rtol=1e-12)


def test_kernels_compile_without_a_cache_where_none_can_be_written(monkeypatch):
    # a read-only install without a writable home: numba's "cannot cache function" was a
    # traceback and exit 1 midway through a sweep
    numba = pytest.importorskip("numba")
    njit = numba.njit

    def no_cache_locator(*args, cache=False, **kwargs):
        if cache:
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x'")
        return njit(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", no_cache_locator)
    monkeypatch.setattr(fused, "_compiled", None)
    kernels = fused.compiled()
    Z = np.array([-1.0, 2.0])
    kernels["relu_forward"](Z, 0.0, 1.0)
    assert Z.tolist() == [0.0, 2.0]


@pytest.mark.parametrize(
    ("mode", "numba", "message"),
    [("bogus", True, "WDCLI_KERNELS: 'bogus' is not one of auto, numpy, numba"),
     ("numba", False, "WDCLI_KERNELS=numba: numba is not installed; pip install 'wdcli[fast]', "
      "or unset WDCLI_KERNELS")],
)  # fmt: skip
def test_a_kernels_setting_that_names_no_path_is_refused(monkeypatch, mode, numba, message):
    # both ran the numpy path without a word
    monkeypatch.setenv("WDCLI_KERNELS", mode)
    monkeypatch.setattr(fused, "MODE", mode)  # as read when wdcli.fused was imported
    monkeypatch.setattr(fused, "available", lambda: numba)
    result = CliRunner().invoke(app, ["list", "models"])
    assert (result.exit_code, result.stderr) == (2, message + "\n")
    monkeypatch.setattr(fused, "MODE", "numpy")
    assert CliRunner().invoke(app, ["list", "models"]).exit_code == 0
