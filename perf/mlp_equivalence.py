"""How closely CompiledMLP reproduces MLPClassifier(max_iter=500) (printed, never asserted).

    python perf/mlp_equivalence.py [--fits 60] [--skip-float32]

(a) Same seed, so the same initial weights and minibatch order: the largest absolute difference
    between the two implementations' parameters after one Adam step (<= 200 rows: one minibatch),
    after one epoch, after 10 and 100 epochs and after the whole fit, on Wall Robot rows, in float64
    (and float32 against scikit-learn fed float32).
(b) ``--fits`` seeded fits drawn as the Wall Robot benchmark draws its problems: a random subset of
    400..2,000 rows of the data, 10-30% of its labels replaced by another class, a random seed;
    accuracy on 1,000 held-out rows with their true labels. Prints the paired mean difference of
    accuracy (compiled - sklearn) with a 95% interval, the Wilcoxon signed-rank test of the pairs,
    how often both predict the same class, and the epochs-to-stop of both.
Results are in docs/compiled-mlp.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.compiled_mlp import CompiledMLP  # noqa: E402
from common.datasets.wall_robot import load_wall_robot  # noqa: E402

DATA_DIR = Path(os.environ.get("AL_RELABEL_DATA_DIR", ROOT.parent / "shared" / "data"))
K = 4


def sklearn_fit(X, y, seed: int, max_iter: int = 500) -> MLPClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(max_iter=max_iter, random_state=seed).fit(X, y)


def parameter_difference(a, b) -> float:
    return max(float(np.abs(p - q).max()) for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_))


def part_a(X: np.ndarray, y: np.ndarray, dtypes) -> None:
    print("(a) same seed, same draws: max |parameter difference| (compiled vs MLPClassifier)")
    print(f"    {'dtype':<8} {'rows':>5} {'classes':>7} {'epochs':>7} {'max |diff|':>11} {'epochs run':>11}")
    rng = np.random.default_rng(0)
    cases = [(150, 4, 1), (200, 2, 1), (400, 4, 1), (1600, 4, 1), (1600, 2, 1), (400, 4, 10), (1600, 4, 10),
             (400, 4, 100), (1600, 4, 100), (400, 4, 500), (1600, 4, 500)]
    for dtype in dtypes:
        for n, classes, epochs in cases:
            worst, runs = 0.0, set()
            for seed in range(3):
                idx = rng.choice(len(X), n, replace=False)
                Xs, ys = X[idx].astype(dtype), y[idx] % classes
                theirs = sklearn_fit(Xs, ys, seed, epochs)
                ours = CompiledMLP(dtype, max_iter=epochs)(seed).fit(Xs, ys)
                worst = max(worst, parameter_difference(theirs, ours))
                runs.add(f"{theirs.n_iter_}/{ours.n_iter_}")
            label = "1 step" if n <= 200 else f"{epochs}"
            runs_text = ",".join(sorted(runs))
            print(f"    {np.dtype(dtype).name:<8} {n:>5} {classes:>7} {label:>7} {worst:>11.2e} {runs_text:>11}")
    print("    (epochs run: sklearn/compiled; 3 seeds per row; a fit may stop before its epoch budget)")


def part_b(X: np.ndarray, y: np.ndarray, fits: int, dtypes) -> None:
    rng = np.random.default_rng(2024)
    order = rng.permutation(len(X))
    test, pool = order[:1000], order[1000:]
    rows = []
    start = time.perf_counter()
    for i in range(fits):
        r = np.random.default_rng([7, i])
        n = int(r.integers(400, 2001))
        idx = r.choice(pool, n, replace=False)
        labels = y[idx].copy()
        noise = r.uniform(0.1, 0.3)
        flip = r.random(n) < noise
        labels[flip] = (labels[flip] + r.integers(1, K, flip.sum())) % K  # another class
        seed = int(r.integers(2**31))
        theirs = sklearn_fit(X[idx], labels, seed)
        row = {"n": n, "noise": noise, "sk_epochs": theirs.n_iter_,
               "sk_acc": np.mean(theirs.predict(X[test]) == y[test])}
        for dtype in dtypes:
            ours = CompiledMLP(dtype)(seed).fit(X[idx], labels)
            name = np.dtype(dtype).name
            predicted = ours.predict(X[test])
            row[name + "_acc"] = np.mean(predicted == y[test])
            row[name + "_epochs"] = ours.n_iter_
            row[name + "_same"] = np.mean(predicted == theirs.predict(X[test]))
            row[name + "_same_epochs"] = ours.n_iter_ == theirs.n_iter_
        rows.append(row)
        elapsed = time.perf_counter() - start
        print(f"\r    {i + 1}/{fits} fits, {elapsed:.0f} s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    sizes = [r["n"] for r in rows]
    print(f"(b) {fits} seeded fits: {min(sizes)}..{max(sizes)} Wall Robot rows, 10-30% noisy labels, "
          f"accuracy on 1,000 held-out rows with true labels")
    sk_acc = np.array([r["sk_acc"] for r in rows])
    print(f"    MLPClassifier: accuracy mean {sk_acc.mean():.4f} (sd {sk_acc.std(ddof=1):.4f})")
    for dtype in dtypes:
        name = np.dtype(dtype).name
        acc = np.array([r[name + "_acc"] for r in rows])
        diff = acc - sk_acc
        half = 0.0
        if diff.any():  # half-width of the t interval of the mean paired difference
            half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))
        if np.count_nonzero(diff):
            p = stats.wilcoxon(acc, sk_acc, zero_method="wilcox").pvalue
            test_text = f"Wilcoxon signed-rank p = {p:.3f} ({np.count_nonzero(diff)} non-zero pairs)"
        else:
            test_text = "every pair equal: Wilcoxon not applicable (no difference to test)"
        mean = diff.mean()
        print(f"    CompiledMLP {name}: accuracy mean {acc.mean():.4f}; paired difference mean {mean:+.5f} "
              f"(95% CI {mean - half:+.5f}..{mean + half:+.5f}, max |diff| {np.abs(diff).max():.4f}); "
              f"{test_text}")
        same = np.array([r[name + "_same"] for r in rows])
        same_epochs = np.mean([r[name + "_same_epochs"] for r in rows])
        print(f"      same predicted class as sklearn: mean {same.mean():.4f} of test rows (min {same.min():.4f}); "
              f"same epochs-to-stop in {same_epochs:.0%} of fits")
    print("    epochs to stop (mean, quartiles, range, fits that hit max_iter=500):")
    columns = [("MLPClassifier", "sk_epochs")]
    columns += [(f"CompiledMLP {np.dtype(d).name}", np.dtype(d).name + "_epochs") for d in dtypes]
    for label, key in columns:
        e = np.array([r[key] for r in rows])
        q1, med, q3 = np.percentile(e, [25, 50, 75])
        print(f"      {label:<20} mean {e.mean():6.1f}  quartiles {q1:.0f}/{med:.0f}/{q3:.0f}  "
              f"range {e.min()}..{e.max()}  "
              f"at 500: {np.sum(e == 500)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fits", type=int, default=60)
    parser.add_argument("--skip-float32", action="store_true")
    parser.add_argument("--part", choices=["a", "b", "both"], default="both")
    args = parser.parse_args()
    X, y = load_wall_robot(DATA_DIR)
    dtypes = [np.float64] if args.skip_float32 else [np.float64, np.float32]
    if args.part in ("a", "both"):
        part_a(X, y, dtypes)
    if args.part in ("b", "both"):
        part_b(X, y, args.fits, dtypes)


if __name__ == "__main__":
    main()
