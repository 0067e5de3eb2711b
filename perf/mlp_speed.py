"""Speed of the compiled MLP training (printed, never asserted); see docs/compiled-mlp.md.

    python perf/mlp_speed.py candidates [--epochs 100] [--repeats 2] [--only NAME ...]
        the backends measured for common/compiled_mlp.py, each in its own single-threaded process
        pinned to one core: 5 folds of 400 and of 1,600 Wall Robot rows (4 features, 4 classes),
        float64 and float32; per candidate the CPU microseconds per fold-epoch, the projected
        seconds of one 5-fold cross-validation at 500 epochs, and the first call's extra time
        (compilation). Candidates whose package is missing are reported as such.
    python perf/mlp_speed.py cv [--rows 2000] [--noise 0.15]
        one cross-validation as the loop runs it (stratified 5 folds, early stopping, predictions
        for the held-out rows, 1,500 pool and 1,000 test rows): CompiledMLP (float64, float32)
        against MLPClassifier(max_iter=500), the ratio, and the epochs of every fold;
    python perf/mlp_speed.py compile
        the cold compile time (empty Numba cache) and the load time from the cache, per dtype;
    python perf/mlp_speed.py rounds [--rounds 20]
        a 20-round run whose labeled set grows from 500 to 2,500 rows: how often the compiled code
        recompiles, the time per round, and the peak memory (RSS) of the process;
    python perf/mlp_speed.py all
        everything above.

CPU seconds (``time.process_time``) are printed besides wall seconds: on a shared machine they are
the better guide to what an idle one would take.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA_DIR = Path(os.environ.get("AL_RELABEL_DATA_DIR", ROOT.parent / "shared" / "data"))
H, K, ALPHA = 100, 4, 1e-4
CANDIDATES = ["sklearn", "numba", "numpy", "torch-eager", "torch-compile", "jax"]


def pin_one_core() -> None:
    """Run on a single core, so that no backend gets more than one thread's worth of CPU."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def wall_robot() -> tuple[np.ndarray, np.ndarray]:
    from common.datasets.wall_robot import load_wall_robot

    return load_wall_robot(DATA_DIR)


def noisy_subset(X: np.ndarray, y: np.ndarray, n: int, noise: float, rng: np.random.Generator):
    """``n`` random Wall Robot rows, a fraction ``noise`` of their labels replaced at random."""
    idx = rng.choice(len(X), n, replace=False)
    labels = y[idx].copy()
    flip = rng.random(n) < noise
    labels[flip] = rng.integers(0, K, flip.sum())
    return X[idx], labels


def seed_of(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


# --------------------------------------------------------------------------- candidates


class Problem:
    """5 folds of ``n_train`` rows with sklearn's draws: initial weights and every epoch's order."""

    def __init__(self, n_train: int, epochs: int, dtype) -> None:
        from sklearn.model_selection import StratifiedKFold

        from common.compiled_mlp import initial_parameters

        X, y = wall_robot()
        self.X, self.y = noisy_subset(X, y, n_train * 5 // 4, 0.15, np.random.default_rng(n_train))
        self.X = self.X.astype(dtype)
        self.dtype, self.epochs, self.n = dtype, epochs, n_train
        splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(self.X, self.y))
        self.seeds = [seed_of(n_train, f) for f in range(5)]
        self.rows = np.stack([train for train, _ in splits])  # (F, n): equal sizes here
        params, orders = [], []
        for seed in self.seeds:
            W1, b1, W2, b2, rs = initial_parameters(seed, X.shape[1], K, dtype)
            params.append((W1, b1, W2, b2))
            idx, fold_orders = np.arange(n_train), []
            for _ in range(epochs):  # sklearn.utils.shuffle(sample_idx, random_state=rs)
                perm = np.arange(n_train)
                rs.shuffle(perm)
                idx = idx[perm]
                fold_orders.append(idx)
            orders.append(np.stack(fold_orders))
        self.params = [np.stack(p) for p in zip(*params)]  # W1 (F,d,H), b1 (F,H), W2 (F,H,K), b2 (F,K)
        # global row of every position: (F, E, n)
        self.orders = np.take_along_axis(self.rows[:, None, :], np.stack(orders), axis=2)
        self.slots = -(-n_train // 200)


def batched_numpy(problem: Problem) -> int:
    """The algorithm on all folds at once with NumPy batched matmuls, one Python step per batch."""
    dt = problem.dtype
    W1, b1, W2, b2 = (p.copy() for p in problem.params)
    params = [W1, b1, W2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(K, dtype=dt)[problem.y]
    eps = np.finfo(dt).eps
    n, t = problem.n, 0
    for e in range(problem.epochs):
        for s in range(problem.slots):
            rows = problem.orders[:, e, s * 200 : min(n, (s + 1) * 200)]
            B = rows.shape[1]
            Xb, Yb = problem.X[rows], onehot[rows]
            A = np.maximum(Xb @ W1 + b1[:, None], 0)
            Z = A @ W2 + b2[:, None]
            Z = np.exp(Z - Z.max(-1, keepdims=True))
            P = Z / Z.sum(-1, keepdims=True)
            _ = -(Yb * np.log(np.clip(P, eps, 1 - eps))).sum((1, 2)) / B + 0.5 * ALPHA * (
                (W1**2).sum((1, 2)) + (W2**2).sum((1, 2))) / B
            D = P - Yb
            dH = D @ W2.transpose(0, 2, 1)
            dH[A == 0] = 0
            grads = [(Xb.transpose(0, 2, 1) @ dH + ALPHA * W1) / B, dH.sum(1) / B,
                     (A.transpose(0, 2, 1) @ D + ALPHA * W2) / B, D.sum(1) / B]
            t += 1
            step = 1e-3 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            for p, g, mi, vi in zip(params, grads, m, v):
                mi *= 0.9
                mi += 0.1 * g
                vi *= 0.999
                vi += 0.001 * g * g
                p -= step * mi / (np.sqrt(vi) + 1e-8)
    return problem.epochs * len(problem.seeds)


def batched_torch(problem: Problem, compiled: bool) -> int:
    """As :func:`batched_numpy` in PyTorch, one (optionally ``torch.compile``d) call per batch."""
    import torch

    torch.set_num_threads(1)
    dt = torch.float64 if problem.dtype == np.float64 else torch.float32
    params = [torch.tensor(p, dtype=dt) for p in problem.params]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    X = torch.tensor(problem.X)
    onehot = torch.eye(K, dtype=dt)[torch.tensor(problem.y)]
    eps = float(np.finfo(problem.dtype).eps)

    def step(W1, b1, W2, b2, m1, m2, m3, m4, v1, v2, v3, v4, Xb, Yb, step_size):
        B = Xb.shape[1]
        A = torch.relu(Xb @ W1 + b1[:, None])
        P = torch.softmax(A @ W2 + b2[:, None], dim=-1)
        loss = -(Yb * torch.log(P.clamp(eps, 1 - eps))).sum((1, 2)) / B + 0.5 * ALPHA * (
            (W1**2).sum((1, 2)) + (W2**2).sum((1, 2))) / B
        D = P - Yb
        dH = (D @ W2.transpose(1, 2)) * (A > 0)
        grads = [(Xb.transpose(1, 2) @ dH + ALPHA * W1) / B, dH.sum(1) / B,
                 (A.transpose(1, 2) @ D + ALPHA * W2) / B, D.sum(1) / B]
        out = []
        for p, g, mi, vi in zip((W1, b1, W2, b2), grads, (m1, m2, m3, m4), (v1, v2, v3, v4)):
            mi = 0.9 * mi + 0.1 * g
            vi = 0.999 * vi + 0.001 * g * g
            out.append((p - step_size * mi / (vi.sqrt() + 1e-8), mi, vi))
        return loss, out

    fn = torch.compile(step, fullgraph=True, dynamic=False) if compiled else step
    n, t = problem.n, 0
    orders = torch.tensor(problem.orders)
    with torch.no_grad():
        for e in range(problem.epochs):
            for s in range(problem.slots):
                rows = orders[:, e, s * 200 : min(n, (s + 1) * 200)]
                t += 1
                size = torch.tensor(1e-3 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t), dtype=dt)
                _, out = fn(*params, *m, *v, X[rows], onehot[rows], size)
                params = [o[0] for o in out]
                m = [o[1] for o in out]
                v = [o[2] for o in out]
    return problem.epochs * len(problem.seeds)


_JAX_TRAIN = None


def _jax_train():
    """The jitted trainer, built once per process (jit caches one compilation per input shape)."""
    global _JAX_TRAIN
    if _JAX_TRAIN is not None:
        return _JAX_TRAIN
    import jax
    import jax.numpy as jnp
    from jax import lax

    def step(params, state, Xb, Yb, rmask, t):
        W1, b1, W2, b2 = params
        eps = jnp.finfo(Xb.dtype).eps
        B = rmask.sum()
        A = jnp.maximum(Xb @ W1 + b1, 0)
        P = jax.nn.softmax(A @ W2 + b2, axis=-1)
        loss = -((Yb * jnp.log(jnp.clip(P, eps, 1 - eps))).sum(-1) * rmask).sum() / B + 0.5 * ALPHA * (
            (W1**2).sum() + (W2**2).sum()) / B
        D = (P - Yb) * rmask[:, None]
        dH = jnp.where(A > 0, D @ W2.T, 0)
        grads = ((Xb.T @ dH + ALPHA * W1) / B, dH.sum(0) / B, (A.T @ D + ALPHA * W2) / B, D.sum(0) / B)
        size = 1e-3 * jnp.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        m = tuple(0.9 * mi + 0.1 * g for mi, g in zip(state[0], grads))
        v = tuple(0.999 * vi + 0.001 * g * g for vi, g in zip(state[1], grads))
        params = tuple(p - size * mi / (jnp.sqrt(vi) + 1e-8) for p, mi, vi in zip(params, m, v))
        return params, (m, v), loss * B

    vstep = jax.vmap(step, in_axes=(0, 0, 0, 0, 0, None))

    @jax.jit
    def train(X, Y, orders, params):
        n = orders.shape[2]
        slots = -(-n // 200)
        padded = jnp.pad(orders, ((0, 0), (0, 0), (0, slots * 200 - n)))
        rmask_all = (jnp.arange(slots * 200) < n).astype(X.dtype)
        state = (tuple(jnp.zeros_like(p) for p in params), tuple(jnp.zeros_like(p) for p in params))

        def epoch(e, carry):
            def batch(s, carry):
                params, state, t, acc = carry
                rows = lax.dynamic_slice_in_dim(padded[:, e], s * 200, 200, axis=1)
                rmask = jnp.broadcast_to(lax.dynamic_slice_in_dim(rmask_all, s * 200, 200), rows.shape)
                params, state, loss = vstep(params, state, X[rows], Y[rows], rmask, t + 1)
                return params, state, t + 1, acc + loss

            params, state, t, _ = lax.fori_loop(0, slots, batch, (*carry, jnp.zeros(orders.shape[0], X.dtype)))
            return params, state, t

        return lax.fori_loop(0, orders.shape[1], epoch, (params, state, jnp.asarray(0.0, X.dtype)))[0]

    _JAX_TRAIN = train
    return train


def batched_jax(problem: Problem) -> int:
    """All epochs in one ``jax.jit``: vmap over folds, ``fori_loop`` over epochs and batches
    (rows past a fold's end masked, so that folds of different sizes could share a call)."""
    import jax
    import jax.numpy as jnp

    out = _jax_train()(jnp.asarray(problem.X), jnp.asarray(np.eye(K, dtype=problem.dtype)[problem.y]),
                       jnp.asarray(problem.orders), tuple(jnp.asarray(p) for p in problem.params))
    jax.block_until_ready(out)
    return problem.epochs * len(problem.seeds)


def compiled_numba(problem: Problem) -> int:
    """common.compiled_mlp: one compiled call, exact shuffles in the kernel, per-fold stopping."""
    from common.compiled_mlp import CompiledMLP

    splits = [(rows, np.zeros(0, int)) for rows in problem.rows]
    _, _, info = CompiledMLP(problem.dtype, max_iter=problem.epochs).cross_validate(
        problem.X, problem.y, [], K, splits, problem.seeds)
    return sum(i["epochs"] for i in info)


def sklearn_mlp(problem: Problem) -> int:
    """MLPClassifier itself, stopping rule off (n_iter_no_change = epochs)."""
    from sklearn.neural_network import MLPClassifier

    total = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rows, seed in zip(problem.rows, problem.seeds):
            model = MLPClassifier(max_iter=problem.epochs, n_iter_no_change=problem.epochs, random_state=seed)
            total += model.fit(problem.X[rows], problem.y[rows]).n_iter_
    return total


RUNNERS = {
    "sklearn": sklearn_mlp,
    "numba": compiled_numba,
    "numpy": batched_numpy,
    "torch-eager": lambda p: batched_torch(p, compiled=False),
    "torch-compile": lambda p: batched_torch(p, compiled=True),
    "jax": batched_jax,
}
PACKAGES = {"numba": "numba", "torch-eager": "torch", "torch-compile": "torch", "jax": "jax"}


def measure_candidate(name: str, n_train: int, dtype_name: str, epochs: int, repeats: int) -> dict:
    """In this (child) process: first-call time and best steady CPU time of one candidate."""
    pin_one_core()
    if name == "jax":
        os.environ["JAX_ENABLE_X64"] = "1" if dtype_name == "float64" else "0"
    dtype = np.dtype(dtype_name).type
    problem = Problem(n_train, epochs, dtype)
    first_problem = Problem(n_train, 1, dtype) if name in ("torch-compile", "numba") else None
    runner = RUNNERS[name]
    start = time.perf_counter()
    if first_problem is not None:
        runner(first_problem)  # compile, or load numba's cache
    first = time.perf_counter() - start
    cpu, wall, fold_epochs = [], [], 0
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fold_epochs = runner(problem)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    if name == "jax":  # jit specialises on the orders' shape: time a second call of the same shape
        w0, c0 = time.perf_counter(), time.process_time()
        runner(problem)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        first = wall[0] - min(wall)
    elif name == "torch-compile":
        first -= min(wall) / epochs  # the 1-epoch warm-up minus its own run time
    return {"name": name, "n": n_train, "dtype": dtype_name, "fold_epochs": fold_epochs,
            "cpu_s": min(cpu), "wall_s": min(wall), "first_call_s": max(first, 0.0)}


def shuffle_cost(n_train: int, epochs: int = 200) -> float:
    """CPU seconds per fold-epoch of drawing sklearn's epoch orders in Python (RandomState.shuffle
    and the composed index), which the batched candidates take as input and the numba kernel
    draws itself."""
    rs, idx = np.random.RandomState(0), np.arange(n_train)
    start = time.process_time()
    for _ in range(epochs):
        perm = np.arange(n_train)
        rs.shuffle(perm)
        idx = idx[perm]
    return (time.process_time() - start) / epochs


def candidates(args) -> None:
    import importlib.util

    names = args.only or CANDIDATES
    print(f"5 folds, {args.epochs} epochs (sklearn's stopping rule off except in numba), one core, "
          f"best of {args.repeats}; us/fold-epoch is CPU time; 'CV@500' projects one 5-fold CV of 500 epochs")
    print(f"{'candidate':<14} {'dtype':<8} {'rows':>5} {'us/fold-epoch':>14} {'CV@500 s':>9} "
          f"{'x sklearn':>9} {'compile s':>9}")
    baseline: dict = {}
    for n_train in (400, 1600):
        for dtype in ("float64", "float32"):
            for name in names:
                package = PACKAGES.get(name)
                if package and importlib.util.find_spec(package) is None:
                    missing = f"(not installed: pip install {package})"
                    print(f"{name:<14} {dtype:<8} {n_train:>5} {missing:>30}")
                    continue
                if name == "sklearn" and dtype == "float32":
                    pass  # sklearn trains in float32 for float32 input: measured like the rest
                cmd = [sys.executable, __file__, "_candidate", name, str(n_train), dtype,
                       str(args.epochs), str(args.repeats)]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode:
                    print(f"{name:<14} {dtype:<8} {n_train:>5} failed: {proc.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                per = r["cpu_s"] / r["fold_epochs"]
                if name == "sklearn":
                    baseline[(n_train, dtype)] = per
                ratio = baseline.get((n_train, dtype), np.nan) / per
                print(f"{name:<14} {dtype:<8} {n_train:>5} {per * 1e6:>14.0f} {per * 2500:>9.2f} {ratio:>9.1f} "
                      f"{r['first_call_s']:>9.1f}", flush=True)
    pin_one_core()
    print("compile s: first call minus a steady one (numba: a cache load, or a compile after the source changed; "
          "jax: per input shape)")
    print("not in the numpy/torch/jax times: drawing sklearn's epoch orders in Python, per fold-epoch: "
          + ", ".join(f"{n} rows {shuffle_cost(n) * 1e6:.0f} us" for n in (400, 1600)))


# --------------------------------------------------------------------------- the loop's cross-validation


def one_cv(args) -> None:
    """One round's cross-validation, compiled and scikit-learn, as common.models runs it."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier

    from common.compiled_mlp import CompiledMLP, warm_up

    pin_one_core()
    for dtype in (np.float64, np.float32):
        warm_up(dtype)
    X, y = wall_robot()
    rng = np.random.default_rng(args.seed)
    Xs, ys = noisy_subset(X, y, args.rows, args.noise, rng)
    others = [X[rng.choice(len(X), 1500)], X[rng.choice(len(X), 1000)]]
    splits = list(StratifiedKFold(5, shuffle=True, random_state=seed_of(args.seed)).split(Xs, ys))
    seeds = [seed_of(args.seed, f) for f in range(5)]
    print(f"one 5-fold CV: {args.rows} labeled rows ({args.noise:.0%} noisy labels), predictions for the "
          f"held-out rows and {sum(map(len, others))} others; one core")
    times = {}
    for dtype in (np.float64, np.float32):
        w0, c0 = time.perf_counter(), time.process_time()
        _, _, info = CompiledMLP(dtype).cross_validate(Xs, ys, others, K, splits, seeds)
        times[dtype.__name__] = time.process_time() - c0
        print(f"  CompiledMLP {dtype.__name__}: {times[dtype.__name__]:6.2f} s CPU "
              f"({time.perf_counter() - w0:.2f} s wall), epochs {[i['epochs'] for i in info]}")
    w0, c0 = time.perf_counter(), time.process_time()
    epochs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for (train, held_out), seed in zip(splits, seeds):
            model = MLPClassifier(max_iter=500, random_state=seed).fit(Xs[train], ys[train])
            epochs.append(model.n_iter_)
            model.predict_proba(Xs[held_out])
            for Xo in others:
                model.predict_proba(Xo)
    sk = time.process_time() - c0
    print(f"  MLPClassifier    : {sk:6.2f} s CPU ({time.perf_counter() - w0:.2f} s wall), epochs {epochs}")
    print(f"  speed ratio (sklearn / compiled): float64 {sk / times['float64']:.1f}x, "
          f"float32 {sk / times['float32']:.1f}x")


def compile_times(args) -> None:
    """Cold compile (fresh Numba cache directory) and cached load, each in a new process."""
    code = ("import resource, time, numpy as np; t = time.perf_counter(); from common.compiled_mlp import warm_up; "
            "i = time.perf_counter() - t; print(i, warm_up(np.float64), warm_up(np.float32), "
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        for label in ("cold (empty cache)", "cached (second process)"):
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            imp, f64, f32, rss = map(float, out.stdout.split())
            print(f"  {label:<24} import {imp:5.2f} s, float64 {f64:5.2f} s, float32 {f32:5.2f} s (wall); "
                  f"max RSS {rss:.0f} MB")


def rounds(args) -> None:
    """Labeled set growing 500 -> 2,500 over the rounds: recompilations, time, peak memory."""
    import resource

    from sklearn.model_selection import StratifiedKFold

    from common import compiled_mlp
    from common.compiled_mlp import CompiledMLP

    pin_one_core()
    t0 = time.perf_counter()
    compiled_mlp.warm_up(np.float64)
    warm = time.perf_counter() - t0
    signatures = len(compiled_mlp._train_folds.signatures) + len(compiled_mlp._train_fold.signatures)
    X, y = wall_robot()
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(X))
    test = X[order[-1000:]]
    sizes = np.linspace(500, 2500, args.rounds).round().astype(int)
    total_cpu, epochs = 0.0, []
    for r, size in enumerate(sizes):
        labeled = order[:size]
        ys = y[labeled].copy()
        flip = rng.random(size) < args.noise
        ys[flip] = rng.integers(0, K, flip.sum())
        pool = X[order[size:order.size - 1000]]
        splits = list(StratifiedKFold(5, shuffle=True, random_state=seed_of(args.seed, r)).split(X[labeled], ys))
        c0 = time.process_time()
        _, _, info = CompiledMLP().cross_validate(X[labeled], ys, [pool, test], K, splits,
                                                  [seed_of(args.seed, r, f) for f in range(5)])
        total_cpu += time.process_time() - c0
        epochs += [i["epochs"] for i in info]
    after = len(compiled_mlp._train_folds.signatures) + len(compiled_mlp._train_fold.signatures)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.rounds} rounds, labeled {sizes[0]}..{sizes[-1]} rows, float64, one core:")
    print(f"  first call (compile or cache load): {warm:.2f} s; "
          f"recompilations during the rounds: {after - signatures}")
    print(f"  CV CPU time: {total_cpu:.1f} s in all, {total_cpu / args.rounds:.2f} s per round; "
          f"epochs per fold: median {np.median(epochs):.0f}, range {min(epochs)}..{max(epochs)}")
    print(f"  peak memory of this process (max RSS): {peak:.0f} MB")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_candidate":
        name, n, dtype, epochs, repeats = sys.argv[2:7]
        print(json.dumps(measure_candidate(name, int(n), dtype, int(epochs), int(repeats))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["candidates", "cv", "compile", "rounds", "all"])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=CANDIDATES)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--noise", type=float, default=0.15)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.what in ("candidates", "all"):
        candidates(args)
    if args.what in ("cv", "all"):
        one_cv(args)
    if args.what in ("compile", "all"):
        print("compile time of the numba kernel:")
        compile_times(args)
    if args.what in ("rounds", "all"):
        rounds(args)


if __name__ == "__main__":
    main()
