"""The CIFAR-10H benchmark: 10,000 CIFAR-10 test images with real human votes (see
common/datasets/cifar10h.py and docs/cifar10h.md), its models and its dataset flags.

The design matrix of a CIFAR-10H problem starts with one column, the CIFAR-10 test index of each
row's image (:data:`IMAGE_COLUMN`), followed by the blocks its run's models read, all computed
without labels:

- the k-means blocks, from the pool images only and cached on disk per split (common.features):
  k-means features (Coates et al.) | PCA of those features | PCA of the raw pixels;
- then, when a run's model reads it (``--model resnet18``), the raw pixels (0..1, HWC order).

Pretrained backbones (:mod:`common.backbones`) add no columns: their features are computed once
for the whole image set, cached on disk (:func:`common.features.backbone_features`) and kept for
this process by the problem builder (:func:`load_image_features`); their models look each row's
features up by its image index (:func:`image_features`). Other suites on CIFAR-10 test images reuse
the blocks and models through :func:`cifar_design` (features alone: :func:`cifar_image_features`).
Each model declares the block it reads (:class:`common.models.Model`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler

from common.benchmark import Benchmark, DatasetFlag, ProblemBuilder, labels_per_example, register_benchmark
from common.backbones import BACKBONES
from common.features import KMeansFeatureSettings
from common.models import Model
from common.problem import Problem
from common.seeding import RunSeeds

CIFAR_FEATURES = KMeansFeatureSettings()
CIFAR_PCA_COMPONENTS = 100
IMAGE_COLUMN = 0
"""Column 0 of every CIFAR-10H design matrix: the row's CIFAR-10 test index (exact in float32)."""
_F = CIFAR_FEATURES.num_features
CIFAR_BLOCKS = {
    "image": (0, 1),
    "kmeans": (1, 1 + _F),
    "kmeans-pca": (1 + _F, 1 + _F + CIFAR_PCA_COMPONENTS),
    "pixels-pca": (1 + _F + CIFAR_PCA_COMPONENTS, 1 + _F + 2 * CIFAR_PCA_COMPONENTS),
    "pixels": (1 + _F + 2 * CIFAR_PCA_COMPONENTS, 1 + _F + 2 * CIFAR_PCA_COMPONENTS + 32 * 32 * 3),
}
PIXELS = "pixels"
"""Read only by resnet18: 3,072 columns, present only when a run reads them."""
KMEANS_BLOCKS = frozenset({"kmeans", "kmeans-pca", "pixels-pca", PIXELS})
"""Blocks that need the k-means columns (computed only for runs that read one of them)."""


def _block(X: np.ndarray, block: str) -> np.ndarray:
    start, stop = CIFAR_BLOCKS[block]
    return np.asarray(X[:, start:stop], dtype=np.float32)


def _reads(block: str) -> FunctionTransformer:
    return FunctionTransformer(_block, kw_args={"block": block})


def kmeans_logreg(seed: int) -> Pipeline:
    """Multinomial logistic regression on the standardised k-means features. C was tuned on one
    split; 100 L-BFGS iterations give probabilities within 0.04 of the converged fit's (which
    takes about 200) at half the time, the same test accuracy."""
    return make_pipeline(_reads("kmeans"), StandardScaler(), LogisticRegression(C=0.003, max_iter=100))


def kmeans_knn(seed: int) -> Pipeline:
    """25 nearest neighbours (cosine, distance-weighted) on a 100-d PCA of the k-means features."""
    return make_pipeline(_reads("kmeans-pca"), Normalizer(), KNeighborsClassifier(25, weights="distance"))


def pixels_pca_logreg(seed: int) -> Pipeline:
    """Logistic regression on a whitened 100-d PCA of the raw pixels."""
    return make_pipeline(_reads("pixels-pca"), LogisticRegression(C=0.01, max_iter=300))


def resnet18(seed: int) -> Pipeline:
    """ResNet-18 for 32x32 images trained from scratch (imports torch; CUDA when available)."""
    from common.cnn import ResNet18Classifier

    return make_pipeline(_reads(PIXELS), ResNet18Classifier(random_state=seed))


# ---------------------------------------------------------------------------------- backbones

_IMAGE_FEATURES: dict[str, np.ndarray] = {}
"""Backbone name -> its features for every image of the image set the latest problem was built on
(row i = image i), memory-mapped from the feature cache; filled by :func:`load_image_features`."""


def load_image_features(backbone: str, images: np.ndarray, data_dir: Path) -> np.ndarray:
    """The backbone's features of ``images`` (computed once per machine, cached on disk), kept for
    this process's models (:func:`image_features`)."""
    from common.features import backbone_features

    _IMAGE_FEATURES[backbone] = backbone_features(backbone, images, data_dir)
    return _IMAGE_FEATURES[backbone]


def cifar_image_features(data_dir: Path, backbone: str, indices: np.ndarray | None = None) -> np.ndarray:
    """The backbone's features of the CIFAR-10 test images ``indices`` (all 10,000 when None),
    ``(len(indices), dims)`` float32: computed once for all 10,000 images of the data directory,
    cached on disk, and kept for this process's backbone models (their design matrix's column 0
    holds each row's image index)."""
    from common.datasets import cifar10h as c10h

    table = load_image_features(backbone, c10h.load_cifar10h(data_dir).images, data_dir)
    return np.asarray(table if indices is None else table[np.asarray(indices)])


def image_features(X: np.ndarray, backbone: str) -> np.ndarray:
    """The loaded features of the images whose indices are in ``X``'s column 0."""
    table = _IMAGE_FEATURES.get(backbone)
    if table is None:
        raise RuntimeError(f"no {backbone} features in this process: build the problem first "
                           "(it calls load_image_features)")
    return np.asarray(table[np.asarray(X[:, IMAGE_COLUMN]).astype(np.int64)], dtype=np.float32)


def _looks_up(backbone: str) -> FunctionTransformer:
    # Computing the features needs torch (the [images] extra): building the model says so first, in
    # the one-line form the runner gives every missing optional module (common.runner.check_dependencies).
    if importlib.util.find_spec("torch") is None:
        raise ModuleNotFoundError(f"{backbone} needs torch: No module named 'torch'", name="torch")
    return FunctionTransformer(image_features, kw_args={"backbone": backbone})


def backbone_logreg(backbone: str, C: float, seed: int) -> Pipeline:
    """Multinomial logistic regression on a backbone's standardised features."""
    return make_pipeline(_looks_up(backbone), StandardScaler(), LogisticRegression(C=C, max_iter=300))


def backbone_knn(backbone: str, seed: int) -> Pipeline:
    """25 nearest neighbours (cosine, distance-weighted) on a backbone's features."""
    return make_pipeline(_looks_up(backbone), Normalizer(), KNeighborsClassifier(25, weights="distance"))


# C chosen by 3-fold cross-validation on 1,000 crowd labels (perf/backbones.py, docs/cifar10h.md).
BACKBONE_C = {"efficientnet-lite2": 0.003, "efficientnet-lite0": 0.003, "resnet56": 0.003}

CIFAR_MODELS: dict[str, Model] = {
    "kmeans-logreg": Model(kmeans_logreg, reads="kmeans"),
    "kmeans-knn": Model(kmeans_knn, reads="kmeans-pca"),
    "pixels-pca-logreg": Model(pixels_pca_logreg, reads="pixels-pca"),
    "resnet18": Model(resnet18, reads=PIXELS),
    **{f"{name}-logreg": Model(partial(backbone_logreg, name, C), reads=name) for name, C in BACKBONE_C.items()},
    "efficientnet-lite2-knn": Model(partial(backbone_knn, "efficientnet-lite2"), reads="efficientnet-lite2"),
}
DEFAULT_MODEL = "efficientnet-lite2-logreg"
ENSEMBLE = ("efficientnet-lite2-logreg", "efficientnet-lite0-logreg", "efficientnet-lite2-knn")
"""Members that differ in more than the seed: two ImageNet backbones, two model families."""
NO_OUTSIDE_DATA_ENSEMBLE = ("kmeans-logreg", "pixels-pca-logreg", "kmeans-knn")
"""The ensemble of the models that use no pretrained weights (the default ensemble before the
backbones): two representations learned from the pool images, two model families."""
MODEL_ENSEMBLES = {name: NO_OUTSIDE_DATA_ENSEMBLE for name in ("kmeans-logreg", "kmeans-knn", "pixels-pca-logreg", "resnet18")}
"""With these ``--model`` values the ensemble methods fit :data:`NO_OUTSIDE_DATA_ENSEMBLE`."""


def cifar_design_matrix(pool_images: np.ndarray, test_images: np.ndarray) -> np.ndarray:
    """The label-free column blocks for pool then test images, cached on disk per split."""
    from common.features import cache_key, cached_array

    # Bump "version" whenever the computation changes, so that old cache files are not reused.
    settings = {"version": 1, "kmeans": CIFAR_FEATURES, "pca_components": CIFAR_PCA_COMPONENTS}
    key = cache_key([pool_images, test_images], repr(settings))
    return cached_array("cifar10h", key, lambda: _compute_design_matrix(pool_images, test_images))


def _compute_design_matrix(pool_images: np.ndarray, test_images: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    from common.features import kmeans_features, pixel_pca

    images = np.concatenate([pool_images, test_images])
    n_pool = len(pool_images)
    # One thread: the cached features are then the same whichever process computed them.
    with threadpool_limits(limits=1):
        features = kmeans_features(pool_images, images, CIFAR_FEATURES)
        scaled = StandardScaler().fit(features[:n_pool]).transform(features)
        pca = PCA(CIFAR_PCA_COMPONENTS, svd_solver="randomized", random_state=0).fit(scaled[:n_pool])
        blocks = [features, pca.transform(scaled), pixel_pca(pool_images, images, CIFAR_PCA_COMPONENTS, 0)]
    return np.hstack(blocks).astype(np.float32)


def cifar_design(images: np.ndarray, pool: np.ndarray, test: np.ndarray, inputs: frozenset,
                 data_dir: Path) -> np.ndarray:
    """The design matrix of the images ``pool`` then ``test`` (indices into ``images``, the CIFAR-10
    test images in test-set order): :data:`IMAGE_COLUMN`, then the blocks of :data:`CIFAR_BLOCKS`
    that ``inputs`` needs; the backbones ``inputs`` names are loaded for this process's models.
    Every suite on CIFAR-10 test images builds its design matrix here (CIFAR-10H, CIFAR-10S)."""
    order = np.concatenate([pool, test])
    blocks = [order[:, None].astype(np.float32)]  # IMAGE_COLUMN
    if inputs & KMEANS_BLOCKS:
        blocks.append(cifar_design_matrix(images[pool], images[test]))
    if PIXELS in inputs:
        blocks.append(images[order].reshape(len(order), -1).astype(np.float32) / 255)
    for backbone in sorted(inputs & BACKBONES.keys()):
        load_image_features(backbone, images, data_dir)
    return np.hstack(blocks)


def cifar_split(labels: np.ndarray, seeds: RunSeeds, test_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The run's pool and test indices: a stratified split with ``test_size`` test images."""
    return train_test_split(np.arange(len(labels)), test_size=test_size, stratify=labels,
                            random_state=seeds.split())


def cifar10h_problem(test_size: int, initial_accuracy: float, skill_spread: float,
                     images: int = 10_000) -> ProblemBuilder:
    """A problem builder for CIFAR-10H.

    The ``split`` stream splits the 10,000 images (stratified) into ``test_size`` test images and
    a pool; the annotators on the pool are the real ones with the raw file, else pseudo-annotators
    drawn from the vote counts (``annotators`` stream); the ``initial_labels`` stream then gives
    ``n_initial`` random pool images as many initial labels as the ActiveLab study's images had
    (:data:`common.datasets.cifar10h.STUDY_INITIAL_LABELS`), from the least accurate annotators, to
    a majority-vote accuracy near ``initial_accuracy``. ``images`` below 10,000 keeps only the
    first ``images`` images (a quick smoke configuration: ``--images``).
    """

    def make_problem(data_dir: Path, seeds: RunSeeds, n_initial: int, inputs: frozenset) -> Problem:
        from common.datasets import cifar10h as c10h

        data = c10h.load_cifar10h(data_dir)
        all_images, all_labels = data.images[:images], data.labels[:images]
        pool, test = cifar_split(all_labels, seeds, test_size)
        y_pool = all_labels[pool]
        if data.raw is not None:
            hidden, _ = c10h.real_annotator_labels(data.raw, pool)
            identity = "real"
        else:
            hidden = c10h.pseudo_annotator_labels(
                data.counts[pool], y_pool, np.random.default_rng(seeds.annotators()), skill_spread=skill_spread
            )
            identity = "simulated"
        rng = seeds.initial_labels()
        labeled = np.sort(rng.choice(len(pool), n_initial, replace=False))
        initial, mix, reached = c10h.least_accurate_initial_labels(
            hidden, y_pool, labeled, rng, initial_accuracy
        )
        design = cifar_design(all_images, pool, test, inputs, data_dir)
        info = {
            "annotator_identity": identity,
            "sources": data.sources,
            **c10h.describe_annotators(hidden, y_pool),
            "initial_accuracy_target": initial_accuracy,
            "initial_consensus_accuracy": reached,
            "initial_mix": mix,
            "initial_labels_per_example": labels_per_example(initial, labeled),
        }
        if identity == "simulated":
            info["skill_spread"] = skill_spread
        n_pool = len(pool)
        return Problem(
            design[:n_pool], y_pool, design[n_pool:], all_labels[test], hidden, initial, c10h.NUM_CLASSES, info
        )

    return make_problem


IMAGES = 10_000

FLAGS = (
    DatasetFlag("--initial-accuracy", float, 0.82,
                "target majority-vote accuracy of the initial labels (default: 0.82)",
                lambda v: None if 0 < v <= 1 else "must be in (0, 1]"),
    DatasetFlag("--test-size", int, 5000,
                "images held out as the test set; the rest is the pool (default: 5000)",
                lambda v: None if 0 < v < IMAGES else f"must be in 1..{IMAGES - 1}"),
    DatasetFlag("--skill-spread", float, 2.0,
                "how unequal the pseudo-annotators' skill is, without the raw file (default: 2.0)",
                lambda v: None if v >= 0 else "must be at least 0"),
    DatasetFlag("--images", int, IMAGES,
                "use only the first N of the 10,000 images, for quick smoke runs (default: 10000)",
                lambda v: None if 20 <= v <= IMAGES else f"must be in 20..{IMAGES}"),
)


def cifar10h_benchmark(
    initial_accuracy: float = 0.82, test_size: int = 5000, skill_spread: float = 2.0, images: int = IMAGES
) -> Benchmark:
    """The CIFAR-10H benchmark with its dataset flags' values."""
    if test_size >= images:
        from common.execution import UsageError

        raise UsageError(f"--test-size {test_size} leaves no pool among --images {images}; lower it")
    return Benchmark(
        name="cifar-10h",
        make_problem=cifar10h_problem(test_size, initial_accuracy, skill_spread, images),
        models=CIFAR_MODELS,
        ensemble=ENSEMBLE,
        model_ensembles=MODEL_ENSEMBLES,
        default_model=DEFAULT_MODEL,
        rounds=13,
        batch_size=500,
        n_initial=1000,
        pool_size=images - test_size,
        settings={
            "test_size": test_size,
            "initial_accuracy": initial_accuracy,
            "skill_spread": skill_spread,
            "features": {**asdict(CIFAR_FEATURES), "pca_components": CIFAR_PCA_COMPONENTS},
            **({"images": images} if images != IMAGES else {}),
        },
        flags=FLAGS,
        configure=cifar10h_benchmark,
    )


CIFAR_10H = register_benchmark(cifar10h_benchmark())
