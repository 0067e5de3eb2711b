"""--quick runs of cifar-10h/run_benchmark.py on the real data of the data directory.

The k-means features of each split and the backbones' features of an image set are cached (see
common/features.py), so the first run of these tests computes them (about a minute per seed for
k-means, seconds for the 300 images of the default model's run) and later runs load them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT, quick_keys, quick_run, real_data_dir

SCRIPT = REPO_ROOT / "cifar-10h" / "run_benchmark.py"


@pytest.fixture
def cifar_data_dir() -> Path:
    return real_data_dir("cifar-10h/cifar10h-counts.npy")


def test_quick_run_on_the_real_data(cifar_data_dir, tmp_path):
    methods = ["random", "activelab", "activelab_ensemble"]
    stdout = quick_run("cifar-10h", cifar_data_dir, tmp_path, methods, "--model", "kmeans-logreg", timeout=1200)
    for key in quick_keys("kmeans-logreg", methods):
        consensus = np.load(key.array_path(tmp_path, "consensus_accuracy"))
        model = np.load(key.array_path(tmp_path, "model_accuracy"))
        assert consensus.shape == (3,) and abs(consensus[0] - 0.82) < 0.02
        assert np.all(model > 0.4)
        problem = json.loads(key.metadata_path(tmp_path).read_text())["problem"]
        assert problem["annotator_identity"] == "simulated"
        assert abs(problem["initial_consensus_accuracy"] - 0.82) < 0.01
    assert "activelab_ensemble" in stdout and "±" in stdout


def test_quick_run_of_the_default_pretrained_model_on_300_images(cifar_data_dir, tmp_path):
    from common.suites.cifar10h import DEFAULT_MODEL, ENSEMBLE

    methods = ["random", "activelab", "activelab_ensemble"]
    quick_run("cifar-10h", cifar_data_dir, tmp_path, methods, "--images", "300", "--test-size", "100",
              "--n-initial", "60", "--batch-size", "20", timeout=1200)
    for key in quick_keys(DEFAULT_MODEL, methods, ("test-size-100", "images-300")):
        model = np.load(key.array_path(tmp_path, "model_accuracy"))
        assert model.shape == (3,) and np.all(model > 0.35)  # chance is 0.1
        config = json.loads(key.metadata_path(tmp_path).read_text())["config"]
        assert config["dataset"]["images"] == 300 and config["model"] == DEFAULT_MODEL
        assert config["ensemble"] == (list(ENSEMBLE) if key.method == "activelab_ensemble" else None)


def test_a_bad_dataset_flag_is_one_line(tmp_path):
    command = [sys.executable, str(SCRIPT), "--initial-accuracy", "1.5", "--results-dir", str(tmp_path / "r")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--initial-accuracy" in done.stderr
    assert not (tmp_path / "r").exists()
