"""Tests for common/cnn.py: the ResNet-18 path, one tiny epoch on a few dozen images (CPU here)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

torch = pytest.importorskip("torch")
cnn = pytest.importorskip("common.cnn")


@pytest.fixture
def tiny_images():
    rng = np.random.default_rng(0)
    images = rng.random((40, 32 * 32 * 3), dtype=np.float32)
    labels = np.repeat([2, 5, 7, 9], 10)
    return images, labels


def test_importing_the_benchmarks_does_not_import_torch():
    code = "import sys, common.suites, common.runner; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0


def test_the_network_is_resnet18_with_a_32x32_stem():
    model = cnn.resnet18_32x32(10)
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, torch.nn.Identity)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_device_is_cuda_when_available():
    assert cnn.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_on_cuda_cudnn_uses_deterministic_algorithms_without_autotuning(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", False)
    assert cnn.ResNet18Classifier(device="cuda")._device().type == "cuda"  # no GPU needed to choose it
    assert torch.backends.cudnn.benchmark is False and torch.backends.cudnn.deterministic is True


def test_augmentation_crops_and_flips_within_the_padding():
    batch = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32)
    out = cnn.augment(batch, torch.Generator().manual_seed(0))
    assert out.shape == batch.shape
    # Each output row is a (possibly shifted, flipped) piece of an input row, or padding zeros.
    assert set(out[0, 0].flatten().tolist()) <= set(batch[0, 0].flatten().tolist()) | {0.0}


def test_one_tiny_epoch_gives_probabilities_over_the_fitted_classes(tiny_images):
    images, labels = tiny_images
    model = cnn.ResNet18Classifier(epochs=1, batch_size=16, random_state=3).fit(images, labels)
    assert model.classes_.tolist() == [2, 5, 7, 9]
    proba = model.predict_proba(images[:7])
    assert proba.shape == (7, 4) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    again = cnn.ResNet18Classifier(epochs=1, batch_size=16, random_state=3).fit(images, labels)
    if model.device_.type == "cpu":
        assert np.allclose(again.predict_proba(images[:7]), proba, atol=1e-6)


def test_the_benchmark_factory_reads_the_pixel_block(tiny_images):
    from common.suites.cifar10h import CIFAR_BLOCKS, resnet18
    from common.models import cross_validated_predictions
    from common.seeding import ModelSeeds

    images, labels = tiny_images
    start, stop = CIFAR_BLOCKS["pixels"]
    X = np.zeros((len(images), stop), dtype=np.float32)
    X[:, start:] = images
    model = resnet18(0)
    model.set_params(resnet18classifier__epochs=1, resnet18classifier__batch_size=8)
    out_of_fold, (others,), _ = cross_validated_predictions(lambda seed: model, X, labels, [X[:5]], 10, 2, ModelSeeds(0))
    assert out_of_fold.shape == (40, 10) and others.shape == (5, 10)
    assert np.allclose(out_of_fold.sum(axis=1), 1, atol=1e-5)
    assert np.all(out_of_fold[:, [0, 1, 3, 4, 6, 8]] == 0)
