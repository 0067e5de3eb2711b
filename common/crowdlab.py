"""Vectorised numpy reimplementation of cleanlab 2.9.0's CROWDLAB and ActiveLab.

References
----------
* Goh, Tkachenko & Mueller (2022), "CROWDLAB: Supervised learning to infer consensus labels and
  quality scores for data with multiple annotators", arXiv:2210.06812.
* Goh & Mueller (2023), "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators",
  arXiv:2301.11856.

What is reproduced
------------------
``cleanlab.multiannotator``'s ``get_majority_vote_label``, ``get_label_quality_multiannotator``
(``consensus_method="best_quality"``, ``quality_method="crowdlab"``, ``calibrate_probs=False``),
``get_label_quality_multiannotator_ensemble``, ``get_active_learning_scores``,
``get_active_learning_scores_ensemble`` and the helpers ``find_best_temp_scaler`` /
``temp_scale_pred_probs`` of ``cleanlab.internal.multiannotator_utils``. Consensus quality uses
``cleanlab.rank.get_label_quality_scores``'s default ``self_confidence``, ``pred_probs[i, label]``.

Labels are a float array ``(N, M)`` (N examples, M annotators), ``NaN`` = not labeled, values in
``0..K-1``. Nothing loops over rows in Python: labels are turned once into their non-missing
entries ``(row, annotator, label)`` and everything is computed with ``bincount`` / fancy indexing,
so no dense ``(N, M, K)`` array is ever built. The floating-point operations are arranged in the
same order as cleanlab's (numpy's pairwise summation is reproduced by summing equal-length groups
along a contiguous last axis), so results agree with cleanlab bit for bit in practice; this
matters because cleanlab breaks ties with exact ``==`` comparisons.

The upstream bug that is corrected
----------------------------------
Since cleanlab 2.6.5, ``cleanlab.internal.util.value_counts(x, num_classes=K)`` fills the counts of
non-integer ``x`` (meant for strings) *sequentially* whenever ``x`` holds fewer than ``K`` distinct
values: ``value_counts(np.array([2.0]), num_classes=4)`` returns ``[1, 0, 0, 0]`` instead of
``[0, 0, 1, 0]``. Multi-annotator labels are float (``NaN`` marks missing labels), so every example
whose labels do not cover a prefix ``0..d-1`` of the classes is counted into the wrong classes.
Affected versions: 2.6.5 through 2.9.0 (checked in the wheels of 2.6.5, 2.6.6, 2.7.0, 2.7.1,
2.8.0, 2.9.0; 2.6.4 and earlier merge the missing classes in by sorting and are correct).

Code paths of the installed cleanlab 2.9.0 that use it on multi-annotator labels:

1. ``internal.multiannotator_utils.compute_soft_cross_entropy`` -> ``find_best_temp_scaler``:
   the temperature is fitted to wrong empirical label distributions. This is reached from
   ``get_active_learning_scores`` and ``get_active_learning_scores_ensemble`` (whenever some
   example has 2+ labels) and from ``get_label_quality_multiannotator(_ensemble)`` with
   ``calibrate_probs=True``. **Corrected here** (:func:`best_temperature`, and through it
   :func:`activelab_scores` / :func:`activelab_scores_ensemble`).
2. ``multiannotator._get_post_pred_probs_and_weights`` with ``quality_method="agreement"``:
   its ``post_pred_probs`` are the miscounted label fractions, so with the default
   ``consensus_method="best_quality"`` the consensus labels (the arg-max of these), the detailed
   label qualities and the annotator statistics are wrong. Not reimplemented here (only
   ``quality_method="crowdlab"`` is).

Not affected: ``get_majority_vote_label`` (it counts with its own indexing), the default CROWDLAB
path (``quality_method="crowdlab"``, ``calibrate_probs=False``), the annotator agreement helpers
and ``temp_scale_pred_probs``.

Edge cases (where cleanlab raises or misbehaves, a benchmark loop must go on)
------------------------------------------------------------------------------
* Annotator columns without any label (cleanlab raises): they are dropped internally, so every
  result equals cleanlab's on the non-empty columns; returned annotator weights have length M with
  ``NaN`` for the empty columns, and ActiveLab's average annotator weight is the mean over the
  non-empty columns.
* No example has 2+ labels: ActiveLab takes cleanlab's single-label branch (temperature 1,
  majority vote, model weight 1, annotator weights 1). :func:`crowdlab` (cleanlab raises) falls back
  to the same: majority-vote consensus, quality ``pred_probs[i, label]``.
* ``pred_probs`` / ``pred_probs_unlabeled`` may be ``None`` or have 0 rows (not both ``None``);
  the corresponding score array is then empty, exactly as cleanlab's "no labeled data" branch.
* Examples without any label are rejected (``ValueError``) by :func:`crowdlab`,
  :func:`best_temperature` and ActiveLab, as by cleanlab; :func:`majority_vote` lets all classes
  tie for them.
* An ensemble of one model (``P = 1``) works for unlabeled examples too (cleanlab's validation of
  the members' arg-max "labels" raises there).
* Majority vote's last, random tie-break draws from a seeded ``numpy.random.Generator`` instead of
  the global ``np.random`` state.
* Inputs are never modified (cleanlab's ensemble ActiveLab temperature-scales its inputs in place).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

__all__ = [
    "annotator_quality",
    "CrowdlabResult",
    "label_counts",
    "majority_vote",
    "crowdlab",
    "best_temperature",
    "temperature_scale",
    "activelab_scores",
    "activelab_scores_ensemble",
]

CLIPPING_LOWER_BOUND = 1e-6  # cleanlab.internal.constants.CLIPPING_LOWER_BOUND
EPSILON = 1e-6  # cleanlab.internal.constants.EPSILON (softmax temperature floor)
SMALL_CONST = 1e-30  # cleanlab.internal.multiannotator_utils.SMALL_CONST
COARSE_TEMPERATURES = (0.1, 0.2, 0.5, 0.8, 1, 2, 3, 5, 8)  # find_best_temp_scaler's default
FINE_SEARCH_SIZE = 4
_CHUNK_ELEMENTS = 1 << 22  # bound on the temperature search's (temperatures, N, K) blocks


# --------------------------------------------------------------------------------------------
# internal helpers
# --------------------------------------------------------------------------------------------


@dataclass
class _Entries:
    """Non-missing labels of an ``(N, M)`` matrix, in row-major order (annotators ascending
    within a row); ``cols`` index the non-empty annotator columns only."""

    n_rows: int
    n_classes: int
    rows: np.ndarray  # (E,)
    cols: np.ndarray  # (E,) compressed column index
    labs: np.ndarray  # (E,) int labels
    n: np.ndarray  # (N,) labels per row
    counts: np.ndarray  # (N, K) int
    nonempty: np.ndarray  # (M,) bool
    starts: np.ndarray  # (N,) offset of each row's first entry

    @property
    def n_cols(self) -> int:
        return int(self.nonempty.sum())


def _entries(labels: np.ndarray, num_classes: int) -> _Entries:
    labels = np.asarray(labels, dtype=float)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D (examples, annotators) array, got {labels.shape}")
    rows, cols = np.nonzero(~np.isnan(labels))
    values = labels[rows, cols]
    labs = values.astype(np.int64)
    if len(values) and (
        np.any(labs != values) or labs.min() < 0 or labs.max() >= num_classes
    ):
        raise ValueError(f"labels must be integers in 0..{num_classes - 1} or NaN")
    n_rows, n_annotators = labels.shape
    n = np.bincount(rows, minlength=n_rows)
    counts = np.bincount(rows * num_classes + labs, minlength=n_rows * num_classes).reshape(
        n_rows, num_classes
    )
    per_column = np.bincount(cols, minlength=n_annotators)
    nonempty = per_column > 0
    compressed = np.cumsum(nonempty) - 1
    starts = np.concatenate(([0], np.cumsum(n)[:-1])) if n_rows else np.zeros(0, dtype=np.int64)
    return _Entries(n_rows, num_classes, rows, compressed[cols], labs, n, counts, nonempty, starts)


def _grouped_sum(values: np.ndarray, keys: np.ndarray, n_keys: int) -> np.ndarray:
    """``out[g] = np.sum(values[keys == g], axis=0)`` for every ``g``, bit for bit.

    numpy sums a contiguous 1-D array pairwise; summing a 2-D block of equal-length groups along
    its contiguous last axis runs the same code on each row, so grouping by length reproduces it.
    ``values`` is ``(E,)`` or ``(E, K)``; order of appearance within a group is kept.
    """
    out = np.zeros((n_keys,) + values.shape[1:])
    if len(keys) == 0:
        return out
    order = np.argsort(keys, kind="stable")
    sorted_values = values[order]
    lengths = np.bincount(keys, minlength=n_keys)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    for length in np.unique(lengths[lengths > 0]):
        groups = np.flatnonzero(lengths == length)
        block = sorted_values[starts[groups][:, None] + np.arange(length)]
        if block.ndim == 3:
            block = np.ascontiguousarray(block.transpose(0, 2, 1))
        out[groups] = block.sum(axis=-1)
    return out


def _check_pred_probs(pred_probs: np.ndarray, n_rows: Optional[int], ndim: int, name: str):
    pred_probs = np.asarray(pred_probs, dtype=float)
    if pred_probs.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {pred_probs.shape}")
    if n_rows is not None and pred_probs.shape[-2] != n_rows:
        raise ValueError(f"{name} has {pred_probs.shape[-2]} rows, labels have {n_rows}")
    return pred_probs


def _set_fine_search_range(min_index: int) -> np.ndarray:
    """cleanlab's ``_set_fine_search_range`` for the default coarse range."""
    coarse = COARSE_TEMPERATURES
    fine = np.array([])
    if min_index != 0:
        fine = np.append(
            np.linspace(coarse[min_index - 1], coarse[min_index], FINE_SEARCH_SIZE, endpoint=False),
            fine,
        )
    if min_index != len(coarse) - 1:
        fine = np.append(
            fine,
            np.linspace(
                coarse[min_index], coarse[min_index + 1], FINE_SEARCH_SIZE + 1, endpoint=True
            ),
        )
    return fine


def _mean_soft_cross_entropy(
    log_pred_probs: np.ndarray, empirical: np.ndarray, temperatures
) -> np.ndarray:
    """Mean over examples of ``compute_soft_cross_entropy`` for each temperature (vectorised)."""
    temperatures = [max(t, EPSILON) for t in temperatures]
    n_rows, n_classes = log_pred_probs.shape
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n_rows * n_classes))
    result = np.empty(len(temperatures))
    log_k = np.log(n_classes)
    for begin in range(0, len(temperatures), chunk):
        temps = np.array(temperatures[begin : begin + chunk])
        exp_x = np.exp(log_pred_probs[None] / temps[:, None, None])
        scaled = exp_x / np.sum(exp_x, axis=-1, keepdims=True)
        clipped = np.clip(scaled, a_min=SMALL_CONST, a_max=None)
        cross_entropy = -np.sum(empirical[None] * np.log(clipped), axis=-1) / log_k
        result[begin : begin + len(temps)] = np.mean(cross_entropy, axis=-1)
    return result


def _best_temperature(entries: _Entries, pred_probs: np.ndarray) -> float:
    empirical = entries.counts / entries.n[:, None]
    log_pred_probs = np.log(
        pred_probs, where=pred_probs > 0, out=np.full(pred_probs.shape, -np.inf)
    )
    coarse = _mean_soft_cross_entropy(log_pred_probs, empirical, COARSE_TEMPERATURES)
    fine_range = _set_fine_search_range(int(np.argmin(coarse)))
    fine = _mean_soft_cross_entropy(log_pred_probs, empirical, fine_range)
    return float(fine_range[np.argmin(fine)])


def _majority_vote(
    entries: _Entries, pred_probs: Optional[np.ndarray], rng: Optional[np.random.Generator]
) -> np.ndarray:
    counts = entries.counts
    n_rows, n_classes = counts.shape
    if n_rows == 0:
        return np.zeros(0, dtype=int)
    candidates = counts == counts.max(axis=1, keepdims=True)
    unique_mode = candidates.sum(axis=1) == 1
    label = np.where(unique_mode, np.argmax(candidates, axis=1), -1)

    def resolve():
        single = (label < 0) & (candidates.sum(axis=1) == 1)
        label[single] = np.argmax(candidates[single], axis=1)
        return np.flatnonzero(label < 0)

    tied = np.flatnonzero(label < 0)
    # tie-break 1: highest pred_probs among the tied classes
    if pred_probs is not None and len(tied):
        probs = pred_probs[tied]
        cand = candidates[tied]
        best = np.where(cand, probs, -np.inf).max(axis=1, keepdims=True)
        candidates[tied] = cand & (probs == best)
        tied = resolve()
    # tie-break 2: the class least frequent among all labels
    if len(tied):
        frequency = counts.sum(axis=0).astype(float)
        cand = candidates[tied]
        lowest = np.where(cand, frequency, np.inf).min(axis=1, keepdims=True)
        candidates[tied] = cand & (frequency == lowest)
        tied = resolve()
    # tie-break 3: mean agreement with the (untied) majority vote of the annotators choosing a class
    if len(tied):
        n_cols = entries.n_cols
        on_untied = unique_mode[entries.rows]
        cols_untied = entries.cols[on_untied]
        labeled = np.bincount(cols_untied, minlength=n_cols)
        agree = np.bincount(
            cols_untied,
            weights=entries.labs[on_untied] == label[entries.rows[on_untied]],
            minlength=n_cols,
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            agreement = np.where(labeled > 0, agree / np.maximum(labeled, 1), np.nan)
        known = ~np.isnan(agreement)
        if known.any():
            agreement[~known] = np.mean(agreement[known])
            row_position = np.full(n_rows, -1)
            row_position[tied] = np.arange(len(tied))
            on_tied = row_position[entries.rows] >= 0
            keys = row_position[entries.rows[on_tied]] * n_classes + entries.labs[on_tied]
            size = len(tied) * n_classes
            sums = _grouped_sum(agreement[entries.cols[on_tied]], keys, size).reshape(-1, n_classes)
            numbers = np.bincount(keys, minlength=size).reshape(-1, n_classes)
            with np.errstate(invalid="ignore", divide="ignore"):
                score = sums / numbers
            cand = candidates[tied]
            masked = np.where(cand, score, -np.inf)
            best = masked.max(axis=1, keepdims=True)
            # rows without labels score NaN everywhere: cleanlab would crash, keep them tied
            valid = np.isfinite(best[:, 0])
            cand[valid] &= masked[valid] == best[valid]
            candidates[tied] = cand
            tied = resolve()
    # still tied: uniformly random among the remaining classes (seeded)
    if len(tied):
        if rng is None:
            rng = np.random.default_rng(0)
        cand = candidates[tied]
        pick = rng.integers(0, cand.sum(axis=1))
        label[tied] = np.argmax(np.cumsum(cand, axis=1) > pick[:, None], axis=1)
    return label


def _annotator_agreement_with_annotators(entries: _Entries) -> np.ndarray:
    """cleanlab's ``_get_annotator_agreement_with_annotators`` on the non-empty columns.

    For annotator m and an example i it labeled, cleanlab counts the annotators (m included) whose
    label equals m's, subtracts 1 and divides by ``n_i - 1`` (0 where ``n_i = 1``), then averages
    over m's examples with weights ``n_i - 1``. The count is ``counts[i, label_im]``, so the
    per-example agreement is ``(counts[i, label_im] - 1) / (n_i - 1)``. Annotators without any
    shared example get the mean of the others.
    """
    n_cols = entries.n_cols
    n_entry = entries.n[entries.rows]
    adjusted = n_entry - 1
    multi = n_entry > 1
    per_example = np.zeros(len(entries.rows))
    per_example[multi] = (
        entries.counts[entries.rows[multi], entries.labs[multi]] - 1.0
    ) / adjusted[multi]
    weighted = per_example * adjusted  # np.average's multiply(a, weights)
    numerator = _grouped_sum(weighted, entries.cols, n_cols)
    denominator = np.bincount(entries.cols, weights=adjusted, minlength=n_cols)  # exact integers
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )
    missing = np.isnan(agreement)
    if missing.any():
        agreement[missing] = np.mean(agreement[~missing])
    return agreement


def _consensus_stats(
    entries: _Entries, pred_probs: np.ndarray, consensus: np.ndarray, ensemble: bool
):
    """cleanlab's ``_get_consensus_stats`` (crowdlab quality) for ``pred_probs`` ``(P, N, K)``.

    Returns ``post_pred_probs, model_weight (P,), annotator_weight (non-empty columns,)``, computed
    in the order of ``_get_post_pred_probs_and_weights`` (P = 1, not ``ensemble``) or of
    ``_get_post_pred_probs_and_weights_ensemble``.
    """
    n_models, n_rows, n_classes = pred_probs.shape
    n = entries.n
    agreement = entries.counts[np.arange(n_rows), consensus] / n
    mask = n != 1
    consensus_likelihood = np.mean(agreement[mask])
    non_consensus_likelihood = (1 - consensus_likelihood) / (n_classes - 1)
    consensus_subset = consensus[mask]
    most_likely_class_error = np.clip(
        np.mean(
            consensus_subset
            != np.argmax(np.bincount(consensus_subset, minlength=n_classes))
        ),
        a_min=CLIPPING_LOWER_BOUND,
        a_max=None,
    )
    annotator_error = 1 - _annotator_agreement_with_annotators(entries)
    annotator_weight = np.clip(
        1 - (annotator_error / most_likely_class_error), a_min=CLIPPING_LOWER_BOUND, a_max=None
    )
    model_weight = np.empty(n_models)
    for p in range(n_models):
        model_error = np.mean(np.argmax(pred_probs[p][mask], axis=1) != consensus_subset)
        model_weight[p] = np.max(
            [(1 - (model_error / most_likely_class_error)), CLIPPING_LOWER_BOUND]
        ) * np.sqrt(np.mean(n))

    weights = annotator_weight[entries.cols]
    classes = np.arange(n_classes)
    if not ensemble:
        # post[:, k] = prior * w_model, then += w_m * likelihood for each annotator in order
        post = pred_probs[0] * model_weight[0]
        total = np.zeros(n_rows)
        rank = np.arange(len(entries.rows)) - entries.starts[entries.rows]
        order = np.argsort(rank, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(rank))))
        for j in range(len(bounds) - 1):
            chosen = order[bounds[j] : bounds[j + 1]]
            rows = entries.rows[chosen]
            w = weights[chosen]
            post[rows] += np.where(
                entries.labs[chosen][:, None] == classes,
                (w * consensus_likelihood)[:, None],
                (w * non_consensus_likelihood)[:, None],
            )
            total[rows] += w
        post /= (total + model_weight[0])[:, None]
    else:
        # per example: np.average([prior_p[i, k] ..., likelihoods ...], weights=[w_p ..., w_m ...])
        post = np.empty((n_rows, n_classes))
        for length in np.unique(n):
            rows = np.flatnonzero(n == length)
            idx = entries.starts[rows][:, None] + np.arange(length)  # (R, length)
            likelihood = np.where(
                entries.labs[idx][:, None, :] == classes[None, :, None],
                consensus_likelihood,
                non_consensus_likelihood,
            )  # (R, K, length)
            terms = np.concatenate((pred_probs[:, rows].transpose(1, 2, 0), likelihood), axis=-1)
            term_weights = np.concatenate(
                (np.broadcast_to(model_weight, (len(rows), n_models)), weights[idx]), axis=-1
            )
            scale = term_weights.sum(axis=-1)
            post[rows] = (terms * term_weights[:, None, :]).sum(axis=-1) / scale[:, None]
    return post, model_weight, annotator_weight


def _crowdlab(entries: _Entries, pred_probs: np.ndarray, ensemble: bool, rng):
    """pred_probs ``(P, N, K)``; returns consensus, quality, post, model weights, annotator weights
    (non-empty columns), or None when no example has 2+ labels."""
    if not np.any(entries.n > 1):
        return None
    mean_pred_probs = np.mean(pred_probs, axis=0) if ensemble else pred_probs[0]
    majority = _majority_vote(entries, mean_pred_probs, rng)
    post, _, _ = _consensus_stats(entries, pred_probs, majority, ensemble)
    is_max = post == np.max(post, axis=1, keepdims=True)
    consensus = np.where(is_max.sum(axis=1) == 1, np.argmax(is_max, axis=1), majority)
    post, model_weight, annotator_weight = _consensus_stats(
        entries, pred_probs, consensus, ensemble
    )
    quality = post[np.arange(len(consensus)), consensus]
    return consensus, quality, post, model_weight, annotator_weight


def _labeled_inputs(labels, pred_probs, ndim: int) -> tuple[_Entries, np.ndarray]:
    """Validated label entries and float ``pred_probs`` (``ndim`` 2 or 3) for labeled examples."""
    if labels is None:
        raise ValueError("labels are required with pred_probs")
    pred_probs = np.asarray(pred_probs, dtype=float)
    entries = _entries(labels, pred_probs.shape[-1])
    pred_probs = _check_pred_probs(pred_probs, entries.n_rows, ndim, "pred_probs")
    _require_labels(entries)
    return entries, pred_probs


def _require_labels(entries: _Entries) -> None:
    empty_rows = np.flatnonzero(entries.n == 0)
    if len(empty_rows):
        raise ValueError(
            f"every example needs at least one label; examples {empty_rows[:10].tolist()} have none"
        )


def _temperature_scale(pred_probs: np.ndarray, temperature: float) -> np.ndarray:
    pred_probs = np.clip(pred_probs, a_min=SMALL_CONST, a_max=None)
    pred_probs = pred_probs / np.sum(pred_probs, axis=-1, keepdims=True)
    x = np.log(pred_probs) / max(temperature, EPSILON)
    exp_x = np.exp(x)
    scaled = exp_x / np.sum(exp_x, axis=-1, keepdims=True)
    return scaled / np.sum(scaled, axis=-1, keepdims=True)


def _labeled_scores(entries: _Entries, quality, model_weight_sum, annotator_weight, avg_weight, k):
    """``np.average((quality_i, 1/K), weights=(sum_m w_m + model weight, avg_w))`` per example."""
    annotators = _grouped_sum(annotator_weight[entries.cols], entries.rows, entries.n_rows)
    first = annotators + model_weight_sum
    return (quality * first + (1 / k) * avg_weight) / (first + avg_weight)


def _is_empty(array) -> bool:
    return array is None or np.asarray(array).shape[-2] == 0


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


@dataclass
class CrowdlabResult:
    """Output of :func:`crowdlab`.

    consensus_label : (N,) int. consensus_quality : (N,) CROWDLAB quality of the consensus label.
    post_pred_probs : (N, K) CROWDLAB's weighted average of model and annotators.
    model_weight : float for 2-D ``pred_probs``, ``(P,)`` array for an ensemble.
    annotator_weight : (M,), ``NaN`` for annotators without any label.
    """

    consensus_label: np.ndarray
    consensus_quality: np.ndarray
    post_pred_probs: np.ndarray
    model_weight: Union[float, np.ndarray]
    annotator_weight: np.ndarray


def label_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``(N, K)`` int matrix: how many annotators gave example i the label k (label k counted in
    column k, unlike cleanlab >= 2.6.5's ``value_counts`` on float labels). ``labels`` ``(N, M)``
    float with ``NaN`` = missing."""
    return _entries(labels, num_classes).counts


def majority_vote(
    labels: np.ndarray,
    pred_probs: Optional[np.ndarray],
    num_classes: int,
    rng: Optional[np.random.Generator] = None,
) -> np.ndarray:
    """Majority-vote label per example, int ``(N,)``, as cleanlab's ``get_majority_vote_label``
    (Goh, Tkachenko & Mueller, 2022).

    Ties are broken in cleanlab's order: highest ``pred_probs`` (if given) among the tied classes,
    then the class rarest among all labels, then the highest mean agreement-with-consensus (on the
    examples without a tie) of the annotators who chose each tied class, then at random; the random
    draw uses ``rng`` (``np.random.default_rng(0)`` when None) instead of the global numpy state.
    An example without labels ties over all classes. If no example has a unique mode, the third
    tie-break has nothing to measure agreement on and is skipped (cleanlab crashes there).
    ``pred_probs``: ``(N, K)`` with ``K = num_classes``.
    """
    entries = _entries(labels, num_classes)
    if pred_probs is not None:
        pred_probs = _check_pred_probs(pred_probs, entries.n_rows, 2, "pred_probs")
        if pred_probs.shape[1] != num_classes:
            raise ValueError(
                f"pred_probs has {pred_probs.shape[1]} classes, expected {num_classes}"
            )
    return _majority_vote(entries, pred_probs, rng)


def crowdlab(
    labels: np.ndarray,
    pred_probs: np.ndarray,
    *,
    rng: Optional[np.random.Generator] = None,
) -> CrowdlabResult:
    """CROWDLAB consensus labels and qualities (Goh, Tkachenko & Mueller, 2022).

    Equals cleanlab's ``get_label_quality_multiannotator(labels, pred_probs, return_weights=True)``
    (best_quality consensus, crowdlab quality, no calibration) for ``pred_probs`` ``(N, K)``, and
    ``get_label_quality_multiannotator_ensemble`` for ``(P, N, K)``. ``rng`` only serves majority
    vote's random tie-break.

    Edge cases: annotators without labels are ignored (their weight is ``NaN``). When no example has
    2+ labels (cleanlab raises) the consensus is the majority vote (each example's only label),
    its quality ``pred_probs[i, label]`` (ensemble: mean pred_probs), ``post_pred_probs`` the
    (mean) pred_probs, model weight 1 and annotator weights 1, as in ActiveLab's single-label
    branch.
    """
    pred_probs = np.asarray(pred_probs, dtype=float)
    if pred_probs.ndim not in (2, 3):
        raise ValueError(f"pred_probs must be (N, K) or (P, N, K), got {pred_probs.shape}")
    ensemble = pred_probs.ndim == 3
    entries, stacked = _labeled_inputs(labels, pred_probs if ensemble else pred_probs[None], 3)
    result = _crowdlab(entries, stacked, ensemble, rng)
    annotator_weight = np.full(len(entries.nonempty), np.nan)
    if result is None:
        mean_pred_probs = stacked[0] if not ensemble else np.mean(stacked, axis=0)
        consensus = _majority_vote(entries, mean_pred_probs, rng)
        quality = mean_pred_probs[np.arange(entries.n_rows), consensus]
        annotator_weight[entries.nonempty] = 1.0
        model_weight = np.ones(len(stacked)) if ensemble else 1.0
        return CrowdlabResult(
            consensus, quality, mean_pred_probs.copy(), model_weight, annotator_weight
        )
    consensus, quality, post, model_weight, weights = result
    annotator_weight[entries.nonempty] = weights
    return CrowdlabResult(
        consensus,
        quality,
        post,
        model_weight if ensemble else float(model_weight[0]),
        annotator_weight,
    )


def temperature_scale(pred_probs: np.ndarray, temperature: float) -> np.ndarray:
    """cleanlab's ``temp_scale_pred_probs``: clip at 1e-30, renormalise, softmax of
    ``log(p) / temperature`` over the last axis, renormalise. Returns a new array."""
    return _temperature_scale(np.asarray(pred_probs, dtype=float), temperature)


def best_temperature(labels: np.ndarray, pred_probs: np.ndarray) -> float:
    """Temperature of cleanlab's ``find_best_temp_scaler`` (used by ActiveLab, Goh & Mueller 2023):
    coarse grid 0.1..8 then a finer grid around the best, minimising the mean soft cross-entropy
    between each example's empirical label distribution and the scaled ``pred_probs`` ``(N, K)``.

    The empirical distribution is counted correctly (label k into class k), unlike cleanlab
    2.6.5-2.9.0. All temperatures of a grid are evaluated in one vectorised pass.
    """
    entries, pred_probs = _labeled_inputs(labels, pred_probs, 2)
    return _best_temperature(entries, pred_probs)


def activelab_scores(
    labels: Optional[np.ndarray],
    pred_probs: Optional[np.ndarray],
    pred_probs_unlabeled: Optional[np.ndarray],
    *,
    rng: Optional[np.random.Generator] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """ActiveLab scores (Goh & Mueller, 2023) = cleanlab's ``get_active_learning_scores`` with the
    empirical label distributions counted correctly. Lower = more worth (re)labeling.

    ``labels`` ``(N, M)``, ``pred_probs`` ``(N, K)`` for the labeled examples,
    ``pred_probs_unlabeled`` ``(U, K)``. Returns ``(scores (N,), scores_unlabeled (U,))``.
    ``pred_probs`` or ``pred_probs_unlabeled`` may be None or empty (then the matching output is
    empty; without labeled data temperature, model and annotator weights are 1). If no example has
    2+ labels, cleanlab's single-label branch is used (no temperature scaling, majority vote,
    model weight 1, annotator weights 1). Annotators without labels are ignored.
    """
    if pred_probs is None and pred_probs_unlabeled is None:
        raise ValueError("pred_probs and pred_probs_unlabeled cannot both be None")
    temperature, model_weight, avg_weight = 1.0, 1.0, 1.0
    scores = np.array([])
    num_classes = None
    if not _is_empty(pred_probs):
        entries, pred_probs = _labeled_inputs(labels, pred_probs, 2)
        num_classes = pred_probs.shape[-1]
        if not np.any(entries.n > 1):
            consensus = _majority_vote(entries, pred_probs, rng)
            quality = pred_probs[np.arange(entries.n_rows), consensus]
            annotator_weight = np.ones(entries.n_cols)
            model_weight = 1.0
        else:
            temperature = _best_temperature(entries, pred_probs)
            scaled = _temperature_scale(pred_probs, temperature)
            result = _crowdlab(entries, scaled[None], False, rng)
            _, quality, _, model_weights, annotator_weight = result
            model_weight = float(model_weights[0])
        avg_weight = np.mean(annotator_weight)
        scores = _labeled_scores(
            entries, quality, model_weight, annotator_weight, avg_weight, num_classes
        )
    if _is_empty(pred_probs_unlabeled):
        return scores, np.array([])
    pred_probs_unlabeled = _check_pred_probs(pred_probs_unlabeled, None, 2, "pred_probs_unlabeled")
    k = pred_probs_unlabeled.shape[1]
    if num_classes is not None and k != num_classes:
        raise ValueError("pred_probs and pred_probs_unlabeled must have the same number of classes")
    quality_unlabeled = np.max(_temperature_scale(pred_probs_unlabeled, temperature), axis=1)
    scores_unlabeled = np.average(
        np.stack([quality_unlabeled, np.full(len(quality_unlabeled), 1 / k)]),
        weights=[model_weight, avg_weight],
        axis=0,
    )
    return scores, scores_unlabeled


def activelab_scores_ensemble(
    labels: Optional[np.ndarray],
    pred_probs: Optional[np.ndarray],
    pred_probs_unlabeled: Optional[np.ndarray],
    *,
    rng: Optional[np.random.Generator] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble ActiveLab scores (Goh & Mueller, 2023) = cleanlab's
    ``get_active_learning_scores_ensemble`` with the empirical label distributions counted
    correctly; the inputs are not modified (cleanlab scales them in place).

    ``pred_probs`` ``(P, N, K)``, ``pred_probs_unlabeled`` ``(P, U, K)``; each member gets its own
    temperature. Edge cases as :func:`activelab_scores`. ``rng`` serves majority vote's random
    tie-break, also used for the unlabeled examples' consensus over the members' arg-max labels.
    """
    if pred_probs is None and pred_probs_unlabeled is None:
        raise ValueError("pred_probs and pred_probs_unlabeled cannot both be None")
    scores = np.array([])
    num_classes = None
    temperatures = model_weight = None
    avg_weight = 1.0
    if not _is_empty(pred_probs):
        entries, pred_probs = _labeled_inputs(labels, pred_probs, 3)
        num_classes = pred_probs.shape[-1]
        n_models = len(pred_probs)
        if not np.any(entries.n > 1):
            temperatures = np.ones(n_models)
            mean_pred_probs = np.mean(pred_probs, axis=0)
            consensus = _majority_vote(entries, mean_pred_probs, rng)
            quality = mean_pred_probs[np.arange(entries.n_rows), consensus]
            model_weight = np.ones(n_models)
            annotator_weight = np.ones(entries.n_cols)
        else:
            temperatures = np.array([_best_temperature(entries, p) for p in pred_probs])
            scaled = np.stack([_temperature_scale(p, t) for p, t in zip(pred_probs, temperatures)])
            _, quality, _, model_weight, annotator_weight = _crowdlab(entries, scaled, True, rng)
        avg_weight = np.mean(annotator_weight)
        scores = _labeled_scores(
            entries, quality, np.sum(model_weight), annotator_weight, avg_weight, num_classes
        )
    if _is_empty(pred_probs_unlabeled):
        return scores, np.array([])
    pred_probs_unlabeled = _check_pred_probs(pred_probs_unlabeled, None, 3, "pred_probs_unlabeled")
    n_models, _, k = pred_probs_unlabeled.shape
    if num_classes is not None and k != num_classes:
        raise ValueError("pred_probs and pred_probs_unlabeled must have the same number of classes")
    if temperatures is None:
        temperatures, model_weight = np.ones(n_models), np.ones(n_models)
    elif len(temperatures) != n_models:
        raise ValueError("pred_probs and pred_probs_unlabeled must have the same number of models")
    scaled = np.stack(
        [_temperature_scale(p, t) for p, t in zip(pred_probs_unlabeled, temperatures)]
    )
    mean_scaled = np.mean(scaled, axis=0)
    votes = np.argmax(scaled, axis=2).T.astype(float)
    consensus = _majority_vote(_entries(votes, k), mean_scaled, rng)
    modified = np.average(
        np.concatenate((scaled, np.full(scaled.shape[1:], 1 / k)[np.newaxis, :, :])),
        weights=np.concatenate((model_weight, np.array([avg_weight]))),
        axis=0,
    )
    return scores, modified[np.arange(len(consensus)), consensus]


def annotator_quality(
    labels: np.ndarray, pred_probs: np.ndarray, *, rng: Optional[np.random.Generator] = None
) -> np.ndarray:
    """CROWDLAB annotator quality, ``(M,)``, as cleanlab's ``get_label_quality_multiannotator``
    reports it in ``annotator_stats["annotator_quality"]`` (Goh, Tkachenko & Mueller, 2022).

    ``labels`` ``(N, M)`` float with NaN, every row labeled; ``pred_probs`` ``(N, K)``. Assembled
    from what :func:`crowdlab` returns (post-prediction probabilities, consensus, model and
    annotator weights):
    ``w * lqs_m + (1 - w) * agreement_m`` where ``lqs_m`` is the mean over m's labels of the
    CROWDLAB probability of the label given (``post_pred_probs[i, label]``), ``agreement_m`` the
    fraction of m's labels on examples with 2+ labels that equal the consensus, and
    ``w = model_weight / (model_weight + sum(annotator_weight) * mean(labels per example) / M)``.

    NaN for an annotator without labels (cleanlab raises) and for one without a label on an example
    someone else labeled (cleanlab's agreement is NaN there). When no example has 2+ labels
    (cleanlab raises), agreement is undefined for everyone and the quality is ``lqs_m`` alone.
    """
    labels = np.asarray(labels, dtype=float)
    pred_probs = np.asarray(pred_probs, dtype=float)
    if pred_probs.ndim != 2:
        raise ValueError(f"pred_probs must be (N, K), got shape {pred_probs.shape}")
    result = crowdlab(labels, pred_probs, rng=rng)
    present = ~np.isnan(labels)
    rows, cols = np.nonzero(present)
    given = labels[rows, cols].astype(np.int64)
    num_annotators = labels.shape[1]
    per_annotator = np.bincount(cols, minlength=num_annotators)
    per_example = present.sum(axis=1)

    with np.errstate(invalid="ignore", divide="ignore"):
        label_quality = result.post_pred_probs[rows, given]
        lqs = np.bincount(cols, weights=label_quality, minlength=num_annotators) / per_annotator
        if not np.any(per_example > 1):
            return lqs
        shared = per_example[rows] > 1
        agrees = (given == result.consensus_label[rows])[shared].astype(float)
        agreed = np.bincount(cols[shared], weights=agrees, minlength=num_annotators)
        agreement = agreed / np.bincount(cols[shared], minlength=num_annotators)
    num_labeled_annotators = np.count_nonzero(per_annotator)
    adjusted = np.nansum(result.annotator_weight) * np.mean(per_example) / num_labeled_annotators
    w = result.model_weight / (result.model_weight + adjusted)
    return w * lqs + (1 - w) * agreement
