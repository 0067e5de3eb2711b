"""Why ActiveLab + CROWDLAB can lose consensus accuracy (issue 17): per-round diagnostics, printed.

    AL_RELABEL_DATA_DIR=... .venv/bin/python perf/activelab_feedback.py [--seeds 1] [--rounds 20]
        [--method activelab] [--consensus crowdlab] [--assigner random] [--model mlp]
        [--benchmark wall-robot] [--summary-only]

Runs one method (default ``activelab``, with its own CROWDLAB consensus) through the project's
round loop (``common.loop.run_rounds``, default settings of the benchmark, so every metric equals
the committed grid's) and, after each round, recomputes the next round's consensus from the loop's
own state (labels, the round's predictions, a copy of the generator) to see *why* it is what it
is. Per round it prints:

* ``cons``: accuracy of the consensus labels the model trains on (checked against the loop's own
  ``consensus_accuracy``); ``maj``: majority vote on the very same labels (ties by the model);
* ``T``: the temperature the calibration picks (:func:`common.crowdlab.best_temperature`);
* CROWDLAB's weights as they decide the consensus: cleanlab first weighs model and annotators
  against the majority vote (``w_model``, mean annotator weight ``w_annot``, share of annotators
  clipped to cleanlab's floor 1e-6 ``floor``), takes the arg-max, then recomputes the weights
  against that consensus (``w_model2``, what ``return_weights=True`` reports);
* what those weights are made of, on the examples with 2+ labels (``multi``): the share of the
  largest consensus class there (``top``; cleanlab's baseline error ``1 - top``), the annotators'
  mean disagreement with each other there (``a_err``) and the model's disagreement with the
  majority vote there (``m_err``). CROWDLAB weighs an annotator ``1 - a_err/(1 - top)`` and the
  model ``(1 - m_err/(1 - top)) * sqrt(mean labels per example)``, each clipped at 1e-6;
* ``r->w`` / ``w->r``: consensus labels that went from right to wrong / wrong to right since the
  previous round (``(got)``: of them, examples that got a label in between), and the true classes of
  the right-to-wrong flips;
* ``new`` / ``relab``: how many of the round's labels went to unlabeled / already labeled examples.

``--seeds N`` runs seeds 0..N-1 (``--seed-list`` picks others) and ends with one line per seed:
round-0, lowest (rounds 1-10) and final consensus accuracy, the rounds whose annotator weights
collapsed (mean below 0.05 while the model's is above ten times that: the consensus is then the
model's arg-max), and the seed's noise-matrix diagonal. Nothing is asserted and nothing is written.
What the figures show, and the runs behind them: docs/fidelity-activelab-feedback.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import crowdlab  # noqa: E402
from common.consensus import CONSENSUS_RULES  # noqa: E402
from common.data import resolve_data_dir  # noqa: E402
from common.loop import LoopSettings, run_rounds  # noqa: E402
from common.methods import METHODS  # noqa: E402
from common.seeding import RunSeeds  # noqa: E402

try:  # the registry moved out of common.benchmark (issue 17, item 2)
    from common.registry import get_benchmark  # noqa: E402
except ImportError:  # pragma: no cover
    from common.benchmark import get_benchmark  # noqa: E402

COLLAPSED_ANNOTATOR_WEIGHT = 0.05
FLOOR = crowdlab.CLIPPING_LOWER_BOUND


def weight_diagnostics(labels: np.ndarray, pred_probs: np.ndarray) -> dict:
    """CROWDLAB's first-pass weights (those that decide the consensus) and their ingredients, for
    the labeled examples' ``labels`` ``(L, M)`` and one model's ``pred_probs`` ``(L, K)``.

    Uses :mod:`common.crowdlab`'s internal steps (the same code that computes the consensus)."""
    num_classes = pred_probs.shape[1]
    temperature = crowdlab.best_temperature(labels, pred_probs)
    scaled = crowdlab.temperature_scale(pred_probs, temperature)
    entries = crowdlab._entries(labels, num_classes)
    majority = crowdlab._majority_vote(entries, scaled, np.random.default_rng(0))
    _, model_weight, annotator_weight = crowdlab._consensus_stats(entries, scaled[None], majority, False)
    multi = entries.n > 1
    subset = majority[multi]
    top = np.bincount(subset, minlength=num_classes).max() / max(len(subset), 1)
    final = crowdlab.crowdlab(labels, scaled, rng=np.random.default_rng(0))
    return {
        "T": temperature,
        "w_model": float(model_weight[0]),
        "w_annot": float(np.mean(annotator_weight)),
        "floor": float(np.mean(annotator_weight <= FLOOR)),
        "w_model_reported": float(final.model_weight),
        "multi": int(multi.sum()),
        "top": float(top),
        "a_err": float(np.mean(1 - crowdlab._annotator_agreement_with_annotators(entries))),
        "m_err": float(np.mean(scaled[multi].argmax(axis=1) != subset)) if multi.any() else float("nan"),
    }


def trace_run(benchmark, method_name: str, seed: int, rounds: int, consensus: str | None,
              assigner: str = "random", model: str | None = None) -> dict:
    """One run of the loop with the default settings; per round, the consensus it trained on and
    the diagnostics of :func:`weight_diagnostics`."""
    method = METHODS[method_name]
    rule = consensus or method.consensus
    model = model or benchmark.default_model
    models = benchmark.members(model, method.ensemble)
    problem = benchmark.make_problem(
        resolve_data_dir(None), RunSeeds(seed), benchmark.n_initial, benchmark.inputs(model, method.ensemble)
    )
    y = problem.y_pool
    num_classes = problem.num_classes
    initial_rng = RunSeeds(seed).loop()
    labeled0 = ~np.isnan(problem.initial_labels).all(axis=1)
    consensus0 = np.full(len(y), -1)
    consensus0[labeled0] = CONSENSUS_RULES["majority"](
        problem.initial_labels[labeled0], None, num_classes, initial_rng
    )
    rows = [{"consensus": consensus0, "labels": problem.initial_labels.copy()}]

    def on_state(state) -> None:
        labels = state.labels
        before = rows[-1]["labels"]
        touched = (np.isnan(before) & ~np.isnan(labels)).any(axis=1)
        was_labeled = (~np.isnan(before)).any(axis=1)
        rows[-1].update(touched=touched, relabels=int(np.sum(touched & was_labeled)),
                        new=int(np.sum(touched & ~was_labeled)))
        if state.next_round >= rounds:
            return
        labeled = ~np.isnan(labels).all(axis=1)
        rng = np.random.default_rng()
        rng.bit_generator.state = state.rng_state
        member_predictions = state.previous_predictions[:, labeled]
        consensus = np.full(len(y), -1)
        consensus[labeled] = CONSENSUS_RULES[rule](labels[labeled], member_predictions, num_classes, rng)
        row = {"consensus": consensus, "labels": labels.copy()}
        row["majority"] = crowdlab.majority_vote(
            labels[labeled], member_predictions.mean(axis=0), num_classes, np.random.default_rng(0)
        )
        if member_predictions.shape[0] == 1 and np.any((~np.isnan(labels[labeled])).sum(axis=1) > 1):
            row.update(weight_diagnostics(labels[labeled], member_predictions[0]))
        rows.append(row)

    settings = LoopSettings(rounds, benchmark.batch_size, benchmark.folds, rule, assigner)
    result = run_rounds(problem, method, models, settings, RunSeeds(seed), on_state=on_state)
    return {"rows": rows, "y": y, "metrics": result.metrics, "info": problem.info, "rule": rule}


def print_rounds(run: dict) -> None:
    y, rows, metrics = run["y"], run["rows"], run["metrics"]
    print(f"{'rd':>2} {'cons':>5} {'maj':>5} {'T':>5} {'w_model':>7} {'w_annot':>7} {'floor':>5} {'w_model2':>8}"
          f" {'multi':>5} {'top':>5} {'a_err':>5} {'m_err':>5} | {'r->w':>4} {'w->r':>4} {'(got)':>7}"
          f" {'r->w true classes':>17} | {'new':>4} {'relab':>5}")
    previous = None
    for r, row in enumerate(rows):
        consensus = row["consensus"]
        labeled = consensus >= 0
        accuracy = np.mean(consensus[labeled] == y[labeled])
        if not np.isclose(accuracy, metrics["consensus_accuracy"][r]):
            print(f"   (round {r}: recomputed consensus accuracy {accuracy:.4f} differs from the loop's "
                  f"{metrics['consensus_accuracy'][r]:.4f})")
        majority = np.mean(row["majority"] == y[labeled]) if "majority" in row else accuracy
        line = f"{r:2d} {accuracy:5.3f} {majority:5.3f} "
        if "T" in row:
            line += (f"{row['T']:5.2f} {row['w_model']:7.3f} {row['w_annot']:7.3f} {row['floor']:5.2f}"
                     f" {row['w_model_reported']:8.3f} {row['multi']:5d} {row['top']:5.2f} {row['a_err']:5.3f}"
                     f" {row['m_err']:5.3f} |")
        else:
            line += " " * 63 + "|"
        if previous is not None:
            both = (previous["consensus"] >= 0) & labeled
            right_before = previous["consensus"] == y
            right_now = consensus == y
            to_wrong = both & right_before & ~right_now
            to_right = both & ~right_before & right_now
            touched = previous.get("touched", np.zeros(len(y), bool))
            classes = np.bincount(y[to_wrong], minlength=int(y.max()) + 1).tolist()
            line += (f" {to_wrong.sum():4d} {to_right.sum():4d} {f'({(to_wrong & touched).sum()}/{(to_right & touched).sum()})':>7}"
                     f" {str(classes):>17} |")
        else:
            line += " " * 36 + "|"
        line += f" {row.get('new', 0):4d} {row.get('relabels', 0):5d}"
        print(line)
        previous = row


def summary_line(seed: int, run: dict) -> tuple[str, dict]:
    accuracy = run["metrics"]["consensus_accuracy"]
    rows = run["rows"]
    collapsed = [r for r, row in enumerate(rows) if "w_annot" in row
                 and row["w_annot"] < COLLAPSED_ANNOTATOR_WEIGHT and row["w_model"] > 10 * row["w_annot"]]
    early = accuracy[1:11] if len(accuracy) > 1 else accuracy[:1]
    lowest = int(np.argmin(early)) + 1 if len(accuracy) > 1 else 0
    noise = run["info"].get("noise_matrix")
    diagonal = np.round(np.diag(noise), 3).tolist() if noise is not None else "-"
    facts = {"drop": float(accuracy[0] - early.min()), "final": float(accuracy[-1]),
             "collapsed": len(collapsed), "start": float(accuracy[0])}
    text = (f"seed {seed:2d}: round 0 {accuracy[0]:.3f}, lowest {early.min():.3f} (round {lowest}),"
            f" final {accuracy[-1]:.3f}; collapsed rounds {len(collapsed):2d} {collapsed[:12]}; diagonal {diagonal}")
    return text, facts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", default="wall-robot")
    parser.add_argument("--method", default="activelab")
    parser.add_argument("--consensus", default=None, help="override the method's consensus rule")
    parser.add_argument("--assigner", default="random", help="who answers each label request")
    parser.add_argument("--model", default=None, help="default: the benchmark's")
    parser.add_argument("--seeds", type=int, default=None, help="run seeds 0..N-1 (default: seed 1 only)")
    parser.add_argument("--seed-list", type=int, nargs="+", default=None)
    parser.add_argument("--rounds", type=int, default=None, help="default: the benchmark's")
    parser.add_argument("--summary-only", action="store_true", help="print only the per-seed lines")
    args = parser.parse_args(argv)
    benchmark = get_benchmark(args.benchmark)
    rounds = args.rounds or benchmark.rounds
    seeds = args.seed_list or (list(range(args.seeds)) if args.seeds else [1])
    from threadpoolctl import threadpool_limits

    lines, facts = [], []
    with threadpool_limits(limits=1):
        for seed in seeds:
            started = time.process_time()
            run = trace_run(benchmark, args.method, seed, rounds, args.consensus, args.assigner, args.model)
            if not args.summary_only:
                print(f"\n{args.benchmark}, {args.method} with {run['rule']} consensus, {args.assigner} assigner,"
                      f" seed {seed}, {rounds} rounds"
                      f" ({time.process_time() - started:.0f} s CPU)")
                print_rounds(run)
            text, fact = summary_line(seed, run)
            print(text, flush=True)
            lines.append(text)
            facts.append(fact)
    if len(seeds) > 1:
        drops = np.array([f["drop"] for f in facts])
        collapsed = np.array([f["collapsed"] for f in facts])
        print(f"\n{len(seeds)} seeds: consensus accuracy below round 0's at some round 1-10 on {np.sum(drops > 0)},"
              f" by more than 0.01 on {np.sum(drops > 0.01)}, by more than 0.03 on {np.sum(drops > 0.03)};"
              f" annotator weights collapsed in at least one round on {np.sum(collapsed > 0)},"
              f" in 5+ rounds on {np.sum(collapsed >= 5)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
