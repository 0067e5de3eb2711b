"""CROWDLAB and ActiveLab: common/crowdlab.py against cleanlab 2.9.0 on Wall Robot sizes (printed,
never asserted).

    python perf/crowdlab_speed.py [--repeats 3]

One round of the default Wall Robot benchmark, drawn like its label matrices: 30 annotators, 4
classes, 500 / 1,000 / 2,000 labeled pool examples with 1.1 labels each on average (about 90% one
label, 9% two, 1% more) and the rest of the 2,000-example pool unlabeled, Dirichlet model
probabilities. For each size, the best of ``--repeats`` CPU times of
- the consensus step of an ActiveLab method: temperature search, calibrated CROWDLAB
  (ours: ``best_temperature`` + ``temperature_scale`` + ``crowdlab``; cleanlab:
  ``get_label_quality_multiannotator(calibrate_probs=True)``, with its float-label counting bug
  corrected so that both compute the same thing), and
- the scoring step: ``activelab_scores`` against ``get_active_learning_scores`` (likewise).
Also prints the largest absolute difference between the two results.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cleanlab.internal.multiannotator_utils as mu  # noqa: E402
import cleanlab.multiannotator as ma  # noqa: E402

from common import crowdlab  # noqa: E402

POOL, ANNOTATORS, CLASSES = 2000, 30, 4


def fixed_value_counts(x, *, num_classes=None, multi_label=False):
    """cleanlab's value_counts with float labels counted into their own class (see README)."""
    x = np.asarray(x)
    if num_classes is None:
        return np.unique(x, return_counts=True)[1]
    return np.bincount(x.astype(int), minlength=num_classes)


def round_inputs(labeled: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``labels (labeled, 30)`` with NaN, ``pred_probs (labeled, 4)``, ``pred_probs_unlabeled``."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, CLASSES, labeled)
    per_example = rng.choice([1, 2, 3], size=labeled, p=[0.90, 0.09, 0.01])
    labels = np.full((labeled, ANNOTATORS), np.nan)
    for i, count in enumerate(per_example):
        who = rng.choice(ANNOTATORS, count, replace=False)
        right = rng.random(count) < 0.85
        labels[i, who] = np.where(right, truth[i], rng.integers(0, CLASSES, count))
    alpha = np.ones((POOL, CLASSES))
    alpha[np.arange(labeled), truth] = 6.0
    probs = rng.gamma(alpha)
    probs /= probs.sum(axis=1, keepdims=True)
    return labels, probs[:labeled], probs[labeled:]


def best_cpu_seconds(function, repeats: int):
    best, result = np.inf, None
    for _ in range(repeats):
        with contextlib.redirect_stdout(io.StringIO()):  # cleanlab's notes about lone annotators
            start = time.process_time()
            result = function()
            best = min(best, time.process_time() - start)
    return best, result


def ours_consensus(labels, pred_probs):
    scaled = crowdlab.temperature_scale(pred_probs, crowdlab.best_temperature(labels, pred_probs))
    return crowdlab.crowdlab(labels, scaled).consensus_quality


def cleanlab_consensus(labels, pred_probs):
    result = ma.get_label_quality_multiannotator(
        pd.DataFrame(labels), pred_probs, calibrate_probs=True, verbose=False)
    return result["label_quality"]["consensus_quality_score"].to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    mu.value_counts = fixed_value_counts  # compute_soft_cross_entropy looks it up here
    warnings.simplefilter("ignore")
    print(f"{'labeled':>8} {'step':<10} {'ours s':>9} {'cleanlab s':>11} {'speed-up':>9} {'max |diff|':>11}")
    for labeled in (500, 1000, 2000 - 1):  # at least one unlabeled example
        labels, pred_probs, unlabeled = round_inputs(labeled)
        steps = {
            "consensus": (lambda: ours_consensus(labels, pred_probs),
                          lambda: cleanlab_consensus(labels, pred_probs)),
            "scores": (lambda: np.concatenate(crowdlab.activelab_scores(labels, pred_probs, unlabeled)),
                       lambda: np.concatenate(ma.get_active_learning_scores(labels, pred_probs, unlabeled))),
        }
        for step, (ours, theirs) in steps.items():
            ours_s, ours_result = best_cpu_seconds(ours, args.repeats)
            theirs_s, theirs_result = best_cpu_seconds(theirs, args.repeats)
            difference = float(np.max(np.abs(ours_result - theirs_result)))
            print(f"{labeled:>8} {step:<10} {ours_s:>9.4f} {theirs_s:>11.4f} {theirs_s / ours_s:>8.0f}x "
                  f"{difference:>11.1e}")
    print("CPU seconds, best of", args.repeats, "(one thread); the labeled counts span a Wall Robot run "
          "(500 labeled at round 0, up to 2,000 when every pool example has a label)")


if __name__ == "__main__":
    main()
