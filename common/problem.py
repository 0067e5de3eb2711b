"""The round-0 state of one run: what a dataset definition builds for a seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass
class Problem:
    """Features, true labels, the hidden annotator labels and the labels collected before round 0.

    ``hidden_labels`` and ``initial_labels`` are ``(n_pool, n_annotators)`` float matrices with NaN
    for missing labels; ``hidden_labels`` is the oracle (every label an annotator would give) and
    ``initial_labels`` a subset of it. ``X_pool`` and ``X_test`` are design matrices with one row
    per example: a NumPy array or a SciPy sparse matrix in CSR format (TF-IDF text features), or
    anything else with ``shape[0]`` rows that can be indexed by rows (integer and boolean arrays)
    and that the benchmark's models accept.
    ``info`` holds facts worth recording with the results (annotator accuracy, identity source).
    ``label_costs`` is None (every label costs 1) or a ``(n_pool, n_annotators)`` float matrix:
    the price of each hidden label (real response times where the data has them, a simulated
    price scheme elsewhere), finite and positive wherever a hidden label exists.
    """

    X_pool: np.ndarray
    y_pool: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    hidden_labels: np.ndarray
    initial_labels: np.ndarray
    num_classes: int
    info: dict = field(default_factory=dict)
    label_costs: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        for name, X, y in (("X_pool", self.X_pool, self.y_pool), ("X_test", self.X_test, self.y_test)):
            if getattr(X, "ndim", None) != 2 or X.shape[0] != len(y):
                raise ValueError(f"{name} must be a 2-d design matrix with one row per example (its y), got {getattr(X, 'shape', type(X))}")
        if len(self.hidden_labels) != len(self.y_pool):
            raise ValueError("hidden_labels must have one row per pool example")
        if self.initial_labels.shape != self.hidden_labels.shape:
            raise ValueError("initial_labels and hidden_labels must have the same shape")
        collected = ~np.isnan(self.initial_labels)
        if not np.array_equal(self.initial_labels[collected], self.hidden_labels[collected]):
            raise ValueError("initial labels must be labels the annotators actually give")
        if self.label_costs is not None:
            if self.label_costs.shape != self.hidden_labels.shape:
                raise ValueError("label_costs and hidden_labels must have the same shape")
            given = ~np.isnan(self.hidden_labels)
            costs = self.label_costs[given]
            if not (np.all(np.isfinite(costs)) and np.all(costs > 0)):
                raise ValueError("every hidden label needs a finite, positive cost in label_costs")

    def cost_of(self, examples: np.ndarray, annotators: np.ndarray) -> np.ndarray:
        """The price of the labels ``annotators[i]`` gives ``examples[i]`` (1 each without costs)."""
        if self.label_costs is None:
            return np.ones(len(examples))
        return self.label_costs[examples, annotators]
