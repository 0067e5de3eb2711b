"""Benchmark definitions: a dataset, how a seed turns it into a problem, its models and defaults.

A benchmark script names one of these and hands it to :func:`common.runner.main`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, Normalizer, StandardScaler

from common.annotators import initial_label_matrix, simulate_annotators
from common.features import KMeansFeatureSettings
from common.models import TABULAR_MODELS, ModelFactory, derive_seed
from common.problem import Problem

ProblemBuilder = Callable[[Path, int, int, str], Problem]
"""``(data_dir, seed, n_initial, model_name) -> Problem``."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    make_problem: ProblemBuilder
    models: dict[str, ModelFactory]
    ensemble: tuple[str, ...]
    """Members fitted for ensemble methods (their predictions are averaged)."""
    default_model: str
    rounds: int
    batch_size: int
    n_initial: int
    pool_size: int
    num_annotators: int
    folds: int = 5
    seeds: int = 5
    settings: dict = field(default_factory=dict)
    """Dataset settings recorded with every run (subset sizes, noise level, ...)."""

    def members(self, model: str, ensemble: bool) -> list[ModelFactory]:
        return [self.models[name] for name in self.ensemble] if ensemble else [self.models[model]]


def simulated_tabular_problem(
    load: Callable[[Path], tuple[np.ndarray, np.ndarray]],
    class_counts: tuple[int, ...],
    n_test: int,
    num_annotators: int,
    trace_fraction: float,
) -> ProblemBuilder:
    """A problem builder for tabular data with simulated annotators (the Wall Robot protocol).

    Seed ``s`` draws a class-stratified subset with ``class_counts`` rows per class, splits off a
    stratified test set of ``n_test`` rows, simulates the annotators on the remaining pool and
    labels ``n_initial`` pool examples, all from generators derived from ``s`` alone, so every
    method with seed ``s`` starts from the same state.
    """

    def make_problem(data_dir: Path, seed: int, n_initial: int, model: str) -> Problem:
        X, y = load(data_dir)
        num_classes = len(class_counts)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
        subset = np.concatenate(
            [rng.choice(np.flatnonzero(y == k), count, replace=False) for k, count in enumerate(class_counts)]
        )
        X, y = X[subset], y[subset]
        pool, test = train_test_split(
            np.arange(len(y)), test_size=n_test, stratify=y, random_state=derive_seed(seed, 0, 1)
        )
        hidden, noise_matrix = simulate_annotators(
            y[pool], num_annotators, trace_fraction, num_classes, derive_seed(seed, 0, 2)
        )
        labeled = np.sort(rng.choice(len(pool), n_initial, replace=False))
        initial = initial_label_matrix(hidden, labeled, rng)
        accuracy = np.mean(hidden == y[pool][:, None], axis=0)
        counts = np.sum(~np.isnan(initial[labeled]), axis=1)
        info = {
            "annotator_identity": "simulated",
            "mean_annotator_accuracy": float(accuracy.mean()),
            "noise_matrix": np.round(noise_matrix, 6).tolist(),
            "initial_labels_per_example": {
                str(k): int(np.sum(counts == k)) for k in range(1, counts.max() + 1)
            },
        }
        return Problem(X[pool], y[pool], X[test], y[test], hidden, initial, num_classes, info)

    return make_problem


def _wall_robot(name: str, n_initial: int, trace_fraction: float) -> Benchmark:
    from common.datasets.wall_robot import load_wall_robot

    class_counts, n_test, num_annotators = (1100, 900, 300, 700), 1000, 30
    return Benchmark(
        name=name,
        make_problem=simulated_tabular_problem(
            load_wall_robot, class_counts, n_test, num_annotators, trace_fraction
        ),
        models=TABULAR_MODELS,
        ensemble=("mlp", "extra-trees", "knn"),
        default_model="mlp",
        rounds=20,
        batch_size=100,
        n_initial=n_initial,
        pool_size=sum(class_counts) - n_test,
        num_annotators=num_annotators,
        settings={
            "class_counts": list(class_counts),
            "n_test": n_test,
            "num_annotators": num_annotators,
            "trace_fraction": trace_fraction,
        },
    )


WALL_ROBOT = _wall_robot("wall-robot", n_initial=500, trace_fraction=0.85)
WALL_ROBOT_COMPLETELY_LABELED = _wall_robot(
    "wall-robot-completely-labeled", n_initial=2000, trace_fraction=0.8
)

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b for b in (WALL_ROBOT, WALL_ROBOT_COMPLETELY_LABELED)
}


# ------------------------------------------------------------------------------------ CIFAR-10H
#
# The design matrix of a CIFAR-10H problem is a set of column blocks, all computed without labels
# from the pool images only and cached on disk per split (common.features):
#   k-means features (Coates et al.) | PCA of those features | PCA of the raw pixels
# and, for --model resnet18 only, the raw pixels (0..1, HWC order). Each model reads its block.

CIFAR_FEATURES = KMeansFeatureSettings()
CIFAR_PCA_COMPONENTS = 100
_F = CIFAR_FEATURES.num_features
CIFAR_BLOCKS = {
    "kmeans": (0, _F),
    "kmeans-pca": (_F, _F + CIFAR_PCA_COMPONENTS),
    "pixels-pca": (_F + CIFAR_PCA_COMPONENTS, _F + 2 * CIFAR_PCA_COMPONENTS),
    "pixels": (_F + 2 * CIFAR_PCA_COMPONENTS, _F + 2 * CIFAR_PCA_COMPONENTS + 32 * 32 * 3),
}


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

    return make_pipeline(_reads("pixels"), ResNet18Classifier(random_state=seed))


CIFAR_MODELS: dict[str, ModelFactory] = {
    "kmeans-logreg": kmeans_logreg,
    "kmeans-knn": kmeans_knn,
    "pixels-pca-logreg": pixels_pca_logreg,
    "resnet18": resnet18,
}


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


def cifar_split(labels: np.ndarray, seed: int, test_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Seed ``seed``'s pool and test indices: a stratified split with ``test_size`` test images."""
    return train_test_split(np.arange(len(labels)), test_size=test_size, stratify=labels,
                            random_state=derive_seed(seed, 0, 1))


def cifar10h_problem(test_size: int, initial_accuracy: float, skill_spread: float) -> ProblemBuilder:
    """A problem builder for CIFAR-10H (see common/datasets/cifar10h.py and docs/cifar10h.md).

    Seed ``s`` splits the 10,000 images (stratified) into ``test_size`` test images and a pool,
    builds the annotators on the pool (the real ones with the raw file, else pseudo-annotators
    from the vote counts) and gives ``n_initial`` random pool images 1 to 5 initial labels from the
    least accurate annotators, to a majority-vote accuracy near ``initial_accuracy``.
    """

    def make_problem(data_dir: Path, seed: int, n_initial: int, model: str) -> Problem:
        from common.datasets import cifar10h as c10h

        data = c10h.load_cifar10h(data_dir)
        pool, test = cifar_split(data.labels, seed, test_size)
        y_pool = data.labels[pool]
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
        if data.raw is not None:
            hidden, _ = c10h.real_annotator_labels(data.raw, pool)
            identity = "real"
        else:
            hidden = c10h.pseudo_annotator_labels(data.counts[pool], y_pool, rng, skill_spread=skill_spread)
            identity = "simulated"
        labeled = np.sort(rng.choice(len(pool), n_initial, replace=False))
        initial, mix, reached = c10h.least_accurate_initial_labels(
            hidden, y_pool, labeled, rng, initial_accuracy
        )
        design = cifar_design_matrix(data.images[pool], data.images[test])
        if model == "resnet18":
            order = np.concatenate([pool, test])
            design = np.hstack([design, data.images[order].reshape(len(order), -1).astype(np.float32) / 255])
        counts = np.bincount(np.sum(~np.isnan(initial[labeled]), axis=1))
        info = {
            "annotator_identity": identity,
            "sources": data.sources,
            **c10h.describe_annotators(hidden, y_pool),
            "initial_accuracy_target": initial_accuracy,
            "initial_consensus_accuracy": reached,
            "initial_mix": mix,
            "initial_labels_per_example": {str(k): int(c) for k, c in enumerate(counts) if k},
        }
        if identity == "simulated":
            info["skill_spread"] = skill_spread
        n_pool = len(pool)
        return Problem(
            design[:n_pool], y_pool, design[n_pool:], data.labels[test], hidden, initial, c10h.NUM_CLASSES, info
        )

    return make_problem


def cifar10h_benchmark(
    initial_accuracy: float = 0.82, test_size: int = 5000, skill_spread: float = 2.0
) -> Benchmark:
    """The CIFAR-10H benchmark; the arguments are its dataset flags (see cifar-10h/run_benchmark.py)."""
    return Benchmark(
        name="cifar-10h",
        make_problem=cifar10h_problem(test_size, initial_accuracy, skill_spread),
        models=CIFAR_MODELS,
        ensemble=("kmeans-logreg", "pixels-pca-logreg", "kmeans-knn"),
        default_model="kmeans-logreg",
        rounds=13,
        batch_size=500,
        n_initial=1000,
        pool_size=10_000 - test_size,
        num_annotators=47,  # votes per image, at least: the runner's label-budget check
        settings={
            "test_size": test_size,
            "initial_accuracy": initial_accuracy,
            "skill_spread": skill_spread,
            "features": {**asdict(CIFAR_FEATURES), "pca_components": CIFAR_PCA_COMPONENTS},
        },
    )


CIFAR_10H = cifar10h_benchmark()
BENCHMARKS[CIFAR_10H.name] = CIFAR_10H
