"""CIFAR-10H figures that perf/speed.py does not give (printed, never asserted).

    python perf/cifar_speed.py features [--data-dir DIR]
        k-means, extraction and cache-load times of one split's features (in a fresh cache);
    python perf/cifar_speed.py models [--data-dir DIR] [--sizes 1000 4000]
        per model: the 5-fold fit of one round (as the loop does it) at each number of labels, its
        time and the held-out accuracy with clean labels and with one random human vote per image;
    python perf/cifar_speed.py initial [--data-dir DIR] [--seeds 5]
        the initial consensus accuracy and annotator statistics of each seed's problem.

The grid's wall time, per-phase split and memory come from perf/speed.py, e.g.
``python perf/speed.py grid --model kmeans-logreg cifar-10h`` (the whole default grid; the
``--model`` flag goes before the benchmark name) or
``... --methods random activelab --seeds 1 --rounds 4`` for a part of it. Every figure here runs
with one BLAS thread, as a grid worker does; wall and CPU seconds are both printed, since on a
shared machine the CPU seconds are the better guide to what an idle machine would take.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.seeding import ModelSeeds, RunSeeds  # noqa: E402
from common.suites import cifar10h as bm  # noqa: E402
from common import features  # noqa: E402
from common.data import resolve_data_dir  # noqa: E402
from common.datasets import cifar10h as c10h  # noqa: E402
from common.models import cross_validated_predictions  # noqa: E402


class Timer:
    def __enter__(self) -> "Timer":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:7.1f} s wall {self.cpu:7.1f} s CPU"


def time_features(data_dir: Path) -> None:
    data = c10h.load_cifar10h(data_dir)
    pool, test = bm.cifar_split(data.labels, RunSeeds(0), bm.CIFAR_10H.settings["test_size"])
    images = np.concatenate([data.images[pool], data.images[test]])
    settings = bm.CIFAR_FEATURES
    with threadpool_limits(1):
        with Timer() as learn:
            dictionary = features.learn_dictionary(data.images[pool], settings)
        with Timer() as extract:
            features.extract(images, dictionary, settings)
    print(f"{settings.centroids} centroids, {settings.sampled_patches} patches")
    print(f"k-means dictionary (whitening + k-means):   {learn}")
    print(f"extraction, {len(images)} images:            {extract}")
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        with Timer() as design:
            key = features.cache_key([data.images[pool], data.images[test]], "speed")
            features.cached_array("speed", key, lambda: bm._compute_design_matrix(data.images[pool], data.images[test]), Path(tmp))
        with Timer() as load:
            np.asarray(features.cached_array("speed", key, lambda: None, Path(tmp)))
    print(f"whole design matrix (features, 2 PCAs), cached: {design}")
    print(f"loading it from the cache:                 {load}")


def time_models(data_dir: Path, sizes: list[int]) -> None:
    data = c10h.load_cifar10h(data_dir)
    pool, test = bm.cifar_split(data.labels, RunSeeds(0), bm.CIFAR_10H.settings["test_size"])
    design = bm.cifar_design_matrix(data.images[pool], data.images[test])
    X_pool, X_test = design[:len(pool)], design[len(pool):]
    y_pool, y_test = data.labels[pool], data.labels[test]
    # One random human vote per pool image: the noisy labels.
    rng = np.random.default_rng(0)
    counts = data.counts[pool]
    cumulative = np.cumsum(counts, axis=1)
    draws = rng.integers(0, counts.sum(axis=1))[:, None]
    noisy = np.argmax(cumulative > draws, axis=1)
    print(f"one random vote is correct for {np.mean(noisy == y_pool):.3f} of the pool")
    print(f"{'model':<20}{'labels':>7}{'clean acc':>10}{'noisy acc':>10}   5-fold fit and predict (clean)")
    with threadpool_limits(1):
        for name in ("kmeans-logreg", "pixels-pca-logreg", "kmeans-knn"):
            for n in sizes:
                accuracy = {}
                for kind, labels in (("clean", y_pool), ("noisy", noisy)):
                    with Timer() as timer:
                        _, (_, proba), _ = cross_validated_predictions(
                            bm.CIFAR_MODELS[name].factory, X_pool[:n], labels[:n], [X_pool[n:], X_test], 10, 5, ModelSeeds(0)
                        )
                    accuracy[kind] = np.mean(proba.argmax(axis=1) == y_test)
                    if kind == "clean":
                        clean_time = timer
                print(f"{name:<20}{n:>7}{accuracy['clean']:>10.3f}{accuracy['noisy']:>10.3f}   {clean_time}", flush=True)


def initial_accuracy(data_dir: Path, seeds: int) -> None:
    print(f"{'seed':>4}{'annotators':>11}{'labels/annotator':>18}{'mean acc':>9}{'5% acc':>8}{'mix':>7}{'initial acc':>12}")
    for seed in range(seeds):
        problem = bm.CIFAR_10H.make_problem(data_dir, RunSeeds(seed), bm.CIFAR_10H.n_initial, frozenset({"kmeans"}))
        info = problem.info
        per = info["labels_per_annotator"]
        print(f"{seed:>4}{info['num_annotators']:>11}{per['min']:>8}-{per['median']:.0f}-{per['max']:<7}"
              f"{info['mean_annotator_accuracy']:>9.3f}{info['annotator_accuracy_percentiles']['5']:>8.3f}"
              f"{info['initial_mix']:>7.3f}{info['initial_consensus_accuracy']:>12.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["features", "models", "initial"])
    parser.add_argument("--data-dir")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    if args.command == "features":
        time_features(data_dir)
    elif args.command == "models":
        time_models(data_dir, args.sizes)
    else:
        initial_accuracy(data_dir, args.seeds)


if __name__ == "__main__":
    main()
