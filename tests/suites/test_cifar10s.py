"""The CIFAR-10S suite on the real data: the split, the costs, the replay invariants, and a --quick
run of cifar-10s/run_benchmark.py.

The invariant tests build problems with no feature block (a model that reads nothing, so no
features are computed). The --quick run uses 300 test images and a k-means model: the first run
computes those features (about a minute; common/features.py caches them), later runs load them;
its model is the cheapest of the CIFAR-10H suite (k-NN on the PCA of the k-means features).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

from common.benchmark import configured
from common.loop import LoopSettings, run_rounds
from common.methods import METHODS
from common.seeding import RunSeeds
from common.suites.cifar10s import CIFAR_10S
from tests.conftest import REPO_ROOT, quick_keys, quick_run, real_data_dir
from tests.test_replay import check_replay_invariants


@pytest.fixture
def cifar10s_data_dir() -> Path:
    path = real_data_dir("cifar-10s/raw_human_data.csv")
    if not (path / "cifar-10h" / "cifar10-test-images.npz").exists():
        pytest.skip(f"no cifar-10h/cifar10-test-images.npz in {path} (the pixels of CIFAR-10S)")
    return path


def prior(seed: int) -> DummyClassifier:
    return DummyClassifier(strategy="prior")


def test_split_labels_and_costs(cifar10s_data_dir):
    from common.datasets.cifar10s import load_cifar10s

    benchmark = configured(CIFAR_10S, {"test_images": 50})
    problem = benchmark.make_problem(cifar10s_data_dir, RunSeeds(2), 200, frozenset())
    data = load_cifar10s(cifar10s_data_dir)
    pool, test = problem.X_pool[:, 0].astype(int), problem.X_test[:, 0].astype(int)  # the image column
    assert np.array_equal(pool, data.images) and len(test) == 50 and not set(test) & set(pool)
    assert np.array_equal(test, np.setdiff1d(np.arange(10_000), pool)[:50])
    assert np.array_equal(problem.y_pool, data.labels)  # CIFAR-10's classes, from the image file
    given = ~np.isnan(problem.hidden_labels)
    assert problem.hidden_labels.shape == (1000, 248) and given.sum() == 6200
    costs, raw = problem.label_costs[given], data.seconds[given]
    cap = problem.info["label_cost_cap_seconds"]
    assert np.allclose(costs, np.minimum(raw, costs.max())) and abs(costs.max() - cap) < 1e-3
    assert problem.info["labels_capped"] == np.sum(raw > costs.max()) == 62  # 1% of 6,200
    assert np.sum(~np.isnan(problem.initial_labels)) == 200 and problem.info["annotator_identity"] == "real"


@pytest.mark.parametrize("assigner", ["random", "best_value"])
def test_replay_hands_out_only_real_labels_each_once(cifar10s_data_dir, assigner):
    problem = configured(CIFAR_10S, {"test_images": 50}).make_problem(cifar10s_data_dir, RunSeeds(0), 200, frozenset())
    rounds, batch = 6, 900  # 5,400 of the 6,000 labels left: many images run dry
    labels = check_replay_invariants(problem, prior, rounds, batch, assigner)
    dry = np.sum(~np.isnan(labels), axis=1) == np.sum(~np.isnan(problem.hidden_labels), axis=1)
    assert dry.sum() > 300


def test_each_round_pays_the_real_costs_of_the_labels_it_bought(cifar10s_data_dir):
    problem = configured(CIFAR_10S, {"test_images": 50}).make_problem(cifar10s_data_dir, RunSeeds(1), 200, frozenset())
    states = []
    settings = LoopSettings(3, 100, 3, "majority", "random")
    result = run_rounds(problem, METHODS["random"], [prior], settings, RunSeeds(1),
                        on_state=lambda s: states.append(s.labels.copy()))
    before = ~np.isnan(problem.initial_labels)
    for round_index, labels in enumerate(states):
        bought = ~np.isnan(labels) & ~before
        assert result.metrics["label_cost"][round_index] == pytest.approx(problem.label_costs[bought].sum())
        before = ~np.isnan(labels)


def test_quick_run_on_the_real_data(cifar10s_data_dir, tmp_path):
    methods = ["random", "activelab"]
    quick_run("cifar-10s", cifar10s_data_dir, tmp_path, methods, "--model", "kmeans-knn", "--test-images", "300")
    for key in quick_keys("kmeans-knn", methods, ("test-images-300",)):
        consensus = np.load(key.array_path(tmp_path, "consensus_accuracy"))
        assert consensus.shape == (3,) and np.all((consensus > 0.6) & (consensus <= 1))
        assert np.all(np.load(key.array_path(tmp_path, "model_accuracy")) > 0.12)  # chance is 0.1
        cost = np.load(key.array_path(tmp_path, "label_cost"))
        assert np.all((cost > 50 * 7) & (cost < 50 * 240))  # 50 labels of 7 to 240 s each
        metadata = json.loads(key.metadata_path(tmp_path).read_text())
        assert metadata["problem"]["annotator_identity"] == "real"
        assert metadata["problem"]["label_cost_unit"] == "seconds"


def test_pixels_whose_classes_disagree_with_the_file_are_refused(cifar10s_data_dir, monkeypatch):
    from common.data import DataError
    from common.datasets import cifar10h as c10h

    images, labels, source = c10h.load_images(cifar10s_data_dir)
    shifted = (labels + 1) % 10  # a different image order or set
    monkeypatch.setattr(c10h, "load_images", lambda data_dir: (images, shifted, source))
    with pytest.raises(DataError, match="disagree on the class of 1000 images"):
        CIFAR_10S.make_problem(cifar10s_data_dir, RunSeeds(0), 200, frozenset())


def test_a_bad_test_images_flag_is_one_line(tmp_path):
    command = [sys.executable, str(REPO_ROOT / "cifar-10s" / "run_benchmark.py"), "--test-images", "5",
               "--results-dir", str(tmp_path / "r")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--test-images" in done.stderr
    assert not (tmp_path / "r").exists()
