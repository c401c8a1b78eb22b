"""PyTorch contenders for benchmarks/bench_mlp.py: the same K-λ MLP sweep written four ways.

Optional: `pip install -e '.[bench]'` (torch 2.13.0, CPU). Without torch, `missing()` says why
and bench_mlp.py prints one line instead of these columns.

Every contender trains K regression MLPs (relu hidden layers, one linear output) with Adam on
J_k = mean (y − ŷ)² + λ_k · Σ w² (weights only, wdcli's objective) over the same mini-batch
order, one per epoch:

- loop:     one `nn.Sequential` + `torch.optim.Adam` per λ, one after the other;
- stacked:  the K models as (K, in, out) tensors, `baddbmm` per layer, one fused Adam;
- vmap:     `torch.func.vmap(grad(loss))` over the stacked parameters, one fused Adam;
- compiled: `torch.compile` of a whole step (forward, backward, Adam) on the stacked tensors.

A contender is a function (problem) -> run, where run() trains from scratch (initialisation
included, compilation excluded: call run() once to warm up); stacked, vmap and compiled start
from the same weights and return the trained (K, in, out) weights, equal up to rounding. `flush_to_zero` runs it with
denormals flushed, and restores the flag afterwards, so that numpy code timed in the same
process does not inherit it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

try:
    import torch
except ImportError:  # the benchmark extra is not installed
    torch = None


def missing() -> str | None:
    """None if torch can be used, else the one-line reason."""
    if torch is None:
        return "PyTorch not installed (pip install -e '.[bench]')"
    return None


def describe() -> str:
    """torch's version, threads and BLAS as its build reports them."""
    config = torch.__config__.show()
    blas = next((part.split("=")[1] for part in config.replace(",", " ").split()
                 if part.startswith("BLAS_INFO=")), "?")  # fmt: skip
    return f"torch {torch.__version__}, BLAS {blas}, {torch.get_num_threads()} threads"


@dataclass
class Problem:
    """Tensors and settings of one sweep."""

    X: object  # (n, d)
    y: object  # (n,)
    lambdas: object  # (K,)
    orders: list  # one index tensor per epoch
    hidden: tuple[int, ...]
    batch: int
    lr: float
    dtype: object

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.X.shape[1], *self.hidden, 1)

    def batches(self):
        n = len(self.y)
        for order in self.orders:
            for start in range(0, n, self.batch):
                index = order[start : start + self.batch]
                yield self.X[index], self.y[index]


def problem(X, y, lambdas, hidden, batch, epochs, lr, dtype: str, seed: int = 0) -> Problem:
    rng = np.random.default_rng(seed)
    kind = getattr(torch, dtype)
    orders = [torch.from_numpy(rng.permutation(len(y))) for _ in range(epochs)]
    return Problem(torch.tensor(X, dtype=kind), torch.tensor(y, dtype=kind),
                   torch.tensor(np.asarray(lambdas), dtype=kind), orders, tuple(hidden),
                   batch, lr, kind)  # fmt: skip


def flush_to_zero(run: Callable[[], object]) -> Callable[[], object]:
    """run with subnormal numbers flushed to zero (FTZ/DAZ), the flag restored afterwards."""

    def flushed():
        torch.set_flush_denormal(True)
        try:
            return run()
        finally:
            torch.set_flush_denormal(False)

    return flushed


# --------------------------------------------------------------------------- contenders


def loop(p: Problem) -> Callable[[], None]:
    def run():
        for lam in p.lambdas:
            layers = []
            for fan_in, fan_out in zip(p.sizes[:-1], p.sizes[1:], strict=True):
                layers += [torch.nn.Linear(fan_in, fan_out, dtype=p.dtype), torch.nn.ReLU()]
            model = torch.nn.Sequential(*layers[:-1])
            weights = [layer.weight for layer in layers[::2]]
            adam = torch.optim.Adam(model.parameters(), lr=p.lr)
            for xb, yb in p.batches():
                adam.zero_grad(set_to_none=True)
                loss = (model(xb).squeeze(1) - yb).square().mean()
                loss = loss + lam * sum(w.square().sum() for w in weights)
                loss.backward()
                adam.step()

    return run


def _stacked_params(p: Problem) -> tuple[list, list]:
    """He-initialised (K, in, out) weights and (K, 1, out) zero biases, requiring grad."""
    K, generator = len(p.lambdas), torch.Generator().manual_seed(0)
    weights, biases = [], []
    for fan_in, fan_out in zip(p.sizes[:-1], p.sizes[1:], strict=True):
        W = torch.randn(K, fan_in, fan_out, generator=generator, dtype=p.dtype)
        weights.append((W * (2 / fan_in) ** 0.5).requires_grad_())
        biases.append(torch.zeros(K, 1, fan_out, dtype=p.dtype, requires_grad=True))
    return weights, biases


def _forward(weights, biases, xb):
    """(K, B) outputs of the stacked nets on a shared (B, d) batch."""
    h = xb.expand(len(weights[0]), -1, -1)
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        h = torch.baddbmm(b, h, W)
        if i < len(weights) - 1:
            h = torch.relu(h)
    return h.squeeze(-1)


def _objective(weights, biases, lambdas, xb, yb):
    """Σ_k J_k: each model's gradient is its own J_k's (the models share nothing)."""
    data = (_forward(weights, biases, xb) - yb).square().mean(dim=1)
    penalty = sum(W.square().sum(dim=(1, 2)) for W in weights)
    return (data + lambdas * penalty).sum()


def stacked(p: Problem) -> Callable[[], None]:
    def run():
        weights, biases = _stacked_params(p)
        adam = torch.optim.Adam([*weights, *biases], lr=p.lr, fused=True)
        for xb, yb in p.batches():
            adam.zero_grad(set_to_none=True)
            _objective(weights, biases, p.lambdas, xb, yb).backward()
            adam.step()
        return weights

    return run


def vmap(p: Problem) -> Callable[[], None]:
    from torch.func import grad
    from torch.func import vmap as vectorise

    def one(weights, biases, lam, xb, yb):  # one model: (in, out) weights, (1, out) biases
        h = xb
        for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
            h = torch.addmm(b, h, W)
            if i < len(weights) - 1:
                h = torch.relu(h)
        return (h.squeeze(-1) - yb).square().mean() + lam * sum(W.square().sum() for W in weights)

    gradients = vectorise(grad(one, argnums=(0, 1)), in_dims=(0, 0, 0, None, None))

    def run():
        weights, biases = _stacked_params(p)
        params = [*weights, *biases]
        adam = torch.optim.Adam(params, lr=p.lr, fused=True)
        for xb, yb in p.batches():
            with torch.no_grad():
                gW, gb = gradients(tuple(weights), tuple(biases), p.lambdas, xb, yb)
            for param, g in zip(params, [*gW, *gb], strict=True):
                param.grad = g
            adam.step()
        return weights

    return run


_COMPILED = {}


def _step(weights, biases, m, v, lambdas, xb, yb, lr, bc1, bc2):
    """One Adam step (PyTorch's rule) on the stacked nets, in place."""
    from torch.func import grad

    params = [*weights, *biases]
    n = len(weights)
    g = grad(lambda *ps: _objective(ps[:n], ps[n:], lambdas, xb, yb), argnums=tuple(range(2 * n)))(*params)  # fmt: skip
    for param, gi, mi, vi in zip(params, g, m, v, strict=True):
        mi.mul_(0.9).add_(gi, alpha=0.1)
        vi.mul_(0.999).addcmul_(gi, gi, value=0.001)
        param.sub_(lr / bc1 * mi / ((vi / bc2).sqrt() + 1e-8))


def compiled(p: Problem) -> Callable[[], None]:
    """A whole step compiled by torch.compile (inductor); recompiled per shape, not timed."""
    import torch._dynamo.config as dynamo

    dynamo.recompile_limit = dynamo.cache_size_limit = 256
    step = _COMPILED.setdefault("step", torch.compile(_step, dynamic=False))

    def run():
        weights, biases = _stacked_params(p)
        with torch.no_grad():
            params = [t.detach() for t in (*weights, *biases)]
            weights, biases = params[: len(weights)], params[len(weights) :]
            m = [torch.zeros_like(t) for t in params]
            v = [torch.zeros_like(t) for t in params]
        for t, (xb, yb) in enumerate(p.batches(), start=1):
            bc1 = torch.tensor(1 - 0.9**t, dtype=p.dtype)
            bc2 = torch.tensor(1 - 0.999**t, dtype=p.dtype)
            step(weights, biases, m, v, p.lambdas, xb, yb, p.lr, bc1, bc2)
        return weights

    return run


CONTENDERS = {"loop": loop, "stacked": stacked, "vmap": vmap, "compiled": compiled}
