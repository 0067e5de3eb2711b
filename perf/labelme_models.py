"""Candidate default models for the LabelMe benchmark (printed, never asserted).

    python perf/labelme_models.py [--data-dir DIR] [--seeds 3] [--n-initial 200]

Accuracy of each candidate on the 200 vendored features (standardised with the pool's statistics)
on the 500 **validation** images (what the default is chosen on) and the 1,188 test images (what
is reported), trained on (i) the gold labels of the 1,000 pool images, (ii) the majority vote of
all their crowd labels (the project's rule, seeded tie-breaks) and (iii) one random crowd label for
each of ``--n-initial`` random pool images (the benchmark's start), mean over ``--seeds`` seeds;
with the fit time on 1,000 rows. One BLAS thread, as a benchmark worker.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.ensemble import ExtraTreesClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from common.annotators import random_available  # noqa: E402
from common.crowdlab import majority_vote  # noqa: E402
from common.data import resolve_data_dir  # noqa: E402
from common.datasets import labelme as lm  # noqa: E402
from common.datasets.music_genre import standardize  # noqa: E402

MODELS = {
    **{f"logreg C={C:g}": (lambda C: lambda seed: LogisticRegression(C=C, max_iter=1000))(C)
       for C in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)},
    "extra-trees": lambda seed: ExtraTreesClassifier(random_state=seed),
    "knn-distance": lambda seed: KNeighborsClassifier(weights="distance"),
    "mlp": lambda seed: MLPClassifier(max_iter=500, random_state=seed),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-initial", type=int, default=200)
    args = parser.parse_args()
    data = lm.load_labelme(resolve_data_dir(args.data_dir))
    X_pool, X_valid = standardize(data.X["train"], data.X["valid"])
    _, X_test = standardize(data.X["train"], data.X["test"])
    hidden, y_pool = data.hidden_labels, data.y["train"]
    given = ~np.isnan(hidden)
    print(f"labels {int(given.sum())}, per image {np.bincount(given.sum(axis=1)).tolist()}, workers {hidden.shape[1]}, "
          f"per-label accuracy {np.mean(hidden[given] == np.broadcast_to(y_pool[:, None], hidden.shape)[given]):.3f}")
    scenarios: dict[str, list] = {"gold": [], "majority": [], f"1 label x {args.n_initial}": []}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        scenarios["gold"].append((np.arange(len(y_pool)), y_pool))
        vote = majority_vote(hidden, None, lm.NUM_CLASSES, rng)
        scenarios["majority"].append((np.arange(len(y_pool)), vote))
        rows = np.sort(rng.choice(len(y_pool), args.n_initial, replace=False))
        workers = random_available(given[rows], rng)
        scenarios[f"1 label x {args.n_initial}"].append((rows, hidden[rows, workers].astype(int)))
    print(f"majority vote accuracy {np.mean([np.mean(v == y_pool) for _, v in scenarios['majority']]):.3f}")
    print(f"{'model':<16}" + "".join(f"{name + ' valid/test':>28}" for name in scenarios) + f"{'fit s':>8}")
    for name, make in MODELS.items():
        cells, seconds = [], []
        for runs in scenarios.values():
            valid, test = [], []
            for seed, (rows, labels) in enumerate(runs):
                start = time.perf_counter()
                model = make(seed).fit(X_pool[rows], labels)
                if len(rows) == len(y_pool):
                    seconds.append(time.perf_counter() - start)
                valid.append(model.score(X_valid, data.y["valid"]))
                test.append(model.score(X_test, data.y["test"]))
            cells.append(f"{np.mean(valid):.3f} / {np.mean(test):.3f}")
        print(f"{name:<16}" + "".join(f"{c:>28}" for c in cells) + f"{np.mean(seconds):>8.2f}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
