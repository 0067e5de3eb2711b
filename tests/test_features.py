"""Tests for common/features.py on a few small random images."""

from __future__ import annotations

import numpy as np
import pytest

from common import features as ft

SMALL = ft.KMeansFeatureSettings(centroids=6, patch_size=3, sampled_patches=400, kmeans_iterations=5)


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)


def test_patches_are_the_image_windows_channel_last(images):
    patches = ft.image_patches(images, 3)
    assert patches.shape == (12, 6, 6, 27) and patches.dtype == np.float32
    assert np.array_equal(patches[4, 2, 5], images[4, 2:5, 5:8].reshape(-1))


def test_whitening_is_the_zca_of_the_normalised_patches(images):
    settings = ft.KMeansFeatureSettings(centroids=6, patch_size=3, sampled_patches=50_000, kmeans_iterations=2)
    dictionary = ft.learn_dictionary(images, settings)
    patches = ft.normalise(ft.image_patches(images, 3).reshape(-1, 27).astype(np.float64), 10.0)
    # W = V diag(1 / sqrt(d + 0.1)) V^T, so W^-2 - 0.1 I is the patches' covariance (here
    # estimated from 50,000 draws among all 432 patches).
    inverse = np.linalg.inv(dictionary.whitening.astype(np.float64))
    assert np.allclose(dictionary.whitening, dictionary.whitening.T, atol=1e-5)
    assert np.allclose(inverse @ inverse - 0.1 * np.eye(27), np.cov(patches, rowvar=False), atol=0.03)
    assert np.allclose(dictionary.mean, patches.mean(axis=0), atol=0.03)
    assert dictionary.centroids.shape == (6, 27)


def test_features_match_a_direct_computation(images):
    dictionary = ft.learn_dictionary(images, SMALL)
    got = ft.extract(images[:3], dictionary, SMALL, batch_size=2)
    assert got.shape == (3, 4 * 6) and got.dtype == np.float32
    for i in range(3):
        grid = np.zeros((6, 6, 6))
        for r in range(6):
            for c in range(6):
                patch = images[i, r:r + 3, c:c + 3].reshape(-1).astype(np.float64)
                patch = (patch - patch.mean()) / np.sqrt(patch.var() + 10)
                x = (patch - dictionary.mean) @ dictionary.whitening
                z = np.linalg.norm(x - dictionary.centroids, axis=1)
                grid[r, c] = np.maximum(z.mean() - z, 0)
        expected = np.concatenate([grid[:3, :3].sum((0, 1)), grid[:3, 3:].sum((0, 1)),
                                   grid[3:, :3].sum((0, 1)), grid[3:, 3:].sum((0, 1))])
        assert np.allclose(got[i], expected, rtol=1e-3, atol=1e-3)


def test_features_are_deterministic_and_learned_on_the_fit_images_only(images):
    first = ft.kmeans_features(images[:8], images, SMALL)
    assert np.array_equal(first, ft.kmeans_features(images[:8], images, SMALL))
    # Changing the images that are only extracted leaves the dictionary, so their rows, unchanged.
    other = images.copy()
    other[10:] = 255 - other[10:]
    changed = ft.kmeans_features(images[:8], other, SMALL)
    assert np.array_equal(changed[:10], first[:10]) and not np.array_equal(changed[10:], first[10:])
    assert not np.array_equal(ft.kmeans_features(images[4:], images, SMALL), first)


def test_pixel_pca_is_fitted_on_the_fit_images(images):
    projected = ft.pixel_pca(images[:10], images, 4, seed=0)
    assert projected.shape == (12, 4) and projected.dtype == np.float32
    assert np.allclose(projected[:10].std(axis=0, ddof=1), 1, atol=1e-3)  # whitened on the fit images


def test_cache_reuses_and_is_keyed_by_images_and_settings(images, tmp_path):
    calls = []

    def compute(settings):
        def run():
            calls.append(settings)
            return ft.kmeans_features(images[:8], images, settings)
        return run

    key = ft.cache_key([images[:8], images], SMALL)
    first = ft.cached_array("f", key, compute(SMALL), tmp_path)
    again = ft.cached_array("f", key, compute(SMALL), tmp_path)
    assert len(calls) == 1 and np.array_equal(first, again)
    assert isinstance(again, np.memmap) and not again.flags.writeable

    other = ft.KMeansFeatureSettings(centroids=5, patch_size=3, sampled_patches=400, kmeans_iterations=5)
    assert ft.cache_key([images[:8], images], other) != key
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    assert ft.cache_key([changed[:8], changed], SMALL) != key
    ft.cached_array("f", ft.cache_key([images[:8], images], other), compute(other), tmp_path)
    assert len(calls) == 2 and len(list(tmp_path.glob("f-*.npy"))) == 2


def test_a_corrupt_cache_file_is_recomputed(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6.0).reshape(2, 3)

    ft.cached_array("x", "k", compute, tmp_path)
    (tmp_path / "x-k.npy").write_bytes(b"not an npy file")
    assert np.array_equal(ft.cached_array("x", "k", compute, tmp_path), np.arange(6.0).reshape(2, 3))
    assert len(calls) == 2


def test_an_unwritable_cache_still_returns_the_array(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    result = ft.cached_array("x", "k", lambda: np.ones(3), blocked / "cache")
    assert np.array_equal(result, np.ones(3))


def test_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(ft.FEATURE_CACHE_ENV, str(tmp_path))
    assert ft.feature_cache_dir() == tmp_path
    monkeypatch.delenv(ft.FEATURE_CACHE_ENV)
    assert ft.feature_cache_dir().name == "features"


# ---------------------------------------------------------------------------------- backbones


@pytest.fixture
def counted_embedding(monkeypatch):
    """common.backbones.embed replaced by a cheap function of the images that counts its calls."""
    from common import backbones

    calls = []

    def embed(name, images, data_dir, device=None):
        calls.append((name, len(images)))
        dims = backbones.get_backbone(name).dims
        return np.repeat(images.reshape(len(images), -1).mean(axis=1, keepdims=True), dims, axis=1).astype(np.float32)

    monkeypatch.setattr(backbones, "embed", embed)
    return calls


def test_backbone_features_are_reused_for_the_same_backbone_weights_and_images(images, tmp_path, counted_embedding):
    first = ft.backbone_features("resnet56", images, tmp_path / "data", tmp_path / "cache")
    again = ft.backbone_features("resnet56", images, tmp_path / "data", tmp_path / "cache")
    assert counted_embedding == [("resnet56", 12)] and np.array_equal(first, again)
    assert first.shape == (12, 64) and isinstance(again, np.memmap)


def test_backbone_features_are_recomputed_for_other_images_weights_or_backbone(images, tmp_path, monkeypatch,
                                                                               counted_embedding):
    import dataclasses

    from common import backbones

    cache = tmp_path / "cache"
    ft.backbone_features("resnet56", images, tmp_path, cache)
    ft.backbone_features("resnet56", images[:5], tmp_path, cache)  # another image set
    changed = images.copy()
    changed[3, 1, 1, 1] ^= 1
    ft.backbone_features("resnet56", changed, tmp_path, cache)  # one pixel differs
    ft.backbone_features("resnet20", images, tmp_path, cache)  # another backbone
    assert len(counted_embedding) == 4
    resnet = backbones.BACKBONES["resnet56"]
    new_weights = dataclasses.replace(resnet, weights=dataclasses.replace(resnet.weights, sha256="0" * 64))
    monkeypatch.setitem(backbones.BACKBONES, "resnet56", new_weights)
    ft.backbone_features("resnet56", images, tmp_path, cache)  # the weights' checksum changed
    assert len(counted_embedding) == 5 and len(list(cache.glob("backbone-*.npy"))) == 5
    monkeypatch.setitem(backbones.BACKBONES, "resnet56", resnet)
    ft.backbone_features("resnet56", images, tmp_path, cache)  # back to the first file
    assert len(counted_embedding) == 5
