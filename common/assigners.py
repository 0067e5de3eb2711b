"""Assigners: who labels an example the method chose.

Once a method has chosen the round's examples, each gets exactly one new label; an *assigner*
decides from which annotator. An assigner is a function from an :class:`AssignmentState` to one
annotator column per chosen example, each one available for its example (an annotator who can
label it and has not yet), registered by name with :func:`register_assigner`::

    @register_assigner("my_assigner")
    def my_assigner(state: AssignmentState) -> np.ndarray:
        return np.argmax(state.available, axis=1)        # the first available annotator

The loop then stores ``hidden_labels[example, annotator]`` in that annotator's column. The
registered :class:`Assigner` checks what the function returns (shape, range, availability).

Assigners
---------
``random``
    A uniformly random available annotator; the draw is bit for bit the one the oracle made before
    assigners existed (``rng.random((B, M))`` keys, ``-1`` for unavailable annotators, arg-max per
    row), so committed results stay valid.
``best_estimated``
    The available annotator with the highest CROWDLAB annotator quality (Goh, Tkachenko & Mueller,
    2022, arXiv:2210.06812), estimated on the labeled examples with this round's predictions
    (:func:`common.crowdlab.annotator_quality`); ties at random. **Prior for annotators without an
    estimate** (no label yet, or no label on an example someone else labeled, where cleanlab's
    agreement term is undefined): the mean quality of the annotators with one. It is the point
    estimate of an unknown member of this crowd, so an unseen annotator is neither favoured nor
    avoided, and the assigner stays greedy (exploring is IEThresh's job); CROWDLAB itself imputes
    the mean agreement for annotators without overlap. With no estimate at all (nothing labeled),
    every available annotator ties.
``best_value``
    The available annotator with the highest estimated skill per expected cost. Skill is
    ``best_estimated``'s quality ``q`` (with its prior) above chance, ``max(q - 1/K, 0) / (1 - 1/K)``:
    a label no better than a guess is worth nothing, whatever it costs (quality itself per cost
    would rank a guesser of quality 0.3 at price 1 near a good annotator of 0.8 at price 2). The
    expected cost is the mean cost of the annotator's labels collected so far: under a simulated
    ``--annotator-cost`` scheme every label of an annotator has the same price, so this is its
    price; on a replayed crowd with real costs, the mean of its past labels'. What it buys on Wall
    Robot: docs/assigners.md.
    **Prior for an annotator without a label yet**: the mean expected cost of the annotators with
    one, as for quality, so an unseen annotator is worth the crowd's average. Without label costs
    every label costs 1 and ``best_value`` is ``best_estimated``, except among annotators estimated
    at or below chance: they are asked only when no available annotator is above it, and then the
    cheapest. Before any quality estimate exists every annotator counts as equally (fully) skilled,
    so the cheapest available one is asked. Ties at random.
``ie_thresh``
    IEThresh, below.

IEThresh (Donmez, Carbonell & Schneider, KDD 2009, doi:10.1145/1557019.1557053)
-------------------------------------------------------------------------------
Each annotator ``a`` earns a reward per label: 1 if it equals the consensus label, 0 if not. Its
upper interval is ``UI(a) = m + t_{alpha/2, n-1} * s / sqrt(n)`` over its ``n`` rewards (mean
``m``, sample standard deviation ``s`` with ``n - 1`` in the denominator, Student-t quantile with
``n - 1`` degrees of freedom), and the annotators with ``UI(a) >= epsilon * max_b UI(b)`` form the
threshold set: a high mean (exploitation) or few observations (exploration) keeps an annotator in.
Here (:func:`ie_upper_bounds`, :func:`ie_thresh`):

* **One label per chosen example.** The paper asks *every* annotator of the threshold set to label
  the chosen example. Here the example gets one label, from an annotator drawn uniformly at random
  among the annotators of the threshold set who can still label it; if none of them can, the
  available annotator with the highest bound (ties at random).
* **A batch shares one set.** The paper updates the bounds after every query; here the bounds are
  computed once per round, from the labels collected before it, for all ``B`` chosen examples.
* **Rewards** compare a label with the round's consensus label (the method's consensus rule:
  majority vote or CROWDLAB), not with a majority vote of the labels just collected. Only labels on
  examples with two or more labels earn rewards: a lone label decides a majority vote by itself,
  so its reward is 1 whatever the annotator's skill (about 90% of the examples labeled before
  round 0 have a single label). So a label on an example nobody else has labeled moves its
  annotator's bound only once someone else labels that example too.
* **Prior: pseudo-observations.** Every annotator starts with one reward 0 and one reward 1
  (scikit-activeml's choice), so ``n >= 2``, ``s > 0``, and an annotator without rewards has mean
  0.5 and the widest interval, ``0.5 + t_{0.025, 1} * 0.707 / 1.414 = 6.85``: it is in the
  threshold set (it is explored) until it has earned rewards.
* **Defaults:** ``alpha = 0.05`` (a 95% two-sided interval; both libraries' default) and
  ``epsilon = 0.8`` (ALiPy's default; scikit-activeml uses 0.9). Both are keyword arguments of
  :func:`ie_thresh` for registering variants. The paper's own values, its prior and its standard
  deviation convention were not checked: its full text was not available when this was written.

Differences from the two libraries read for this (no code taken from them):
scikit-activeml (``IntervalEstimationAnnotModel`` / ``IntervalEstimationThreshold``) adds the
pseudo-rewards 0 and 1 as here, but takes the population standard deviation (``np.std``, ``n`` in
the denominator), rewards agreement with a majority vote over all labels of every labeled example
(lone labels included), applies the threshold to ``UI + 1`` (``UI + 1 >= epsilon * max(UI + 1)``,
a looser set than the paper's) and only considers examples every annotator can still label.
ALiPy (``QueryNoisyOraclesIEthresh``) starts every bound at 1 instead of using pseudo-rewards,
takes the population standard deviation, uses the number of *annotators* where the paper has the
number of an annotator's observations (in the t quantile's degrees of freedom and in ``sqrt(n)``),
and rewards agreement with the majority vote of the labels just collected for the instance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Optional

import numpy as np
from scipy import stats

from common import crowdlab
from common.annotators import random_available

__all__ = [
    "AssignmentState",
    "Assigner",
    "ASSIGNERS",
    "register_assigner",
    "interval_upper_bound",
    "ie_upper_bounds",
]


@dataclass(frozen=True)
class AssignmentState:
    """What an assigner may look at (pool examples only).

    labels: (n, M) float collected labels, NaN where missing (before this round's new labels).
    examples: (B,) int, the examples chosen this round (distinct), in the loop's order.
    available: (B, M) bool, annotators who can still label each chosen example.
    consensus: (n,) int, this round's consensus label of each labeled example, -1 for an example
        without labels.
    pred_probs: (n, K) this round's predictions: out-of-fold for labeled examples, fold-averaged for
        the others; the mean over members for an ensemble.
    rng: the run's generator, for random choices and tie-breaks.
    label_costs: (n, M) float, the cost of each label collected so far, NaN where ``labels`` is;
        None when every label costs 1. The costs of labels not bought yet are not shown.
    """

    labels: np.ndarray
    examples: np.ndarray
    available: np.ndarray
    consensus: np.ndarray
    pred_probs: np.ndarray
    rng: np.random.Generator
    label_costs: Optional[np.ndarray] = None

    @property
    def labeled(self) -> np.ndarray:
        """(n,) bool, examples with at least one label (where ``consensus >= 0``)."""
        return ~np.isnan(self.labels).all(axis=1)

    @property
    def num_classes(self) -> int:
        return self.pred_probs.shape[1]

    @cached_property
    def annotator_quality(self) -> np.ndarray:
        """(M,) CROWDLAB annotator quality on the labeled examples, NaN where undefined (see
        :func:`common.crowdlab.annotator_quality`); computed once, on first use (its majority-vote
        tie-break draws from ``rng``)."""
        labeled = self.labeled
        if not labeled.any():
            return np.full(self.labels.shape[1], np.nan)
        return crowdlab.annotator_quality(
            self.labels[labeled], self.pred_probs[labeled], rng=self.rng
        )

    @cached_property
    def expected_cost(self) -> np.ndarray:
        """(M,) mean cost of each annotator's collected labels, NaN for an annotator without one;
        1 for everyone without label costs."""
        num_annotators = self.labels.shape[1]
        if self.label_costs is None:
            return np.ones(num_annotators)
        collected = ~np.isnan(self.labels)
        count = collected.sum(axis=0)
        total = np.where(collected, self.label_costs, 0.0).sum(axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass(frozen=True)
class Assigner:
    name: str
    choose: Callable[[AssignmentState], np.ndarray]

    def __call__(self, state: AssignmentState) -> np.ndarray:
        """``(B,)`` int annotator columns, checked: one per chosen example, each available."""
        available = np.asarray(state.available, dtype=bool)
        if available.shape != (len(state.examples), state.labels.shape[1]):
            raise ValueError(
                f"available has shape {available.shape}, expected "
                f"{(len(state.examples), state.labels.shape[1])} (chosen examples, annotators)"
            )
        if not available.any(axis=1).all():
            raise ValueError("an example was selected that no remaining annotator can label")
        annotators = np.asarray(self.choose(state))
        if annotators.shape != (len(state.examples),) or not np.issubdtype(
            annotators.dtype, np.integer
        ):
            raise ValueError(
                f"assigner {self.name!r} must return {len(state.examples)} integer annotator "
                f"indices, got shape {annotators.shape} and dtype {annotators.dtype}"
            )
        if annotators.size and (annotators.min() < 0 or annotators.max() >= available.shape[1]):
            raise ValueError(f"assigner {self.name!r} returned an annotator index out of range")
        if not available[np.arange(len(annotators)), annotators].all():
            raise ValueError(
                f"assigner {self.name!r} chose an annotator who cannot label the example"
            )
        return annotators


ASSIGNERS: dict[str, Assigner] = {}

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")


def register_assigner(name: str):
    """Register an assigner function under ``name``; a name registered twice is an error."""

    def decorate(choose: Callable[[AssignmentState], np.ndarray]):
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"assigner name {name!r} must be letters, digits, '_' or '-'")
        if name in ASSIGNERS:
            raise ValueError(f"assigner {name!r} is registered twice")
        if not callable(choose):
            raise TypeError(f"assigner {name!r} must be a function of an AssignmentState")
        ASSIGNERS[name] = Assigner(name, choose)
        return choose

    return decorate


# --------------------------------------------------------------------------------------------
# estimates
# --------------------------------------------------------------------------------------------


def interval_upper_bound(successes, trials, alpha: float = 0.05) -> np.ndarray:
    """Upper end of the Student-t interval of the mean of 0/1 rewards: ``successes`` ones among
    ``trials`` (arrays of the same shape).

    ``m + t_{alpha/2, n-1} * s / sqrt(n)`` with ``m = successes / n`` and ``s`` the sample
    standard deviation (``n - 1`` in the denominator: ``s^2 = n m (1 - m) / (n - 1)`` for 0/1
    values). ``inf`` where ``trials < 2`` (no spread can be measured: unexplored).
    """
    successes = np.asarray(successes, dtype=float)
    trials = np.asarray(trials, dtype=float)
    enough = trials >= 2
    n = np.where(enough, trials, 2.0)
    mean = np.where(enough, successes, 1.0) / n
    std = np.sqrt(n * mean * (1 - mean) / (n - 1))
    bound = mean + stats.t.isf(alpha / 2, n - 1) * std / np.sqrt(n)
    return np.where(enough, bound, np.inf)


def ie_upper_bounds(
    labels: np.ndarray,
    consensus: np.ndarray,
    *,
    alpha: float = 0.05,
    pseudo_successes: int = 1,
    pseudo_trials: int = 2,
) -> np.ndarray:
    """IEThresh's upper interval ``UI(a)`` of every annotator, ``(M,)``.

    A label earns reward 1 if it equals ``consensus`` (``(N,)`` int, -1 for unlabeled examples),
    else 0; only labels on examples with 2+ labels count. Every annotator starts with
    ``pseudo_successes`` ones among ``pseudo_trials`` pseudo-rewards (default: one 0 and one 1).
    """
    present = ~np.isnan(labels)
    rows, cols = np.nonzero(present & (present.sum(axis=1) > 1)[:, None])
    rewards = labels[rows, cols] == consensus[rows]
    num_annotators = labels.shape[1]
    successes = np.bincount(cols, weights=rewards, minlength=num_annotators) + pseudo_successes
    trials = np.bincount(cols, minlength=num_annotators) + pseudo_trials
    return interval_upper_bound(successes, trials, alpha)


# --------------------------------------------------------------------------------------------
# assigners
# --------------------------------------------------------------------------------------------


def _best(scores: np.ndarray, available: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, the available column with the highest score ``(M,)``, ties at random."""
    masked = np.where(available, scores[None, :], -np.inf)
    return random_available(available & (masked == masked.max(axis=1, keepdims=True)), rng)


@register_assigner("random")
def random(state: AssignmentState) -> np.ndarray:
    """A uniformly random available annotator (the oracle's draw before assigners existed)."""
    return random_available(state.available, state.rng)


@register_assigner("best_estimated")
def best_estimated(state: AssignmentState) -> np.ndarray:
    """The available annotator with the highest CROWDLAB quality; annotators without an estimate
    get the mean of the others' (module docstring); ties at random."""
    quality = state.annotator_quality
    known = np.isfinite(quality)
    prior = quality[known].mean() if known.any() else 0.0
    return _best(np.where(known, quality, prior), state.available, state.rng)


@register_assigner("best_value")
def best_value(state: AssignmentState) -> np.ndarray:
    """The available annotator with the highest estimated skill above chance per expected cost
    (module docstring); an annotator without an estimate gets the mean of the others' quality, one
    without a label the mean of the others' expected cost; ties at random."""
    quality, cost = state.annotator_quality, state.expected_cost
    known_quality, known_cost = np.isfinite(quality), np.isfinite(cost)
    # with no quality estimate at all every annotator is taken to be equally good: the cheapest wins
    quality = np.where(known_quality, quality, quality[known_quality].mean() if known_quality.any() else 1.0)
    cost = np.where(known_cost, cost, cost[known_cost].mean() if known_cost.any() else 1.0)
    chance = 1.0 / state.num_classes
    skill = (quality - chance) / (1 - chance)
    # at or below chance a label is worth nothing: such an annotator is asked only when no available
    # one is above it, and then the cheapest (its score, -cost, is below every positive value)
    return _best(np.where(skill > 0, skill / cost, -cost), state.available, state.rng)


def ie_thresh(state: AssignmentState, *, alpha: float = 0.05, epsilon: float = 0.8) -> np.ndarray:
    """IEThresh, one label per example (module docstring): a random available annotator among those
    whose upper interval is at least ``epsilon`` times the best; if none is available, the
    available annotator with the highest upper interval."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    bounds = ie_upper_bounds(state.labels, state.consensus, alpha=alpha)
    # epsilon = 0 keeps everyone (0 * inf would be NaN when an annotator is unexplored)
    in_set = bounds >= epsilon * bounds.max() if epsilon > 0 else np.ones(len(bounds), dtype=bool)
    candidates = state.available & in_set[None, :]
    fallback = ~candidates.any(axis=1)
    if fallback.any():
        masked = np.where(state.available[fallback], bounds[None, :], -np.inf)
        candidates[fallback] = state.available[fallback] & (
            masked == masked.max(axis=1, keepdims=True)
        )
    return random_available(candidates, state.rng)


register_assigner("ie_thresh")(ie_thresh)
