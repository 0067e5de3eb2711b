"""The grid of runs for one benchmark: command line, parallel workers, resume, summary.

Every (method, seed) pair is one run, the unit of work: :func:`execute_run` computes it from its
configuration alone (in this process, a local worker, or a dask worker with ``--scheduler``, see
:mod:`common.distributed`) and returns its arrays; only the parent writes results, atomically, so a
grid can be interrupted and rerun to complete what is missing. A run also checkpoints every round
(:mod:`common.checkpoint`), so an interrupted run resumes from its last finished round.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from common.benchmarks import Benchmark
from common.checkpoint import RunCheckpoint, remove_empty_checkpoint_folders
from common.consensus import CONSENSUS_RULES
from common.data import DATA_DIR_ENV, DataError, resolve_data_dir
from common.loop import BudgetError, LoopSettings, run_rounds
from common.methods import METHODS, Method
from common.problem import Problem
from common.results import ConflictingResultError, RunKey, is_finished, write_run

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUICK_SEEDS, QUICK_ROUNDS = 2, 3
PACKAGES = ("numpy", "scipy", "scikit-learn", "cleanlab", "crowd-kit", "pandas", "joblib", "torch")


class UsageError(Exception):
    """A bad flag value: reported in one line with exit status 2, before anything is written."""


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's result."""

    benchmark: Benchmark
    method: Method
    model: str
    seed: int
    consensus_override: Optional[str]
    rounds: int
    batch_size: int
    n_initial: int
    folds: int

    @property
    def key(self) -> RunKey:
        return RunKey(self.model, self.method.name, self.seed, self.consensus_override)

    @property
    def consensus(self) -> str:
        return self.consensus_override or self.method.consensus

    def config(self) -> dict[str, Any]:
        """The configuration stored with the results and compared on resume."""
        return {
            "benchmark": self.benchmark.name,
            "dataset": self.benchmark.settings,
            "model": self.model,
            "ensemble": list(self.benchmark.ensemble) if self.method.ensemble else None,
            "method": self.method.name,
            "consensus": self.consensus,
            "seed": self.seed,
            "rounds": self.rounds,
            "batch_size": self.batch_size,
            "n_initial": self.n_initial,
            "folds": self.folds,
        }


_PROBLEMS: dict[tuple, Problem] = {}


def _problem(spec: RunSpec, data_dir: Path) -> Problem:
    """The run's round-0 problem, reused by the next run of the same seed in this process.

    Only the latest problem is kept: a CIFAR-10H problem holds about 230 MB, and the grid is
    ordered seed by seed so that consecutive runs share it."""
    key = (spec.benchmark.name, str(data_dir), spec.seed, spec.n_initial, spec.model)
    if key not in _PROBLEMS:
        _PROBLEMS.clear()
        _PROBLEMS[key] = spec.benchmark.make_problem(data_dir, spec.seed, spec.n_initial, spec.model)
    return _PROBLEMS[key]


def execute_run(
    spec: RunSpec,
    data_dir: Optional[Path],
    results_dir: Optional[Path] = None,
    resume: bool = True,
    on_round: Optional[Callable[[int], None]] = None,
) -> dict[str, Any]:
    """Compute one run with one BLAS/torch thread; returns its arrays and metadata (or an error).

    ``data_dir`` None means this process's default (``resolve_data_dir``). With ``results_dir``,
    the run checkpoints every round there (the only file it writes), starts from a checkpoint of
    the same configuration if ``resume``, and removes its checkpoint when it finishes.
    ``on_round(round_index)`` is called after each round's checkpoint (a hook for tests).
    """
    from threadpoolctl import threadpool_limits

    started = time.time()
    checkpoint = None if results_dir is None else RunCheckpoint(results_dir, spec.key, spec.config())
    try:
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        with threadpool_limits(limits=1):
            problem = _problem(spec, resolve_data_dir(data_dir))
            result = run_rounds(
                problem,
                spec.method,
                spec.benchmark.members(spec.model, spec.method.ensemble),
                LoopSettings(spec.rounds, spec.batch_size, spec.folds, spec.consensus),
                spec.seed,
                on_round=on_round,
                resume_from=checkpoint.load() if checkpoint is not None and resume else None,
                on_state=None if checkpoint is None else checkpoint.save,
            )
        if checkpoint is not None:
            checkpoint.remove()
    except (DataError, BudgetError) as error:
        return {"spec": spec, "error": str(error)}
    except Exception:
        return {"spec": spec, "error": traceback.format_exc()}
    return {
        "spec": spec,
        "arrays": result.metrics,
        "metadata": {
            "config": spec.config(),
            "problem": problem.info,
            "round_seconds": result.round_seconds,
            "phase_seconds": result.phase_seconds,
            "wall_seconds": time.time() - started,
            "peak_rss_mb": _peak_rss_mb(),
            "host": platform.node(),
        },
    }


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (a worker's, when run in one)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def environment_metadata() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "git_commit": _git_commit(),
    }


def _git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(message)


def build_parser(benchmark: Benchmark) -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=f"{benchmark.name}/run_benchmark.py",
        description=f"Active learning with relabeling on the {benchmark.name} benchmark: every "
        "method, several seeds, results in RESULTS_DIR/<model>/.",
    )
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help=f"methods to run (default: all): {', '.join(METHODS)}")
    parser.add_argument("--model", default=benchmark.default_model, choices=list(benchmark.models),
                        help=f"model fitted every round (default: {benchmark.default_model})")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help=f"run seeds 0..N-1 (default: {benchmark.seeds})")
    parser.add_argument("--rounds", type=int, help=f"rounds per run (default: {benchmark.rounds})")
    parser.add_argument("--batch-size", type=int, default=benchmark.batch_size,
                        help=f"new labels per round (default: {benchmark.batch_size})")
    parser.add_argument("--n-initial", type=int, default=benchmark.n_initial,
                        help=f"pool examples labeled before round 0 (default: {benchmark.n_initial})")
    parser.add_argument("--folds", type=int, default=benchmark.folds,
                        help=f"cross-validation folds (default: {benchmark.folds})")
    parser.add_argument("--consensus", choices=list(CONSENSUS_RULES),
                        help="consensus rule for every method after round 0 (default: crowdlab for "
                        "ActiveLab methods, majority vote for the others)")
    parser.add_argument("--jobs", type=int, default=_cpu_count(),
                        help="parallel worker processes, one BLAS thread each (default: all cores)")
    parser.add_argument("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV}, else a user cache directory)")
    parser.add_argument("--results-dir", type=Path,
                        help=f"where results go (default: {benchmark.name}/results)")
    parser.add_argument("--force", action="store_true",
                        help="redo runs that are already finished (and ignore checkpoints)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on the dask.distributed cluster whose scheduler is at ADDRESS "
                        "(tcp://HOST:8786) instead of --jobs local processes")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke configuration: {QUICK_SEEDS} seeds, {QUICK_ROUNDS} rounds")
    return parser


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _methods(requested: Optional[Sequence[str]]) -> list[Method]:
    if not requested:
        return list(METHODS.values())
    names = [name for item in requested for name in item.split(",") if name]
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise UsageError(f"unknown method {', '.join(map(repr, unknown))}; choose from: {', '.join(METHODS)}")
    return [METHODS[name] for name in dict.fromkeys(names)]


def parse_specs(benchmark: Benchmark, argv: Optional[Sequence[str]]) -> tuple[argparse.Namespace, list[RunSpec]]:
    args = build_parser(benchmark).parse_args(argv)
    seeds = args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else benchmark.seeds)
    rounds = args.rounds if args.rounds is not None else (QUICK_ROUNDS if args.quick else benchmark.rounds)
    positive = {"--seeds": seeds, "--rounds": rounds, "--batch-size": args.batch_size,
                "--n-initial": args.n_initial, "--jobs": args.jobs}
    for flag, value in positive.items():
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if args.folds < 2:
        raise UsageError(f"--folds must be at least 2, got {args.folds}")
    if args.n_initial > benchmark.pool_size:
        raise UsageError(f"--n-initial {args.n_initial} exceeds the pool of {benchmark.pool_size} examples")
    if args.n_initial < args.folds:
        raise UsageError(f"--n-initial {args.n_initial} is below --folds {args.folds}: each fold needs a labeled example")
    if args.batch_size > benchmark.pool_size:
        raise UsageError(
            f"--batch-size {args.batch_size} exceeds the {benchmark.pool_size} pool examples that "
            "can be candidates; lower it"
        )
    capacity = benchmark.pool_size * benchmark.num_annotators
    if rounds * args.batch_size > capacity:
        raise UsageError(
            f"--rounds {rounds} x --batch-size {args.batch_size} asks for more labels than the "
            f"{capacity} the annotators can give; lower either"
        )
    args.results_dir = args.results_dir or PROJECT_ROOT / benchmark.name / "results"
    # On a cluster, workers without --data-dir resolve their own default (environment, cache dir).
    args.worker_data_dir = Path(args.data_dir) if args.data_dir else None
    args.data_dir = resolve_data_dir(args.data_dir)
    specs = [
        RunSpec(benchmark, method, args.model, seed, args.consensus, rounds, args.batch_size,
                args.n_initial, args.folds)
        for seed in range(seeds)
        for method in _methods(args.methods)
    ]
    return args, specs


def _in_worker_processes(jobs: int, specs: list[RunSpec]) -> bool:
    return jobs > 1 and len(specs) > 1


def _results(specs: list[RunSpec], data_dir: Path, results_dir: Path, jobs: int, resume: bool) -> Iterable[dict[str, Any]]:
    if not _in_worker_processes(jobs, specs):
        return (execute_run(spec, data_dir, results_dir, resume) for spec in specs)
    from joblib import Parallel, delayed

    return Parallel(n_jobs=min(jobs, len(specs)), return_as="generator_unordered")(
        delayed(execute_run)(spec, data_dir, results_dir, resume) for spec in specs
    )


def run_grid(
    specs: list[RunSpec],
    data_dir: Path,
    results_dir: Path,
    jobs: int,
    force: bool,
    scheduler: Optional[str] = None,
    worker_data_dir: Optional[Path] = None,
) -> list[str]:
    """Run every unfinished spec and write its results; returns the failures' messages.

    With ``scheduler`` (a dask scheduler's address) the runs go to that cluster, where they read
    their data from ``worker_data_dir`` (None: each worker's own default), instead of ``jobs``
    local processes.
    """
    from tqdm import tqdm

    pending = [s for s in specs if force or not is_finished(results_dir, s.key, s.config())]
    pending.sort(key=lambda s: not s.method.ensemble)  # the slowest runs first: less idle tail
    skipped = len(specs) - len(pending)
    if skipped:
        print(f"{skipped} of {len(specs)} runs already finished; skipping them (--force redoes them)")
    if not pending:
        return []
    first = pending[0]
    if scheduler is None:
        # Building one problem here checks the data and the budget before any worker starts (on a
        # cluster the data need only be on the workers: each run checks it there).
        problem = _problem(first, data_dir)  # cached: with --jobs 1 the first run reuses it
        candidates = int(np.count_nonzero((~np.isnan(problem.hidden_labels) & np.isnan(problem.initial_labels)).any(axis=1)))
        if first.batch_size > candidates:
            raise UsageError(f"--batch-size {first.batch_size} exceeds the {candidates} examples that can get a label in round 0")
        if _in_worker_processes(jobs, pending):
            del problem
            _PROBLEMS.clear()  # the runs build their own in the worker processes; free the parent's
        outcomes = _results(pending, data_dir, results_dir, jobs, resume=not force)
    else:
        from common.distributed import cluster_results

        outcomes = cluster_results(scheduler, pending, worker_data_dir, results_dir, resume=not force)
    environment = environment_metadata()
    failures = []
    bar = tqdm(total=len(pending), unit="run", desc=first.benchmark.name, dynamic_ncols=True)
    for outcome in outcomes:
        spec = outcome["spec"]
        if "error" in outcome:
            where = f" on worker {outcome['worker']}" if outcome.get("worker") else ""
            message = f"run failed: {spec.method.name} seed {spec.seed} ({spec.model}){where}: {outcome['error'].strip()}"
            tqdm.write(message, file=sys.stderr)
            failures.append(message)
        else:
            write_run(results_dir, spec.key, outcome["arrays"], {**outcome["metadata"], **environment})
        bar.update()
    bar.close()
    remove_empty_checkpoint_folders(results_dir, [spec.key for spec in pending])
    return failures


def main(benchmark: Benchmark, argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point of a benchmark script; returns the exit status."""
    from common.summary import format_summary, summarize

    try:
        args, specs = parse_specs(benchmark, argv)
        failures = run_grid(specs, args.data_dir, args.results_dir, args.jobs, args.force,
                            args.scheduler, args.worker_data_dir)
    except UsageError as error:
        print(f"{benchmark.name}/run_benchmark.py: error: {error}", file=sys.stderr)
        return 2
    except (DataError, ConflictingResultError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished runs are saved and unfinished ones checkpointed; rerun the same "
              "command to complete the rest", file=sys.stderr)
        return 130
    print(format_summary(summarize(args.results_dir, specs)))
    if failures:
        print(f"{len(failures)} run(s) failed; see the messages above", file=sys.stderr)
        return 1
    return 0
