"""The CIFAR-10H models on the CIFAR-10S split (printed, never asserted).

    python perf/cifar10s_models.py [--data-dir DIR] [--test-images 9000] [--models kmeans-logreg ...]

Test accuracy of each model of the CIFAR-10S benchmark (the CIFAR-10H suite's models, on the design
matrix the benchmark builds) trained on the 1,000 pool images with (i) CIFAR-10's labels, (ii) the
majority vote of all their crowd labels (the project's rule, seeded tie-breaks) and (iii) one random
crowd label for each of 200 random images (the benchmark's start), mean over 3 seeds; on the first
``--test-images`` of the 9,000 test images. Also the label and cost facts that bound the budget.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.annotators import random_available  # noqa: E402
from common.crowdlab import majority_vote  # noqa: E402
from common.data import resolve_data_dir  # noqa: E402
from common.suites.cifar10h import CIFAR_MODELS, DEFAULT_MODEL  # noqa: E402
from common.suites.cifar10s import TEST_IMAGES, cifar10s_loader  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--test-images", type=int, default=TEST_IMAGES)
    parser.add_argument("--models", nargs="+", default=[DEFAULT_MODEL, "kmeans-logreg"])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    inputs = frozenset(CIFAR_MODELS[name].reads for name in args.models)
    crowd = cifar10s_loader(args.test_images)(resolve_data_dir(args.data_dir), inputs)
    print(f"design matrix {crowd.X_pool.shape[1]} columns, built in {time.perf_counter() - start:.0f} s")
    hidden, y_pool, given = crowd.hidden_labels, crowd.y_pool, ~np.isnan(crowd.hidden_labels)
    costs = crowd.label_costs[given]
    print(f"labels {int(given.sum())} ({np.bincount(given.sum(axis=1)).tolist()} per image), per-label accuracy "
          f"{np.mean(hidden[given] == np.broadcast_to(y_pool[:, None], hidden.shape)[given]):.3f}; cost (s, capped at "
          f"{crowd.info['label_cost_cap_seconds']}): total {costs.sum():.0f}, median {np.median(costs):.1f}")
    scenarios: dict[str, list] = {"gold": [], "majority": [], "1 label x 200": []}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        scenarios["gold"].append((np.arange(len(y_pool)), y_pool))
        scenarios["majority"].append((np.arange(len(y_pool)), majority_vote(hidden, None, 10, rng)))
        rows = np.sort(rng.choice(len(y_pool), 200, replace=False))
        scenarios["1 label x 200"].append((rows, hidden[rows, random_available(given[rows], rng)].astype(int)))
    print(f"majority vote accuracy {np.mean([np.mean(v == y_pool) for _, v in scenarios['majority']]):.3f}")
    print(f"test accuracy on {len(crowd.y_test)} images, mean over {args.seeds} seeds")
    print(f"{'model':<28}" + "".join(f"{name:>16}" for name in scenarios) + f"{'fit s (1,000)':>15}")
    for name in args.models:
        cells, seconds = [], []
        for runs in scenarios.values():
            accuracy = []
            for seed, (rows, labels) in enumerate(runs):
                began = time.perf_counter()
                model = CIFAR_MODELS[name].factory(seed).fit(crowd.X_pool[rows], labels)
                if len(rows) == len(y_pool):
                    seconds.append(time.perf_counter() - began)
                accuracy.append(np.mean(model.predict(crowd.X_test) == crowd.y_test))
            cells.append(f"{np.mean(accuracy):.3f}")
        print(f"{name:<28}" + "".join(f"{c:>16}" for c in cells) + f"{np.mean(seconds):>15.2f}")


if __name__ == "__main__":
    main()
