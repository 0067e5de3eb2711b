"""The LabelMe suite on the real data: replayed labels (the replay invariants, until images run
dry), and a --quick run of labelme/run_benchmark.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from common.models import FEATURES
from common.seeding import RunSeeds
from common.suites.labelme import LABELME
from tests.conftest import quick_keys, quick_run, real_data_dir
from tests.test_replay import check_replay_invariants


@pytest.fixture
def labelme_data_dir() -> Path:
    return real_data_dir("labelme/answers.txt")


def test_initial_state_is_one_real_label_on_each_chosen_image(labelme_data_dir):
    problem = LABELME.make_problem(labelme_data_dir, RunSeeds(3), 200, frozenset({FEATURES}))
    counts = np.sum(~np.isnan(problem.initial_labels), axis=1)
    assert np.sum(counts == 1) == 200 and counts.max() == 1
    assert problem.hidden_labels.shape == (1000, 59) and np.sum(~np.isnan(problem.hidden_labels)) == 2547
    assert problem.X_pool.shape == (1000, 200) and problem.X_test.shape == (1188, 200)
    assert problem.label_costs is None and problem.info["annotator_identity"] == "real"
    assert problem.info["labels"] == 2547 and len(problem.info["answer_columns_of_workers"]) == 59
    # Standardised with pool statistics only; the validation images are not in the problem.
    assert np.allclose(problem.X_pool.mean(axis=0), 0, atol=1e-9) and not np.allclose(problem.X_test.mean(axis=0), 0)
    again = LABELME.make_problem(labelme_data_dir, RunSeeds(3), 200, frozenset({FEATURES}))
    assert np.array_equal(problem.initial_labels, again.initial_labels, equal_nan=True)


def test_replay_hands_out_only_real_labels_each_once_until_images_run_dry(labelme_data_dir):
    problem = LABELME.make_problem(labelme_data_dir, RunSeeds(0), 200, frozenset({FEATURES}))
    rounds, batch = 3, 700  # 2,100 of the 2,347 labels left: most images run dry
    labels = check_replay_invariants(problem, LABELME.models["knn"].factory, rounds, batch, "best_estimated")
    dry = np.sum(~np.isnan(labels), axis=1) == np.sum(~np.isnan(problem.hidden_labels), axis=1)
    assert dry.sum() > 500


def test_quick_run_on_the_real_data(labelme_data_dir, tmp_path):
    methods = ["random", "activelab"]
    quick_run("labelme", labelme_data_dir, tmp_path, methods)
    for key in quick_keys("logreg", methods):
        consensus = np.load(key.array_path(tmp_path, "consensus_accuracy"))
        assert consensus.shape == (3,) and np.all((consensus > 0.3) & (consensus <= 1))
        assert np.all(np.load(key.array_path(tmp_path, "model_accuracy")) > 0.4)
        metadata = json.loads(key.metadata_path(tmp_path).read_text())
        assert metadata["problem"]["annotator_identity"] == "real"
