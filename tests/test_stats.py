from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from common import stats


def test_t_interval_hand_computed():
    mean, low, high = stats.t_interval(np.array([1.0, 2.0, 3.0]))
    half = 4.302653 / np.sqrt(3)  # t(0.975, df=2) = 4.3027 from a t table; sd = 1
    assert mean == pytest.approx(2.0)
    assert low == pytest.approx(2.0 - half, abs=1e-5) and high == pytest.approx(2.0 + half, abs=1e-5)


def test_t_interval_per_round_matches_scipy():
    values = np.random.default_rng(0).normal(size=(5, 4))  # 5 seeds, 4 rounds
    mean, low, high = stats.t_interval(values, level=0.9)
    for r in range(4):
        column = values[:, r]
        expected = scipy_stats.t.interval(0.9, df=4, loc=column.mean(), scale=scipy_stats.sem(column))
        assert (low[r], high[r]) == pytest.approx(expected)


def test_t_interval_of_one_seed_is_unknown():
    mean, low, high = stats.t_interval(np.array([[0.5, 0.6]]))
    np.testing.assert_allclose(mean, [0.5, 0.6])
    assert np.isnan(low).all() and np.isnan(high).all()


def test_mean_std_is_the_sample_std():
    assert stats.mean_std(np.array([1.0, 2.0, 3.0])) == (2.0, 1.0)
    mean, std = stats.mean_std(np.array([0.7]))
    assert mean == 0.7 and np.isnan(std)


def test_auc_is_mean_over_rounds():
    np.testing.assert_allclose(stats.auc(np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 4.0]])), [1.0, 2.0])


def test_ranks_best_first_with_ties_averaged():
    scores = np.array([[0.9, 0.8, 0.7], [0.5, 0.5, 0.9]])
    np.testing.assert_allclose(stats.rank_matrix(scores), [[1, 2, 3], [2.5, 2.5, 1]])
    np.testing.assert_allclose(stats.average_ranks(scores), [1.75, 2.25, 2.0])


def test_labels_to_reach():
    curve = np.array([0.5, 0.7, 0.9, 0.8])
    n_labels = np.array([100, 200, 300, 400])
    assert stats.labels_to_reach(curve, n_labels, 0.7) == 200  # reaching exactly counts
    assert stats.labels_to_reach(curve, n_labels, 0.85) == 300
    assert stats.labels_to_reach(curve, n_labels, 0.95) is None


def test_holm_hand_computed():
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone 0.06
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(stats.holm([0.5, 0.6]), [1.0, 1.0])  # capped at 1
    adjusted = stats.holm([0.02, np.nan, 0.04])
    np.testing.assert_allclose(adjusted[[0, 2]], [0.04, 0.04])
    assert np.isnan(adjusted[1])


def test_wilcoxon_exact_p_of_six_positive_differences():
    # all 2^6 sign patterns equally likely; only all-positive and all-negative are as extreme
    assert stats.wilcoxon_p(np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])) == pytest.approx(2 / 64)
    assert stats.wilcoxon_p(np.zeros(8)) == 1.0


def test_paired_tests_match_scipy_with_holm():
    rng = np.random.default_rng(1)
    differences = {"a": rng.normal(0.3, 1, 8), "b": rng.normal(0.0, 1, 8), "c": rng.normal(1.0, 0.5, 8)}
    tests = stats.paired_tests(differences, "random")
    p = [scipy_stats.wilcoxon(d).pvalue for d in differences.values()]
    adjusted = stats.holm(p)
    for test, name, raw, holm in zip(tests, differences, p, adjusted):
        assert test.method == name and test.reference == "random" and test.n_seeds == 8
        assert test.p_value == pytest.approx(raw) and test.p_holm == pytest.approx(holm)
        assert test.mean_difference == pytest.approx(differences[name].mean())
        assert test.note == ""


def test_paired_tests_with_few_seeds_give_a_note_instead_of_p():
    tests = stats.paired_tests({"a": np.array([1.0, 1.0, -2.0, 0.0, 1.0]), "b": np.arange(1.0, 9.0)}, "random")
    assert (tests[0].wins, tests[0].losses) == (3, 1) and (tests[1].wins, tests[1].losses) == (8, 0)
    assert np.isnan(tests[0].p_value) and np.isnan(tests[0].p_holm)
    assert "5 seeds" in tests[0].note and "too few" in tests[0].note
    assert tests[1].p_value == pytest.approx(2 / 2**8) and tests[1].p_holm == pytest.approx(2 / 2**8)


def test_friedman_matches_formula_without_ties():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(7, 4)) + np.array([0.0, 0.5, 1.0, 1.5])
    n, k = scores.shape
    rank_sums = scipy_stats.rankdata(scores, axis=1).sum(axis=0)
    chi2 = 12 / (n * k * (k + 1)) * np.sum(rank_sums**2) - 3 * n * (k + 1)
    result = stats.friedman(scores)
    assert result.statistic == pytest.approx(chi2)
    assert result.p_value == pytest.approx(scipy_stats.chi2.sf(chi2, k - 1))
    assert (result.n_blocks, result.n_methods) == (7, 4)
    assert stats.friedman(scores[:, :2]) is None and stats.friedman(scores[:1]) is None


@pytest.mark.parametrize("k, q", [(2, 1.960), (4, 2.569), (10, 3.164)])
def test_critical_difference_matches_demsar_table(k, q):
    n = 12
    assert stats.critical_difference(k, n) == pytest.approx(q * np.sqrt(k * (k + 1) / (6 * n)), abs=2e-3)


def test_cliques_join_methods_within_cd():
    ranks = np.array([1.0, 1.5, 3.0, 3.2, 5.0])
    assert stats.cliques(ranks, 1.0) == [(0, 1), (2, 3)]
    assert stats.cliques(ranks, 2.5) == [(0, 1, 2, 3), (2, 3, 4)]
    assert stats.cliques(ranks, 0.1) == []
