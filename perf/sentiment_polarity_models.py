"""Candidate default models and label budget for the Sentiment Polarity benchmark (printed, never asserted).

    python perf/sentiment_polarity_models.py [--data-dir DIR] [--seeds 3] [--n-initial 1000] [--batch-size 200] [--rounds 20]

Prints (1) the label facts that bound a budget on the benchmark's pool (its fixed split): labels per
sentence, how many remain after the initial labels, and what share the default budget uses; and
(2) the test accuracy and test log loss (999 sentences, gold) of each candidate model on the
benchmark's own features (pool-fitted TF-IDF, sparse), trained on the 4,000 pool sentences with
(i) their gold classes, (ii) the majority vote of their crowd labels (the project's rule) and
(iii) the benchmark's starting point (one real label on ``--n-initial`` sentences, per seed), mean
over seeds, with each model's fit time on the starting point and on the whole pool. One BLAS thread,
as a benchmark worker has.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import log_loss  # noqa: E402
from sklearn.naive_bayes import MultinomialNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from common.crowdlab import majority_vote  # noqa: E402
from common.data import resolve_data_dir  # noqa: E402
from common.models import FEATURES  # noqa: E402
from common.seeding import RunSeeds  # noqa: E402
from common.suites.sentiment_polarity import SENTIMENT_POLARITY, load_sentiment_crowd  # noqa: E402

MODELS = {
    "nb alpha=0.3": lambda: MultinomialNB(alpha=0.3),
    "nb alpha=1": lambda: MultinomialNB(alpha=1.0),
    "logreg C=1": lambda: LogisticRegression(C=1, solver="liblinear"),
    "logreg C=10": lambda: LogisticRegression(C=10, solver="liblinear"),
    "logreg C=30": lambda: LogisticRegression(C=30, solver="liblinear"),
    "knn-25-cosine": lambda: KNeighborsClassifier(25, metric="cosine", weights="distance"),
}


def label_facts(crowd, n_initial: int, batch_size: int, rounds: int) -> None:
    given = ~np.isnan(crowd.hidden_labels)
    per_sentence, total = given.sum(axis=1), int(given.sum())
    print("== Label availability on the pool")
    print(f"pool sentences {len(crowd.y_pool)}, test sentences {len(crowd.y_test)}, workers {given.shape[1]}, "
          f"labels on the pool {total}")
    print("labels per sentence: " + ", ".join(f"{k}: {c}" for k, c in enumerate(np.bincount(per_sentence)) if c)
          + f" (mean {per_sentence.mean():.2f})")
    budget = rounds * batch_size
    print(f"after one initial label on {n_initial} sentences {total - n_initial} remain; {rounds} rounds of "
          f"{batch_size} buy {budget} ({budget / (total - n_initial):.0%} of them); "
          f"{n_initial + budget} labels in all")
    print()


def evaluate(crowd, data_dir: Path, seeds: int, n_initial: int) -> None:
    X_pool, X_test, y_test = crowd.X_pool, crowd.X_test, crowd.y_test
    everything = np.arange(X_pool.shape[0])
    majority = majority_vote(crowd.hidden_labels, None, crowd.num_classes, np.random.default_rng(0))
    print(f"majority vote of the pool's crowd labels: accuracy {np.mean(majority == crowd.y_pool):.3f}")
    scenarios = {"gold (4000)": [(everything, crowd.y_pool)], "majority (4000)": [(everything, majority)],
                 f"1 label x {n_initial}": []}
    for seed in range(seeds):
        problem = SENTIMENT_POLARITY.make_problem(data_dir, RunSeeds(seed), n_initial, frozenset({FEATURES}))
        rows = np.flatnonzero(~np.isnan(problem.initial_labels).all(axis=1))
        scenarios[f"1 label x {n_initial}"].append((rows, np.nanmax(problem.initial_labels[rows], axis=1).astype(int)))
    print(f"== Test accuracy / log loss on {len(y_test)} sentences (gold); seconds per fit, one thread")
    print(f"{'model':<15}" + "".join(f"{name:>22}" for name in scenarios) + f"{'fit ' + str(n_initial):>10}{'fit 4000':>10}")
    for name, make in MODELS.items():
        cells, seconds = [], {}
        for runs in scenarios.values():
            accuracy, loss = [], []
            for rows, labels in runs:
                start = time.perf_counter()
                model = make().fit(X_pool[rows], labels)
                seconds.setdefault(len(rows), []).append(time.perf_counter() - start)
                proba = model.predict_proba(X_test)
                accuracy.append(np.mean(model.classes_[proba.argmax(axis=1)] == y_test))
                loss.append(log_loss(y_test, proba, labels=model.classes_))
            cells.append(f"{np.mean(accuracy):.3f} / {np.mean(loss):.3f}")
        times = [f"{np.median(seconds[n]):.3f}" for n in (n_initial, len(everything))]
        print(f"{name:<15}" + "".join(f"{c:>22}" for c in cells) + f"{times[0]:>10}{times[1]:>10}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-initial", type=int, default=SENTIMENT_POLARITY.n_initial)
    parser.add_argument("--batch-size", type=int, default=SENTIMENT_POLARITY.batch_size)
    parser.add_argument("--rounds", type=int, default=SENTIMENT_POLARITY.rounds)
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    crowd = load_sentiment_crowd(data_dir, frozenset({FEATURES}))
    with threadpool_limits(1):
        label_facts(crowd, args.n_initial, args.batch_size, args.rounds)
        evaluate(crowd, data_dir, args.seeds, args.n_initial)


if __name__ == "__main__":
    main()
