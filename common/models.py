"""Model factories and cross-validated predictions.

A model is any scikit-learn style classifier (``fit``, ``predict_proba``, ``classes_``), built by
a factory from an integer seed. Every round fits it with K-fold cross-validation on the labeled
examples and their consensus labels, which gives out-of-fold probabilities for the labeled
examples and fold-averaged probabilities for everything else (the unlabeled pool, the test set).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

ModelFactory = Callable[[int], Any]


def mlp(seed: int) -> MLPClassifier:
    return MLPClassifier(max_iter=500, random_state=seed)


def extra_trees(seed: int) -> ExtraTreesClassifier:
    return ExtraTreesClassifier(random_state=seed, n_jobs=1)


def knn(seed: int) -> KNeighborsClassifier:
    return KNeighborsClassifier(weights="distance")


TABULAR_MODELS: dict[str, ModelFactory] = {"mlp": mlp, "extra-trees": extra_trees, "knn": knn}


def derive_seed(*keys: int) -> int:
    """A 32-bit seed determined by ``keys`` (run seed, round, member, fold, ...)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def full_proba(model: Any, X: np.ndarray, num_classes: int) -> np.ndarray:
    """``predict_proba`` with one column per class, zeros for classes the fit never saw."""
    proba = np.zeros((len(X), num_classes))
    if len(X):
        proba[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(X)
    return proba


class _ConstantModel:
    """Stands in for a model whose training fold holds a single class."""

    def __init__(self, label: int):
        self.classes_ = np.array([label])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.ones((len(X), 1))


def cross_validated_predictions(
    factory: ModelFactory,
    X: np.ndarray,
    y: np.ndarray,
    X_others: list[np.ndarray],
    num_classes: int,
    folds: int,
    seed: int,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Out-of-fold probabilities for ``(X, y)`` and fold-averaged ones for each of ``X_others``.

    Folds are stratified and shuffled; a class with fewer examples than folds lands in only some
    of them, and a class missing from a fold's training part gets probability 0 from that fold's
    model (a fold whose training part holds one class predicts it with certainty).
    """
    out_of_fold = np.zeros((len(X), num_classes))
    others = [np.zeros((len(Xo), num_classes)) for Xo in X_others]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=derive_seed(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="The least populated class")
        for fold, (train, held_out) in enumerate(splitter.split(X, y)):
            model = _fit(factory, X[train], y[train], derive_seed(seed, fold))
            out_of_fold[held_out] = full_proba(model, X[held_out], num_classes)
            for Xo, total in zip(X_others, others):
                total += full_proba(model, Xo, num_classes)
    return out_of_fold, [total / folds for total in others]


def _fit(factory: ModelFactory, X: np.ndarray, y: np.ndarray, seed: int) -> Any:
    if len(np.unique(y)) == 1:
        return _ConstantModel(int(y[0]))
    return factory(seed).fit(X, y)
