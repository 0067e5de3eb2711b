"""The table printed at the end of a benchmark run: per method, the final pool label accuracy,
consensus accuracy (with the examples labeled), model accuracy and the area under the
consensus-accuracy curve, mean ± sample std over the seeds found on disk (the full analysis, with
figures and tests, is ``python -m common.report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from common import stats
from common.results import RunKey, load_run


def summarize(results_dir: Path, specs: Sequence) -> list[dict]:
    """One row per method in ``specs`` (in order), from the finished runs on disk."""
    rows: dict[str, dict] = {}
    for spec in specs:
        row = rows.setdefault(spec.method.name, {"method": spec.method.name, "runs": []})
        key: RunKey = spec.key
        if key.metadata_path(results_dir).exists():
            row["runs"].append(load_run(results_dir, key))
    summary = []
    for row in rows.values():
        runs = row["runs"]
        if not runs:
            summary.append({"method": row["method"], "seeds": 0})
            continue
        pool = np.array([r["pool_label_accuracy"][-1] if "pool_label_accuracy" in r else np.nan for r in runs])
        consensus = np.array([r["consensus_accuracy"][-1] for r in runs])
        labeled = np.array([np.count_nonzero(r["labels_per_example"][-1]) for r in runs])
        model = np.array([r["model_accuracy"][-1] for r in runs])
        area = stats.auc(np.array([r["consensus_accuracy"] for r in runs]))
        summary.append({
            "method": row["method"],
            "seeds": len(runs),
            "final_pool_label_accuracy": stats.mean_std(pool),
            "final_consensus_accuracy": stats.mean_std(consensus),
            "final_labeled": stats.mean_std(labeled),
            "final_model_accuracy": stats.mean_std(model),
            "consensus_auc": stats.mean_std(area),
        })
    return summary


def _cell(mean: float, std: float, spec: str = ".3f") -> str:
    if np.isnan(mean):
        return "not recorded"
    return f"{mean:{spec}}" if np.isnan(std) else f"{mean:{spec}} ± {std:{spec}}"


def format_summary(rows: list[dict]) -> str:
    header = (f"{'method':<26}{'seeds':>6}  {'final pool label acc':>20}  {'final consensus acc':>20}  "
              f"{'labeled':>13}  {'final model acc':>17}  {'consensus AUC':>15}")
    lines = [header, "-" * len(header)]
    for row in rows:
        if not row["seeds"]:
            lines.append(f"{row['method']:<26}{0:>6}  {'(no finished runs)':>20}")
            continue
        lines.append(
            f"{row['method']:<26}{row['seeds']:>6}  {_cell(*row['final_pool_label_accuracy']):>20}  "
            f"{_cell(*row['final_consensus_accuracy']):>20}  {_cell(*row['final_labeled'], ',.0f'):>13}  "
            f"{_cell(*row['final_model_accuracy']):>17}  {_cell(*row['consensus_auc']):>15}"
        )
    lines += ["pool label acc: the labels one would ship, over the whole pool (consensus where labeled, model "
              "elsewhere); consensus acc: consensus labels of the labeled examples only (labeled: how many)",
              "consensus AUC: mean consensus-label accuracy over rounds; ± is the sample std (ddof=1) over seeds"]
    return "\n".join(lines)
