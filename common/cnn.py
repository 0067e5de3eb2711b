"""ResNet-18 for 32x32 images as a scikit-learn style classifier (``fit``, ``predict_proba``).

torchvision's ResNet-18 (He et al., CVPR 2016, https://doi.org/10.1109/CVPR.2016.90) adapted to
CIFAR-sized inputs as is usual: a 3x3 stride-1 stem and no max-pool. It is trained from scratch
with random crops (4-pixel zero padding) and horizontal flips, SGD with Nesterov momentum and a
cosine learning-rate schedule, on CUDA when available (else the CPU, with ``cpu_threads``
threads: one per worker, as the runner sets BLAS).

This is the only module that imports torch; the benchmark imports it only for ``--model resnet18``.

    >>> clf = ResNet18Classifier(epochs=1, random_state=0).fit(images, labels)  # doctest: +SKIP
    >>> clf.predict_proba(images).shape  # doctest: +SKIP
    (len(images), len(clf.classes_))
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import nn
from torch.nn import functional

# Channel statistics of the CIFAR-10 training images, for input normalisation.
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def resnet18_32x32(num_classes: int) -> nn.Module:
    """torchvision's ResNet-18 with a 3x3 stride-1 stem and no max-pool."""
    from torchvision.models import resnet18

    model = resnet18(num_classes=num_classes)
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_image_tensor(X: np.ndarray) -> torch.Tensor:
    """``(n, 32*32*3)`` (values in 0..1, HWC order) or ``(n, 32, 32, 3)`` to normalised NCHW float."""
    images = torch.as_tensor(np.asarray(X, dtype=np.float32)).reshape(len(X), 32, 32, 3).permute(0, 3, 1, 2)
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    return ((images - mean) / std).contiguous()


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random 32x32 crops of the zero-padded (4 px) images and random horizontal flips."""
    n = len(batch)
    padded = functional.pad(batch, (4, 4, 4, 4))
    dy = torch.randint(0, 9, (n,), generator=generator, device=batch.device)
    dx = torch.randint(0, 9, (n,), generator=generator, device=batch.device)
    offsets = torch.arange(32, device=batch.device)
    rows = (dy[:, None] + offsets)[:, None, :, None]  # (n, 1, 32, 1)
    cols = (dx[:, None] + offsets)[:, None, None, :]  # (n, 1, 1, 32)
    channels = torch.arange(3, device=batch.device)[None, :, None, None]
    cropped = padded[torch.arange(n, device=batch.device)[:, None, None, None], channels, rows, cols]
    flip = torch.rand(n, generator=generator, device=batch.device) < 0.5
    return torch.where(flip[:, None, None, None], cropped.flip(3), cropped)


class ResNet18Classifier(ClassifierMixin, BaseEstimator):
    """Settings: ``epochs``, ``batch_size``, ``learning_rate`` (peak, SGD), ``weight_decay``."""

    def __init__(
        self,
        epochs: int = 30,
        batch_size: int = 128,
        learning_rate: float = 0.05,
        weight_decay: float = 5e-4,
        device: str | None = None,
        cpu_threads: int = 1,
        random_state: int = 0,
    ):
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.device = device
        self.cpu_threads = cpu_threads
        self.random_state = random_state

    def _device(self) -> torch.device:
        device = torch.device(self.device) if self.device else default_device()
        if device.type == "cpu":
            torch.set_num_threads(self.cpu_threads)
        else:
            # cuDNN's autotuner picks kernels by timing them, so two runs of one seed could differ.
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        return device

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ResNet18Classifier":
        device = self._device()
        self.classes_, targets = np.unique(np.asarray(y), return_inverse=True)
        torch.manual_seed(self.random_state)  # weight initialisation
        generator = torch.Generator(device=device).manual_seed(self.random_state)
        images = as_image_tensor(X).to(device)
        targets = torch.as_tensor(targets, dtype=torch.long, device=device)
        model = resnet18_32x32(len(self.classes_)).to(device).to(memory_format=torch.channels_last)
        optimizer = torch.optim.SGD(model.parameters(), lr=self.learning_rate, momentum=0.9,
                                    nesterov=True, weight_decay=self.weight_decay)
        steps_per_epoch = max(len(images) // self.batch_size, 1)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, self.epochs * steps_per_epoch)
        model.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(images), generator=generator, device=device)
            for step in range(steps_per_epoch):
                # Whole batches only (the last partial one is dropped: BatchNorm needs 2+ images).
                batch = order[step * self.batch_size:(step + 1) * self.batch_size]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                    loss = functional.cross_entropy(model(augment(images[batch], generator)), targets[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
        self.model_ = model.eval()
        self.device_ = device
        return self

    @torch.no_grad()
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        images = as_image_tensor(X)
        out = []
        for start in range(0, len(images), 1024):
            batch = images[start:start + 1024].to(self.device_).contiguous(memory_format=torch.channels_last)
            with torch.autocast(self.device_.type, dtype=torch.bfloat16, enabled=self.device_.type == "cuda"):
                logits = self.model_(batch)
            out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
