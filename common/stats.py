"""Statistics over seeds: confidence intervals, areas under curves, ranks, label efficiency and
the paired tests a comparison of methods needs. Arrays in, arrays out; nothing here reads files.

Conventions: a *score matrix* is ``(n_seeds, n_methods)``, one row per seed (a block, in the
language of the Friedman test), higher is better. Seeds pair runs: every method of seed ``s``
starts from the same labeled set and annotators, so tests are paired over seeds.

References: J. Demšar (2006), Statistical comparisons of classifiers over multiple data sets,
JMLR 7:1-30 (Friedman test, Nemenyi critical difference, Wilcoxon signed-rank with Holm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy import stats

MIN_SEEDS_FOR_TESTS = 6
"""With 5 paired seeds the smallest two-sided exact Wilcoxon p-value is 2/2^5 = 0.0625: the test
can never reject at 0.05, so below this many seeds no p-value is printed."""

LOW_POWER_NOTE = "too few seeds (< {n}) for a useful test".format(n=MIN_SEEDS_FOR_TESTS)


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) over seeds; the std is NaN for one seed."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float("nan")


def t_interval(values: np.ndarray, level: float = 0.95, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and Student-t confidence interval over ``axis`` (the seeds): ``(mean, low, high)``.

    A t interval rather than a bootstrap: with 3-5 seeds a percentile bootstrap is far too narrow.
    With one seed the interval is NaN (unknown), not zero.
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan
    sem = values.std(axis=axis, ddof=1) / np.sqrt(n)
    half = stats.t.ppf(0.5 + level / 2, df=n - 1) * sem
    return mean, mean - half, mean + half


def auc(curves: np.ndarray) -> np.ndarray:
    """Area under learning curves, normalised to the mean over rounds (last axis)."""
    return np.asarray(curves, dtype=float).mean(axis=-1)


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    """Rank of each method within each seed (row): 1 = best (highest score), ties averaged."""
    return stats.rankdata(-np.asarray(scores, dtype=float), axis=1)


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """Mean rank of each method over the seeds of a score matrix."""
    return rank_matrix(scores).mean(axis=0)


def labels_to_reach(curve: np.ndarray, n_labels: np.ndarray, target: float) -> Optional[float]:
    """Labels collected at the first round where ``curve`` reaches ``target``; None if never.

    ``curve`` and ``n_labels`` are per round (a method's mean curve over seeds and the mean
    number of labels collected when each point was measured).
    """
    reached = np.flatnonzero(np.asarray(curve) >= target - 1e-12)
    return float(n_labels[reached[0]]) if len(reached) else None


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaNs are ignored."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    scaled = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


@dataclass(frozen=True)
class PairedTest:
    """Two-sided Wilcoxon signed-rank test of one method against a reference, paired by seed."""

    method: str
    reference: str
    n_seeds: int
    mean_difference: float
    """Mean over seeds of method minus reference."""
    wins: int
    """Seeds where the method scored higher than the reference (``losses``: lower)."""
    losses: int
    p_value: float
    """NaN when there are too few seeds (see ``note``)."""
    p_holm: float
    note: str = ""


def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value; 1.0 when every difference is zero."""
    differences = np.asarray(differences, dtype=float)
    if not np.any(differences):
        return 1.0
    return float(stats.wilcoxon(differences).pvalue)


def paired_tests(differences: dict[str, np.ndarray], reference: str) -> list[PairedTest]:
    """Wilcoxon tests of each method against ``reference``, Holm-corrected within this family.

    ``differences`` maps each method to its per-seed score minus the reference's, over the seeds
    the two share. A method with fewer than :data:`MIN_SEEDS_FOR_TESTS` seeds gets a NaN p-value
    and a note, and does not count in the correction.
    """
    names = list(differences)
    values = [np.asarray(differences[name], dtype=float) for name in names]
    p = np.array([wilcoxon_p(d) if len(d) >= MIN_SEEDS_FOR_TESTS else np.nan for d in values])
    adjusted = holm(p)
    return [
        PairedTest(
            name, reference, len(d), float(d.mean()) if len(d) else float("nan"),
            int(np.sum(d > 0)), int(np.sum(d < 0)), float(p[i]), float(adjusted[i]),
            "" if len(d) >= MIN_SEEDS_FOR_TESTS else f"{len(d)} seeds: {LOW_POWER_NOTE}",
        )
        for i, (name, d) in enumerate(zip(names, values))
    ]


@dataclass(frozen=True)
class FriedmanResult:
    statistic: float
    p_value: float
    n_blocks: int
    n_methods: int


def friedman(scores: np.ndarray) -> Optional[FriedmanResult]:
    """Friedman test that all methods rank alike over the seeds (chi-square approximation).
    None when it does not apply (fewer than 3 methods or 2 seeds)."""
    scores = np.asarray(scores, dtype=float)
    n, k = scores.shape
    if k < 3 or n < 2:
        return None
    result = stats.friedmanchisquare(*scores.T)
    return FriedmanResult(float(result.statistic), float(result.pvalue), n, k)


def critical_difference(n_methods: int, n_blocks: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks: two methods whose average ranks differ by
    less are not significantly different. ``q_alpha`` comes from the studentized range."""
    q = stats.studentized_range.ppf(1 - alpha, n_methods, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(n_methods * (n_methods + 1) / (6 * n_blocks)))


def cliques(ranks: np.ndarray, cd: float) -> list[tuple[int, ...]]:
    """Maximal groups of methods (indices, best first) whose average ranks lie within ``cd``."""
    order = np.argsort(ranks, kind="stable")
    sorted_ranks = np.asarray(ranks)[order]
    groups: list[tuple[int, ...]] = []
    last_end = -1
    for start in range(len(order)):
        end = int(np.searchsorted(sorted_ranks, sorted_ranks[start] + cd, side="left")) - 1
        if end > start and end > last_end:
            groups.append(tuple(int(i) for i in order[start : end + 1]))
            last_end = end
    return groups
