"""One run: active-learning rounds on a problem with one method, metrics out.

Each round: (1) consensus labels for the labeled examples from their labels and the previous
round's predictions; (2) K-fold cross-validated fits of the model (or each ensemble member) on
those consensus labels; (3) the method scores every candidate; (4) the lowest scores get one new
label each, from the annotator the assigner picks among those who can still label that example;
(5) the metrics are recorded.

A round buys ``batch_size`` labels, or, with ``round_cost``, labels in score order until their cost
reaches the round's budget (:func:`_spend`).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from common import crowdlab
from common.annotators import Oracle
from common.assigners import ASSIGNERS, AssignmentState
from common.consensus import CONSENSUS_RULES
from common.methods import Method, ScoringState
from common.models import ModelFactory, cross_validated_predictions
from common.problem import Problem
from common.results import METRICS
from common.seeding import RunSeeds

PHASES = ("consensus", "fit", "scoring", "selection", "metrics")


class BudgetError(ValueError):
    """More labels requested in a round than there are candidates left to label, or a round budget
    that no label fits."""


@dataclass
class RunResult:
    metrics: dict[str, np.ndarray]
    round_seconds: list[float]
    phase_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    fits: list = field(default_factory=list)
    """Per round, per member, per fold: what is known of the fit (``epochs``, ``converged``)."""


@dataclass
class LoopState:
    """Everything one round hands to the next: restoring it resumes a run bit-identically.

    ``labels`` is the collected label matrix, ``previous_predictions`` the last round's pool
    predictions ``(P, n_pool, K)`` (None before round 0), ``rng_state`` the run generator's
    ``bit_generator.state``, and ``result`` the metrics and timings of rounds ``0..next_round-1``.
    Model seeds need no state: they are derived from (seed, round, member, fold).
    """

    next_round: int
    labels: np.ndarray
    previous_predictions: Optional[np.ndarray]
    rng_state: dict
    result: RunResult


@dataclass(frozen=True)
class LoopSettings:
    rounds: int
    batch_size: int
    folds: int
    consensus: str
    """Consensus rule from round 1 on (round 0 is always majority vote)."""
    assigner: str = "random"
    """Who answers each label request (:mod:`common.assigners`)."""
    round_cost: Optional[float] = None
    """With a value, each round spends this budget in cost units (:func:`_spend`) instead of buying
    ``batch_size`` labels."""


def run_rounds(
    problem: Problem,
    method: Method,
    models: list[ModelFactory],
    settings: LoopSettings,
    seeds: RunSeeds,
    on_round: Optional[Callable[[int], None]] = None,
    resume_from: Optional[LoopState] = None,
    on_state: Optional[Callable[[LoopState], None]] = None,
) -> RunResult:
    """Run ``settings.rounds`` rounds; ``models`` holds one factory, or the ensemble's members.

    ``resume_from`` resumes from a state that ``on_state`` was given by a run with the same problem,
    method, models, settings and seed; the result is bit-identical to an uninterrupted run.
    ``on_state`` is called after every round, before ``on_round``, with the live state (valid only
    during the call: the next round changes its arrays in place).
    """
    rng = seeds.loop()
    oracle = Oracle(problem.hidden_labels)
    assigner = ASSIGNERS[settings.assigner]
    num_classes = problem.num_classes
    rounds = settings.rounds
    state = _initial_state(problem, rounds, rng) if resume_from is None else resume_from
    rng.bit_generator.state = state.rng_state
    labels = state.labels.copy()
    result = copy.deepcopy(state.result)
    metrics = result.metrics
    previous_predictions = state.previous_predictions  # (P, n_pool, K)

    for round_index in range(state.next_round, rounds):
        start = clock = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            result.phase_seconds[phase] += now - clock
            clock = now

        labeled = ~np.isnan(labels).all(axis=1)
        rule = "majority" if previous_predictions is None else settings.consensus
        consensus = CONSENSUS_RULES[rule](
            labels[labeled],
            None if previous_predictions is None else previous_predictions[:, labeled],
            num_classes,
            rng,
        )
        lap("consensus")

        pool_predictions, test_predictions, fits = _fit_members(
            problem, models, labeled, consensus, settings.folds, seeds, round_index
        )
        result.fits.append(fits)
        lap("fit")

        state = ScoringState(
            labels=labels,
            labeled=labeled,
            pred_probs=pool_predictions.mean(axis=0),
            member_pred_probs=pool_predictions,
            rng=rng,
        )
        scores = np.asarray(method.score(state), dtype=float)
        lap("scoring")

        full_consensus = _full_consensus(labeled, consensus)
        collected_costs = _collected_costs(problem.label_costs, labels)

        def assign(examples: np.ndarray) -> np.ndarray:
            return assigner(
                AssignmentState(labels, examples, oracle.available(labels, examples), full_consensus,
                                state.pred_probs, rng, collected_costs)
            )

        available = oracle.available(labels)
        if settings.round_cost is None:
            chosen = _select(scores, available.any(axis=1), settings.batch_size, rng, method.name)
            annotators = assign(chosen)
        else:
            ranked = _rank(scores, available.any(axis=1), rng, method.name)
            cheapest = _cheapest_label(problem.label_costs, available)
            chosen, annotators = _spend(ranked, settings.round_cost, assign, problem.cost_of, cheapest)
        metrics["num_new_examples"][round_index] = np.count_nonzero(~labeled[chosen])
        lap("selection")

        num_labels = np.sum(~np.isnan(labels), axis=1)
        metrics["labels_per_example"][round_index] = num_labels
        metrics["consensus_accuracy"][round_index] = np.mean(consensus == problem.y_pool[labeled])
        pool_accuracy, correct = pool_label_metrics(labeled, consensus, state.pred_probs, problem.y_pool)
        metrics["pool_label_accuracy"][round_index] = pool_accuracy
        metrics["correct_labels"][round_index] = correct
        metrics["model_accuracy"][round_index] = np.mean(
            test_predictions.mean(axis=0).argmax(axis=1) == problem.y_test
        )
        metrics["label_distribution_entropy"][round_index] = _label_distribution_entropy(
            labels, num_classes
        )
        given = oracle.answer(labels, chosen, annotators)
        metrics["new_label_accuracy"][round_index] = np.mean(given == problem.y_pool[chosen])
        metrics["labels_per_annotator"][round_index] = np.bincount(annotators, minlength=labels.shape[1])
        metrics["label_cost"][round_index] = problem.cost_of(chosen, annotators).sum()
        previous_predictions = pool_predictions
        lap("metrics")

        result.round_seconds.append(time.perf_counter() - start)
        if on_state is not None:
            on_state(LoopState(round_index + 1, labels, previous_predictions, rng.bit_generator.state, result))
        if on_round is not None:
            on_round(round_index)
    return result


def _initial_state(problem: Problem, rounds: int, rng: np.random.Generator) -> LoopState:
    """The state before round 0: the initial labels and zeroed metrics."""
    n_pool = len(problem.initial_labels)
    shapes = {"labels_per_example": (rounds, n_pool), "labels_per_annotator": (rounds, problem.hidden_labels.shape[1])}
    integer = {"num_new_examples", "labels_per_example", "labels_per_annotator", "correct_labels"}
    metrics = {m: np.zeros(shapes.get(m, rounds), dtype=int if m in integer else float) for m in METRICS}
    return LoopState(0, problem.initial_labels, None, rng.bit_generator.state, RunResult(metrics, []))


def _fit_members(problem, models, labeled, consensus, folds, seeds, round_index):
    """Per member: out-of-fold predictions for the labeled pool examples, fold-averaged ones for
    the unlabeled pool and the test set, and the fits' records. Returns ``(P, n_pool, K)``,
    ``(P, n_test, K)`` and ``P`` lists of per-fold records."""
    n_pool, num_classes = len(labeled), problem.num_classes
    pool = np.zeros((len(models), n_pool, num_classes))
    test = np.zeros((len(models), len(problem.y_test), num_classes))
    fits = []
    for member, factory in enumerate(models):
        out_of_fold, (unlabeled, test[member]), records = cross_validated_predictions(
            factory,
            problem.X_pool[labeled],
            consensus,
            [problem.X_pool[~labeled], problem.X_test],
            num_classes,
            folds,
            seeds.model(round_index, member),
        )
        fits.append(records)
        pool[member, labeled] = out_of_fold
        pool[member, ~labeled] = unlabeled
    return pool, test, fits


def _full_consensus(labeled: np.ndarray, consensus: np.ndarray) -> np.ndarray:
    """The consensus label of every pool example, -1 for the unlabeled."""
    full = np.full(len(labeled), -1)
    full[labeled] = consensus
    return full


def shipped_labels(labeled: np.ndarray, consensus: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """The label one would ship for every pool example now, ``(n,)``: the consensus label where the
    example is labeled (``labeled`` ``(n,)`` bool, ``consensus`` one label per labeled example), the
    arg-max of the model's predictions ``pred_probs`` ``(n, K)`` where it is not."""
    shipped = np.argmax(pred_probs, axis=1)
    shipped[labeled] = consensus
    return shipped


def pool_label_metrics(
    labeled: np.ndarray, consensus: np.ndarray, pred_probs: np.ndarray, truth: np.ndarray
) -> tuple[float, int]:
    """``pool_label_accuracy`` (the accuracy over the whole pool of :func:`shipped_labels`) and
    ``correct_labels`` (labeled examples whose consensus label equals ``truth``, ``(n,)``)."""
    shipped = shipped_labels(labeled, consensus, pred_probs)
    return float(np.mean(shipped == truth)), int(np.count_nonzero(consensus == truth[labeled]))


def _select(scores, candidates, batch_size, rng, method_name) -> np.ndarray:
    """The ``batch_size`` candidates with the lowest scores, ties broken at random."""
    if np.count_nonzero(candidates) < batch_size:
        raise BudgetError(
            f"only {np.count_nonzero(candidates)} examples can still get a label, fewer than the batch "
            f"size {batch_size}: lower --batch-size or --rounds"
        )
    return _rank(scores, candidates, rng, method_name)[:batch_size]


def _rank(scores, candidates, rng, method_name) -> np.ndarray:
    """Every candidate (``candidates`` ``(n,)`` bool), lowest score first, ties in a random order
    (one ``rng.random`` draw per candidate)."""
    candidate_index = np.flatnonzero(candidates)
    candidate_scores = scores[candidate_index]
    if np.isnan(candidate_scores).any():
        raise ValueError(f"method {method_name!r} returned NaN scores for candidates")
    order = np.lexsort((rng.random(len(candidate_index)), candidate_scores))
    return candidate_index[order]


def _spend(
    ranked: np.ndarray,
    budget: float,
    assign: Callable[[np.ndarray], np.ndarray],
    cost_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
    cheapest: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Buy ``ranked`` examples in order, each from the annotator ``assign`` picks, until their cost
    reaches ``budget``; the label that overruns it is bought too (the round's overrun is its
    ``label_cost`` minus ``budget``). Returns the examples bought and their annotators.

    ``cheapest`` is the lowest cost any candidate's label can have: the assigner is asked about
    just enough examples to spend what is left if every label cost that, and again (rarely) when
    dearer labels leave budget over. With unit costs and an integer budget ``B`` this asks about the
    first ``B`` examples once, exactly as a ``batch_size`` of ``B`` does (the same random draws).
    """
    if len(ranked) and budget < cheapest:
        raise BudgetError(
            f"--round-cost {budget:g} is smaller than any label the annotators can still give "
            f"(the cheapest costs {cheapest:g}): raise it"
        )
    bought, annotators, spent = [], [], 0.0
    while spent < budget:
        start = sum(map(len, bought))
        if start == len(ranked):
            raise BudgetError(
                f"every candidate's label costs {spent:g} in all, less than --round-cost {budget:g}: "
                "lower --round-cost or --rounds"
            )
        chunk = ranked[start : start + max(1, int(np.ceil((budget - spent) / cheapest)))]
        who = assign(chunk)
        running = spent + np.cumsum(cost_of(chunk, who))
        count = min(int(np.searchsorted(running, budget, side="left")) + 1, len(chunk))
        bought.append(chunk[:count])
        annotators.append(who[:count])
        spent = float(running[count - 1])
    return np.concatenate(bought), np.concatenate(annotators)


def _cheapest_label(label_costs: Optional[np.ndarray], available: np.ndarray) -> float:
    """The lowest cost of the labels in ``available`` (``(n, M)`` bool); 1 without costs."""
    if label_costs is None:
        return 1.0
    return float(label_costs[available].min()) if available.any() else np.inf


def _collected_costs(label_costs: Optional[np.ndarray], labels: np.ndarray) -> Optional[np.ndarray]:
    """The costs of the labels collected so far (NaN elsewhere): what an assigner may know of
    prices; None when every label costs 1."""
    if label_costs is None:
        return None
    return np.where(np.isnan(labels), np.nan, label_costs)


def _label_distribution_entropy(labels: np.ndarray, num_classes: int) -> float:
    """Normalised entropy of the class distribution of every label collected so far."""
    counts = crowdlab.label_counts(labels, num_classes).sum(axis=0)
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)) / np.log(num_classes))
