"""Speed of the ActiveLab study's code against ours on Wall Robot (issue 11), printed, never asserted.

    AL_RELABEL_DATA_DIR=... .venv/bin/python perf/reference_speed.py \\
        --study STUDY/active_learning_benchmarks/wall-robot --study-python STUDY_ENV/bin/python \\
        [--rounds 20] [--seed 0] [--cores 2]

``--study`` is the ``wall-robot`` folder of a local checkout of the study's public code
(cleanlab/multiannotator-benchmarks, ``active_learning_benchmarks/wall-robot``) and
``--study-python`` the interpreter of an environment where that code runs: numpy < 1.24, pandas,
scikit-learn and a cleanlab that has ``get_label_quality_multiannotator_ensemble`` (2.3.0, the first
release with it). The study called ``get_majority_vote_label_ensemble`` from a pre-release cleanlab
(it was dropped before release as the majority vote on the members' mean prediction); where
cleanlab lacks it, the runner supplies exactly that. The study's code is never copied into this
repository or committed: it is run from a temporary folder, outside the work tree, and its
function source is read from ``--study`` at run time.

What it measures. From the round-0 state of run seed ``--seed`` (built with this project's own
problem builder, so both sides start from the same pool, test set, annotators and initial labels),
each of these runs once, in its own process with one BLAS/OpenMP thread:

* the study's ``random()``, ``crowdlab()`` and ``crowdlab_ensemble()`` from ``utils/methods_MLP.py``
  (MLP model, one of its five runs: ``num_rounds`` patched to 1, ``num_iter`` to ``--rounds``);
* our ``random``, ``activelab`` and ``activelab_ensemble`` for that one seed with ``--jobs 1``
  (the run script's own ``parse_specs``/``run_grid``, default model ``mlp``, ``--rounds``).

For each it prints the wall and CPU time of the loop itself (measured inside the child: no
interpreter start or imports, which a grid pays once) and of the whole process (measured here:
wall clock and ``getrusage(RUSAGE_CHILDREN)``), and the reference/ours ratios.

What it estimates. The grid of the study's seven methods (random, good_random, entropy,
uncertainty, crowdlab = our activelab, disagreement, crowdlab_ensemble = our activelab_ensemble)
x 5 seeds, on both sides, from the loop figures: the five single-model methods each cost the mean
of random's and crowdlab's (activelab's) run, the two that fit the three-model ensemble
(disagreement, crowdlab_ensemble) each cost crowdlab_ensemble's (activelab_ensemble's). The
study's code is sequential, so its grid runs on one core; ours runs with ``--jobs`` = ``--cores``
worker processes, estimated as our one-core figure / ``--cores`` (perfect scaling assumed; ``perf/
speed.py jobs`` measures the real speed-up). CPU time is the figure to read when the machine is
loaded (the load average is printed at the start and the end): wall time then includes waiting for
the other jobs' processes. With ``--rounds`` below 20 (a smoke check) the estimate is for that many
rounds only, and later rounds cost more (more labeled examples, more annotator columns).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCHMARK = "wall-robot"
STUDY_ROUNDS = 20
SEEDS = 5
PAIRS = [("random", "random"), ("crowdlab", "activelab"), ("crowdlab_ensemble", "activelab_ensemble")]
SINGLE_MODEL = ["random", "good_random", "entropy", "uncertainty", "crowdlab/activelab"]
ENSEMBLE = ["disagreement", "crowdlab_ensemble/activelab_ensemble"]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

# Runs one of the study's methods, from its own source, in the current folder (data/, results/mlp/).
STUDY_RUNNER = r'''
import json, os, re, sys, time
import numpy as np
study, method, rounds, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.path.insert(0, study)
import cleanlab, cleanlab.multiannotator as cm
if not hasattr(cm, "get_majority_vote_label_ensemble"):
    def get_majority_vote_label_ensemble(labels_multiannotator, pred_probs, verbose=True):
        """The pre-release helper the study imported: majority vote on the members' mean."""
        return cm.get_majority_vote_label(labels_multiannotator, np.mean(pred_probs, axis=0), verbose)
    cm.get_majority_vote_label_ensemble = get_majority_vote_label_ensemble
if not hasattr(cm, "get_label_quality_multiannotator_ensemble"):
    def get_label_quality_multiannotator_ensemble(*args, **kwargs):
        raise SystemExit(f"cleanlab {cleanlab.__version__} lacks get_label_quality_multiannotator_ensemble, "
                         "which crowdlab_ensemble() needs: use cleanlab 2.3.0 in the study's environment")
    cm.get_label_quality_multiannotator_ensemble = get_label_quality_multiannotator_ensemble
path = os.path.join(study, "utils", "methods_MLP.py")
source = open(path).read()
for name, value in (("num_rounds", 1), ("num_iter", rounds)):
    source, n = re.subn(rf"^{name} = \d+$", f"{name} = {value}", source, flags=re.M)
    if n != 1:
        raise SystemExit(f"{path}: no single '{name} = N' line to patch")
namespace = {"__name__": "study_methods_MLP"}
exec(compile(source, path, "exec"), namespace)
np.random.seed(seed)
wall, cpu = time.perf_counter(), time.process_time()
namespace[method]()
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
accuracy = np.load(f"results/mlp/{method}_accuracy_0.npy")
import numpy, pandas, sklearn
print("TIMING " + json.dumps({"wall": wall, "cpu": cpu, "final_consensus_accuracy": float(accuracy[-1]),
      "versions": {"cleanlab": cleanlab.__version__, "numpy": numpy.__version__, "pandas": pandas.__version__,
                   "scikit-learn": sklearn.__version__, "python": sys.version.split()[0]}}))
'''

# Runs one of our methods for one seed, as wall-robot/run_benchmark.py does (parse_specs, run_grid).
OURS_RUNNER = r'''
import json, sys, time
root, method, rounds, seed, results = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
sys.path.insert(0, root)
from common.registry import get_benchmark
from common.runner import parse_specs, run_grid
args, specs = parse_specs(get_benchmark("wall-robot"), ["--methods", method, "--seeds", str(seed + 1), "--jobs", "1",
                          "--results-dir", results, "--rounds", rounds, "--force", "--model", "mlp"])
specs = [s for s in specs if s.seed == seed]
wall, cpu = time.perf_counter(), time.process_time()
failures = run_grid(specs, args.data_dir, args.results_dir, args.jobs, args.force)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
if failures:
    raise SystemExit("\n".join(failures))
print("TIMING " + json.dumps({"wall": wall, "cpu": cpu}))
'''


def write_study_data(folder: Path, seed: int) -> dict:
    """The study's data files (``data/*.npy``, as its 0_create_data notebook names them) for the
    round-0 state of our run ``seed``; returns a few facts about it."""
    import numpy as np

    from common.registry import get_benchmark
    from common.data import resolve_data_dir
    from common.seeding import RunSeeds

    benchmark = get_benchmark(BENCHMARK)
    problem = benchmark.make_problem(resolve_data_dir(None), RunSeeds(seed), benchmark.n_initial,
                                     benchmark.inputs(benchmark.default_model, True))
    labeled = ~np.isnan(problem.initial_labels).all(axis=1)
    files = {
        "multiannotator_labels_labeled": problem.initial_labels[labeled],
        "true_labels_labeled": problem.y_pool[labeled],
        "true_labels_unlabeled": problem.y_pool[~labeled],
        "true_labels_test": problem.y_test,
        "extra_labels_labeled": problem.hidden_labels[labeled],
        "extra_labels_unlabeled": problem.hidden_labels[~labeled],
        "X_labeled": problem.X_pool[labeled],
        "X_unlabeled": problem.X_pool[~labeled],
        "X_test": problem.X_test,
    }
    (folder / "data").mkdir(parents=True)
    (folder / "results" / "mlp").mkdir(parents=True)
    for name, array in files.items():
        np.save(folder / "data" / f"{name}.npy", array)
    return {"labeled": int(labeled.sum()), "pool": len(labeled), "test": len(problem.y_test),
            "annotators": problem.hidden_labels.shape[1]}


def timed(command: list[str], cwd: Path, log: Path) -> dict:
    """Run ``command`` to completion; its TIMING line plus the process's wall and CPU seconds."""
    env = {**os.environ, **{name: "1" for name in THREAD_VARIABLES}}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = log.read_text()
    lines = [line for line in text.splitlines() if line.startswith("TIMING ")]
    if code != 0 or not lines:
        tail = "\n    ".join(text.strip().splitlines()[-15:])
        print(f"  FAILED (exit {code}): {' '.join(command[:3])} ...\n    {tail}", file=sys.stderr)
        return {}
    return {**json.loads(lines[-1][len("TIMING "):]), "process_wall": wall, "process_cpu": cpu}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def ratio(a: float, b: float) -> str:
    return f"{a / b:7.1f}x" if a and b else "      -"


def seconds(x) -> str:
    return f"{x:8.1f}" if x is not None else "       -"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", type=Path, required=True,
                        help="the study's wall-robot folder (active_learning_benchmarks/wall-robot)")
    parser.add_argument("--study-python", default=sys.executable,
                        help="interpreter of the study's environment (default: this one)")
    parser.add_argument("--rounds", type=int, default=STUDY_ROUNDS,
                        help=f"rounds (the study's num_iter) per run (default: {STUDY_ROUNDS}, the study's); "
                        "fewer only for a smoke check")
    parser.add_argument("--seed", type=int, default=0, help="run seed whose round-0 state both sides start from")
    parser.add_argument("--cores", type=int, default=2,
                        help="cores (--jobs) our grid is assumed to run on (default: 2)")
    args = parser.parse_args(argv)
    study = args.study.resolve()
    if not (study / "utils" / "methods_MLP.py").is_file():
        parser.error(f"{study} has no utils/methods_MLP.py: name the study's wall-robot folder")

    start_load = os.getloadavg()[0]
    print(f"load average at start: {load()} (1, 5, 15 min) on {os.cpu_count()} cores")
    print(f"{args.rounds} round(s), seed {args.seed}, one thread per process; study env: {args.study_python}")
    study_runs, our_runs = {}, {}
    with tempfile.TemporaryDirectory(prefix="reference_speed_") as tmp:
        tmp = Path(tmp)
        facts = write_study_data(tmp / "study", args.seed)
        print(f"round-0 state: {facts['labeled']} of {facts['pool']} pool examples labeled, "
              f"{facts['test']} test, {facts['annotators']} annotators")
        (tmp / "study_runner.py").write_text(STUDY_RUNNER)
        (tmp / "ours_runner.py").write_text(OURS_RUNNER)
        for reference, ours in PAIRS:
            print(f"running the study's {reference} ...", flush=True)
            study_runs[reference] = timed(
                [args.study_python, str(tmp / "study_runner.py"), str(study), reference, str(args.rounds), str(args.seed)],
                tmp / "study", tmp / f"study_{reference}.log")
            print(f"running our {ours} ...", flush=True)
            our_runs[ours] = timed(
                [sys.executable, str(tmp / "ours_runner.py"), str(ROOT), ours, str(args.rounds), str(args.seed),
                 str(tmp / "results")],
                tmp, tmp / f"ours_{ours}.log")
    end_load = load()

    versions = next((r["versions"] for r in study_runs.values() if r.get("versions")), {})
    if versions:
        print("study env: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print()
    print(f"one run, {args.rounds} round(s) (seconds; loop = inside the child, process = with start-up and imports)")
    header = (f"{'reference / ours':40s} {'ref wall':>8s} {'ref CPU':>8s} {'our wall':>8s} {'our CPU':>8s}"
              f" {'wall ratio':>10s} {'CPU ratio':>9s}")
    for label, wall_key, cpu_key in (("loop", "wall", "cpu"), ("process", "process_wall", "process_cpu")):
        print(f"-- {label}")
        print(header)
        for reference, ours in PAIRS:
            r, o = study_runs[reference], our_runs[ours]
            print(f"{reference + ' / ' + ours:40s} {seconds(r.get(wall_key))} {seconds(r.get(cpu_key))}"
                  f" {seconds(o.get(wall_key))} {seconds(o.get(cpu_key))}"
                  f" {ratio(r.get(wall_key), o.get(wall_key)):>10s} {ratio(r.get(cpu_key), o.get(cpu_key)):>9s}")
    for reference in ("random", "crowdlab", "crowdlab_ensemble"):
        if "final_consensus_accuracy" in study_runs[reference]:
            print(f"(study {reference}: consensus accuracy after the last round "
                  f"{study_runs[reference]['final_consensus_accuracy']:.4f})")

    print()
    print(f"estimated grid: the study's 7 methods x {SEEDS} seeds, {args.rounds} round(s) each, from the loop figures")
    print(f"  single-model methods ({', '.join(SINGLE_MODEL)}): mean of random and crowdlab/activelab")
    print(f"  ensemble methods ({', '.join(ENSEMBLE)}): crowdlab_ensemble/activelab_ensemble")
    print(f"  reference: sequential code, one core; ours: --jobs {args.cores}, "
          f"estimated as our one-core figure / {args.cores} (assumes perfect scaling on {args.cores} cores)")
    for kind in ("cpu", "wall"):
        ref = [study_runs[r].get(kind) for r, _ in PAIRS]
        our = [our_runs[o].get(kind) for _, o in PAIRS]
        if None in ref or None in our:
            print(f"  {kind}: not estimated (a run failed)")
            continue
        ref_grid = SEEDS * (len(SINGLE_MODEL) * (ref[0] + ref[1]) / 2 + len(ENSEMBLE) * ref[2])
        one_core = SEEDS * (len(SINGLE_MODEL) * (our[0] + our[1]) / 2 + len(ENSEMBLE) * our[2])
        ours_grid = one_core / args.cores
        print(f"  {kind.upper():4s}: reference {ref_grid / 60:7.1f} min | ours {one_core / 60:6.2f} min on one core, "
              f"{ours_grid / 60:6.2f} min on {args.cores} | reference / ours {ref_grid / ours_grid:6.1f}x")
    print()
    loaded = start_load >= 0.5  # before our runs: someone else's load
    print(f"load average at end: {end_load}")
    print("primary figure: " + ("CPU time (the machine was loaded at the start, so wall times include waiting "
                                "for other processes)" if loaded else "wall time (the machine was idle at the start)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
