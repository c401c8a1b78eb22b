"""Benchmark: wdcli's stacked MLP sweep against scikit-learn and PyTorch, as ratios in one process.

    python benchmarks/bench_mlp.py                         # every case, median of 3 (~25 min)
    python benchmarks/bench_mlp.py --quick                 # fewer epochs and steps (~4 min)
    python benchmarks/bench_mlp.py --cases small eval --repeats 5

Cases (each prints a Markdown table; docs/benchmarks.md holds them):

- small: 16 λ, friedman1 (20 features, n_train 2000), hidden [64], relu, adam, batch 64,
  100 epochs, one thread; wdcli against a loop of `MLPRegressor` fits with matched settings
  (alpha = λ·B, tol 0, every epoch run) and the PyTorch contenders, float64 and float32.
  Goals: ≥ 15× (float64) and ≥ 30× (float32) the scikit-learn loop.
- k: time per model at K = 1, 4, 16, 64 (same setting, float64), wdcli and the compiled
  PyTorch step. Goals: per-model time flat or falling from K 16 to 64; wdcli ≤ torch at every K.
- wide: hidden [256, 256], n_train 10 000, 32 λ, 20 epochs, float32, one thread; wdcli against
  PyTorch stacked bmm + fused Adam with flush-to-zero. Goal: within 1.25×.
- eval: the small setting with wdcli's default per-epoch evaluation against evaluation at the
  last epoch only, as a fraction of training time. Goal: ≤ 10 %.
- long: a full-batch run (n_train 500, hidden [64], 8 λ up to 10, decoupled weight decay,
  30 000 steps) in float32 and float64, timed in ten windows: a subnormal slow-down shows as
  windows getting slower. Also times one multiply on normal and on subnormal numbers.

wdcli is called only through its public entry (`fit_mlp` with an `MLPModel`), so the script
keeps working while the MLP's internals change. Every wdcli fit records its curves at the last
epoch only (scikit-learn and PyTorch compute no per-epoch losses), except in `eval` and `long`.
Timings are interleaved (a, b, c, a, b, c, …) after one untimed warm-up round; each cell is
the median with the min–max range; a ratio's range is that of the per-round ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import torch_mlp  # noqa: E402

from wdcli.config import Friedman1Data, MLPModel  # noqa: E402
from wdcli.data import build_dataset  # noqa: E402
from wdcli.models.mlp import fit_mlp  # noqa: E402

DTYPES = ("float64", "float32")
SMALL = {"n_train": 2000, "hidden": [64], "K": 16, "epochs": 100, "batch": 64}
WIDE = {"n_train": 10_000, "hidden": [256, 256], "K": 32, "epochs": 20, "batch": 64}
LONG = {"n_train": 500, "hidden": [64], "K": 8, "steps": 30_000}
QUICK = {"small": 20, "wide": 2, "long": 6_000}  # epochs (steps for long) with --quick
LR = 1e-3
LOOP_LAMBDAS = 4  # the PyTorch loop is timed on this many λ and scaled (its cost is per λ)


def dataset(n_train: int):
    config = Friedman1Data(name="friedman1", n_samples=2 * n_train, n_train=n_train,
                           n_features=20, seed=0)  # fmt: skip
    return build_dataset(config, seed=0)


def options(dtype: str, hidden, epochs, batch, **more) -> MLPModel:
    settings = dict(name="mlp", hidden=list(hidden), activation="relu", optimizer="adam",
                    lr=LR, eps=2e-8, batch_size=batch, epochs=epochs, dtype=dtype)  # fmt: skip
    settings.update(more)  # eps 2e-8 = MLPRegressor's 1e-8 (its gradients are half of ours)
    if "eval_every" not in more and "eval_points" not in more:
        settings["eval_every"] = epochs  # curves at epoch 0 and the last only
    return MLPModel(**settings)


def wdcli(data, lambdas, config: MLPModel):
    return lambda: fit_mlp(data, lambdas, 0, config)


def sklearn_loop(data, lambdas, dtype: str, hidden, epochs, batch):
    X, y = data.X_train.astype(dtype), data.y_train.astype(dtype)

    def run():
        with threadpool_limits(limits=1, user_api="blas"):
            for lam in lambdas:
                MLPRegressor(hidden_layer_sizes=tuple(hidden), activation="relu",
                             solver="adam", alpha=lam * batch, batch_size=batch,
                             learning_rate_init=LR, max_iter=epochs, tol=0.0,
                             n_iter_no_change=epochs, random_state=0).fit(X, y)  # fmt: skip

    return run


def torch_run(name: str, data, lambdas, dtype, hidden, epochs, batch, ftz=False):
    problem = torch_mlp.problem(data.X_train, data.y_train, lambdas, hidden, batch, epochs,
                                LR, dtype)  # fmt: skip
    run = torch_mlp.CONTENDERS[name](problem)
    return torch_mlp.flush_to_zero(run) if ftz else run


def gflops(data, hidden, K: int, epochs: int) -> float:
    """Matmul GFLOP of a training run: per sample and model 4·(d+1)·h1 for layer 1 (forward and
    weight gradient) and 6·(in+1)·out for every later layer (forward, both gradients)."""
    n, d = data.X_train.shape
    sizes = (d, *hidden, 1)
    per_sample = 4 * (d + 1) * sizes[1] + sum(6 * (a + 1) * b for a, b in zip(sizes[1:-1], sizes[2:], strict=True))  # fmt: skip
    return n * K * epochs * per_sample / 1e9


def torch_ready(no_torch: bool) -> bool:
    reason = "--no-torch given" if no_torch else torch_mlp.missing()
    if reason:
        print(f"PyTorch contenders skipped: {reason}\n")
        return False
    torch_mlp.torch.set_num_threads(1)
    print(torch_mlp.describe() + "\n")
    return True


def try_warm(jobs: dict, name, make) -> None:
    """Add job `name` made by make() after one untimed run (compilation, caches); a contender
    that fails (torch.compile without a working compiler) is reported and left out."""
    try:
        job = make()
        job()
    except Exception as error:  # noqa: BLE001 - any failure of an optional contender
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"{name}: skipped ({type(error).__name__}: {first[:160]})")
        return
    jobs[name] = job


def gf(value: float, peak: float | None) -> str:
    return f"{value:.1f} GF/s, {100 * value / peak:.0f} % of peak" if peak else f"{value:.1f} GF/s"


# --------------------------------------------------------------------------- cases


def small(args, peaks, torch_ok: bool) -> None:
    epochs = QUICK["small"] if args.quick else SMALL["epochs"]
    hidden, batch = SMALL["hidden"], SMALL["batch"]
    data, lambdas = dataset(SMALL["n_train"]), np.logspace(-6, 0, SMALL["K"])
    print(f"## small: {len(lambdas)} λ, n_train {SMALL['n_train']}, 20 features, hidden "
          f"{hidden}, adam, batch {batch}, {epochs} epochs, one thread; median of {args.repeats}")  # fmt: skip
    loop_lambdas = lambdas[:LOOP_LAMBDAS]
    rows = []
    for dtype in DTYPES:
        jobs = {"wdcli": wdcli(data, lambdas, options(dtype, hidden, epochs, batch)),
                "scikit-learn MLPRegressor loop": sklearn_loop(data, lambdas, dtype, hidden,
                                                               epochs, batch)}  # fmt: skip
        if torch_ok:
            for name in torch_mlp.CONTENDERS:
                chosen = loop_lambdas if name == "loop" else lambdas
                try_warm(jobs, f"PyTorch {name}", lambda n=name, c=chosen, dt=dtype: torch_run(
                    n, data, c, dt, hidden, epochs, batch))  # fmt: skip
        jobs["wdcli"]()  # warm up (the torch contenders were warmed in try_warm)
        times = common.interleaved(jobs, args.repeats)
        if "PyTorch loop" in times:  # timed on a few λ: scale to all of them
            scale = len(lambdas) / len(loop_lambdas)
            times["PyTorch loop"].seconds = [s * scale for s in times["PyTorch loop"].seconds]
        ours = times["wdcli"]
        rate = gflops(data, hidden, len(lambdas), epochs) / ours.median
        for name, timing in times.items():
            cell = f"1 ({gf(rate, peaks.get(dtype))})" if name == "wdcli" else common.ratio(timing, ours)  # fmt: skip
            rows.append([dtype, name, str(timing), cell])
    common.table(["dtype", "contender", "time: median (min–max)", "× wdcli's time"], rows)
    if torch_ok:
        print(f"(PyTorch loop timed on {LOOP_LAMBDAS} of the {len(lambdas)} λ and scaled: "
              "its cost is the same for every λ. GF/s: wdcli's matmul flops / time, "
              "in brackets the share of the one-thread matmul peak.)\n")  # fmt: skip
    for dtype, goal in zip(DTYPES, (15, 30), strict=True):
        row = next(r for r in rows if r[0] == dtype and r[1].startswith("scikit-learn"))
        value = float(row[3].split("×")[0])
        print(f"goal {dtype}: ≥ {goal}× scikit-learn: {value:.2f}× "
              f"({'met' if value >= goal else 'NOT met'})")  # fmt: skip
    print()


def per_model(args, peaks, torch_ok: bool) -> None:
    epochs = QUICK["small"] if args.quick else SMALL["epochs"]
    hidden, batch, dtype = SMALL["hidden"], SMALL["batch"], "float64"
    data = dataset(SMALL["n_train"])
    print(f"## k: time per model against K, the small setting ({epochs} epochs), {dtype}, "
          f"one thread; median of {args.repeats}")  # fmt: skip
    rows, per = [], {}
    for K in (1, 4, 16, 64):
        lambdas = np.logspace(-6, 0, K)
        jobs = {"wdcli": wdcli(data, lambdas, options(dtype, hidden, epochs, batch))}
        if torch_ok:
            try_warm(jobs, "PyTorch compiled", lambda la=lambdas: torch_run(
                "compiled", data, la, dtype, hidden, epochs, batch))  # fmt: skip
        jobs["wdcli"]()
        times = common.interleaved(jobs, args.repeats)
        ours = times["wdcli"]
        per[K] = ours.median / K
        rate = gflops(data, hidden, K, epochs) / ours.median
        row = [K, str(ours), f"{ours.median / K:.4f} s", gf(rate, peaks.get(dtype))]
        if "PyTorch compiled" in times:
            theirs = times["PyTorch compiled"]
            row += [str(theirs), f"{theirs.median / K:.4f} s", common.ratio(theirs, ours)]
        rows.append(row)
    columns = ["K", "wdcli", "per model", "wdcli's matmul rate"]
    if torch_ok:
        columns += ["PyTorch compiled step", "per model", "torch / wdcli"]
    common.table(columns, rows)
    trend = per[64] / per[16]
    print(f"goal: per-model time flat or falling from K 16 to 64: ×{trend:.2f} "
          f"({'met' if trend <= 1.05 else 'NOT met'}, 5 % noise allowed)")  # fmt: skip
    if torch_ok and all(len(r) > 4 for r in rows):
        slower = [r[0] for r in rows if float(r[6].split("×")[0]) < 1]
        print("goal: wdcli at least as fast as the compiled PyTorch step at every K: "
              + ("met" if not slower else f"NOT met at K = {slower}"))  # fmt: skip
    print()


def wide(args, peaks, torch_ok: bool) -> None:
    epochs = QUICK["wide"] if args.quick else WIDE["epochs"]
    hidden, batch, dtype = WIDE["hidden"], WIDE["batch"], "float32"
    data, lambdas = dataset(WIDE["n_train"]), np.logspace(-6, 0, WIDE["K"])
    print(f"## wide: {len(lambdas)} λ, n_train {WIDE['n_train']}, 20 features, hidden {hidden}, "
          f"adam, batch {batch}, {epochs} epochs, {dtype}, one thread; median of {args.repeats}")  # fmt: skip
    wdcli(data, lambdas, options(dtype, hidden, 1, batch))()  # warm up on one epoch
    jobs = {"wdcli": wdcli(data, lambdas, options(dtype, hidden, epochs, batch))}
    name = "PyTorch stacked bmm + fused Adam, flush-to-zero"
    if torch_ok:
        try_warm(jobs, name, lambda: torch_run("stacked", data, lambdas, dtype, hidden, 1,
                                               batch, ftz=True))  # fmt: skip
    if name in jobs:
        jobs[name] = torch_run("stacked", data, lambdas, dtype, hidden, epochs, batch, ftz=True)
    times = common.interleaved(jobs, args.repeats)
    ours = times["wdcli"]
    rate = gflops(data, hidden, len(lambdas), epochs) / ours.median
    rows = [["wdcli", str(ours), f"1 ({gf(rate, peaks.get(dtype))})"]]
    rows += [[name, str(t), common.ratio(t, ours)] for name, t in times.items() if name != "wdcli"]
    common.table(["contender", "time: median (min–max)", "× wdcli's time"], rows)
    if len(times) > 1:
        theirs = next(t for name, t in times.items() if name != "wdcli")
        behind = ours.median / theirs.median
        print(f"goal: wdcli within 1.25× of PyTorch stacked with flush-to-zero: "
              f"{behind:.2f}× ({'met' if behind <= 1.25 else 'NOT met'})\n")  # fmt: skip


def evaluation(args, peaks, torch_ok: bool) -> None:
    epochs = QUICK["small"] if args.quick else SMALL["epochs"]
    hidden, batch = SMALL["hidden"], SMALL["batch"]
    data, lambdas = dataset(SMALL["n_train"]), np.logspace(-6, 0, SMALL["K"])
    default = MLPModel(name="mlp")
    print(f"## eval: the small setting ({epochs} epochs), default evaluation (eval_every "
          f"{default.eval_every}, eval_points {default.eval_points}) against the last epoch "
          f"only; median of {args.repeats}")  # fmt: skip
    rows = []
    for dtype in DTYPES:
        plain = options(dtype, hidden, epochs, batch)
        config = options(dtype, hidden, epochs, batch, eval_every=default.eval_every,
                         eval_points=default.eval_points)  # fmt: skip
        jobs = {"last": wdcli(data, lambdas, plain), "default": wdcli(data, lambdas, config)}
        times = common.interleaved(jobs, args.repeats, warmup=1)
        cost = [
            b / a - 1 for a, b in zip(times["last"].seconds, times["default"].seconds, strict=True)
        ]
        share = times["default"].median / times["last"].median - 1
        verdict = "met" if share <= 0.10 else "NOT met"
        inside = in_run_share(data, lambdas, config, args.repeats)
        rows.append([dtype, str(times["last"]), str(times["default"]),
                     f"{100 * share:.0f} % ({100 * min(cost):.0f}–{100 * max(cost):.0f}) {verdict}",
                     inside])  # fmt: skip
    common.table(["dtype", "curves at the last epoch", "default curves",
                  "evaluation cost (goal ≤ 10 %)", "timed inside the run"], rows)  # fmt: skip
    print("(timed inside the run: the seconds spent in evaluations over the rest of the same "
          "run, median (min–max); free of the drift between two runs that widens the ranges of "
          "the column before it)")  # fmt: skip


def in_run_share(data, lambdas, config: MLPModel, repeats: int) -> str:
    """Evaluation time over training time within single runs, timed around the MLP's
    evaluation function (an internal name: 'n/a' if it moves)."""
    from wdcli.models import mlp

    evaluate = getattr(mlp, "_evaluate", None)
    if evaluate is None:
        return "n/a"
    spent = [0.0]

    def timed(*a, **k):
        start = time.perf_counter()
        try:
            return evaluate(*a, **k)
        finally:
            spent[0] += time.perf_counter() - start

    shares = []
    mlp._evaluate = timed
    try:
        for _ in range(repeats):
            spent[0] = 0.0
            start = time.perf_counter()
            fit_mlp(data, lambdas, 0, config)
            total = time.perf_counter() - start
            shares.append(spent[0] / (total - spent[0]))
    finally:
        mlp._evaluate = evaluate
    low, mid, high = min(shares), float(np.median(shares)), max(shares)
    return f"{100 * mid:.1f} % ({100 * low:.1f}–{100 * high:.1f})"


def subnormal_penalty(repeats: int) -> dict[str, float]:
    """How much slower Adam's element-wise operations run on subnormal than on normal numbers
    on this CPU: {"float32 sqrt": ratio, …}."""
    out = {}
    for dtype in DTYPES:
        normal = np.full(1 << 20, 1.5, dtype)
        sub = np.full(1 << 20, np.finfo(dtype).smallest_normal / 4, dtype)
        c = np.array(0.999, dtype)
        for name, op, more in (("multiply", np.multiply, (c,)), ("sqrt", np.sqrt, ()),
                               ("divide", np.divide, (c,))):  # fmt: skip
            jobs = {kind: partial(op, x, *more, out=np.empty_like(x))
                    for kind, x in (("normal", normal), ("subnormal", sub))}  # fmt: skip
            times = common.interleaved(jobs, max(repeats, 5), warmup=1)
            out[f"{dtype} {name}"] = times["subnormal"].min / times["normal"].min
    return out


def long_run(args, peaks, torch_ok: bool) -> None:
    steps = QUICK["long"] if args.quick else LONG["steps"]
    data, lambdas = dataset(LONG["n_train"]), np.logspace(-4, 1, LONG["K"])
    windows = 10
    penalty = subnormal_penalty(args.repeats)
    print(f"## long: full batch, n_train {LONG['n_train']}, hidden {LONG['hidden']}, "
          f"{len(lambdas)} λ from 1e-4 to 10, adam, decoupled weight decay, {steps} steps, "
          f"timed in {windows} windows of {steps // windows} steps")  # fmt: skip
    print(
        "time on subnormal / on normal numbers, 1M elements, this CPU: "
        + ", ".join(f"{dtype} {value:.1f}×" for dtype, value in penalty.items())
        + "\n"
    )
    rows = []
    for dtype in DTYPES:
        config = options(dtype, LONG["hidden"], steps, "full", regularization="decoupled",
                         eval_every=steps // windows)  # fmt: skip
        stamps = []
        fit_mlp(data, lambdas, 0, config,
                on_eval=lambda *_, s=stamps: s.append(time.perf_counter()))  # fmt: skip
        per_step = np.diff(stamps) / (steps // windows) * 1e6  # µs; stamps[0] is epoch 0
        rows.append([dtype, *(f"{v:.0f}" for v in per_step),
                     f"{per_step[-1] / per_step[0]:.2f}×"])  # fmt: skip
    common.table(["dtype", *(f"µs/step {i + 1}" for i in range(windows)), "last / first"], rows)
    print("(each window also holds one evaluation of both 500-row splits; a subnormal "
          "slow-down would show as later windows slower than the first)\n")  # fmt: skip


CASES = {"small": small, "k": per_model, "wide": wide, "eval": evaluation, "long": long_run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help=f"epochs: small and k {QUICK['small']}, wide {QUICK['wide']}; "
                        f"long: {QUICK['long']} steps")  # fmt: skip
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # scikit-learn's "maximum iterations reached"
    peaks = common.header("wdcli MLP sweep against scikit-learn and PyTorch")
    torch_ok = torch_ready(args.no_torch) if {"small", "k", "wide"} & set(args.cases) else False
    for case in args.cases:
        start = time.perf_counter()
        CASES[case](args, peaks, torch_ok)
        print(f"(case {case}: {time.perf_counter() - start:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
