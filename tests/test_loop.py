import numpy as np
import pytest

from common.loop import BudgetError, LoopSettings, run_rounds
from common.methods import METHODS
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
