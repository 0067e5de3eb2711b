"""Scoring rules: which example gets its next label. Lower score = label first.

A method is a function from a :class:`ScoringState` to one score per pool example, registered by
name with :func:`register`. The loop decides which examples are candidates (unlabeled ones, and
labeled ones that some annotator has not labeled yet), takes the lowest scores and breaks ties
with the run's seeded generator; a method never touches files, seeds or bookkeeping.

To add a method, write a function in this module (or in your own module imported before the
runner starts) and decorate it::

    @register("my_method", consensus="majority")
    def my_method(state: ScoringState) -> np.ndarray:
        return -state.pred_probs.max(axis=1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import integrate, stats

from common import crowdlab
from common.consensus import CONSENSUS_RULES

_CLIP = 1e-6  # the clipping the ActiveLab study used before taking logs of probabilities


@dataclass(frozen=True)
class ScoringState:
    """What a method may look at in one round (pool examples only).

    labels: (n, M) float collected labels, NaN where missing.
    labeled: (n,) bool, examples with at least one label.
    pred_probs: (n, K) model predictions: out-of-fold for labeled examples, fold-averaged for the
        others; the mean over members for an ensemble.
    member_pred_probs: (P, n, K) the same per ensemble member (P = 1 for a single model).
    rng: the run's generator, for methods that are random.
    """

    labels: np.ndarray
    labeled: np.ndarray
    pred_probs: np.ndarray
    member_pred_probs: np.ndarray
    rng: np.random.Generator

    @property
    def num_classes(self) -> int:
        return self.pred_probs.shape[1]

    @property
    def num_labels(self) -> np.ndarray:
        return np.sum(~np.isnan(self.labels), axis=1)

    def label_counts(self) -> np.ndarray:
        return crowdlab.label_counts(self.labels, self.num_classes)


@dataclass(frozen=True)
class Method:
    name: str
    score: Callable[[ScoringState], np.ndarray]
    consensus: str
    """Consensus rule used after round 0 unless ``--consensus`` overrides it."""
    ensemble: bool
    """Needs the ensemble's member predictions (three models are fitted each round)."""


METHODS: dict[str, Method] = {}


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")


def register(name: str, *, consensus: str = "majority", ensemble: bool = False):
    """Register a scoring function under ``name`` (also the results' file-name prefix).

    Checked here, not in a worker in round 1: the name (letters, digits, ``_`` and ``-``, as it
    names files), that it is new, and that ``consensus`` is a registered consensus rule."""

    def decorate(score: Callable[[ScoringState], np.ndarray]):
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"method name {name!r} must be letters, digits, '_' or '-' (it names result files)")
        if name in METHODS:
            raise ValueError(f"method {name!r} is registered twice")
        if consensus not in CONSENSUS_RULES:
            raise ValueError(f"method {name!r}: unknown consensus rule {consensus!r}; choose from: {', '.join(CONSENSUS_RULES)}")
        if not callable(score):
            raise TypeError(f"method {name!r} must be a function of a ScoringState")
        METHODS[name] = Method(name, score, consensus, ensemble)
        return score

    return decorate


def normalized_entropy(pred_probs: np.ndarray) -> np.ndarray:
    """Entropy of each row divided by log K, in [0, 1]."""
    p = np.clip(pred_probs, _CLIP, None)
    return -np.sum(pred_probs * np.log(p), axis=-1) / np.log(pred_probs.shape[-1])


def soft_cross_entropy(target: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """Cross-entropy of ``pred_probs`` against a soft target, divided by log K."""
    p = np.clip(pred_probs, _CLIP, None)
    return -np.sum(target * np.log(p), axis=-1) / np.log(pred_probs.shape[-1])


@register("random")
def random(state: ScoringState) -> np.ndarray:
    """Uniformly random order."""
    return state.rng.random(len(state.labels))


@register("good_random")
def good_random(state: ScoringState) -> np.ndarray:
    """Random among the examples with the fewest labels: random in [0, 1) plus the label count."""
    return state.rng.random(len(state.labels)) + state.num_labels


@register("entropy")
def entropy(state: ScoringState) -> np.ndarray:
    """Maximum-entropy sampling: minus the normalised entropy of the prediction."""
    return -normalized_entropy(state.pred_probs)


@register("uncertainty")
def uncertainty(state: ScoringState) -> np.ndarray:
    """Least-confidence sampling (Lewis & Gale, SIGIR 1994): max probability - 1."""
    return state.pred_probs.max(axis=1) - 1.0


@register("margin")
def margin(state: ScoringState) -> np.ndarray:
    """Margin sampling (Scheffer et al., IDA 2001): the gap between the two largest probabilities."""
    top_two = np.sort(state.pred_probs, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


@register("disagreement", ensemble=True)
def disagreement(state: ScoringState) -> np.ndarray:
    """Query by committee (Seung, Opper & Sompolinsky, COLT 1992), as in the ActiveLab study:
    minus the mean over members of H(ensemble mean, member) / log K."""
    mean = state.member_pred_probs.mean(axis=0)
    return -soft_cross_entropy(mean[None], state.member_pred_probs).mean(axis=0)


@register("active_label_cleaning")
def active_label_cleaning(state: ScoringState) -> np.ndarray:
    """Active label cleaning (Bernhardt et al., Nature Communications 13, 1161, 2022).

    For a labeled example, ``exp(-(H(l, p) - H(p) + 1))`` where ``l`` is the empirical distribution
    of its labels, ``p`` the model's prediction, ``H(l, p)`` their cross-entropy and ``H(p)`` the
    prediction's entropy, both divided by log K: examples whose labels the model finds surprising,
    relative to its own uncertainty, come first. The paper cleans fully labeled data and has no
    rule for unlabeled examples; here an unlabeled example takes ``l = p`` (no label evidence beyond
    the model), so its score is ``exp(-1)``: after every labeled example the model disagrees with
    (``H(l, p) > H(p)``) and before those it agrees with, ties broken at random by the loop.
    """
    counts = state.label_counts()
    n = counts.sum(axis=1, keepdims=True)
    empirical = np.where(n > 0, counts / np.maximum(n, 1), state.pred_probs)
    surprise = soft_cross_entropy(empirical, state.pred_probs) - normalized_entropy(state.pred_probs)
    return np.exp(-(surprise + 1.0))


@register("activelab", consensus="crowdlab")
def activelab(state: ScoringState) -> np.ndarray:
    """ActiveLab (Goh & Mueller, 2023, arXiv:2301.11856): cleanlab's
    ``get_active_learning_scores``, computed by :mod:`common.crowdlab` with its counting bug fixed."""
    return _activelab(state, crowdlab.activelab_scores, state.pred_probs)


@register("activelab_ensemble", consensus="crowdlab", ensemble=True)
def activelab_ensemble(state: ScoringState) -> np.ndarray:
    """ActiveLab with an ensemble: cleanlab's ``get_active_learning_scores_ensemble``."""
    return _activelab(state, crowdlab.activelab_scores_ensemble, state.member_pred_probs)


def _activelab(state: ScoringState, score_function, pred_probs: np.ndarray) -> np.ndarray:
    labeled = state.labeled
    scores = np.empty(len(state.labels))
    scores[labeled], scores[~labeled] = score_function(
        state.labels[labeled], pred_probs[..., labeled, :], pred_probs[..., ~labeled, :], rng=state.rng
    )
    return scores


@register("label_uncertainty")
def label_uncertainty(state: ScoringState) -> np.ndarray:
    """Label uncertainty (Sheng, Provost & Ipeirotis, KDD 2008, section 5.2), minus.

    Sheng et al. score a binary example with ``a`` positive and ``b`` negative votes by the tail
    probability of the Beta(a+1, b+1) posterior beyond 0.5, ``min(I_0.5(a+1, b+1), 1 - I_0.5(...))``:
    the posterior probability that the majority class is not the likelier one. For K classes this
    is ``1 - max_k P(theta_k is the largest | Dirichlet(counts + 1))``, which reduces to theirs
    for K = 2; an unlabeled example has the largest possible value, 1 - 1/K.
    """
    return -_label_uncertainty(state.label_counts())


@register("model_label_uncertainty")
def model_label_uncertainty(state: ScoringState) -> np.ndarray:
    """Label-and-model uncertainty (Sheng, Provost & Ipeirotis, KDD 2008, "LMU"), minus.

    The geometric mean ``sqrt(LU * MU)`` of the label uncertainty above and the model uncertainty
    ``MU = 1 - max_k p_k`` (their ``0.5 - |p - 0.5|`` for K = 2, generalised as least confidence);
    both lie in [0, 1 - 1/K].
    """
    model = 1.0 - state.pred_probs.max(axis=1)
    return -np.sqrt(_label_uncertainty(state.label_counts()) * model)


def _label_uncertainty(counts: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(counts, axis=0, return_inverse=True)
    values = np.array([_dirichlet_not_max_probability(tuple(row)) for row in unique])
    return values[inverse.ravel()]


@lru_cache(maxsize=100_000)
def _dirichlet_not_max_probability(counts: tuple[int, ...]) -> float:
    """``1 - max_k P(theta_k = max_j theta_j)`` for ``theta ~ Dirichlet(counts + 1)``.

    With ``theta_k = G_k / sum G``, ``G_k ~ Gamma(counts_k + 1)`` independent, the event is
    ``G_k > G_j`` for all j, whose probability is the one-dimensional integral
    ``int f_k(x) prod_{j != k} F_j(x) dx``; only the class with the most votes can attain the max.
    """
    alpha = np.asarray(counts, dtype=float) + 1.0
    k = int(np.argmax(alpha))
    others = np.delete(alpha, k)

    def integrand(x: float) -> float:
        return stats.gamma.pdf(x, alpha[k]) * np.prod(stats.gamma.cdf(x, others))

    probability, _ = integrate.quad(integrand, 0.0, np.inf, limit=200)
    return float(1.0 - probability)
