import numpy as np
import pytest
from scipy import stats

from common import crowdlab
from common.methods import METHODS, ScoringState

NAN = np.nan


def state(labels, pred_probs, members=None, seed=0) -> ScoringState:
    labels = np.asarray(labels, dtype=float)
    pred_probs = np.asarray(pred_probs, dtype=float)
    members = pred_probs[None] if members is None else np.asarray(members, dtype=float)
    return ScoringState(labels, ~np.isnan(labels).all(axis=1), pred_probs, members, np.random.default_rng(seed))


def score(name, *args, **kwargs):
    return METHODS[name].score(state(*args, **kwargs))


def test_every_method_is_registered_with_its_default_consensus():
    expected = {
        "random", "good_random", "entropy", "uncertainty", "margin", "disagreement",
        "active_label_cleaning", "activelab", "activelab_ensemble", "label_uncertainty",
        "model_label_uncertainty",
    }
    assert set(METHODS) == expected
    assert {m.name for m in METHODS.values() if m.consensus == "crowdlab"} == {"activelab", "activelab_ensemble"}
    assert {m.name for m in METHODS.values() if m.ensemble} == {"disagreement", "activelab_ensemble"}


def test_entropy_uncertainty_margin_by_hand():
    labels = [[0, NAN], [NAN, NAN]]
    probs = [[1.0, 0.0], [0.5, 0.5]]
    assert np.allclose(score("entropy", labels, probs), [0.0, -1.0])
    labels3 = [[0, NAN], [NAN, NAN]]
    probs3 = [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2]]
    assert np.allclose(score("uncertainty", labels3, probs3), [-0.3, -0.5])
    assert np.allclose(score("margin", labels3, probs3), [0.5, 0.2])


def test_disagreement_by_hand():
    members = [[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]]
    mean = np.mean(members, axis=0)
    scores = score("disagreement", [[0, NAN], [NAN, NAN]], mean, members)
    # Row 0: each member puts 1e-6 (clipped) on the class the other is sure of.
    assert np.isclose(scores[0], -(0.5 * np.log(1e6)) / np.log(2))
    assert np.isclose(scores[1], -1.0)


def test_active_label_cleaning_by_hand_and_for_unlabeled_examples():
    labels = [[1, 1], [0, 0], [NAN, NAN]]
    probs = [[0.8, 0.2], [0.5, 0.5], [0.9, 0.1]]
    scores = score("active_label_cleaning", labels, probs)
    cross_entropy = -np.log(0.2) / np.log(2)
    entropy = -(0.8 * np.log(0.8) + 0.2 * np.log(0.2)) / np.log(2)
    assert np.isclose(scores[0], np.exp(-(cross_entropy - entropy + 1)))
    assert np.isclose(scores[1], np.exp(-1.0))
    assert np.isclose(scores[2], np.exp(-1.0))
    # Labels the model disagrees with rank before unlabeled examples, agreeing ones after.
    agreeing = score("active_label_cleaning", [[0, NAN]], [[0.8, 0.2]])
    assert scores[0] < scores[2] < agreeing[0]


def test_label_uncertainty_matches_sheng_et_al_beta_tail_for_two_classes():
    votes = [(0, 0), (1, 0), (2, 0), (1, 1), (3, 1), (2, 5)]
    labels = []
    for a, b in votes:
        row = [0.0] * a + [1.0] * b
        labels.append(row + [NAN] * (7 - len(row)))
    probs = np.full((len(votes), 2), 0.5)
    scores = -score("label_uncertainty", labels, probs)
    for (a, b), value in zip(votes, scores):
        tail = stats.beta.cdf(0.5, a + 1, b + 1)
        assert np.isclose(value, min(tail, 1 - tail), atol=1e-7), (a, b)


def test_label_uncertainty_unlabeled_is_maximal_for_k_classes():
    labels = [[NAN, NAN, NAN], [0, NAN, NAN], [0, 1, NAN], [0, 0, 0]]
    probs = np.full((4, 3), 1 / 3)
    uncertainty = -score("label_uncertainty", labels, probs)
    assert np.isclose(uncertainty[0], 1 - 1 / 3, atol=1e-7)
    assert uncertainty[0] > uncertainty[1] and uncertainty[2] > uncertainty[1] > uncertainty[3]
    # Monte Carlo check of the Dirichlet integral for one count vector.
    draws = np.random.default_rng(0).dirichlet([3, 2, 1], size=200_000)
    mc = 1 - np.mean(draws.argmax(axis=1) == 0)
    exact = -score("label_uncertainty", [[0, 0, 1]], [[1 / 3] * 3])[0]
    assert np.isclose(exact, mc, atol=0.005)


def test_model_label_uncertainty_is_the_geometric_mean():
    labels, probs = [[0, 0, NAN]], [[0.9, 0.1]]
    lu = -score("label_uncertainty", labels, probs)[0]
    assert np.isclose(lu, stats.beta.cdf(0.5, 3, 1))
    assert np.isclose(score("model_label_uncertainty", labels, probs)[0], -np.sqrt(lu * 0.1))


def test_random_methods_are_seeded_and_good_random_prefers_fewer_labels():
    labels = [[0, 1], [0, NAN], [NAN, NAN], [1, NAN]]
    probs = np.full((4, 2), 0.5)
    assert np.array_equal(score("random", labels, probs, seed=3), score("random", labels, probs, seed=3))
    good = score("good_random", labels, probs, seed=3)
    assert good[2] < min(good[1], good[3]) and max(good[1], good[3]) < good[0]


@pytest.mark.parametrize("name", ["activelab", "activelab_ensemble"])
def test_activelab_methods_place_labeled_and_unlabeled_scores(name):
    rng = np.random.default_rng(0)
    labels = np.full((30, 4), np.nan)
    labels[:20, 0] = rng.integers(0, 3, 20)
    labels[:8, 1] = rng.integers(0, 3, 8)
    labels[4:12, 2] = rng.integers(0, 3, 8)
    members = rng.dirichlet(np.ones(3), size=(2, 30))
    s = state(labels, members.mean(axis=0), members)
    scores = METHODS[name].score(s)
    labeled = s.labeled
    if name == "activelab":
        expected = crowdlab.activelab_scores(labels[labeled], s.pred_probs[labeled], s.pred_probs[~labeled])
    else:
        expected = crowdlab.activelab_scores_ensemble(labels[labeled], members[:, labeled], members[:, ~labeled])
    assert np.allclose(scores[labeled], expected[0]) and np.allclose(scores[~labeled], expected[1])
