import dataclasses

import numpy as np
import pytest

from common.loop import (
    BudgetError,
    LoopSettings,
    _select,
    _spend,
    pool_label_metrics,
    run_rounds,
    shipped_labels,
)
from common.methods import METHODS, Method
from common.models import FEATURES
from common.results import METRICS
from common.seeding import RunSeeds


def run(benchmark, method="random", seed=0, rounds=4, batch_size=10, consensus=None):
    problem = benchmark.make_problem(None, RunSeeds(seed), benchmark.n_initial, frozenset({FEATURES}))
    m = METHODS[method]
    settings = LoopSettings(rounds, batch_size, benchmark.folds, consensus or m.consensus)
    return problem, run_rounds(problem, m, benchmark.members(benchmark.default_model, m.ensemble), settings, RunSeeds(seed))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_spends_the_budget_exactly(tiny_benchmark, method):
    problem, result = run(tiny_benchmark, method)
    m = result.metrics
    assert set(m) == set(METRICS)
    assert m["labels_per_example"].shape == (4, len(problem.y_pool))
    for name in ("consensus_accuracy", "model_accuracy", "num_new_examples", "label_distribution_entropy"):
        assert m[name].shape == (4,)
    totals = m["labels_per_example"].sum(axis=1)
    assert totals[0] == np.sum(~np.isnan(problem.initial_labels))
    assert np.all(np.diff(totals) == 10)
    labeled = (m["labels_per_example"] > 0).sum(axis=1)
    assert np.array_equal(np.diff(labeled), m["num_new_examples"][:-1])
    assert np.all((m["consensus_accuracy"] > 0.3) & (m["consensus_accuracy"] <= 1))
    assert np.all((m["label_distribution_entropy"] > 0) & (m["label_distribution_entropy"] <= 1))
    # Nobody labels an example twice: never more labels than annotators.
    assert m["labels_per_example"].max() <= problem.hidden_labels.shape[1]


def test_runs_are_reproducible_and_methods_start_from_the_same_state(tiny_benchmark):
    _, a = run(tiny_benchmark, "activelab", seed=1)
    _, b = run(tiny_benchmark, "activelab", seed=1)
    _, c = run(tiny_benchmark, "entropy", seed=1)
    for name in METRICS:
        assert np.array_equal(a.metrics[name], b.metrics[name])
    for name in ("consensus_accuracy", "model_accuracy"):
        assert a.metrics[name][0] == c.metrics[name][0]
    assert np.array_equal(a.metrics["labels_per_example"][0], c.metrics["labels_per_example"][0])
    _, other_seed = run(tiny_benchmark, "activelab", seed=2)
    assert not np.array_equal(a.metrics["labels_per_example"], other_seed.metrics["labels_per_example"])


@pytest.mark.parametrize("consensus", ["majority", "crowdlab", "dawid-skene"])
def test_every_consensus_rule_runs(tiny_benchmark, consensus):
    _, result = run(tiny_benchmark, "uncertainty", rounds=3, consensus=consensus)
    assert np.all(result.metrics["consensus_accuracy"] > 0.5)


def test_timings_are_recorded_per_round_and_phase(tiny_benchmark):
    _, result = run(tiny_benchmark, rounds=2)
    assert len(result.round_seconds) == 2
    assert set(result.phase_seconds) == {"consensus", "fit", "scoring", "selection", "metrics"}
    assert np.isclose(sum(result.phase_seconds.values()), sum(result.round_seconds), rtol=0.05)


def test_a_budget_beyond_the_candidates_is_an_error(tiny_benchmark):
    with pytest.raises(BudgetError, match="batch size"):
        run(tiny_benchmark, batch_size=len(tiny_benchmark.make_problem(None, RunSeeds(0), 40, frozenset({FEATURES})).y_pool) + 1)


# --------------------------------------------------------------------------------------------
# the labels one would ship: pool_label_accuracy and correct_labels
# --------------------------------------------------------------------------------------------


def test_shipped_labels_are_the_consensus_where_labeled_and_the_model_elsewhere():
    labeled = np.array([True, False, True, False, False])
    consensus = np.array([2, 0])  # examples 0 and 2
    pred_probs = np.array([[0.1, 0.1, 0.8], [0.7, 0.2, 0.1], [0.9, 0.05, 0.05], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6]])
    assert shipped_labels(labeled, consensus, pred_probs).tolist() == [2, 0, 0, 1, 2]
    truth = np.array([2, 0, 1, 1, 0])
    # right: example 0 (consensus), 1 and 3 (model); wrong: 2 (consensus), 4 (model)
    accuracy, correct = pool_label_metrics(labeled, consensus, pred_probs, truth)
    assert accuracy == 3 / 5 and correct == 1
    # with everything labeled the pool accuracy is the consensus accuracy, whatever the model says
    everything = np.ones(5, dtype=bool)
    accuracy, correct = pool_label_metrics(everything, truth.copy(), np.roll(pred_probs, 1, axis=1), truth)
    assert (accuracy, correct) == (1.0, 5)


def test_the_run_records_the_shipped_labels_and_what_the_round_bought(tiny_benchmark):
    problem, result = run(tiny_benchmark, "uncertainty")
    m = result.metrics
    assert m["correct_labels"].dtype.kind == "i" and m["pool_label_accuracy"].dtype.kind == "f"
    labeled = (m["labels_per_example"] > 0).sum(axis=1)
    assert np.array_equal(m["correct_labels"], np.round(m["consensus_accuracy"] * labeled).astype(int))
    # between "every unlabeled example wrong" and "every unlabeled example right"
    n = len(problem.y_pool)
    assert np.all(m["pool_label_accuracy"] >= m["correct_labels"] / n)
    assert np.all(m["pool_label_accuracy"] <= (m["correct_labels"] + n - labeled) / n)
    assert np.array_equal(m["label_cost"], np.full(4, 10.0))  # without costs a label costs 1


# --------------------------------------------------------------------------------------------
# selection (issue 17, item 5)
# --------------------------------------------------------------------------------------------


def test_selection_takes_the_lowest_scores_in_order():
    scores = np.random.default_rng(0).permutation(50).astype(float)
    chosen = _select(scores, np.ones(50, dtype=bool), 7, np.random.default_rng(1), "m")
    assert np.array_equal(scores[chosen], np.arange(7.0))


def test_ties_are_broken_by_the_runs_generator_and_differ_between_seeds():
    scores = np.array([0.0] * 20 + [1.0] * 20)  # 20 tied lowest scores, batch of 5
    candidates = np.ones(40, dtype=bool)
    picks = {seed: _select(scores, candidates, 5, np.random.default_rng(seed), "m") for seed in range(8)}
    assert all(set(p) <= set(range(20)) for p in picks.values())  # ties never beat a lower score
    assert np.array_equal(picks[3], _select(scores, candidates, 5, np.random.default_rng(3), "m"))
    assert len({tuple(sorted(p)) for p in picks.values()}) == 8  # each seed its own draw
    assert all(sorted(p) != [0, 1, 2, 3, 4] for p in picks.values())  # not by index
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    _select(scores, candidates, 5, rng, "m")
    assert rng.bit_generator.state != before  # drawn from the generator it is given


def test_nan_scores_of_candidates_are_an_error_and_those_of_others_are_not():
    scores = np.array([0.3, np.nan, 0.1, 0.2])
    with pytest.raises(ValueError, match="'m' returned NaN"):
        _select(scores, np.ones(4, dtype=bool), 2, np.random.default_rng(0), "m")
    chosen = _select(scores, np.array([True, False, True, True]), 2, np.random.default_rng(0), "m")
    assert sorted(chosen) == [2, 3]


def test_candidates_exclude_examples_no_annotator_can_still_label(tiny_benchmark):
    problem = tiny_benchmark.make_problem(None, RunSeeds(0), tiny_benchmark.n_initial, frozenset({FEATURES}))
    full = np.arange(15)  # every annotator has labeled these already ...
    problem.initial_labels[full] = problem.hidden_labels[full]
    lowest_first = Method("full_first", lambda state: np.where(np.arange(len(state.labeled)) < 15, -1.0, 0.0),
                          "majority", False)  # ... and the method wants them most
    settings = LoopSettings(3, 10, tiny_benchmark.folds, "majority")
    result = run_rounds(problem, lowest_first, tiny_benchmark.members("logistic", False), settings, RunSeeds(0))
    per_example = result.metrics["labels_per_example"]
    assert np.all(per_example[:, full] == problem.hidden_labels.shape[1])
    assert np.all(np.diff(per_example.sum(axis=1)) == 10)
    # and directly: the lowest scores that are not candidates are skipped
    chosen = _select(np.arange(10.0), np.arange(10) >= 4, 3, np.random.default_rng(0), "m")
    assert chosen.tolist() == [4, 5, 6]


# --------------------------------------------------------------------------------------------
# spending a budget in cost units (--round-cost)
# --------------------------------------------------------------------------------------------


def _priced(costs_by_example):
    """An assigner that always picks annotator 0 and a price list per example."""
    def assign(examples):
        return np.zeros(len(examples), dtype=int)

    def cost_of(examples, annotators):
        return np.asarray(costs_by_example, dtype=float)[examples]

    return assign, cost_of


def test_a_round_budget_buys_in_score_order_until_spent_and_the_overrun_label_too():
    costs = [3.0, 1.0, 4.0, 1.5, 2.0, 6.0]
    assign, cost_of = _priced(costs)
    ranked = np.array([4, 1, 3, 0, 2, 5])  # cumulative: 2, 3, 4.5, 7.5, 11.5, 17.5
    bought, annotators = _spend(ranked, 6.0, assign, cost_of, cheapest=1.0)
    assert bought.tolist() == [4, 1, 3, 0]  # 4.5 < 6, then example 0 overruns it to 7.5
    assert cost_of(bought, annotators).sum() - 6.0 == 1.5  # the overrun
    bought, _ = _spend(ranked, 4.5, assign, cost_of, cheapest=1.0)
    assert bought.tolist() == [4, 1, 3]  # spent exactly: no overrun, nothing more
    bought, _ = _spend(ranked, 1.0, assign, cost_of, cheapest=1.0)
    assert bought.tolist() == [4]  # one label over budget
    with pytest.raises(BudgetError, match="--round-cost 0.5 is smaller than any label.*cheapest costs 1"):
        _spend(ranked, 0.5, assign, cost_of, cheapest=1.0)
    with pytest.raises(BudgetError, match="costs 17.5 in all, less than --round-cost 20"):
        _spend(ranked, 20.0, assign, cost_of, cheapest=1.0)


def test_a_round_budget_asks_the_assigner_again_when_dear_labels_leave_budget_over():
    costs = [1.0, 1.0, 5.0, 5.0, 5.0]
    asked = []
    assign, cost_of = _priced(costs)
    bought, _ = _spend(np.arange(5), 8.0, lambda examples: asked.append(examples.tolist()) or assign(examples),
                       cost_of, cheapest=1.0)
    assert bought.tolist() == [0, 1, 2, 3]  # 1, 2, 7, 12
    assert asked == [[0, 1, 2, 3, 4]]  # 8 labels of cost 1 would do: all 5 asked at once
    asked.clear()
    bought, _ = _spend(np.arange(5), 8.0, lambda examples: asked.append(examples.tolist()) or assign(examples),
                       cost_of, cheapest=5.0)
    assert bought.tolist() == [0, 1, 2, 3] and asked == [[0, 1], [2, 3]]  # 2 then ceil(6 / 5) = 2 more


def _costly_problem(tiny_benchmark, seed=0):
    problem = tiny_benchmark.make_problem(None, RunSeeds(seed), tiny_benchmark.n_initial, frozenset({FEATURES}))
    prices = np.linspace(1.0, 3.5, problem.hidden_labels.shape[1])  # annotator m costs prices[m]
    return dataclasses.replace(problem, label_costs=np.broadcast_to(prices, problem.hidden_labels.shape).copy())


def test_a_run_with_uneven_costs_spends_each_round_budget_with_one_overrun_label_at_most(tiny_benchmark):
    problem = _costly_problem(tiny_benchmark)
    m = METHODS["uncertainty"]
    settings = LoopSettings(4, 10, tiny_benchmark.folds, "majority", round_cost=12.0)
    result = run_rounds(problem, m, tiny_benchmark.members("logistic", False), settings, RunSeeds(0))
    spent = result.metrics["label_cost"]
    bought = np.diff(result.metrics["labels_per_example"].sum(axis=1))
    per_annotator = result.metrics["labels_per_annotator"]
    prices = problem.label_costs[0]
    assert np.allclose(spent, per_annotator @ prices)  # what the round bought, at its prices
    assert np.all(spent >= 12.0) and np.all(spent - 12.0 < prices.max())  # the overrun: one label at most
    assert np.array_equal(bought, per_annotator.sum(axis=1)[:-1])
    assert len(set(per_annotator.sum(axis=1))) > 1  # uneven costs buy uneven counts
    with pytest.raises(BudgetError, match="--round-cost 0.9 is smaller than any label"):
        run_rounds(problem, m, tiny_benchmark.members("logistic", False),
                   dataclasses.replace(settings, round_cost=0.9), RunSeeds(0))


def test_a_round_budget_of_b_unit_labels_is_a_batch_of_b_bit_for_bit(tiny_benchmark):
    problem = tiny_benchmark.make_problem(None, RunSeeds(2), tiny_benchmark.n_initial, frozenset({FEATURES}))
    members = tiny_benchmark.members("logistic", False)
    m = METHODS["activelab"]
    by_count = run_rounds(problem, m, members, LoopSettings(3, 10, 3, "crowdlab", "best_estimated"), RunSeeds(2))
    by_cost = run_rounds(problem, m, members, LoopSettings(3, 10, 3, "crowdlab", "best_estimated", 10.0), RunSeeds(2))
    for name in METRICS:
        assert np.array_equal(by_count.metrics[name], by_cost.metrics[name]), name
