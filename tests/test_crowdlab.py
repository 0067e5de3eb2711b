"""Parity of common.crowdlab with cleanlab 2.9.0's multiannotator module (CROWDLAB, ActiveLab),
with cleanlab's float-label ``value_counts`` bug corrected where the temperature search uses it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import cleanlab.internal.multiannotator_utils as mu
import cleanlab.multiannotator as ma
from cleanlab.internal.util import value_counts as upstream_value_counts

from common import crowdlab as C

SEEDS = [0, 1, 2, 3]
ATOL = 1e-15  # measured: the parity comparisons are exact here, ours vs ours within 2.2e-16


def _bug_present() -> bool:
    return list(upstream_value_counts(np.array([2.0]), num_classes=4)) != [0, 0, 1, 0]


def fixed_value_counts(x, *, num_classes=None, multi_label=False):
    """Correct counts for float labels: label k in column k."""
    x = np.asarray(x)
    if num_classes is None:
        return np.unique(x, return_counts=True)[1]
    return np.bincount(x.astype(int), minlength=num_classes)


@pytest.fixture
def patched(monkeypatch):
    # compute_soft_cross_entropy looks the name up in multiannotator_utils' namespace
    monkeypatch.setattr(mu, "value_counts", fixed_value_counts)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def make_data(seed, n=200, m=8, k=4, u=300, p=None, informative=False, counts=(1, 1, 1, 1, 2, 3, 4, 5)):
    """Noisy annotators of varying accuracy, mostly one label per example, some 2-5."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    accuracy = rng.uniform(0.4, 0.95, m)
    n_labels = rng.choice(counts, size=n)
    labels = np.full((n, m), np.nan)
    for i in range(n):
        who = rng.choice(m, n_labels[i], replace=False)
        correct = rng.random(len(who)) < accuracy[who]
        labels[i, who] = np.where(correct, truth[i], rng.integers(0, k, len(who)))
    lead = (1,) if p is None else (p,)

    def probs(rows, target):
        # Dirichlet draws (normalised gammas), concentrated on `target` if given
        alpha = np.ones(lead + (rows, k))
        if target is not None:
            alpha[..., np.arange(rows), target] = 8.0
        gamma = rng.gamma(alpha)
        out = gamma / gamma.sum(axis=-1, keepdims=True)
        return out[0] if p is None else out

    first = np.nan_to_num(labels, nan=-1).max(axis=1).astype(int)
    pred_probs = probs(n, first if informative else None)
    pred_probs_unlabeled = probs(u, None)
    return labels, pred_probs, pred_probs_unlabeled


def close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=0, atol=ATOL)


# ------------------------------------------------------------------ hand-checked small numbers


def test_label_counts_by_hand():
    labels = np.array([[0, np.nan, 2], [2, 2, np.nan], [np.nan, np.nan, 3], [1, 1, 1]])
    expected = [[1, 0, 1, 0], [0, 0, 2, 0], [0, 0, 0, 1], [0, 3, 0, 0]]
    np.testing.assert_array_equal(C.label_counts(labels, 4), expected)
    assert C.label_counts(labels, 4).dtype.kind == "i"
    with pytest.raises(ValueError):
        C.label_counts(labels, 3)


def test_majority_vote_by_hand():
    # annotators A, B, C; examples 0 and 1 have a unique mode: A and B agree with it every time
    # (agreement 1.0), C on example 1 only (0.5). Class frequencies: 0 -> 3, 1 -> 3, 2 -> 4.
    labels = np.array(
        [
            [0, 0, 1],  # unique mode 0
            [2, 2, 2],  # unique mode 2
            [1, np.nan, 2],  # tie {1, 2}: class 1 is rarer (3 < 4) -> 1
            [0, np.nan, 1],  # tie {0, 1}, equal frequency: A (1.0) beats C (0.5) -> 0
        ]
    )
    np.testing.assert_array_equal(C.majority_vote(labels, None, 3), [0, 2, 1, 0])
    np.testing.assert_array_equal(ma.get_majority_vote_label(labels, verbose=False), [0, 2, 1, 0])
    pred_probs = np.array(
        [[0.1, 0.8, 0.1], [0.5, 0.2, 0.3], [0.1, 0.3, 0.6], [0.4, 0.4, 0.2]]
    )
    # example 2: pred_probs prefer class 2; example 3: pred_probs tie, falls through to annotators
    np.testing.assert_array_equal(C.majority_vote(labels, pred_probs, 3), [0, 2, 2, 0])
    np.testing.assert_array_equal(ma.get_majority_vote_label(labels, pred_probs, verbose=False), [0, 2, 2, 0])


def test_majority_vote_random_fallback_uses_rng():
    # one tie that nothing resolves: equal frequencies, annotators of equal agreement
    labels = np.array([[0, 0, np.nan, np.nan], [np.nan, np.nan, 1, 1], [0, np.nan, 1, np.nan]])
    draws = {int(C.majority_vote(labels, None, 2, np.random.default_rng(s))[2]) for s in range(40)}
    assert draws == {0, 1}
    a = C.majority_vote(labels, None, 2, np.random.default_rng(7))
    b = C.majority_vote(labels, None, 2, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(C.majority_vote(labels, None, 2)[:2], [0, 1])


# ------------------------------------------------------------------ parity with cleanlab


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("probs", ["none", "rounded", "continuous"])
def test_majority_vote_parity(seed, probs, monkeypatch):
    labels, pred_probs, _ = make_data(seed, n=300, m=6, k=4, counts=(1, 2, 2, 3, 4))
    pred_probs = {"none": None, "rounded": np.round(pred_probs, 1), "continuous": pred_probs}[probs]
    random_sets = []

    def record_choice(a):
        random_sets.append(set(int(x) for x in a))
        return -1

    monkeypatch.setattr(ma.np.random, "choice", record_choice)
    expected = ma.get_majority_vote_label(labels, pred_probs, verbose=False)
    monkeypatch.undo()
    ours = C.majority_vote(labels, pred_probs, 4, np.random.default_rng(seed))
    decided = expected >= 0
    np.testing.assert_array_equal(ours[decided], expected[decided])
    # examples cleanlab left to np.random.choice: ours picked one of the same tied classes
    assert [int(x) in s for x, s in zip(ours[~decided], random_sets)] == [True] * len(random_sets)
    assert decided.mean() > 0.9


@pytest.mark.parametrize("seed", SEEDS)
def test_annotator_agreement_from_counts(seed):
    labels, _, _ = make_data(seed)
    num_annotations = np.sum(~np.isnan(labels), axis=1)
    expected = ma._get_annotator_agreement_with_annotators(labels, num_annotations, verbose=False)
    ours = C._annotator_agreement_with_annotators(C._entries(labels, 4))
    close(ours, expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_crowdlab_parity(seed):
    labels, pred_probs, _ = make_data(seed)
    expected = ma.get_label_quality_multiannotator(labels, pred_probs, return_weights=True, verbose=False)
    ours = C.crowdlab(labels, pred_probs)
    quality = expected["label_quality"]
    np.testing.assert_array_equal(ours.consensus_label, quality["consensus_label"].to_numpy())
    close(ours.consensus_quality, quality["consensus_quality_score"].to_numpy())
    close(ours.model_weight, expected["model_weight"])
    close(ours.annotator_weight, expected["annotator_weight"])
    assert isinstance(ours.model_weight, float)
    assert ours.post_pred_probs.shape == pred_probs.shape


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n_models", [1, 3])
def test_crowdlab_ensemble_parity(seed, n_models):
    labels, pred_probs, _ = make_data(seed, p=n_models)
    expected = ma.get_label_quality_multiannotator_ensemble(
        labels, pred_probs.copy(), return_weights=True, verbose=False
    )
    ours = C.crowdlab(labels, pred_probs)
    quality = expected["label_quality"]
    np.testing.assert_array_equal(ours.consensus_label, quality["consensus_label"].to_numpy())
    close(ours.consensus_quality, quality["consensus_quality_score"].to_numpy())
    close(ours.model_weight, expected["model_weight"])
    assert ours.model_weight.shape == (n_models,)
    close(ours.annotator_weight, expected["annotator_weight"])


@pytest.mark.parametrize("temperature", [0.1, 0.35, 1, 2.5, 8])
def test_temperature_scale_parity(temperature):
    _, pred_probs, _ = make_data(0)
    pred_probs[:5, 0] = 0.0  # clipping path
    close(C.temperature_scale(pred_probs, temperature), mu.temp_scale_pred_probs(pred_probs, temperature))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("informative", [False, True])
def test_best_temperature_parity(seed, informative, patched):
    labels, pred_probs, _ = make_data(seed, informative=informative)
    assert C.best_temperature(labels, pred_probs) == pytest.approx(
        mu.find_best_temp_scaler(labels, pred_probs), abs=1e-12
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("informative", [False, True])
def test_activelab_parity(seed, informative, patched):
    labels, pred_probs, unlabeled = make_data(seed, informative=informative)
    expected = ma.get_active_learning_scores(labels, pred_probs, unlabeled)
    ours = C.activelab_scores(labels, pred_probs, unlabeled)
    close(ours[0], expected[0])
    close(ours[1], expected[1])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("informative", [False, True])
def test_activelab_ensemble_parity(seed, informative, patched):
    labels, pred_probs, unlabeled = make_data(seed, p=3, informative=informative)
    expected = ma.get_active_learning_scores_ensemble(labels, pred_probs.copy(), unlabeled.copy())
    ours = C.activelab_scores_ensemble(labels, pred_probs, unlabeled)
    close(ours[0], expected[0])
    close(ours[1], expected[1])


# ------------------------------------------------------------------ the upstream bug


def test_upstream_value_counts_bug():
    if not _bug_present():
        pytest.skip("installed cleanlab counts float labels correctly: value_counts bug fixed upstream")
    np.testing.assert_array_equal(upstream_value_counts(np.array([2.0]), num_classes=4), [1, 0, 0, 0])
    np.testing.assert_array_equal(C.label_counts(np.array([[2.0]]), 4), [[0, 0, 1, 0]])


def test_upstream_bug_changes_activelab(monkeypatch):
    if not _bug_present():
        pytest.skip("installed cleanlab counts float labels correctly: value_counts bug fixed upstream")
    labels, pred_probs, unlabeled = make_data(0, informative=True)
    ours_temperature = C.best_temperature(labels, pred_probs)
    assert mu.find_best_temp_scaler(labels, pred_probs) != pytest.approx(ours_temperature)
    ours = C.activelab_scores(labels, pred_probs, unlabeled)
    buggy = ma.get_active_learning_scores(labels, pred_probs, unlabeled)
    assert np.abs(ours[0] - buggy[0]).max() > 1e-3
    assert np.abs(ours[1] - buggy[1]).max() > 1e-3

    labels_e, pred_probs_e, unlabeled_e = make_data(0, p=3, informative=True)
    ours_e = C.activelab_scores_ensemble(labels_e, pred_probs_e, unlabeled_e)
    buggy_e = ma.get_active_learning_scores_ensemble(labels_e, pred_probs_e.copy(), unlabeled_e.copy())
    assert np.abs(ours_e[0] - buggy_e[0]).max() > 1e-3

    monkeypatch.setattr(mu, "value_counts", fixed_value_counts)
    assert mu.find_best_temp_scaler(labels, pred_probs) == pytest.approx(ours_temperature, abs=1e-12)
    fixed = ma.get_active_learning_scores(labels, pred_probs, unlabeled)
    close(ours[0], fixed[0])
    close(ours[1], fixed[1])
    fixed_e = ma.get_active_learning_scores_ensemble(labels_e, pred_probs_e.copy(), unlabeled_e.copy())
    close(ours_e[0], fixed_e[0])
    close(ours_e[1], fixed_e[1])


# ------------------------------------------------------------------ edge cases


def _with_empty_columns(labels, positions=(0, 3)):
    out = labels
    for position in positions:
        out = np.insert(out, position, np.nan, axis=1)
    out = np.concatenate([out, np.full((len(out), 1), np.nan)], axis=1)
    empty = np.isnan(out).all(axis=0)
    return out, empty


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_empty_annotator_columns(seed, patched):
    labels, pred_probs, unlabeled = make_data(seed)
    padded, empty = _with_empty_columns(labels)
    with pytest.raises(ValueError):
        ma.get_label_quality_multiannotator(padded, pred_probs, verbose=False)

    expected = ma.get_label_quality_multiannotator(labels, pred_probs, return_weights=True, verbose=False)
    ours = C.crowdlab(padded, pred_probs)
    np.testing.assert_array_equal(ours.consensus_label, expected["label_quality"]["consensus_label"])
    close(ours.consensus_quality, expected["label_quality"]["consensus_quality_score"])
    assert ours.annotator_weight.shape == (padded.shape[1],)
    assert np.isnan(ours.annotator_weight[empty]).all()
    close(ours.annotator_weight[~empty], expected["annotator_weight"])

    for got, want in zip(
        C.activelab_scores(padded, pred_probs, unlabeled),
        ma.get_active_learning_scores(labels, pred_probs, unlabeled),
    ):
        close(got, want)

    labels_e, pred_probs_e, unlabeled_e = make_data(seed, p=3)
    padded_e, _ = _with_empty_columns(labels_e)
    for got, want in zip(
        C.activelab_scores_ensemble(padded_e, pred_probs_e, unlabeled_e),
        ma.get_active_learning_scores_ensemble(labels_e, pred_probs_e.copy(), unlabeled_e.copy()),
    ):
        close(got, want)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_all_single_label(seed):
    labels, pred_probs, unlabeled = make_data(seed, counts=(1,))
    padded, empty = _with_empty_columns(labels, positions=(2,))
    with pytest.raises(ValueError):
        ma.get_label_quality_multiannotator(labels, pred_probs, verbose=False)

    ours = C.crowdlab(padded, pred_probs)
    given = np.nanmax(labels, axis=1).astype(int)
    np.testing.assert_array_equal(ours.consensus_label, given)
    close(ours.consensus_quality, pred_probs[np.arange(len(given)), given])
    assert ours.model_weight == 1.0
    assert np.isnan(ours.annotator_weight[empty]).all() and (ours.annotator_weight[~empty] == 1).all()

    for got, want in zip(
        C.activelab_scores(padded, pred_probs, unlabeled),
        ma.get_active_learning_scores(labels, pred_probs, unlabeled),
    ):
        close(got, want)

    labels_e, pred_probs_e, unlabeled_e = make_data(seed, p=3, counts=(1,))
    ours_e = C.crowdlab(labels_e, pred_probs_e)
    mean = pred_probs_e.mean(axis=0)
    given_e = np.nanmax(labels_e, axis=1).astype(int)
    np.testing.assert_array_equal(ours_e.consensus_label, given_e)
    close(ours_e.consensus_quality, mean[np.arange(len(given_e)), given_e])
    np.testing.assert_array_equal(ours_e.model_weight, np.ones(3))
    for got, want in zip(
        C.activelab_scores_ensemble(labels_e, pred_probs_e, unlabeled_e),
        ma.get_active_learning_scores_ensemble(labels_e, pred_probs_e.copy(), unlabeled_e.copy()),
    ):
        close(got, want)


def test_missing_or_empty_labeled_or_unlabeled(patched):
    labels, pred_probs, unlabeled = make_data(5)
    k = pred_probs.shape[1]
    expected_labeled, _ = ma.get_active_learning_scores(labels, pred_probs, None)
    for none_like in (None, np.zeros((0, k))):
        scores, scores_unlabeled = C.activelab_scores(labels, pred_probs, none_like)
        close(scores, expected_labeled)
        assert scores_unlabeled.shape == (0,)
    _, expected_unlabeled = ma.get_active_learning_scores(None, None, unlabeled)
    for labels_like, none_like in ((None, None), (labels[:0], np.zeros((0, k)))):
        scores, scores_unlabeled = C.activelab_scores(labels_like, none_like, unlabeled)
        assert scores.shape == (0,)
        close(scores_unlabeled, expected_unlabeled)

    labels_e, pred_probs_e, unlabeled_e = make_data(5, p=3)
    expected_labeled, _ = ma.get_active_learning_scores_ensemble(labels_e, pred_probs_e.copy(), None)
    for none_like in (None, np.zeros((3, 0, k))):
        scores, scores_unlabeled = C.activelab_scores_ensemble(labels_e, pred_probs_e, none_like)
        close(scores, expected_labeled)
        assert scores_unlabeled.shape == (0,)
    _, expected_unlabeled = ma.get_active_learning_scores_ensemble(None, None, unlabeled_e.copy())
    for labels_like, none_like in ((None, None), (labels_e[:0], np.zeros((3, 0, k)))):
        scores, scores_unlabeled = C.activelab_scores_ensemble(labels_like, none_like, unlabeled_e)
        assert scores.shape == (0,)
        close(scores_unlabeled, expected_unlabeled)

    with pytest.raises(ValueError):
        C.activelab_scores(labels, None, None)


def test_examples_without_labels_rejected():
    labels, pred_probs, unlabeled = make_data(0)
    labels[3] = np.nan
    with pytest.raises(ValueError):
        C.crowdlab(labels, pred_probs)
    with pytest.raises(ValueError):
        C.activelab_scores(labels, pred_probs, unlabeled)


def test_inputs_not_modified():
    labels, pred_probs, unlabeled = make_data(1, p=3)
    labels, _ = _with_empty_columns(labels)
    copies = [labels.copy(), pred_probs.copy(), unlabeled.copy()]
    C.activelab_scores_ensemble(labels, pred_probs, unlabeled)
    C.activelab_scores(labels, pred_probs[0], unlabeled[0])
    C.crowdlab(labels, pred_probs)
    C.crowdlab(labels, pred_probs[1])
    C.majority_vote(labels, pred_probs[0], 4)
    C.best_temperature(labels, pred_probs[2])
    C.temperature_scale(pred_probs[0], 0.5)
    C.label_counts(labels, 4)
    for before, after in zip(copies, [labels, pred_probs, unlabeled]):
        np.testing.assert_array_equal(before, after)


def test_ensemble_of_one_model(patched):
    labels, pred_probs, unlabeled = make_data(2, p=1, informative=True)
    expected_labeled, _ = ma.get_active_learning_scores_ensemble(labels, pred_probs.copy(), None)
    with pytest.raises(ValueError):  # cleanlab: one member's arg-max is "one annotator"
        ma.get_active_learning_scores_ensemble(labels, pred_probs.copy(), unlabeled.copy())
    scores, scores_unlabeled = C.activelab_scores_ensemble(labels, pred_probs, unlabeled)
    close(scores, expected_labeled)
    # one member: the same numbers as the single-model ActiveLab
    single = C.activelab_scores(labels, pred_probs[0], unlabeled[0])
    close(scores, single[0])
    close(scores_unlabeled, single[1])


def test_annotator_quality_equals_cleanlabs():
    for seed in range(4):
        rng = np.random.default_rng(seed)
        n, m, k = 80, 6, 3
        true = rng.integers(0, k, n)
        skill = rng.uniform(0.5, 0.95, m)
        labels = np.full((n, m), np.nan)
        for i in range(n):
            who = rng.choice(m, rng.integers(1, 4), replace=False)
            right = rng.random(len(who)) < skill[who]
            labels[i, who] = np.where(right, true[i], rng.integers(0, k, len(who)))
        pred_probs = rng.dirichlet(np.ones(k) * 2, n)
        ours = C.annotator_quality(labels, pred_probs, rng=np.random.default_rng(0))
        result = ma.get_label_quality_multiannotator(pd.DataFrame(labels), pred_probs)
        theirs = result["annotator_stats"]["annotator_quality"].reindex(range(m)).to_numpy()
        assert np.allclose(ours, theirs, rtol=0, atol=1e-12), seed


# ------------------------------------------------------------------ relabeling concentrated on one class


def _relabeled_scenario(concentrated: bool):
    """Labeled examples as ActiveLab can leave them (issue 17): 10 examples with three labels each
    and 20 with one. ``concentrated``: 8 of the multiply-labeled examples are of one class on which
    annotators split 2 to 1, 2 are unanimous; otherwise they are spread over the classes and mostly
    unanimous. The model agrees with the majority vote on every multiply-labeled example; on 10
    single-labeled examples it disagrees with a correct label (label 0, model 0.6 on class 1)."""
    k, m = 3, 6
    if concentrated:
        multi = [[0, 0, 1]] * 8 + [[2, 2, 2]] * 2
    else:
        multi = [[0, 0, 1]] * 2 + [[0, 0, 0]] * 2 + [[1, 1, 1]] * 3 + [[2, 2, 2]] * 3
    single = [0] * 10 + [1] * 5 + [2] * 5
    labels = np.full((len(multi) + len(single), m), np.nan)
    pred_probs = np.empty((len(labels), k))
    for i, given in enumerate(multi):
        labels[i, [(i + j) % m for j in range(3)]] = given
        pred_probs[i] = np.full(k, 0.15)
        pred_probs[i, np.bincount(given).argmax()] = 0.7
    for j, given in enumerate(single):
        i = len(multi) + j
        labels[i, i % m] = given
        pred_probs[i] = [0.3, 0.6, 0.1] if j < 10 else np.where(np.arange(k) == given, 0.8, 0.1)
    disputed = np.arange(len(multi), len(multi) + 10)
    return labels, pred_probs, disputed


@pytest.mark.parametrize("concentrated", [True, False])
def test_crowdlab_follows_the_model_when_relabels_share_one_noisy_class(concentrated):
    """CROWDLAB weighs an annotator ``1 - error / baseline`` and the model ``(1 - model error /
    baseline) * sqrt(mean labels)``, where ``baseline`` is 1 - the share of the largest consensus
    class among the multiply-labeled examples. When those examples are mostly of one class whose
    annotators disagree, every annotator weight falls to cleanlab's floor and the consensus of a
    single-labeled example is the model's arg-max, even against a correct label; cleanlab does the
    same (this is CROWDLAB, not a deviation). ActiveLab's relabeling can produce exactly this
    (docs/fidelity-activelab-feedback.md)."""
    labels, pred_probs, disputed = _relabeled_scenario(concentrated)
    ours = C.crowdlab(labels, pred_probs)
    theirs = ma.get_label_quality_multiannotator(labels, pred_probs, return_weights=True, verbose=False)
    np.testing.assert_array_equal(ours.consensus_label, theirs["label_quality"]["consensus_label"].to_numpy())
    close(ours.annotator_weight, theirs["annotator_weight"])
    close(ours.model_weight, theirs["model_weight"])
    if concentrated:
        assert np.all(ours.annotator_weight == C.CLIPPING_LOWER_BOUND)
        assert ours.model_weight > 1
        assert np.all(ours.consensus_label[disputed] == 1)  # the model's class, not the label
    else:
        assert np.all(ours.annotator_weight > 0.3)
        assert np.all(ours.consensus_label[disputed] == 0)  # the annotators' label
    majority = C.majority_vote(labels, pred_probs, 3)
    assert np.all(majority[disputed] == 0)
