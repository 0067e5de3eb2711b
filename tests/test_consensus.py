import numpy as np
import pandas as pd
import pytest
from cleanlab.multiannotator import get_label_quality_multiannotator, get_majority_vote_label
from crowdkit.aggregation import DawidSkene

from common.consensus import CONSENSUS_RULES


def correct_value_counts(x, *, num_classes=None, multi_label=False):
    return np.bincount(np.asarray(x, dtype=int), minlength=num_classes)


@pytest.fixture
def labels_and_predictions():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 120)
    labels = np.full((120, 6), np.nan)
    for i in range(120):
        annotators = rng.choice(6, rng.integers(1, 4), replace=False)
        noisy = np.where(rng.random(len(annotators)) < 0.75, truth[i], rng.integers(0, 3, len(annotators)))
        labels[i, annotators] = noisy
    members = rng.dirichlet(np.ones(3), size=(1, 120))
    return labels, members


def test_majority_equals_cleanlab(labels_and_predictions):
    labels, members = labels_and_predictions
    ours = CONSENSUS_RULES["majority"](labels, members, 3, np.random.default_rng(0))
    assert np.array_equal(ours, get_majority_vote_label(labels, members[0], verbose=False))


def test_crowdlab_equals_calibrated_cleanlab_with_correct_counts(labels_and_predictions, monkeypatch):
    import cleanlab.internal.multiannotator_utils as utils

    monkeypatch.setattr(utils, "value_counts", correct_value_counts)
    labels, members = labels_and_predictions
    ours = CONSENSUS_RULES["crowdlab"](labels, members, 3, np.random.default_rng(0))
    theirs = get_label_quality_multiannotator(labels, members[0], calibrate_probs=True, verbose=False)
    assert np.array_equal(ours, theirs["label_quality"]["consensus_label"].to_numpy())


def test_crowdlab_in_round_zero_is_majority_vote(labels_and_predictions):
    labels, _ = labels_and_predictions
    rng = np.random.default_rng(0)
    assert np.array_equal(
        CONSENSUS_RULES["crowdlab"](labels, None, 3, rng), CONSENSUS_RULES["majority"](labels, None, 3, rng)
    )


def test_dawid_skene_equals_crowd_kit(labels_and_predictions):
    labels, members = labels_and_predictions
    rows, annotators = np.nonzero(~np.isnan(labels))
    frame = pd.DataFrame({"task": rows, "worker": annotators, "label": labels[rows, annotators].astype(int)})
    expected = DawidSkene(n_iter=100).fit_predict(frame).sort_index().to_numpy()
    ours = CONSENSUS_RULES["dawid-skene"](labels, members, 3, np.random.default_rng(0))
    assert np.array_equal(ours, expected)
