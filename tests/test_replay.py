"""The shared builder of replayed crowds (common/replay.py) on a small synthetic crowd, and the
replay invariants every replayed suite must keep (:func:`check_replay_invariants`, reused by the
suite tests on the real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from common.annotators import Oracle
from common.loop import LoopSettings, run_rounds
from common.methods import METHODS
from common.models import FEATURES, Model
from common.problem import Problem
from common.replay import ReplayedCrowd, replay_benchmark, replayed_problem
from common.seeding import RunSeeds


def small_crowd(n_pool: int = 60, n_workers: int = 8, num_classes: int = 3, seed: int = 0,
                costs: bool = False, sparse_features: bool = False) -> ReplayedCrowd:
    """Each item labeled by 1-4 of the workers (the rest NaN), workers right 70% of the time."""
    rng = np.random.default_rng(seed)
    y_pool, y_test = rng.integers(num_classes, size=n_pool), rng.integers(num_classes, size=30)
    X_pool = rng.normal(size=(n_pool, 4)) + y_pool[:, None]
    X_test = rng.normal(size=(30, 4)) + y_test[:, None]
    hidden = np.full((n_pool, n_workers), np.nan)
    for i in range(n_pool):
        who = rng.choice(n_workers, rng.integers(1, 5), replace=False)
        right = rng.random(len(who)) < 0.7
        hidden[i, who] = np.where(right, y_pool[i], rng.integers(num_classes, size=len(who)))
    hidden[:, 0] = np.where(np.isnan(hidden[:, 0]), y_pool, hidden[:, 0])  # worker 0 labels all: no empty column
    label_costs = np.where(np.isnan(hidden), np.nan, rng.uniform(1, 60, size=hidden.shape)) if costs else None
    if sparse_features:
        X_pool, X_test = sparse.csr_matrix(np.abs(X_pool)), sparse.csr_matrix(np.abs(X_test))
    return ReplayedCrowd(X_pool, y_pool, X_test, y_test, hidden, num_classes, label_costs, {"source": "synthetic"})


def check_replay_invariants(problem: Problem, factory, rounds: int, batch: int, assigner: str, seed: int = 0) -> np.ndarray:
    """Run ``rounds`` rounds of good_random and check, after every round, that the collected labels
    are only real labels, each handed out at most once, from the item's own workers, in the right
    column; returns the final label matrix."""
    hidden = problem.hidden_labels
    seen: list[np.ndarray] = []
    settings = LoopSettings(rounds, batch, 3, "majority", assigner)
    run_rounds(problem, METHODS["good_random"], [factory], settings, RunSeeds(seed), on_state=lambda s: seen.append(s.labels.copy()))
    previous = problem.initial_labels
    available = np.sum(~np.isnan(hidden))
    for labels in seen:
        collected = ~np.isnan(labels)
        assert not np.any(collected & np.isnan(hidden))  # only cells a worker filled: the item's own workers
        assert np.array_equal(labels[collected], hidden[collected])  # the worker's own label, in its column
        kept = ~np.isnan(previous)
        assert np.array_equal(labels[kept], previous[kept])  # nothing handed out twice or overwritten
        added = collected.sum() - kept.sum()
        assert added == min(batch, available - kept.sum())  # each request is a fresh real label
        previous = labels
    return previous


def logistic(seed: int) -> LogisticRegression:
    return LogisticRegression(max_iter=300)


def nearest(seed: int) -> KNeighborsClassifier:
    return KNeighborsClassifier(n_neighbors=3)


def test_initial_labels_are_one_real_label_per_chosen_item_from_the_initial_labels_stream():
    make_problem = replayed_problem(lambda data_dir, inputs: small_crowd())
    problem = make_problem(Path("."), RunSeeds(4), 20, frozenset({FEATURES}))
    counts = np.sum(~np.isnan(problem.initial_labels), axis=1)
    assert np.sum(counts == 1) == 20 and counts.max() == 1
    again = make_problem(Path("."), RunSeeds(4), 20, frozenset({FEATURES}))
    other = make_problem(Path("."), RunSeeds(5), 20, frozenset({FEATURES}))
    assert np.array_equal(problem.initial_labels, again.initial_labels, equal_nan=True)
    assert not np.array_equal(problem.initial_labels, other.initial_labels, equal_nan=True)
    # The data seed alone fixes them (the loop seed does not).
    assert np.array_equal(problem.initial_labels, make_problem(Path("."), RunSeeds(9, data_seed=4), 20,
                                                               frozenset({FEATURES})).initial_labels, equal_nan=True)


def test_initial_labels_pick_every_available_worker_of_an_item():
    crowd = small_crowd()
    make_problem = replayed_problem(lambda data_dir, inputs: crowd)
    chosen = np.zeros(crowd.hidden_labels.shape, dtype=int)
    for seed in range(200):
        chosen += ~np.isnan(make_problem(Path("."), RunSeeds(seed), 60, frozenset()).initial_labels)
    assert np.array_equal(chosen > 0, ~np.isnan(crowd.hidden_labels))  # every real label, no other cell


def test_info_records_the_crowds_facts_then_the_loaders():
    crowd = small_crowd(costs=True)
    problem = replayed_problem(lambda data_dir, inputs: crowd)(Path("."), RunSeeds(0), 10, frozenset())
    info, hidden, given = problem.info, crowd.hidden_labels, ~np.isnan(crowd.hidden_labels)
    assert info["annotator_identity"] == "real" and info["source"] == "synthetic"
    assert info["labels"] == given.sum() and info["num_annotators"] == hidden.shape[1]
    worker = 3
    right = np.sum(hidden[:, worker] == crowd.y_pool)
    assert info["annotator_accuracy"][worker] == pytest.approx(right / given[:, worker].sum(), abs=1e-4)
    labeled = np.flatnonzero(~np.isnan(problem.initial_labels).all(axis=1))
    initial = np.nanmax(problem.initial_labels[labeled], axis=1)
    assert info["initial_label_accuracy"] == pytest.approx(np.mean(initial == crowd.y_pool[labeled]))
    assert info["label_cost_total"] == pytest.approx(np.sum(crowd.label_costs[given]))


def test_label_costs_reach_the_problem():
    crowd = small_crowd(costs=True)
    problem = replayed_problem(lambda data_dir, inputs: crowd)(Path("."), RunSeeds(0), 10, frozenset())
    assert problem.label_costs is crowd.label_costs
    assert np.array_equal(problem.cost_of(np.array([0, 1]), np.array([0, 0])), crowd.label_costs[[0, 1], [0, 0]])


def test_items_without_labels_never_start_labeled():
    crowd = small_crowd()
    crowd.hidden_labels[:30] = np.nan
    make_problem = replayed_problem(lambda data_dir, inputs: crowd)
    problem = make_problem(Path("."), RunSeeds(0), 30, frozenset())
    assert np.all(np.isnan(problem.initial_labels[:30])) and np.all((~np.isnan(problem.initial_labels[30:])).any(axis=1))
    with pytest.raises(ValueError, match="exceeds the 30 pool items that have a label"):
        make_problem(Path("."), RunSeeds(0), 31, frozenset())


@pytest.mark.parametrize("change, message", [
    (lambda c: c.hidden_labels.__setitem__((0, 0), 3.0), "classes 0..2"),
    (lambda c: c.hidden_labels.__setitem__((0, 0), 0.5), "classes 0..2"),
    (lambda c: c.hidden_labels.__setitem__((slice(None), 7), np.nan), "hold no label"),
    (lambda c: setattr(c, "y_pool", c.y_pool[:-1]), "n_pool"),
])
def test_a_malformed_crowd_is_refused(change, message):
    crowd = small_crowd()
    change(crowd)
    with pytest.raises(ValueError, match=message):
        ReplayedCrowd(**vars(crowd))


@pytest.mark.parametrize("assigner", ["random", "best_estimated"])
def test_replay_hands_out_only_real_labels_each_once_until_items_run_dry(assigner):
    problem = replayed_problem(lambda data_dir, inputs: small_crowd())(Path("."), RunSeeds(1), 20, frozenset())
    final = check_replay_invariants(problem, nearest, rounds=30, batch=5, assigner=assigner)
    dry = np.all(np.isnan(problem.hidden_labels) == np.isnan(final), axis=1)
    assert dry.sum() > 30  # 150 of the 175 labels left are out: most items ran dry, and none got more
    with pytest.raises(ValueError, match="cannot give or already gave"):
        taken = np.argwhere(~np.isnan(final))[0]
        Oracle(problem.hidden_labels).answer(final, taken[:1], taken[1:])


def test_sparse_features_run_through_the_loop():
    crowd = small_crowd(sparse_features=True)
    problem = replayed_problem(lambda data_dir, inputs: crowd)(Path("."), RunSeeds(2), 20, frozenset())
    assert sparse.issparse(problem.X_pool)
    check_replay_invariants(problem, logistic, rounds=3, batch=10, assigner="random")


def test_replay_benchmark_passes_its_defaults():
    benchmark = replay_benchmark("synthetic-crowd", lambda data_dir, inputs: small_crowd(), {"logistic": Model(logistic)},
                                 ("logistic",), default_model="logistic", rounds=4, batch_size=5, n_initial=10,
                                 pool_size=60, settings={"split": "none"})
    assert (benchmark.rounds, benchmark.batch_size, benchmark.pool_size, benchmark.settings) == (4, 5, 60, {"split": "none"})
    assert benchmark.make_problem(Path("."), RunSeeds(0), 10, frozenset()).info["annotator_identity"] == "real"
