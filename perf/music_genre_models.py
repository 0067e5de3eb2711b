"""Candidate default models and label budget for a Music Genre benchmark (printed, never asserted).

    python perf/music_genre_models.py [--data-dir DIR] [--seeds 5] [--n-initial 200] [--batch-size 50]

Prints (1) the label availability facts that bound a budget: labels per song, how many crowd labels
remain after one initial label for ``--n-initial`` random songs, and so how many rounds of
``--batch-size`` labels exist; and (2) the held-out accuracy on the 300 test songs of each candidate
model trained on the standardised pool features (pool statistics only) with
(i) the gold genres of all 700 songs, (ii) the majority vote of all crowd labels (the project's
majority vote, cleanlab's tie-breaks) and (iii) one random crowd label for each of ``--n-initial``
random songs (the benchmark's starting point), mean ± std over seeds, with each model's fit time
on 200 and 700 rows. Everything runs on one BLAS thread, as a benchmark worker does.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.ensemble import ExtraTreesClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from common.crowdlab import majority_vote  # noqa: E402
from common.data import resolve_data_dir  # noqa: E402
from common.datasets import music_genre as mg  # noqa: E402

MODELS = {
    "mlp": lambda seed: MLPClassifier(max_iter=500, random_state=seed),
    "logreg C=0.01": lambda seed: LogisticRegression(C=0.01, max_iter=1000),
    "logreg C=0.1": lambda seed: LogisticRegression(C=0.1, max_iter=1000),
    "logreg C=1": lambda seed: LogisticRegression(C=1.0, max_iter=1000),
    "extra-trees": lambda seed: ExtraTreesClassifier(random_state=seed),
    "knn-distance": lambda seed: KNeighborsClassifier(weights="distance"),
}


def label_facts(data: mg.MusicGenre, seeds: int, n_initial: int, batch_size: int) -> None:
    hidden, y = data.hidden_labels, data.y_pool
    given = ~np.isnan(hidden)
    per_song = given.sum(axis=1)
    total = int(given.sum())
    correct = hidden == y[:, None]
    print("== Label availability")
    print(f"crowd labels {total}, workers {hidden.shape[1]}, pool songs {len(y)}, test songs {len(data.y_test)}")
    histogram = np.bincount(per_song)
    print("labels per song: " + ", ".join(f"{k}: {c}" for k, c in enumerate(histogram) if c)
          + f" (mean {per_song.mean():.2f})")
    per_worker = given.sum(axis=0)
    accuracy = data.worker_accuracy
    print(f"labels per worker: min {per_worker.min()}, median {np.median(per_worker):g}, max {per_worker.max()}")
    print(f"per-label accuracy {correct[given].mean():.3f}; mean over songs of the fraction of its labels "
          f"that are right (= a random label's accuracy) {np.mean(correct.sum(axis=1) / per_song):.3f}")
    bad = np.flatnonzero(accuracy < 0.3)
    print(f"workers below 0.3 accuracy: {len(bad)}, with {per_worker[bad].sum()} labels "
          f"({per_worker[bad].sum() / total:.1%}): "
          + ", ".join(f"{data.workers[j]} {accuracy[j]:.2f}/{per_worker[j]}" for j in bad[np.argsort(-per_worker[bad])]))
    counts = np.stack([np.bincount(row[~np.isnan(row)].astype(int), minlength=mg.NUM_CLASSES) for row in hidden])
    tied = counts == counts.max(axis=1, keepdims=True)
    gold_tied = tied[np.arange(len(y)), y]
    print(f"majority vote of all labels: songs with a tied top {int(np.sum(tied.sum(axis=1) > 1))}; accuracy "
          f"{np.mean(majority_vote(hidden, None, mg.NUM_CLASSES, np.random.default_rng(0)) == y):.3f} "
          f"(project rule), between {np.mean(gold_tied & (tied.sum(axis=1) == 1)):.3f} (every tie lost) and "
          f"{np.mean(gold_tied):.3f} (every tie won), {np.mean(gold_tied / tied.sum(axis=1)):.3f} expected "
          f"with random tie-breaks")
    remaining = total - n_initial
    print(f"after one initial label on {n_initial} songs: {remaining} labels remain = "
          f"{remaining // batch_size} full rounds of {batch_size}; 20 rounds use {20 * batch_size} "
          f"({20 * batch_size / remaining:.0%} of them)")
    second, one_label, initial_accuracy = [], [], []
    for seed in range(seeds):
        songs, labels = initial_state(data, seed, n_initial)
        second.append(int(np.sum(per_song[songs] - 1)))
        one_label.append(int(np.sum(per_song[songs] == 1)))
        initial_accuracy.append(np.mean(labels == y[songs]))
    print(f"  per seed: second opinions available on the initial songs {second}; initial songs with no "
          f"second opinion {one_label}; initial label accuracy {np.round(initial_accuracy, 3).tolist()} "
          f"(mean {np.mean(initial_accuracy):.3f})")
    print()


def initial_state(data: mg.MusicGenre, seed: int, n_initial: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_initial`` random pool songs and one random crowd label of each."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    songs = np.sort(rng.choice(len(data.y_pool), n_initial, replace=False))
    rows = data.hidden_labels[songs]
    keys = np.where(np.isnan(rows), np.inf, rng.random(rows.shape))
    labels = rows[np.arange(n_initial), keys.argmin(axis=1)].astype(np.int64)
    return songs, labels


def evaluate(data: mg.MusicGenre, seeds: int, n_initial: int) -> None:
    X_pool, X_test = mg.standardize(data.X_pool, data.X_test)
    majority = majority_vote(data.hidden_labels, None, mg.NUM_CLASSES, np.random.default_rng(0))
    scenarios = {"gold (700)": [], "majority (700)": [], f"1 label x {n_initial}": []}
    for seed in range(seeds):
        songs, labels = initial_state(data, seed, n_initial)
        scenarios["gold (700)"].append((np.arange(len(X_pool)), data.y_pool))
        scenarios["majority (700)"].append((np.arange(len(X_pool)), majority))
        scenarios[f"1 label x {n_initial}"].append((songs, labels))
    print(f"== Test accuracy on {len(X_test)} songs, mean ± std over {seeds} seeds; fit seconds (one thread)")
    print(f"{'model':<15}" + "".join(f"{name:>18}" for name in scenarios) + f"{'fit 200 rows':>14}{'fit 700 rows':>14}")
    for name, make in MODELS.items():
        cells, fit_time, warned = [], {n_initial: [], len(X_pool): []}, 0
        for runs in scenarios.values():
            accuracies = []
            for seed, (rows, labels) in enumerate(runs):
                model = make(seed)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    start = time.perf_counter()
                    model.fit(X_pool[rows], labels)
                    fit_time.setdefault(len(rows), []).append(time.perf_counter() - start)
                warned += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
                accuracies.append(np.mean(model.predict(X_test) == data.y_test))
            cells.append(f"{np.mean(accuracies):.3f} ± {np.std(accuracies):.3f}")
        times = [f"{np.mean(fit_time[n]):.3f}" if fit_time.get(n) else "-" for n in (200, len(X_pool))]
        note = f"   ({warned} convergence warnings)" if warned else ""
        print(f"{name:<15}" + "".join(f"{c:>18}" for c in cells) + f"{times[0]:>14}{times[1]:>14}{note}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-initial", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    data = mg.load_music_genre(resolve_data_dir(args.data_dir))
    with threadpool_limits(1):
        label_facts(data, args.seeds, args.n_initial, args.batch_size)
        evaluate(data, args.seeds, args.n_initial)


if __name__ == "__main__":
    main()
