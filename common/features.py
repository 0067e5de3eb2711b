"""Single-layer k-means image features (Coates, Lee & Ng, AISTATS 2011) and an on-disk cache.

The features of an image, for a dictionary of ``k`` centroids learned on other images:

1. every ``p x p`` patch (stride 1) is brightness/contrast normalised,
   ``x <- (x - mean(x)) / sqrt(var(x) + 10)`` (pixels in 0..255), then ZCA-whitened,
   ``x <- (x - m) V diag(1 / sqrt(d + 0.1)) V^T`` with ``(d, V)`` the eigen-decomposition of the
   normalised patches' covariance;
2. the triangle activation ``f_j(x) = max(0, mean_l(z_l) - z_j)`` with ``z_j = ||x - c_j||``;
3. sum pooling over the four quadrants of the patch grid: ``4 k`` features per image.

The centroids are learned by k-means on whitened patches sampled from the *fit* images only (the
benchmark passes the pool, never the test set). Reference: A. Coates, H. Lee, A. Y. Ng, "An
Analysis of Single-Layer Networks in Unsupervised Feature Learning", AISTATS 2011,
https://proceedings.mlr.press/v15/coates11a.html.

Extraction takes about a minute for 10,000 images on one core, so :func:`cached_array` keeps each
result (these features, and a pretrained backbone's: :func:`backbone_features`) in a cache
directory (``$AL_RELABEL_FEATURE_CACHE``, else ``features/`` in the user cache directory of
:func:`common.data.default_cache_dir`), one ``.npy`` file per key; the key is a SHA-256 of the
input images and the settings, so changed images or settings never reuse a stale file. Files are
written atomically and loaded memory-mapped (read-only).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from common.data import atomic_write, default_cache_dir

FEATURE_CACHE_ENV = "AL_RELABEL_FEATURE_CACHE"


@dataclass(frozen=True)
class KMeansFeatureSettings:
    centroids: int = 800
    patch_size: int = 6
    sampled_patches: int = 100_000
    """Patches drawn from the fit images to learn the whitening and the centroids."""
    kmeans_iterations: int = 10
    seed: int = 0
    normalise_epsilon: float = 10.0
    whiten_epsilon: float = 0.1

    @property
    def num_features(self) -> int:
        return 4 * self.centroids


@dataclass(frozen=True)
class Dictionary:
    """What extraction needs: the whitening and the centroids (in whitened space)."""

    mean: np.ndarray  # (d,)
    whitening: np.ndarray  # (d, d)
    centroids: np.ndarray  # (k, d)


# ---------------------------------------------------------------------------------- patches


def image_patches(images: np.ndarray, size: int) -> np.ndarray:
    """Every ``size x size`` patch, stride 1: ``(n, rows, cols, size * size * channels)`` float32."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    # windows: (n, rows, cols, channels, size, size); flatten each patch channel-last.
    n, rows, cols = windows.shape[:3]
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n, rows, cols, -1)
    return patches.astype(np.float32)


def normalise(patches: np.ndarray, epsilon: float) -> np.ndarray:
    """Per-patch brightness and contrast normalisation (last axis = one patch)."""
    mean = patches.mean(axis=-1, keepdims=True)
    var = patches.var(axis=-1, keepdims=True)
    return (patches - mean) / np.sqrt(var + epsilon)


# ---------------------------------------------------------------------------------- dictionary


def learn_dictionary(images: np.ndarray, settings: KMeansFeatureSettings) -> Dictionary:
    """ZCA whitening and k-means centroids from ``settings.sampled_patches`` random patches."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(settings.seed)
    size = settings.patch_size
    n, height, width = images.shape[:3]
    count = settings.sampled_patches
    which = rng.integers(0, n, count)
    top = rng.integers(0, height - size + 1, count)
    left = rng.integers(0, width - size + 1, count)
    offsets = np.arange(size)
    rows = (top[:, None] + offsets)[:, :, None]  # (count, size, 1)
    cols = (left[:, None] + offsets)[:, None, :]  # (count, 1, size)
    patches = images[which[:, None, None], rows, cols].reshape(count, -1).astype(np.float64)
    patches = normalise(patches, settings.normalise_epsilon)

    mean = patches.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(patches, rowvar=False))
    whitening = (eigenvectors / np.sqrt(eigenvalues + settings.whiten_epsilon)) @ eigenvectors.T
    whitened = (patches - mean) @ whitening

    kmeans = KMeans(
        n_clusters=settings.centroids,
        init="random",
        n_init=1,
        max_iter=settings.kmeans_iterations,
        tol=0.0,
        random_state=settings.seed,
    ).fit(whitened.astype(np.float32))
    return Dictionary(
        mean.astype(np.float32), whitening.astype(np.float32), kmeans.cluster_centers_.astype(np.float32)
    )


# ---------------------------------------------------------------------------------- extraction


def extract(images: np.ndarray, dictionary: Dictionary, settings: KMeansFeatureSettings,
            batch_size: int = 8) -> np.ndarray:
    """Triangle-activation features, sum-pooled over quadrants: ``(n, 4k)`` float32."""
    k = len(dictionary.centroids)
    centroid_norms = np.sum(dictionary.centroids ** 2, axis=1)
    features = np.empty((len(images), 4 * k), dtype=np.float32)
    for start in range(0, len(images), batch_size):
        patches = image_patches(images[start:start + batch_size], settings.patch_size)
        b, rows, cols, d = patches.shape
        x = (normalise(patches, settings.normalise_epsilon).reshape(-1, d) - dictionary.mean) @ dictionary.whitening
        # z = ||x - c|| from ||x||^2 - 2 x.c + ||c||^2 (clipped at 0 against rounding), in place:
        # these (patches, k) arrays dominate the run time and memory traffic.
        z = x @ dictionary.centroids.T
        z *= -2
        z += centroid_norms
        z += np.sum(x ** 2, axis=1, keepdims=True)
        np.maximum(z, 0, out=z)
        np.sqrt(z, out=z)
        activation = np.subtract(z.mean(axis=1, keepdims=True), z, out=z)
        np.maximum(activation, 0, out=activation)
        activation = activation.reshape(b, rows, cols, k)
        half_r, half_c = (rows + 1) // 2, (cols + 1) // 2
        quadrants = (
            activation[:, :half_r, :half_c], activation[:, :half_r, half_c:],
            activation[:, half_r:, :half_c], activation[:, half_r:, half_c:],
        )
        features[start:start + b] = np.concatenate([q.sum(axis=(1, 2)) for q in quadrants], axis=1)
    return features


def kmeans_features(fit_images: np.ndarray, images: np.ndarray,
                    settings: KMeansFeatureSettings = KMeansFeatureSettings()) -> np.ndarray:
    """Features of ``images`` ``(n, 4k)`` float32 with a dictionary learned on ``fit_images``.

    Images are uint8 ``(n, height, width, channels)`` with pixel values 0..255.
    """
    return extract(images, learn_dictionary(fit_images, settings), settings)


def pixel_pca(fit_images: np.ndarray, images: np.ndarray, components: int, seed: int) -> np.ndarray:
    """Raw pixels projected on the first ``components`` principal axes of ``fit_images``, whitened."""
    from sklearn.decomposition import PCA

    flat = fit_images.reshape(len(fit_images), -1).astype(np.float32) / 255
    pca = PCA(components, whiten=True, svd_solver="randomized", random_state=seed).fit(flat)
    return pca.transform(images.reshape(len(images), -1).astype(np.float32) / 255).astype(np.float32)


# ---------------------------------------------------------------------------------- cache


def feature_cache_dir() -> Path:
    """``$AL_RELABEL_FEATURE_CACHE``, else ``<user cache dir>/features``."""
    configured = os.environ.get(FEATURE_CACHE_ENV)
    return Path(configured).expanduser() if configured else default_cache_dir() / "features"


def cache_key(arrays: list[np.ndarray], settings: object) -> str:
    """SHA-256 over the arrays (shape, dtype and bytes) and ``repr`` of the settings."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype.str}".encode())
        digest.update(array.data)
    digest.update(repr(asdict(settings) if hasattr(settings, "__dataclass_fields__") else settings).encode())
    return digest.hexdigest()


def cached_array(name: str, key: str, compute: Callable[[], np.ndarray],
                 cache_dir: Path | None = None) -> np.ndarray:
    """``compute()``, saved as ``<cache_dir>/<name>-<key>.npy`` and memory-mapped from there.

    A file that cannot be read is recomputed and replaced. When the cache directory cannot be
    written the array is still returned (in memory), just not kept.
    """
    cache_dir = feature_cache_dir() if cache_dir is None else Path(cache_dir)
    path = cache_dir / f"{name}-{key}.npy"
    if path.exists():
        try:
            return np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            pass  # truncated or corrupt: recompute below
    array = compute()
    try:
        atomic_write(path, lambda out: np.save(out, array))
    except OSError:
        return array
    return np.load(path, mmap_mode="r")


def backbone_features(name: str, images: np.ndarray, data_dir: Path, cache_dir: Path | None = None,
                      device: str | None = None) -> np.ndarray:
    """The pooled features of a pretrained backbone (:mod:`common.backbones`) for uint8 images,
    ``(n, dims)`` float32, computed once per machine and cached.

    The key is the backbone's name, its weights' SHA-256, its preprocessing and the images' bytes:
    other weights or another image set never reuse a file. The features of one image do not depend
    on the others, so a benchmark computes them once for its whole image set and indexes them.
    """
    from common.backbones import embed, get_backbone

    backbone = get_backbone(name)
    # Bump "version" whenever the computation changes, so that old cache files are not reused.
    settings = {"version": 1, "backbone": name, "weights_sha256": backbone.weights.sha256,
                "preprocessing": asdict(backbone.preprocessing), "dims": backbone.dims}
    key = cache_key([images], repr(settings))
    return cached_array(f"backbone-{name}", key, lambda: embed(name, images, data_dir, device), cache_dir)
