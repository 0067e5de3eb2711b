"""Models: factories, what they read, and cross-validated predictions.

A model is any scikit-learn style classifier (``fit``, ``predict_proba``, ``classes_``), built by
a factory from an integer seed, and declared as a :class:`Model` that also names the block of the
design matrix it reads. Every round fits it with K-fold cross-validation on the labeled examples
and their consensus labels, which gives out-of-fold probabilities for the labeled examples and
fold-averaged probabilities for everything else (the unlabeled pool, the test set).

A factory may also train all folds of a cross-validation at once: if it has a ``cross_validate``
method (see :func:`cross_validated_predictions`), it is called instead of one ``fit`` per fold.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from common.seeding import ModelSeeds

ModelFactory = Callable[[int], Any]

FEATURES = "features"
"""The block every tabular model reads: the problem's feature matrix as a whole."""


@dataclass(frozen=True)
class Model:
    """A model factory and the block of the design matrix it reads.

    A problem is built with exactly the blocks its run's models read (see
    :attr:`common.benchmark.Benchmark.inputs`), so problem building and caching depend on those
    blocks, never on a model's name.
    """

    factory: ModelFactory
    reads: str = FEATURES


def sklearn_mlp(seed: int) -> MLPClassifier:
    """The protocol's model as scikit-learn implements it: the reference for ``mlp``."""
    return MLPClassifier(max_iter=500, random_state=seed)


class CompiledMLPFactory:
    """``MLPClassifier(max_iter=500)``'s training algorithm and random draws, compiled with Numba
    (:mod:`common.compiled_mlp`, docs/compiled-mlp.md): all folds of a cross-validation in one call,
    5-6 times faster, equal to scikit-learn's fit to rounding. Numba is imported on first use."""

    @staticmethod
    def _compiled():
        from common.compiled_mlp import CompiledMLP

        return CompiledMLP()

    def __call__(self, seed: int) -> Any:
        return self._compiled()(seed)

    def cross_validate(self, X, y, X_others, num_classes, splits, fold_seeds):
        return self._compiled().cross_validate(X, y, X_others, num_classes, splits, fold_seeds)


def extra_trees(seed: int) -> ExtraTreesClassifier:
    return ExtraTreesClassifier(random_state=seed, n_jobs=1)


def knn(seed: int) -> KNeighborsClassifier:
    return KNeighborsClassifier(weights="distance")


TABULAR_MODELS: dict[str, Model] = {
    "mlp": Model(CompiledMLPFactory()),
    "sklearn-mlp": Model(sklearn_mlp),
    "extra-trees": Model(extra_trees),
    "knn": Model(knn),
}


def full_proba(model: Any, X: np.ndarray, num_classes: int) -> np.ndarray:
    """``predict_proba`` with one column per class, zeros for classes the fit never saw."""
    proba = np.zeros((X.shape[0], num_classes))
    if X.shape[0]:
        proba[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(X)
    return proba


class _ConstantModel:
    """Stands in for a model whose training fold holds a single class."""

    def __init__(self, label: int):
        self.classes_ = np.array([label])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.ones((X.shape[0], 1))


def cross_validated_predictions(
    factory: ModelFactory,
    X: np.ndarray,
    y: np.ndarray,
    X_others: list[np.ndarray],
    num_classes: int,
    folds: int,
    seeds: ModelSeeds,
) -> tuple[np.ndarray, list[np.ndarray], list[dict]]:
    """Out-of-fold probabilities for ``(X, y)``, fold-averaged ones for each of ``X_others``, and
    one record per fold (its training ``rows``; ``epochs`` and ``converged`` for iterative models).

    Folds are stratified and shuffled; a class with fewer examples than folds lands in only some
    of them, and a class missing from a fold's training part gets probability 0 from that fold's
    model (a fold whose training part holds one class predicts it with certainty).
    """
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seeds.fold_split())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")
        splits = list(splitter.split(X, y))
    fold_seeds = [seeds.fold_model(fold) for fold in range(folds)]
    if hasattr(factory, "cross_validate"):
        out_of_fold, others, records = factory.cross_validate(X, y, X_others, num_classes, splits, fold_seeds)
        return out_of_fold, others, _with_rows(records, splits)
    out_of_fold = np.zeros((X.shape[0], num_classes))
    others = [np.zeros((Xo.shape[0], num_classes)) for Xo in X_others]
    records = []
    for (train, held_out), fold_seed in zip(splits, fold_seeds):
        model, record = _fit(factory, X[train], y[train], fold_seed)
        records.append(record)
        out_of_fold[held_out] = full_proba(model, X[held_out], num_classes)
        for Xo, total in zip(X_others, others):
            total += full_proba(model, Xo, num_classes)
    return out_of_fold, [total / folds for total in others], _with_rows(records, splits)


def _with_rows(records: list[dict], splits: list) -> list[dict]:
    """Each fold's record with its training rows (with batches of 200, ``rows % 200`` is the size
    of the MLP's last minibatch, the cause of its bad stops: docs/fidelity-model-collapse.md)."""
    return [{**record, "rows": len(train)} for record, (train, _) in zip(records, splits)]


def _fit(factory: ModelFactory, X: np.ndarray, y: np.ndarray, seed: int) -> tuple[Any, dict]:
    """The fitted model and what is known of its convergence (a warning is recorded, not shown)."""
    if len(np.unique(y)) == 1:
        return _ConstantModel(int(y[0])), {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = factory(seed).fit(X, y)
    record = {}
    if hasattr(model, "n_iter_"):
        epochs = model.n_iter_
        record["epochs"] = int(np.max(epochs))
    if hasattr(model, "n_iter_") or caught:
        record["converged"] = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    for warning in caught:
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return model, record
