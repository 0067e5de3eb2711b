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


NEAR_RANDOM_MARGIN = 0.2
"""An annotator is *near-random* when its accuracy is below chance (1/K) plus this margin: 0.45 for
Wall Robot's 4 classes, 0.3 for Music Genre's 10 (whose three busiest such workers have 0.07-0.18)."""


def near_random_annotators(accuracy: np.ndarray, num_classes: int) -> np.ndarray:
    """Columns of the annotators whose accuracy is below chance + :data:`NEAR_RANDOM_MARGIN`."""
    return np.flatnonzero(np.asarray(accuracy) < 1 / num_classes + NEAR_RANDOM_MARGIN)


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

    def answer(self, labels: np.ndarray, examples: np.ndarray, annotators: np.ndarray) -> np.ndarray:
        """Annotator ``annotators[j]``'s label for ``examples[j]``, stored in place in its column;
        returns the labels given. Asking for a label already given, or one the annotator cannot
        give, is an error: nothing is ever invented or handed out twice (the replay of real labels
        relies on it)."""
        if not self.available(labels, examples)[np.arange(len(examples)), annotators].all():
            raise ValueError("a label was requested that the annotator cannot give or already gave")
        given = self.hidden_labels[examples, annotators]
        labels[examples, annotators] = given
        return given

    def label(self, labels: np.ndarray, examples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One new label for each of ``examples`` (distinct), in place, from a random annotator
        among those who have not labeled it yet; returns their columns."""
        available = self.available(labels, examples)
        if not available.any(axis=1).all():
            raise ValueError("an example was selected that no remaining annotator can label")
        annotators = random_available(available, rng)
        self.answer(labels, examples, annotators)
        return annotators


def random_available(available: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row of ``available`` (B, M), a uniformly random True column: one ``rng.random`` draw per
    cell, unavailable cells keyed -1, arg-max per row (the draw every random assignment makes)."""
    keys = np.where(available, rng.random(available.shape), -1.0)
    return np.argmax(keys, axis=1)

def simulate_individual_annotators(
    true_labels: np.ndarray,
    num_annotators: int,
    num_classes: int,
    seed: int,
    *,
    trace_fraction: float = 0.85,
    spammer_share: float = 0.1,
    spammer_margin: float = 0.1,
    concentration: float = 10.0,
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Labels of ``num_annotators`` simulated annotators of unequal skill, each with its own
    class-conditional noise matrix.

    Where :func:`simulate_annotators` gives every annotator the same matrix, here annotator ``m``
    gets a matrix of its own with trace ``f_m * K``; ``f_m``, its *trace fraction* (its expected
    accuracy on balanced classes), is drawn from a two-part mixture, the shape real crowds show:
    most workers good, a few near-random ones (spammers, as in Raykar & Yu, "Eliminating spammers
    and ranking annotators for crowdsourced labeling tasks", JMLR 13, 2012).

    * **Near-random workers**: exactly ``round(spammer_share * M)`` annotators (3 of 30 by default,
      placed at random columns) with ``f_m ~ Uniform(1/K, 1/K + spammer_margin)``: at most
      ``spammer_margin`` (0.1) above chance, 0.25-0.35 for the 4 Wall Robot classes.
    * **Good workers**, the others: ``f_m = 1/K + (1 - 1/K) * x_m``, ``x_m ~ Beta(c * mu,
      c * (1 - mu))`` with concentration ``c`` (10), where ``mu`` is set so that the expected mean
      of ``f`` over all annotators, given the spammers drawn, is ``trace_fraction``. With K = 4
      and 30 annotators, ``trace_fraction`` 0.85 (Wall Robot) puts the good workers' mean near 0.91
      (standard deviation about 0.07, most between 0.75 and 0.99); 0.8 (the completely labeled
      variant) near 0.86 (s.d. about 0.09). ``f_m`` is capped at 0.999, because cleanlab's
      generator returns negative noise rates at trace exactly K.

    Each matrix is drawn with cleanlab's ``generate_noise_matrix_from_trace`` (trace ``f_m * K``,
    so its diagonal, the per-class accuracies, is a random split of the trace as in the shared
    setting; ``valid_noise_matrix=False``, because a near-random worker cannot be "learnable" on
    its own) and the annotator labels every example through it with ``generate_noisy_labels``.
    An annotator's expected accuracy is the prior-weighted diagonal ``sum_k P(y=k) N_m[k, k]``;
    its mean over annotators is close to ``trace_fraction`` (the diagonal split is exchangeable
    across classes), as the shared setting's mean accuracy is close to its trace fraction, but a
    single annotator's scatters around its ``f_m`` (a near-random worker's between about 0.15 and
    0.45 on the Wall Robot prior) because its trace is split over the classes at random. Over
    seeds 0-19 on a Wall Robot-like pool of 2,000 (30 annotators) the mean expected accuracy was
    0.852 (0.826-0.878) for ``trace_fraction`` 0.85 and 0.801 (0.768-0.829) for 0.8.

    All randomness comes from ``seed``: the mixture, the spammers' columns and one seed per
    annotator for cleanlab are drawn from ``np.random.default_rng(seed)``. cleanlab draws from
    numpy's global generator, which is seeded per annotator here and restored afterwards: the
    caller's global state is untouched.

    Returns the hidden label matrix ``(n, num_annotators)`` (float, no NaN), the list of the
    annotators' noise matrices ``(K, K)`` (column ``j``: ``P(given label | true label j)``) and
    their expected accuracies ``(num_annotators,)``.
    """
    chance = 1.0 / num_classes
    if num_annotators < 1:
        raise ValueError(f"num_annotators must be at least 1, got {num_annotators}")
    if not chance < trace_fraction < 1:
        raise ValueError(
            f"trace_fraction must be in (1/K, 1) = ({chance:g}, 1), got {trace_fraction}"
        )
    if not 0 <= spammer_share < 1:
        raise ValueError(f"spammer_share must be in [0, 1), got {spammer_share}")
    if not 0 <= spammer_margin < 1 - chance:
        raise ValueError(f"spammer_margin must be in [0, 1 - 1/K), got {spammer_margin}")
    if concentration <= 0:
        raise ValueError(f"concentration must be positive, got {concentration}")

    rng = np.random.default_rng(seed)
    num_spammers = int(spammer_share * num_annotators + 0.5)
    spammer = np.zeros(num_annotators, dtype=bool)
    spammer[rng.permutation(num_annotators)[:num_spammers]] = True
    fractions = np.empty(num_annotators)
    fractions[spammer] = chance + spammer_margin * rng.random(num_spammers)
    num_good = num_annotators - num_spammers
    if num_good:
        good_mean = (trace_fraction * num_annotators - fractions[spammer].sum()) / num_good
        mu = (good_mean - chance) / (1 - chance)  # the good workers' mean, above chance, in (0, 1)
        if not 0 < mu < 1:
            raise ValueError(
                f"trace_fraction {trace_fraction} cannot be reached with {num_spammers} near-random "
                f"annotators among {num_annotators}: lower spammer_share or raise trace_fraction"
            )
        excess = rng.beta(concentration * mu, concentration * (1 - mu), size=num_good)
        fractions[~spammer] = np.minimum(chance + (1 - chance) * excess, 0.999)
    matrix_seeds = rng.integers(0, 2**32, size=num_annotators)

    prior = np.bincount(true_labels, minlength=num_classes) / len(true_labels)
    saved_state = np.random.get_state()
    noise_matrices, columns = [], []
    try:
        for fraction, matrix_seed in zip(fractions, matrix_seeds):
            noise_matrix = generate_noise_matrix_from_trace(
                num_classes,
                trace=fraction * num_classes,
                py=prior,
                valid_noise_matrix=False,
                seed=int(matrix_seed),
            )  # seeds numpy's global generator, which generate_noisy_labels then draws from
            noise_matrices.append(noise_matrix)
            columns.append(generate_noisy_labels(true_labels, noise_matrix))
    finally:
        np.random.set_state(saved_state)
    accuracy = np.array([prior @ np.diag(matrix) for matrix in noise_matrices])
    return np.column_stack(columns).astype(float), noise_matrices, accuracy


# --------------------------------------------------------------------------------------------
# prices of simulated annotators (--annotator-cost)
# --------------------------------------------------------------------------------------------


def accuracy_price(accuracy: np.ndarray, num_classes: int) -> np.ndarray:
    """``1 + skill`` per annotator, ``skill = (accuracy - 1/K) / (1 - 1/K)`` clipped to [0, 1]: an
    annotator at or below chance costs 1 per label, a perfect one 2, linearly in between."""
    chance = 1.0 / num_classes
    skill = np.clip((np.asarray(accuracy, dtype=float) - chance) / (1 - chance), 0.0, 1.0)
    return 1.0 + skill


PRICE_SCHEMES: dict[str, str] = {
    "flat": "every label costs 1 (real crowds keep the costs their data has)",
    "accuracy": "simulated annotators only: 1 + (accuracy - 1/K) / (1 - 1/K) per label, clipped to "
    "[1, 2], from each annotator's accuracy on the pool",
}
"""The ``--annotator-cost`` schemes (:func:`price_labels`), with what each one charges."""


def price_labels(
    hidden_labels: np.ndarray,
    true_labels: np.ndarray,
    num_classes: int,
    scheme: str,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(n, M)`` label cost matrix of simulated annotators under ``scheme``, and the ``(M,)``
    price per label of each annotator.

    ``accuracy``: :func:`accuracy_price` of each annotator's accuracy over the pool labels it can
    give (``hidden_labels`` against ``true_labels``), the figure recorded as the problem's
    ``annotator_accuracy``; every label of an annotator costs the same, so the price is fixed by the
    simulation and known in advance. ``flat``: 1 each. NaN where the annotator has no label.
    """
    if scheme not in PRICE_SCHEMES:
        raise ValueError(f"unknown annotator cost scheme {scheme!r}; choose from: {', '.join(PRICE_SCHEMES)}")
    given = ~np.isnan(hidden_labels)
    if scheme == "flat":
        prices = np.ones(hidden_labels.shape[1])
    else:
        correct = np.sum(hidden_labels == np.asarray(true_labels)[:, None], axis=0)
        accuracy = correct / np.maximum(given.sum(axis=0), 1)
        prices = accuracy_price(accuracy, num_classes)
    return np.where(given, prices[None, :], np.nan), prices
