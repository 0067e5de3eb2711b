import numpy as np
import pytest
from scipy import stats

from common.annotators import Oracle
from common.assigners import (
    ASSIGNERS,
    AssignmentState,
    ie_thresh,
    ie_upper_bounds,
    interval_upper_bound,
    register_assigner,
)


def _state(labels, examples, available, consensus, pred_probs, seed=0):
    return AssignmentState(
        labels=labels,
        examples=np.asarray(examples),
        available=np.asarray(available, dtype=bool),
        consensus=np.asarray(consensus),
        pred_probs=pred_probs,
        rng=np.random.default_rng(seed),
    )


def _random_round(seed, n=60, m=8, k=3, batch=20):
    """A labeled/unlabeled pool with every annotator labeling some shared examples."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    noisy = rng.integers(0, k, (n, m))
    hidden = np.where(rng.random((n, m)) < 0.8, true[:, None], noisy).astype(float)
    labels = np.full((n, m), np.nan)
    for i in range(40):  # 40 labeled examples with 1-3 labels each
        who = rng.choice(m, rng.integers(1, 4), replace=False)
        labels[i, who] = hidden[i, who]
    for a in range(m):  # every annotator on a shared example
        labels[40 + a % 5, [a, (a + 1) % m]] = hidden[40 + a % 5, [a, (a + 1) % m]]
    pred_probs = rng.dirichlet(np.ones(k), n)
    labeled = ~np.isnan(labels).all(axis=1)
    consensus = np.full(n, -1)
    consensus[labeled] = np.nanargmax(
        np.stack([np.sum(labels[labeled] == c, axis=1) for c in range(k)], axis=1)
        + 1e-3 * pred_probs[labeled],
        axis=1,
    )
    examples = rng.choice(n, batch, replace=False)
    oracle = Oracle(hidden)
    available = oracle.available(labels, examples)
    only = np.flatnonzero(available[0])[-1]
    available[0] = False
    available[0, only] = True  # the first chosen example has exactly one available annotator
    return labels, examples, available, consensus, pred_probs


def test_registry_has_the_assigners_and_rejects_duplicates_and_bad_names():
    assert {"random", "best_estimated", "best_value", "ie_thresh"} <= set(ASSIGNERS)
    with pytest.raises(ValueError, match="registered twice"):
        register_assigner("random")(lambda state: None)
    with pytest.raises(ValueError, match="letters, digits"):
        register_assigner("bad name")(lambda state: None)


def test_random_is_the_oracles_draw_bit_for_bit():
    rng = np.random.default_rng(5)
    hidden = rng.integers(0, 3, (50, 7)).astype(float)
    hidden[rng.random(hidden.shape) < 0.2] = np.nan
    labels = np.where(rng.random(hidden.shape) < 0.3, hidden, np.nan)
    oracle = Oracle(hidden)
    examples = np.flatnonzero(oracle.available(labels).any(axis=1))[:30]
    available = oracle.available(labels, examples)

    # the formula the oracle used before assigners, on a generator in the same state
    reference = np.random.default_rng(11)
    keys = np.where(available, reference.random(available.shape), -1.0)
    expected = np.argmax(keys, axis=1)

    state = _state(labels, examples, available, np.full(50, -1), np.full((50, 3), 1 / 3), seed=11)
    assert np.array_equal(ASSIGNERS["random"](state), expected)
    assert state.rng.bit_generator.state == reference.bit_generator.state  # same draws consumed

    # and the oracle itself fills the same cells
    by_oracle = labels.copy()
    oracle.label(by_oracle, examples, np.random.default_rng(11))
    filled = np.argwhere(np.isnan(labels) & ~np.isnan(by_oracle))  # (row, column), rows ascending
    assert np.array_equal(filled[:, 0], np.sort(examples))
    assert np.array_equal(filled[:, 1], expected[np.argsort(examples)])


@pytest.mark.parametrize("name", ["random", "best_estimated", "best_value", "ie_thresh"])
def test_assigners_pick_available_annotators_deterministically(name):
    for seed in range(3):
        inputs = _random_round(seed)
        chosen = ASSIGNERS[name](_state(*inputs, seed=seed))
        available = inputs[2]
        assert chosen.shape == (len(inputs[1]),)
        assert available[np.arange(len(chosen)), chosen].all()
        assert chosen[0] == np.flatnonzero(available[0])[0]  # the only one left for it
        again = ASSIGNERS[name](_state(*inputs, seed=seed))
        assert np.array_equal(chosen, again)


def test_an_assigner_returning_an_unavailable_annotator_is_an_error():
    inputs = _random_round(0)
    first = lambda state: np.zeros(len(state.examples), dtype=int)  # noqa: E731
    register_assigner("always_first_for_test")(first)
    try:
        with pytest.raises(ValueError, match="cannot label"):
            ASSIGNERS["always_first_for_test"](_state(*inputs))
    finally:
        del ASSIGNERS["always_first_for_test"]
    labels, examples, available, consensus, pred_probs = inputs
    available = available.copy()
    available[1] = False
    with pytest.raises(ValueError, match="no remaining annotator"):
        ASSIGNERS["random"](_state(labels, examples, available, consensus, pred_probs))


def test_interval_upper_bound_by_hand():
    # rewards [1, 1, 0, 1]: mean 0.75, sample variance ((3 * 0.25^2 + 0.75^2) / 3) = 0.25
    rewards = np.array([1.0, 1.0, 0.0, 1.0])
    mean = rewards.mean()
    s = np.sqrt(np.sum((rewards - mean) ** 2) / (len(rewards) - 1))
    assert mean == 0.75 and np.isclose(s, 0.5)
    t = stats.t.ppf(1 - 0.05 / 2, df=3)  # 3.182...
    assert np.isclose(t, 3.182446305284263)
    expected = 0.75 + t * 0.5 / np.sqrt(4)  # 1.5456...
    assert np.isclose(interval_upper_bound(3, 4, alpha=0.05), expected)
    # alpha 0.2: t_{0.1, 3} = 1.6377
    assert np.isclose(interval_upper_bound(3, 4, alpha=0.2), 0.75 + stats.t.ppf(0.9, 3) * 0.25)
    # all rewards equal: no spread, the bound is the mean; one observation: unexplored
    assert np.allclose(interval_upper_bound([5, 0], [5, 5]), [1.0, 0.0])
    assert np.isinf(interval_upper_bound(1, 1))


def test_ie_upper_bounds_count_rewards_on_shared_examples_with_pseudo_observations():
    # annotator 0: on shared examples labels [c, c, wrong, c] -> rewards [1, 1, 0, 1], plus one
    # lone label (ignored); pseudo-rewards 0 and 1 -> [1, 1, 0, 1, 0, 1]: 4 of 6.
    labels = np.full((6, 3), np.nan)
    labels[:4, 0] = [0, 1, 0, 2]
    labels[:4, 1] = [0, 1, 1, 2]
    labels[4, 0] = 1  # lone label
    consensus = np.array([0, 1, 1, 2, 1, -1])
    bounds = ie_upper_bounds(labels, consensus)
    r = np.array([1, 1, 0, 1, 0, 1.0])
    s = np.sqrt(np.sum((r - r.mean()) ** 2) / 5)
    assert np.isclose(bounds[0], r.mean() + stats.t.ppf(0.975, 5) * s / np.sqrt(6))
    # annotator 1: rewards [1, 1, 1, 1] + [0, 1]: 5 of 6
    r1 = np.array([1, 1, 1, 1, 0, 1.0])
    s1 = np.sqrt(np.sum((r1 - r1.mean()) ** 2) / 5)
    assert np.isclose(bounds[1], r1.mean() + stats.t.ppf(0.975, 5) * s1 / np.sqrt(6))
    # annotator 2 never labeled: pseudo-rewards only, 0.5 + t_{0.025, 1} * sqrt(0.5) / sqrt(2)
    assert np.isclose(bounds[2], 0.5 + stats.t.ppf(0.975, 1) * np.sqrt(0.5) / np.sqrt(2))
    assert np.isclose(bounds[2], 6.853102, atol=1e-6)


def test_ie_thresh_asks_within_the_threshold_set_and_falls_back_to_the_best_available():
    labels = np.full((6, 3), np.nan)
    labels[:4, 0] = [0, 1, 0, 2]
    labels[:4, 1] = [0, 1, 1, 2]
    labels[4, 2] = 0  # annotator 2: a lone label only, so unexplored (bound 6.85)
    consensus = np.array([0, 1, 1, 2, 0, -1])
    pred_probs = np.full((6, 3), 1 / 3)
    # bounds: annotator 0 (4 of 6) 1.21, annotator 1 (5 of 6) 1.26, annotator 2 6.85
    # example 5: everyone available -> only annotator 2 is in the set (>= 0.8 * 6.85)
    # example 4: annotator 2 labeled it -> fallback: the better of 0 and 1, annotator 1
    examples = np.array([5, 4])
    available = np.array([[True, True, True], [True, True, False]])
    state = _state(labels, examples, available, consensus, pred_probs)
    assert ie_thresh(state).tolist() == [2, 1]
    # epsilon 0: everyone is in the set, so each example gets a random available annotator
    picks = {
        ie_thresh(_state(labels, examples, available, consensus, pred_probs, seed=s), epsilon=0)[0]
        for s in range(40)
    }
    assert picks == {0, 1, 2}
    with pytest.raises(ValueError, match="epsilon"):
        ie_thresh(state, epsilon=1.5)


def test_best_estimated_takes_the_best_available_and_gives_unseen_annotators_the_mean():
    inputs = _random_round(1)
    labels, examples, available, consensus, pred_probs = inputs
    labels = labels.copy()
    labels[:, 7] = np.nan  # annotator 7 has no label: it gets the mean quality of the others
    consensus = np.where(np.isnan(labels).all(axis=1), -1, consensus)
    state = _state(labels, examples, available, consensus, pred_probs)
    quality = state.annotator_quality
    assert np.isnan(quality[7]) and np.isfinite(quality[:7]).all()
    filled = np.where(np.isnan(quality), np.nanmean(quality), quality)
    chosen = ASSIGNERS["best_estimated"](state)
    for row, annotator in enumerate(chosen):
        assert filled[annotator] == filled[available[row]].max()
    # only the unseen annotator and one below the mean available: the unseen one is taken
    worst = int(np.nanargmin(quality))
    only = np.zeros_like(available)
    only[:, [worst, 7]] = True
    state = _state(labels, examples, only, consensus, pred_probs)
    assert np.all(ASSIGNERS["best_estimated"](state) == 7)


@pytest.mark.parametrize("name", ["random", "best_estimated", "best_value", "ie_thresh"])
def test_assigners_work_before_anything_is_labeled(name):
    labels = np.full((10, 4), np.nan)
    available = np.ones((5, 4), dtype=bool)
    available[0, :3] = False
    state = _state(labels, np.arange(5), available, np.full(10, -1), np.full((10, 2), 0.5))
    chosen = ASSIGNERS[name](state)
    assert chosen[0] == 3 and available[np.arange(5), chosen].all()


def _two_annotators_round(second_wrong_every=0, costs=(1.0, 1.0, 1.0)):
    """20 examples labeled by annotators 0 and 1 (1 wrong on every ``second_wrong_every``-th, if
    set; else identical to 0) and a few by annotator 2; each annotator's labels cost ``costs``."""
    truth = np.arange(20) % 2
    labels = np.full((30, 3), np.nan)
    labels[:20, 0] = truth
    labels[:20, 1] = truth
    if second_wrong_every:
        labels[:20:second_wrong_every, 1] = 1 - truth[::second_wrong_every]
    labels[:6, 2] = truth[:6]
    pred_probs = np.full((30, 2), 0.5)
    pred_probs[np.arange(20), truth] = 0.8
    pred_probs[np.arange(20), 1 - truth] = 0.2
    consensus = np.full(30, -1)
    consensus[:20] = truth
    label_costs = np.where(np.isnan(labels), np.nan, np.asarray(costs)[None, :])
    examples = np.arange(20, 30)
    available = np.zeros((10, 3), dtype=bool)
    available[:, :2] = True
    return AssignmentState(labels, examples, available, consensus, pred_probs, np.random.default_rng(0), label_costs)


def test_best_value_picks_the_cheaper_of_two_equally_good_annotators():
    state = _two_annotators_round(costs=(2.0, 1.0, 1.0))
    assert state.annotator_quality[0] == state.annotator_quality[1]  # the same labels: equally good
    assert np.all(ASSIGNERS["best_value"](state) == 1)
    state = _two_annotators_round(costs=(1.0, 1.5, 1.0))
    assert np.all(ASSIGNERS["best_value"](state) == 0)


def test_best_value_picks_the_better_of_two_equally_priced_annotators():
    state = _two_annotators_round(second_wrong_every=3, costs=(2.0, 2.0, 1.0))
    assert state.annotator_quality[0] > state.annotator_quality[1]
    assert np.all(ASSIGNERS["best_value"](state) == 0)
    # ... unless the better one costs more than it is better by: skill above chance (1/2) per cost
    skill = (state.annotator_quality - 0.5) / 0.5
    assert skill[1] > 0
    ratio = skill[0] / skill[1]
    state = _two_annotators_round(second_wrong_every=3, costs=(2.0 * ratio * 1.01, 2.0, 1.0))
    assert np.all(ASSIGNERS["best_value"](state) == 1)
    state = _two_annotators_round(second_wrong_every=3, costs=(2.0 * ratio * 0.99, 2.0, 1.0))
    assert np.all(ASSIGNERS["best_value"](state) == 0)


def test_best_value_costs_come_from_collected_labels_and_unseen_annotators_get_the_mean():
    state = _two_annotators_round(costs=(1.0, 3.0, 2.0))
    labels = state.labels.copy()
    labels[:, 2] = np.nan  # annotator 2 unseen: mean quality of 0 and 1 (equal), mean cost 2
    costs = np.where(np.isnan(labels), np.nan, state.label_costs)
    consensus = state.consensus
    available = np.ones((10, 3), dtype=bool)

    def pick(available):
        return ASSIGNERS["best_value"](AssignmentState(
            labels, state.examples, available, consensus, state.pred_probs, np.random.default_rng(0), costs))

    probe = AssignmentState(labels, state.examples, available, consensus, state.pred_probs,
                            np.random.default_rng(0), costs)
    assert np.array_equal(probe.expected_cost, [1.0, 3.0, np.nan], equal_nan=True)
    assert np.all(pick(available) == 0)  # q / 1 beats the unseen q / 2
    available[:, 0] = False
    assert np.all(pick(available) == 2)  # the unseen q / 2 beats q / 3
    # the mean of each annotator's past labels, whatever they cost
    uneven = costs.copy()
    uneven[:10, 0] = 3.0
    state = AssignmentState(labels, state.examples, available, consensus, state.pred_probs,
                            np.random.default_rng(0), uneven)
    assert state.expected_cost[0] == 2.0


def test_best_value_without_costs_is_best_estimated_bit_for_bit():
    for seed in range(3):
        inputs = _random_round(seed)
        value_state, estimated_state = _state(*inputs, seed=seed), _state(*inputs, seed=seed)
        assert np.nanmin(estimated_state.annotator_quality) > 1 / 3  # every estimate above chance
        assert np.array_equal(ASSIGNERS["best_value"](value_state), ASSIGNERS["best_estimated"](estimated_state))
        assert value_state.rng.bit_generator.state == estimated_state.rng.bit_generator.state


def test_best_value_asks_the_cheapest_when_no_annotator_is_estimated_above_chance():
    labels = np.full((10, 3), np.nan)
    labels[[0, 1, 2], [0, 1, 2]] = [0, 1, 0]  # single labels, uninformative model: quality 1/2 or none
    costs = np.where(np.isnan(labels), np.nan, np.array([[2.0, 0.5, 1.0]]))
    consensus = np.array([0, 1, 0] + [-1] * 7)
    state = AssignmentState(labels, np.arange(4, 8), np.ones((4, 3), dtype=bool), consensus,
                            np.full((10, 2), 0.5), np.random.default_rng(0), costs)
    quality = state.annotator_quality
    assert np.all(np.isnan(quality)) or np.all(quality == quality[0])
    assert np.all(ASSIGNERS["best_value"](state) == 1)


def test_best_value_asks_an_annotator_at_chance_only_when_nobody_better_is_available():
    base = _two_annotators_round(costs=(2.0, 2.0, 0.1))
    state = AssignmentState(base.labels, base.examples, np.ones((10, 3), dtype=bool), base.consensus,
                            base.pred_probs, np.random.default_rng(0), base.label_costs)
    quality = base.annotator_quality.copy()
    quality[2] = 0.5  # annotator 2 estimated at chance (two classes): set the cached estimate by hand
    state.__dict__["annotator_quality"] = quality
    assert not np.any(ASSIGNERS["best_value"](state) == 2)  # 20 times cheaper, but worth nothing
