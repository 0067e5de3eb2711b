"""Consensus rules: one label per labeled example from its annotators' labels.

Each rule takes the labeled examples' label matrix ``(L, M)`` (float, NaN = missing), the
previous round's member predictions for them ``(P, L, K)`` (None in round 0), the number of
classes and the run's generator, and returns integer labels ``(L,)``. A rule is registered by
name with :func:`register_consensus` (the name is what ``--consensus`` and methods refer to).
"""

from __future__ import annotations

import warnings
from typing import Callable, Optional

import numpy as np

from common import crowdlab

ConsensusRule = Callable[[np.ndarray, Optional[np.ndarray], int, np.random.Generator], np.ndarray]

CONSENSUS_RULES: dict[str, ConsensusRule] = {}


def register_consensus(name: str):
    """Register a consensus rule under ``name``; a name registered twice is an error."""

    def decorate(rule: ConsensusRule) -> ConsensusRule:
        if not callable(rule):
            raise TypeError(f"consensus rule {name!r} must be a function")
        if name in CONSENSUS_RULES:
            raise ValueError(f"consensus rule {name!r} is registered twice")
        CONSENSUS_RULES[name] = rule
        return rule

    return decorate



@register_consensus("majority")
def majority(labels, member_pred_probs, num_classes, rng) -> np.ndarray:
    """Majority vote, ties broken by the (mean) model prediction as cleanlab's
    ``get_majority_vote_label`` does, then by its further tie rules."""
    pred_probs = None if member_pred_probs is None else member_pred_probs.mean(axis=0)
    return crowdlab.majority_vote(labels, pred_probs, num_classes, rng)


@register_consensus("crowdlab")
def crowdlab_consensus(labels, member_pred_probs, num_classes, rng) -> np.ndarray:
    """CROWDLAB (Goh, Tkachenko & Mueller, 2022) on temperature-calibrated predictions, as the
    ActiveLab study did: each member's predictions are temperature-scaled to the annotators'
    empirical label distribution (counted correctly, see README), then
    ``get_label_quality_multiannotator(_ensemble)``'s consensus label is taken."""
    if member_pred_probs is None:
        return majority(labels, None, num_classes, rng)
    scaled = np.stack(
        [crowdlab.temperature_scale(p, crowdlab.best_temperature(labels, p)) for p in member_pred_probs]
    )
    pred_probs = scaled[0] if len(scaled) == 1 else scaled
    return crowdlab.crowdlab(labels, pred_probs, rng=rng).consensus_label


@register_consensus("dawid-skene")
def dawid_skene(labels, member_pred_probs, num_classes, rng) -> np.ndarray:
    """Dawid & Skene (1979) EM over annotator confusion matrices, as implemented by crowd-kit;
    it ignores the model's predictions."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    rows, annotators = np.nonzero(~np.isnan(labels))
    frame = pd.DataFrame(
        {"task": rows, "worker": annotators, "label": labels[rows, annotators].astype(int)}
    )
    with warnings.catch_warnings():  # crowd-kit 1.4 uses pandas keywords that pandas 3 deprecates
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        result = DawidSkene(n_iter=100).fit_predict(frame)
    return result.reindex(np.arange(len(labels))).to_numpy(dtype=int)

