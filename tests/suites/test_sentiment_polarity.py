"""The Sentiment Polarity suite on the real data: the replayed pool crowd, sparse features through
the loop, the replay invariants, and a --quick run of sentiment-polarity/run_benchmark.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from common.datasets.sentiment_polarity import SENTIMENT_FILE, load_sentiment_polarity, split_pool_test
from common.models import FEATURES
from common.seeding import RunSeeds
from common.suites.sentiment_polarity import SENTIMENT_POLARITY
from tests.conftest import quick_keys, quick_run, real_data_dir
from tests.test_replay import check_replay_invariants


@pytest.fixture
def sentiment_data_dir() -> Path:
    return real_data_dir(SENTIMENT_FILE.name)


def test_the_pool_crowd_is_the_pool_sentences_labels_and_the_test_set_has_gold_only(sentiment_data_dir):
    problem = SENTIMENT_POLARITY.make_problem(sentiment_data_dir, RunSeeds(3), 1000, frozenset({FEATURES}))
    data = load_sentiment_polarity(sentiment_data_dir)
    pool, test = split_pool_test(data.gold)
    assert sparse.isspmatrix_csr(problem.X_pool) and problem.X_pool.shape[0] == 4000 and problem.X_test.shape[0] == 999
    assert problem.X_pool.shape[1] == problem.X_test.shape[1]
    # The oracle holds the pool sentences' labels only: the test sentences' crowd labels are never used.
    assert np.array_equal(problem.hidden_labels, data.hidden_labels[pool], equal_nan=True)
    assert np.array_equal(problem.y_test, data.gold[test]) and np.array_equal(problem.y_pool, data.gold[pool])
    assert problem.info["labels"] == np.sum(~np.isnan(data.hidden_labels[pool])) < 27_746
    counts = np.sum(~np.isnan(problem.initial_labels), axis=1)
    assert np.sum(counts == 1) == 1000 and counts.max() == 1
    assert problem.info["annotator_identity"] == "real"


def test_replay_invariants_with_sparse_features_through_the_loop(sentiment_data_dir):
    problem = SENTIMENT_POLARITY.make_problem(sentiment_data_dir, RunSeeds(0), 1000, frozenset({FEATURES}))
    labels = check_replay_invariants(problem, SENTIMENT_POLARITY.models["nb"].factory, rounds=4, batch=500,
                                     assigner="best_estimated")
    assert np.sum(~np.isnan(labels)) == 1000 + 4 * 500  # every round bought its 500 real labels


def test_quick_run_on_the_real_data(sentiment_data_dir, tmp_path):
    methods = ["random", "activelab"]
    quick_run("sentiment-polarity", sentiment_data_dir, tmp_path, methods)
    for key in quick_keys("nb", methods):
        accuracy = np.load(key.array_path(tmp_path, "model_accuracy"))
        assert accuracy.shape == (3,) and np.all((accuracy > 0.5) & (accuracy < 1))
        metadata = json.loads(key.metadata_path(tmp_path).read_text())
        assert metadata["problem"]["annotator_identity"] == "real"
        assert metadata["problem"]["num_annotators"] == 203
