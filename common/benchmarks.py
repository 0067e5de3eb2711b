"""Benchmark definitions: a dataset, how a seed turns it into a problem, its models and defaults.

A benchmark script names one of these and hands it to :func:`common.runner.main`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.model_selection import train_test_split

from common.annotators import initial_label_matrix, simulate_annotators
from common.models import TABULAR_MODELS, ModelFactory, derive_seed
from common.problem import Problem

ProblemBuilder = Callable[[Path, int, int, str], Problem]
"""``(data_dir, seed, n_initial, model_name) -> Problem``."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    make_problem: ProblemBuilder
    models: dict[str, ModelFactory]
    ensemble: tuple[str, ...]
    """Members fitted for ensemble methods (their predictions are averaged)."""
    default_model: str
    rounds: int
    batch_size: int
    n_initial: int
    pool_size: int
    num_annotators: int
    folds: int = 5
    seeds: int = 5
    settings: dict = field(default_factory=dict)
    """Dataset settings recorded with every run (subset sizes, noise level, ...)."""

    def members(self, model: str, ensemble: bool) -> list[ModelFactory]:
        return [self.models[name] for name in self.ensemble] if ensemble else [self.models[model]]


def simulated_tabular_problem(
    load: Callable[[Path], tuple[np.ndarray, np.ndarray]],
    class_counts: tuple[int, ...],
    n_test: int,
    num_annotators: int,
    trace_fraction: float,
) -> ProblemBuilder:
    """A problem builder for tabular data with simulated annotators (the Wall Robot protocol).

    Seed ``s`` draws a class-stratified subset with ``class_counts`` rows per class, splits off a
    stratified test set of ``n_test`` rows, simulates the annotators on the remaining pool and
    labels ``n_initial`` pool examples, all from generators derived from ``s`` alone, so every
    method with seed ``s`` starts from the same state.
    """

    def make_problem(data_dir: Path, seed: int, n_initial: int, model: str) -> Problem:
        X, y = load(data_dir)
        num_classes = len(class_counts)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
        subset = np.concatenate(
            [rng.choice(np.flatnonzero(y == k), count, replace=False) for k, count in enumerate(class_counts)]
        )
        X, y = X[subset], y[subset]
        pool, test = train_test_split(
            np.arange(len(y)), test_size=n_test, stratify=y, random_state=derive_seed(seed, 0, 1)
        )
        hidden, noise_matrix = simulate_annotators(
            y[pool], num_annotators, trace_fraction, num_classes, derive_seed(seed, 0, 2)
        )
        labeled = np.sort(rng.choice(len(pool), n_initial, replace=False))
        initial = initial_label_matrix(hidden, labeled, rng)
        accuracy = np.mean(hidden == y[pool][:, None], axis=0)
        counts = np.sum(~np.isnan(initial[labeled]), axis=1)
        info = {
            "annotator_identity": "simulated",
            "mean_annotator_accuracy": float(accuracy.mean()),
            "noise_matrix": np.round(noise_matrix, 6).tolist(),
            "initial_labels_per_example": {
                str(k): int(np.sum(counts == k)) for k in range(1, counts.max() + 1)
            },
        }
        return Problem(X[pool], y[pool], X[test], y[test], hidden, initial, num_classes, info)

    return make_problem


def _wall_robot(name: str, n_initial: int, trace_fraction: float) -> Benchmark:
    from common.datasets.wall_robot import load_wall_robot

    class_counts, n_test, num_annotators = (1100, 900, 300, 700), 1000, 30
    return Benchmark(
        name=name,
        make_problem=simulated_tabular_problem(
            load_wall_robot, class_counts, n_test, num_annotators, trace_fraction
        ),
        models=TABULAR_MODELS,
        ensemble=("mlp", "extra-trees", "knn"),
        default_model="mlp",
        rounds=20,
        batch_size=100,
        n_initial=n_initial,
        pool_size=sum(class_counts) - n_test,
        num_annotators=num_annotators,
        settings={
            "class_counts": list(class_counts),
            "n_test": n_test,
            "num_annotators": num_annotators,
            "trace_fraction": trace_fraction,
        },
    )


WALL_ROBOT = _wall_robot("wall-robot", n_initial=500, trace_fraction=0.85)
WALL_ROBOT_COMPLETELY_LABELED = _wall_robot(
    "wall-robot-completely-labeled", n_initial=2000, trace_fraction=0.8
)

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b for b in (WALL_ROBOT, WALL_ROBOT_COMPLETELY_LABELED)
}
