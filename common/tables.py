"""Markdown cells shared by the report's tables and the leaderboard's: every table shows the same
metrics, in the same order, with the same words."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from common.analysis import Group


def mean_std_cell(mean: float, std: float) -> str:
    """An accuracy cell; "not recorded" where the runs lack the metric."""
    if np.isnan(mean):
        return "not recorded"
    return f"{mean:.3f}" if np.isnan(std) else f"{mean:.3f} ± {std:.3f}"


def count_cell(mean: float, std: float) -> str:
    """A count or cost cell: whole numbers with thousands separators (two decimals below 10)."""
    if np.isnan(mean):
        return "not recorded"
    spec = ".2f" if abs(mean) < 10 and mean != round(mean) else ",.0f"
    return f"{mean:{spec}}" if np.isnan(std) else f"{mean:{spec}} ± {std:{spec}}"


METRICS_HEADER = ("final pool label acc | final consensus acc (labeled) | labeled | correct labels "
                  "| final model acc | label cost")
"""The metric columns every table shows, in this order (see :func:`metric_cells`)."""

METRICS_EXPLAINED = (
    "*Pool label acc*: accuracy over the whole pool of the labels one would ship (the consensus "
    "where an example is labeled, the round's model prediction elsewhere). *Consensus acc (labeled)*: "
    "accuracy of the consensus labels of the labeled examples only, the study's metric; *labeled*: "
    "examples with at least one label. *Correct labels*: labeled examples whose consensus is right. "
    "*Model acc*: the model's accuracy on the test set. *Label cost*: cost of the labels bought in the "
    "rounds before the final measurement (the initial labels not counted; 1 per label unless priced)."
)


def metric_cells(row) -> str:
    """The cells under :data:`METRICS_HEADER` for one row of a summary or assigner table."""
    return " | ".join((
        mean_std_cell(row.final_pool_label_accuracy_mean, row.final_pool_label_accuracy_std),
        mean_std_cell(row.final_consensus_accuracy_mean, row.final_consensus_accuracy_std),
        count_cell(row.final_n_labeled_mean, row.final_n_labeled_std),
        count_cell(row.final_correct_labels_mean, row.final_correct_labels_std),
        mean_std_cell(row.final_model_accuracy_mean, row.final_model_accuracy_std),
        count_cell(row.final_cost_spent_mean, row.final_cost_spent_std),
    ))


def derived_note(groups: Sequence[Group]) -> str:
    """Which columns were derived for runs older than their metric ("" if none)."""
    derived = {name for g in groups for runs in g.methods.values() for name in runs.derived}
    parts = []
    if "correct_labels" in derived:
        parts.append("correct labels are consensus accuracy × labeled (exact)")
    if "cost_spent" in derived:
        parts.append("label cost counts 1 per label bought (those runs had no prices)")
    return f" For runs that predate these metrics, {' and '.join(parts)}." if parts else ""
