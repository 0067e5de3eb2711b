"""Replayed crowds: the one problem builder for data sets whose labels real workers gave.

A replayed crowd is a hidden ``(n_pool, n_workers)`` matrix of real labels: row = pool item, column
= worker, value = the class that worker chose, NaN where the worker never labeled the item. The
loop's oracle (:class:`common.annotators.Oracle`) answers a label request for item *i* with one of
row *i*'s labels not handed out yet, into its worker's column; each label is handed out at most
once, and an item whose labels are all out is no longer a candidate. Nothing is ever simulated.

A replayed suite states only what is specific to its data: a loader ``load(data_dir, inputs)``
returning a :class:`ReplayedCrowd` (its split and features already applied), its models and its
defaults; :func:`replay_benchmark` does the rest, the way :func:`common.benchmark.tabular_benchmark`
does for simulated crowds.

Example::

    def load(data_dir: Path, inputs: frozenset) -> ReplayedCrowd:
        data = load_my_crowd(data_dir)
        return ReplayedCrowd(data.X_pool, data.y_pool, data.X_test, data.y_test, data.hidden, num_classes=3)

    MY_CROWD = register_benchmark(replay_benchmark(
        "my-crowd", load, models={"logreg": Model(logreg)}, ensemble=("logreg",), default_model="logreg",
        rounds=20, batch_size=50, n_initial=200, pool_size=700))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from common.annotators import near_random_annotators, random_available
from common.benchmark import Benchmark, ProblemBuilder, labels_per_example
from common.models import Model
from common.problem import Problem
from common.seeding import RunSeeds

__all__ = ["ReplayedCrowd", "crowd_info", "replay_benchmark", "replayed_problem"]


@dataclass
class ReplayedCrowd:
    """What a replayed suite's loader returns: features, gold labels and the real crowd's labels.

    ``X_pool``/``X_test``: any design matrix the suite's models accept with ``shape[0]`` rows (a
    NumPy array or a SciPy sparse matrix). ``y_pool``/``y_test``: gold classes ``0..K-1``.
    ``hidden_labels``: ``(n_pool, n_workers)`` float, the class worker *m* gave item *i*, NaN where
    that worker never labeled it; every worker column must hold at least one label (loaders drop
    workers who labeled no pool item). ``label_costs``: None (each label costs 1) or the real cost
    of each label, same shape, finite and positive where a label exists (CIFAR-10S's seconds).
    ``info``: extra facts recorded with every run (merged after the builder's own).
    """

    X_pool: Any
    y_pool: np.ndarray
    X_test: Any
    y_test: np.ndarray
    hidden_labels: np.ndarray
    num_classes: int
    label_costs: Optional[np.ndarray] = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        hidden = self.hidden_labels
        n_pool = len(self.y_pool)
        if hidden.ndim != 2 or hidden.shape[0] != n_pool:
            raise ValueError(f"hidden_labels must be (n_pool={n_pool}, n_workers), got {hidden.shape}")
        if self.X_pool.shape[0] != n_pool or self.X_test.shape[0] != len(self.y_test):
            raise ValueError("X_pool/X_test must have as many rows as y_pool/y_test")
        given = hidden[~np.isnan(hidden)]
        if not np.all((given == np.round(given)) & (given >= 0) & (given < self.num_classes)):
            raise ValueError(f"hidden_labels must hold classes 0..{self.num_classes - 1} or NaN")
        for name, y in (("y_pool", self.y_pool), ("y_test", self.y_test)):
            if len(y) and not (np.min(y) >= 0 and np.max(y) < self.num_classes):
                raise ValueError(f"{name} must hold classes 0..{self.num_classes - 1}")
        empty = np.flatnonzero(np.all(np.isnan(hidden), axis=0))
        if len(empty):
            raise ValueError(f"worker columns {empty[:5].tolist()} hold no label; drop them in the loader")


def crowd_info(crowd: ReplayedCrowd) -> dict[str, Any]:
    """Facts about the whole crowd recorded with every run: identity source, size, accuracies."""
    hidden, y_pool = crowd.hidden_labels, crowd.y_pool
    given = np.sum(~np.isnan(hidden), axis=0)
    accuracy = np.sum(hidden == y_pool[:, None], axis=0) / given
    near_random = near_random_annotators(accuracy, crowd.num_classes)
    info = {
        "annotator_identity": "real",
        "num_annotators": int(hidden.shape[1]),
        "labels": int(given.sum()),
        "mean_label_accuracy": float(np.sum(hidden == y_pool[:, None]) / given.sum()),
        "annotator_accuracy": np.round(accuracy, 4).tolist(),
        "near_random_annotators": near_random.tolist(),
        "near_random_label_share": float(given[near_random].sum() / given.sum()),
    }
    if crowd.label_costs is not None:
        costs = crowd.label_costs[~np.isnan(hidden)]
        info["label_cost_total"] = float(costs.sum())
        info["label_cost_median"] = float(np.median(costs))
    return info


def replayed_problem(load: Callable[[Path, frozenset], ReplayedCrowd]) -> ProblemBuilder:
    """A problem builder that replays the crowd ``load(data_dir, inputs)`` returns.

    The ``initial_labels`` stream (see :mod:`common.seeding`) picks ``n_initial`` of the pool items
    that have a label, sorted, and for each one of its real labels uniformly at random
    (:func:`common.annotators.random_available`); nothing else is random. The crowd's ``info`` is
    recorded after the builder's facts (:func:`crowd_info`, the initial labels' accuracy and counts).
    """

    def make_problem(data_dir: Path, seeds: RunSeeds, n_initial: int, inputs: frozenset) -> Problem:
        crowd = load(data_dir, inputs)
        hidden = crowd.hidden_labels
        candidates = np.flatnonzero(np.any(~np.isnan(hidden), axis=1))
        if n_initial > len(candidates):
            raise ValueError(f"n_initial={n_initial} exceeds the {len(candidates)} pool items that have a label")
        rng = seeds.initial_labels()
        labeled = np.sort(candidates[rng.choice(len(candidates), n_initial, replace=False)])
        workers = random_available(~np.isnan(hidden[labeled]), rng)
        initial = np.full(hidden.shape, np.nan)
        initial[labeled, workers] = hidden[labeled, workers]
        info = {
            **crowd_info(crowd),
            "initial_label_accuracy": float(np.mean(hidden[labeled, workers] == crowd.y_pool[labeled])),
            "initial_labels_per_example": labels_per_example(initial, labeled),
            **crowd.info,
        }
        return Problem(
            crowd.X_pool, crowd.y_pool, crowd.X_test, crowd.y_test, hidden, initial, crowd.num_classes, info,
            label_costs=crowd.label_costs,
        )

    return make_problem


def replay_benchmark(
    name: str,
    load: Callable[[Path, frozenset], ReplayedCrowd],
    models: dict[str, Model],
    ensemble: tuple[str, ...],
    **defaults: Any,
) -> Benchmark:
    """A benchmark that replays a real crowd (see :func:`replayed_problem`); ``defaults`` are the
    remaining :class:`~common.benchmark.Benchmark` fields (``default_model``, ``rounds``,
    ``batch_size``, ``n_initial``, ``pool_size``, ``seeds``, ``settings``, ...)."""
    return Benchmark(name=name, make_problem=replayed_problem(load), models=models, ensemble=ensemble, **defaults)
