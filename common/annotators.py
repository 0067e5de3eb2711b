"""Annotators: simulated noisy annotators, initial label sets and the oracle that answers requests.

A label matrix has shape ``(n_examples, n_annotators)``, dtype float, with ``NaN`` where that
annotator has not labeled that example (cleanlab's ``labels_multiannotator`` format). The oracle
holds the *hidden* matrix of every label each annotator would give; the loop only ever sees the
collected matrix, which the oracle fills one label at a time.
"""

from __future__ import annotations

import numpy as np
from cleanlab.benchmarking.noise_generation import (
    generate_noise_matrix_from_trace,
    generate_noisy_labels,
)


def simulate_annotators(
    true_labels: np.ndarray,
    num_annotators: int,
    trace_fraction: float,
    num_classes: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels of ``num_annotators`` simulated annotators for every example.

    As in the ActiveLab study, one class-conditional noise matrix with trace
    ``trace_fraction * K`` and the examples' class prior is drawn with cleanlab's
    ``generate_noise_matrix_from_trace``; each annotator then labels every example through it
    (``generate_noisy_labels``), independently. cleanlab draws from numpy's global generator, so it
    is seeded here and restored afterwards: the caller's global state is untouched.

    Returns the hidden label matrix ``(n, num_annotators)`` (float, no NaN) and the noise matrix.
    """
    prior = np.bincount(true_labels, minlength=num_classes) / len(true_labels)
    saved_state = np.random.get_state()
    try:
        noise_matrix = generate_noise_matrix_from_trace(
            num_classes,
            trace=trace_fraction * num_classes,
            py=prior,
            valid_noise_matrix=True,
            seed=seed,
        )
        np.random.seed(seed)
        columns = [generate_noisy_labels(true_labels, noise_matrix) for _ in range(num_annotators)]
    finally:
        np.random.set_state(saved_state)
    return np.column_stack(columns).astype(float), noise_matrix


def initial_label_matrix(
    hidden_labels: np.ndarray,
    labeled_examples: np.ndarray,
    rng: np.random.Generator,
    max_labels: int = 5,
    extra_label_keep_prob: float = 0.05,
) -> np.ndarray:
    """The labels collected before round 0.

    Each example in ``labeled_examples`` first gets 1 to ``max_labels`` (uniform) distinct
    annotators; then every label but one (chosen at random) is kept with probability
    ``extra_label_keep_prob``. With the defaults about 90% of the labeled examples keep one label,
    9% two and 1% three or more, the shape of the reference data. Finally every annotator that
    labeled something but overlaps with nobody gets one extra label on a multiply-labeled example,
    because CROWDLAB estimates annotator quality from agreement between annotators.
    Only annotators with a hidden label (non-NaN) for an example are eligible for it.
    """
    n_examples, n_annotators = hidden_labels.shape
    labels = np.full(hidden_labels.shape, np.nan)
    eligible = ~np.isnan(hidden_labels[labeled_examples])
    # A random order of the eligible annotators per example: sort random keys, ineligible last.
    keys = np.where(eligible, rng.random(eligible.shape), np.inf)
    order = np.argsort(keys, axis=1)
    n_eligible = eligible.sum(axis=1)
    n_drawn = np.minimum(rng.integers(1, max_labels + 1, size=len(labeled_examples)), n_eligible)
    if np.any(n_drawn == 0):
        raise ValueError("some initially labeled examples have no annotator able to label them")
    rank = np.arange(n_annotators)[None, :]
    keep = rank < n_drawn[:, None]
    keep &= (rank == 0) | (rng.random(keep.shape) < extra_label_keep_prob)
    rows = np.repeat(labeled_examples, keep.sum(axis=1))
    cols = order[keep]
    labels[rows, cols] = hidden_labels[rows, cols]
    _ensure_overlap(labels, hidden_labels, rng)
    return labels


def _ensure_overlap(labels: np.ndarray, hidden_labels: np.ndarray, rng: np.random.Generator) -> None:
    """Give every isolated annotator one label on an example that someone else also labeled."""
    labeled = ~np.isnan(labels).all(axis=1)
    for annotator in range(labels.shape[1]):
        present = ~np.isnan(labels)
        counts = present.sum(axis=1)
        if not present[:, annotator].any() or np.any(present[:, annotator] & (counts >= 2)):
            continue
        candidates = np.flatnonzero(
            labeled & ~present[:, annotator] & ~np.isnan(hidden_labels[:, annotator])
        )
        if len(candidates):
            example = rng.choice(candidates)
            labels[example, annotator] = hidden_labels[example, annotator]


class Oracle:
    """Answers label requests from the hidden labels, never asking an annotator twice.

    ``hidden_labels[i, m]`` is the label annotator ``m`` gives example ``i`` (NaN: that annotator
    cannot label it, as for real annotators who never saw the image).
    """

    def __init__(self, hidden_labels: np.ndarray):
        self.hidden_labels = hidden_labels

    def available(self, labels: np.ndarray, examples: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Boolean ``(len(examples), M)``: annotators who could still label each example."""
        return ~np.isnan(self.hidden_labels[examples]) & np.isnan(labels[examples])

    def label(self, labels: np.ndarray, examples: np.ndarray, rng: np.random.Generator) -> None:
        """One new label for each of ``examples`` (distinct), in place, from a random annotator
        among those who have not labeled it yet; stored in that annotator's column."""
        available = self.available(labels, examples)
        if not available.any(axis=1).all():
            raise ValueError("an example was selected that no remaining annotator can label")
        keys = np.where(available, rng.random(available.shape), -1.0)
        annotators = np.argmax(keys, axis=1)
        labels[examples, annotators] = self.hidden_labels[examples, annotators]
