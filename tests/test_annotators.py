import numpy as np
import pytest

from common.annotators import (
    Oracle,
    accuracy_price,
    initial_label_matrix,
    price_labels,
    simulate_annotators,
    simulate_individual_annotators,
)


def test_simulated_annotators_follow_the_noise_matrix_and_prior():
    rng = np.random.default_rng(0)
    true = rng.choice(4, size=3000, p=[0.4, 0.3, 0.1, 0.2])
    hidden, noise = simulate_annotators(true, 30, 0.85, 4, seed=7)
    assert hidden.shape == (3000, 30)
    assert np.isclose(np.trace(noise), 0.85 * 4)
    assert np.allclose(noise.sum(axis=0), 1.0)  # columns: P(given label | true label)
    # Empirical P(label = i | true = j) is close to the noise matrix.
    for j in range(4):
        given = hidden[true == j].ravel().astype(int)
        assert np.allclose(np.bincount(given, minlength=4) / given.size, noise[:, j], atol=0.02)


def test_simulation_is_seeded_and_leaves_the_global_generator_alone():
    true = np.repeat(np.arange(3), 50)
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    a, _ = simulate_annotators(true, 5, 0.8, 3, seed=1)
    assert np.random.random() == expected_next
    b, _ = simulate_annotators(true, 5, 0.8, 3, seed=1)
    c, _ = simulate_annotators(true, 5, 0.8, 3, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_initial_labels_are_mostly_single_and_every_annotator_overlaps():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 4, size=2000)
    hidden, _ = simulate_annotators(true, 30, 0.85, 4, seed=0)
    labeled = np.sort(rng.choice(2000, 500, replace=False))
    labels = initial_label_matrix(hidden, labeled, rng)
    counts = np.sum(~np.isnan(labels), axis=1)
    assert np.all(counts[labeled] >= 1) and np.all(np.delete(counts, labeled) == 0)
    assert 0.86 <= np.mean(counts[labeled] == 1) <= 0.94
    assert 0.05 <= np.mean(counts[labeled] == 2) <= 0.13
    present = ~np.isnan(labels)
    collected = present
    assert np.array_equal(labels[collected], hidden[collected])
    for annotator in np.flatnonzero(present.any(axis=0)):
        assert np.any(present[:, annotator] & (counts >= 2)), annotator


def test_oracle_never_asks_an_annotator_twice_and_respects_missing_labels():
    rng = np.random.default_rng(0)
    hidden = rng.integers(0, 3, size=(5, 4)).astype(float)
    hidden[0, :2] = np.nan  # example 0 can only be labeled by annotators 2 and 3
    oracle = Oracle(hidden)
    labels = np.full(hidden.shape, np.nan)
    for _ in range(2):
        oracle.label(labels, np.array([0, 1]), rng)
    assert np.array_equal(np.flatnonzero(~np.isnan(labels[0])), [2, 3])
    assert np.sum(~np.isnan(labels[1])) == 2
    assert np.array_equal(labels[~np.isnan(labels)], hidden[~np.isnan(labels)])
    assert not oracle.available(labels)[0].any()
    with pytest.raises(ValueError, match="no remaining annotator"):
        oracle.label(labels, np.array([0]), rng)


def test_individual_annotators_follow_their_own_noise_matrices():
    rng = np.random.default_rng(0)
    true = rng.choice(4, size=20000, p=[0.37, 0.3, 0.1, 0.23])
    hidden, matrices, accuracy = simulate_individual_annotators(true, 30, 4, seed=3)
    assert hidden.shape == (20000, 30) and len(matrices) == 30 and accuracy.shape == (30,)
    prior = np.bincount(true, minlength=4) / len(true)
    for m, matrix in enumerate(matrices):
        assert np.allclose(matrix.sum(axis=0), 1.0) and np.all(matrix >= 0)
        assert np.isclose(accuracy[m], prior @ np.diag(matrix))
        # cleanlab flips floor(N[i, j] * count_j) labels per cell: exact up to rounding
        assert abs(np.mean(hidden[:, m] == true) - accuracy[m]) < 0.003, m
        given = hidden[true == 2, m].astype(int)
        assert np.allclose(np.bincount(given, minlength=4) / given.size, matrix[:, 2], atol=0.01)
    assert len({round(a, 6) for a in accuracy}) == 30  # every annotator has its own quality


def test_individual_annotators_mix_good_and_near_random_workers_around_the_target_mean():
    rng = np.random.default_rng(1)
    true = rng.choice(4, size=2000, p=[0.37, 0.3, 0.1, 0.23])
    for target in (0.85, 0.8):
        means = []
        for seed in range(8):
            _, matrices, accuracy = simulate_individual_annotators(
                true, 30, 4, seed=seed, trace_fraction=target
            )
            fractions = np.array([np.trace(m) for m in matrices]) / 4
            # exactly round(0.1 * 30) = 3 near-random workers, within 0.1 of chance (1/4)
            assert np.sum(fractions <= 0.35 + 1e-9) == 3
            assert np.all(fractions >= 0.25 - 1e-9) and np.all(fractions < 1)
            means.append(accuracy.mean())
            assert abs(accuracy.mean() - target) < 0.06
        assert abs(np.mean(means) - target) < 0.02
    # many annotators: the mean of the expected accuracies converges to the target
    _, _, accuracy = simulate_individual_annotators(true, 600, 4, seed=0, trace_fraction=0.8)
    assert abs(accuracy.mean() - 0.8) < 0.015
    assert np.sum(accuracy < 0.5) >= 50  # the near-random share is there (60 drawn)


def test_individual_annotators_are_seeded_and_leave_the_global_generator_alone():
    true = np.repeat(np.arange(3), 60)
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    a, matrices_a, acc_a = simulate_individual_annotators(true, 6, 3, seed=1, trace_fraction=0.8)
    assert np.random.random() == expected_next
    b, matrices_b, acc_b = simulate_individual_annotators(true, 6, 3, seed=1, trace_fraction=0.8)
    c, _, _ = simulate_individual_annotators(true, 6, 3, seed=2, trace_fraction=0.8)
    assert np.array_equal(a, b) and np.array_equal(acc_a, acc_b) and not np.array_equal(a, c)
    assert all(np.array_equal(x, y) for x, y in zip(matrices_a, matrices_b))


def test_individual_annotators_reject_an_unreachable_mean():
    true = np.repeat(np.arange(4), 10)
    with pytest.raises(ValueError, match="trace_fraction"):
        simulate_individual_annotators(true, 10, 4, seed=0, trace_fraction=0.2)
    with pytest.raises(ValueError, match="cannot be reached"):
        simulate_individual_annotators(true, 10, 4, seed=0, trace_fraction=0.5, spammer_share=0.9)


def test_accuracy_prices_rise_from_1_at_chance_to_2_for_a_perfect_annotator():
    prices = accuracy_price(np.array([0.1, 0.25, 0.625, 1.0]), num_classes=4)
    assert prices.tolist() == [1.0, 1.0, 1.5, 2.0]


def test_price_labels_charges_each_annotator_its_price_for_every_label_it_can_give():
    truth = np.array([0, 1, 2, 0])
    hidden = np.array([[0, 0], [1, 0], [2, np.nan], [0, 1]], dtype=float)  # accuracies 1 and 1/3
    costs, prices = price_labels(hidden, truth, 3, "accuracy")
    assert np.allclose(prices, [2.0, 1.0])
    assert np.array_equal(costs, np.array([[2, 1], [2, 1], [2, np.nan], [2, 1]]), equal_nan=True)
    costs, prices = price_labels(hidden, truth, 3, "flat")
    assert np.array_equal(prices, [1, 1]) and np.array_equal(np.isnan(costs), np.isnan(hidden))
    with pytest.raises(ValueError, match="unknown annotator cost scheme 'gold'; choose from: flat, accuracy"):
        price_labels(hidden, truth, 3, "gold")
