"""The grid of runs for one benchmark: command line, parallel workers, resume, summary.

Every (method, seed) pair is one run (:mod:`common.execution`), computed in this process, in local
worker processes or on a dask cluster (``--scheduler``, :mod:`common.distributed`); only this
process writes results, atomically, so a grid can be interrupted and rerun to complete what is
missing. A run also checkpoints every round (:mod:`common.checkpoint`), so an interrupted run
resumes from its last finished round.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import platform
import subprocess
import sys
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from common.annotators import PRICE_SCHEMES
from common.assigners import ASSIGNERS
from common.benchmark import Benchmark, configured
from common.checkpoint import remove_empty_checkpoint_folders
from common.consensus import CONSENSUS_RULES
from common.data import DATA_DIR_ENV, DataError, resolve_data_dir
from common.execution import (
    RunOutcome,
    RunSpec,
    UsageError,
    execute_run,
    forget_problems,
    import_plugin,
    problem_for,
)
from common.methods import METHODS, Method
from common.registry import benchmark_names, get_benchmark
from common.results import ConflictingResultError, is_finished, read_metadata, write_run

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUN_CODE = ("common", "requirements.txt", "pyproject.toml", "*/run_benchmark.py")
"""What a run executes. A commit that changes none of it (docs, results, tests, perf scripts) leaves
the runs of the commit before it current, and uncommitted changes elsewhere (a grid's own results
being written) do not make a run's commit ``-dirty``."""
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "wall-robot").is_dir()
"""True when ``common`` runs from a clone of the repository (editable installs included), False
when it was installed as a package (then results default to the working directory)."""
DISTRIBUTION = "active-label-benchmark"
QUICK_SEEDS, QUICK_ROUNDS = 2, 3
PACKAGES = (DISTRIBUTION, "numpy", "scipy", "scikit-learn", "cleanlab", "crowd-kit", "pandas", "joblib",
            "numba", "torch")
OPTIONAL_MODULES = {"torch": "images", "torchvision": "images", "distributed": "cluster"}
"""Modules only some runs need, and the extra of pyproject.toml that installs each
(``tests/test_packaging.py`` checks that they agree)."""


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
    """The checkout's commit (``-dirty`` with uncommitted changes to :data:`RUN_CODE`); "unknown" for
    an installed package (its version is in ``packages``) or a checkout that is not the top of a git
    work tree."""
    if not IN_CHECKOUT:
        return "unknown"
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        if Path(top).resolve() != PROJECT_ROOT:
            return "unknown"
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", *RUN_CODE],
            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def check_refreshable() -> None:
    """``--refresh`` keeps runs by the commit that made them: it needs a commit that names the code."""
    commit = _git_commit()
    if commit == "unknown" or commit.endswith("-dirty"):
        raise UsageError(
            f"--refresh needs a clean git checkout (this one is {commit!r}): commit your changes first, "
            "so that every refreshed run names the code that made it"
        )


def stale(results_dir: Path, key, commit: Optional[str]) -> bool:
    """True if the finished run ``key`` was made by code other than ``commit``'s: its recorded
    commit is unknown, dirty, or differs from ``commit`` in :data:`RUN_CODE`."""
    made_by = (read_metadata(results_dir, key) or {}).get("git_commit", "unknown")
    return made_by != commit and _run_code_differs(made_by, commit)


@functools.lru_cache(maxsize=None)
def _run_code_differs(made_by: str, commit: str) -> bool:
    if made_by == "unknown" or made_by.endswith("-dirty"):
        return True
    diff = subprocess.run(["git", "diff", "--quiet", made_by, commit, "--", *RUN_CODE],
                          cwd=PROJECT_ROOT, capture_output=True)
    return diff.returncode != 0  # 1: they differ; 128: the commit is unknown here


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
    parser.add_argument("--assigner", default="random", choices=list(ASSIGNERS),
                        help="who answers each label request (default: random, a random annotator who "
                        "can still label the example); other assigners' results go to assigner-NAME/")
    parser.add_argument("--annotator-cost", default="flat", choices=list(PRICE_SCHEMES),
                        help="price of each simulated annotator's labels: "
                        + "; ".join(f"{name}: {what}" for name, what in PRICE_SCHEMES.items())
                        + " (default: flat); other schemes' results go to annotator-cost-NAME/")
    parser.add_argument("--round-cost", type=float, metavar="B",
                        help="spend a budget of B cost units a round instead of --batch-size labels: the "
                        "chosen examples are bought in score order until B is spent, the label that "
                        "overruns it included; results go to round-cost-B/")
    parser.add_argument("--data-seed", type=int, metavar="N",
                        help="hold the data draw (subset, split, annotators, initial labels) fixed at N "
                        "while --seeds varies the rest (the ActiveLab study's design); results go to "
                        "data-seed-N/")
    parser.add_argument("--jobs", type=int, default=_cpu_count(),
                        help="parallel worker processes, one BLAS thread each (default: all cores)")
    parser.add_argument("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV}, else a user cache directory)")
    parser.add_argument("--results-dir", type=Path,
                        help=f"where results go (default: {benchmark.name}/results)")
    parser.add_argument("--force", action="store_true",
                        help="redo runs that are already finished (and ignore checkpoints)")
    parser.add_argument("--refresh", action="store_true",
                        help="redo finished runs that other code made (their JSON names a commit whose "
                        "common/, run scripts or requirements differ from this checkout's) and keep the "
                        "rest, so an interrupted refresh resumes where it stopped; needs a clean checkout")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on the dask.distributed cluster whose scheduler is at ADDRESS "
                        "(tcp://HOST:8786) instead of --jobs local processes")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke configuration: {QUICK_SEEDS} seeds, {QUICK_ROUNDS} rounds")
    parser.add_argument("--plugin", action="append", default=[], metavar="PATH_OR_MODULE",
                        help="a Python file or module to import before anything else (it may register "
                        "methods, consensus rules or benchmarks); repeatable")
    if benchmark.flags:
        group = parser.add_argument_group(f"{benchmark.name} dataset flags")
        for flag in benchmark.flags:
            group.add_argument(flag.name, type=flag.type, default=flag.default, choices=flag.choices,
                               help=flag.help)
    return parser


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_plugins(argv: Sequence[str]) -> tuple[str, ...]:
    """Import every ``--plugin`` named in ``argv`` (before the parser is built, so that what they
    register is a valid choice); returns them, files as absolute paths, for the runs to import too."""
    pre = _OneLineParser(add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    names = pre.parse_known_args(argv)[0].plugin
    plugins = tuple(str(Path(n).resolve()) if n.endswith(".py") or os.sep in n else n for n in names)
    for plugin in plugins:
        import_plugin(plugin)
    return plugins


def _methods(requested: Optional[Sequence[str]]) -> list[Method]:
    if not requested:
        return list(METHODS.values())
    names = [name for item in requested for name in item.split(",") if name]
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise UsageError(f"unknown method {', '.join(map(repr, unknown))}; choose from: {', '.join(METHODS)}")
    return [METHODS[name] for name in dict.fromkeys(names)]


def parse_specs(
    benchmark: Benchmark, argv: Optional[Sequence[str]], prog: Optional[str] = None
) -> tuple[argparse.Namespace, list[RunSpec]]:
    argv = list(sys.argv[1:] if argv is None else argv)
    plugins = load_plugins(argv)
    parser = build_parser(benchmark)
    parser.prog = prog or parser.prog
    args = parser.parse_args(argv)
    for flag in benchmark.flags:
        problem = flag.check(getattr(args, flag.dest))
        if problem:
            raise UsageError(f"{flag.name} {problem}, got {getattr(args, flag.dest)}")
    benchmark = configured(benchmark, vars(args))
    seeds = args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else benchmark.seeds)
    rounds = args.rounds if args.rounds is not None else (QUICK_ROUNDS if args.quick else benchmark.rounds)
    positive = {"--seeds": seeds, "--rounds": rounds, "--batch-size": args.batch_size,
                "--n-initial": args.n_initial, "--jobs": args.jobs}
    for flag, value in positive.items():
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if args.folds < 2:
        raise UsageError(f"--folds must be at least 2, got {args.folds}")
    if args.round_cost is not None and not (np.isfinite(args.round_cost) and args.round_cost > 0):
        raise UsageError(f"--round-cost must be a positive number of cost units, got {args.round_cost}")
    if args.data_seed is not None and args.data_seed < 0:
        raise UsageError(f"--data-seed must be at least 0, got {args.data_seed}")
    if args.n_initial > benchmark.pool_size:
        raise UsageError(f"--n-initial {args.n_initial} exceeds the pool of {benchmark.pool_size} examples")
    if args.n_initial < args.folds:
        raise UsageError(f"--n-initial {args.n_initial} is below --folds {args.folds}: each fold needs a labeled example")
    if args.batch_size > benchmark.pool_size:
        raise UsageError(
            f"--batch-size {args.batch_size} exceeds the {benchmark.pool_size} pool examples that "
            "can be candidates; lower it"
        )
    args.results_dir = args.results_dir or default_results_dir(benchmark)
    # On a cluster, workers without --data-dir resolve their own default (environment, cache dir).
    args.worker_data_dir = Path(args.data_dir) if args.data_dir else None
    args.data_dir = resolve_data_dir(args.data_dir)
    specs = [
        RunSpec(benchmark, method, args.model, seed, args.consensus, rounds, args.batch_size,
                args.n_initial, args.folds, args.assigner, args.data_seed, plugins,
                args.annotator_cost, args.round_cost)
        for seed in range(seeds)
        for method in _methods(args.methods)
    ]
    return args, specs


def default_results_dir(benchmark: Benchmark) -> Path:
    """``<benchmark>/results`` in the checkout; in the working directory for an installed package."""
    return (PROJECT_ROOT if IN_CHECKOUT else Path.cwd()) / benchmark.name / "results"


def check_dependencies(specs: Sequence[RunSpec], scheduler: Optional[str]) -> None:
    """Raise one UsageError (what is missing, what needs it, the command that installs it) before
    any run starts, instead of a traceback in every run.

    Builds each model the runs use once (a factory imports what its model needs; building is
    cheap, fitting is not), and requires the whole extra of any optional module that this import
    brought in (torch's models need torchvision too). With ``--scheduler`` the models run in the
    workers' environments, so only the client's own need, dask.distributed, is checked here.
    """
    if scheduler is not None:
        if not _installed("distributed"):
            raise UsageError(missing_dependency("distributed", "--scheduler"))
        return
    probed = set()
    for spec in specs:
        for name in spec.benchmark.ensemble_for(spec.model) if spec.method.ensemble else (spec.model,):
            if (spec.benchmark.name, name) in probed:
                continue
            probed.add((spec.benchmark.name, name))
            what = f"--model {name}" if name == spec.model else f"the ensemble methods' member {name}"
            before = set(sys.modules)
            try:
                spec.benchmark.models[name].factory(0)
            except ImportError as error:
                module = (error.name or "").split(".")[0]
                if isinstance(error, ModuleNotFoundError) and module:
                    raise UsageError(missing_dependency(module, what)) from None
                raise UsageError(f"{what} cannot import {module or 'a module'}: {error}") from None
            brought_in = {m.split(".")[0] for m in set(sys.modules) - before}
            extras = {OPTIONAL_MODULES[m] for m in brought_in if m in OPTIONAL_MODULES}
            for module, extra in OPTIONAL_MODULES.items():
                if extra in extras and not _installed(module):
                    raise UsageError(missing_dependency(module, what))


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it; a module set to None in sys.modules
        return False


def missing_dependency(module: str, what: str) -> str:
    """The one-line message for ``module`` missing where ``what`` (a flag, a model) needs it."""
    extra = OPTIONAL_MODULES.get(module)
    try:
        package_metadata.distribution(DISTRIBUTION)
        installed = True
    except package_metadata.PackageNotFoundError:
        installed = False
    if extra and installed:
        command = f"pip install '{DISTRIBUTION}[{extra}]'"
    elif IN_CHECKOUT:
        command = f"pip install -r {PROJECT_ROOT / 'requirements.txt'}"
    else:
        command = f"pip install {module}"
    return f"{what} needs {module}, which is not installed; install it with: {command}"


def check_budget(spec: RunSpec, data_dir: Path) -> None:
    """Build the first run's problem to check the data and the label budget before any worker
    starts: every round needs ``batch_size`` candidates, and the annotators hold a finite number
    of labels not handed out yet (simulated ones one per example each, replayed real ones only
    those they gave). With ``--round-cost``, the budget must buy at least the cheapest label and
    the labels left must cost at least ``rounds`` budgets."""
    problem = problem_for(spec, data_dir)  # cached: with --jobs 1 the first run reuses it
    remaining = np.isnan(problem.initial_labels) & ~np.isnan(problem.hidden_labels)
    if spec.round_cost is not None:
        _check_round_cost(spec, problem.label_costs, remaining)
        return
    candidates = int(np.count_nonzero(remaining.any(axis=1)))
    if spec.batch_size > candidates:
        raise UsageError(f"--batch-size {spec.batch_size} exceeds the {candidates} examples that can get a label in round 0")
    capacity = int(np.count_nonzero(remaining))
    if spec.rounds * spec.batch_size > capacity:
        raise UsageError(
            f"--rounds {spec.rounds} x --batch-size {spec.batch_size} asks for more labels than the "
            f"{capacity} the annotators can still give; lower either"
        )


def _check_round_cost(spec: RunSpec, label_costs: Optional[np.ndarray], remaining: np.ndarray) -> None:
    costs = np.ones(np.count_nonzero(remaining)) if label_costs is None else label_costs[remaining]
    if not len(costs):
        raise UsageError("no annotator can give another label: there is nothing to spend --round-cost on")
    if spec.round_cost < costs.min():
        raise UsageError(
            f"--round-cost {spec.round_cost:g} is smaller than any label the annotators can give (the "
            f"cheapest costs {costs.min():g}); raise it"
        )
    if spec.rounds * spec.round_cost > costs.sum():
        raise UsageError(
            f"--rounds {spec.rounds} x --round-cost {spec.round_cost:g} is more than the "
            f"{costs.sum():g} the labels left cost in all; lower either"
        )


def _in_worker_processes(jobs: int, specs: list[RunSpec]) -> bool:
    return jobs > 1 and len(specs) > 1


def _outcomes(specs: list[RunSpec], data_dir: Path, results_dir: Path, jobs: int, resume: bool) -> Iterable[RunOutcome]:
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
    refresh: bool = False,
) -> list[str]:
    """Run every unfinished spec and write its results; returns the failures' messages.

    ``refresh`` also redoes finished runs whose metadata names another commit than this checkout's
    (:func:`stale`); checkpoints are then ignored, as with ``force``, since older code may have
    written them.

    With ``scheduler`` (a dask scheduler's address) the runs go to that cluster, where they read
    their data from ``worker_data_dir`` (None: each worker's own default), instead of ``jobs``
    local processes.
    """
    from tqdm import tqdm

    commit = _git_commit() if refresh else None
    pending = [
        s for s in specs
        if force or not is_finished(results_dir, s.key, s.config()) or (refresh and stale(results_dir, s.key, commit))
    ]
    pending.sort(key=lambda s: not s.method.ensemble)  # the slowest runs first: less idle tail
    skipped = len(specs) - len(pending)
    if skipped:
        print(f"{skipped} of {len(specs)} runs already finished; skipping them (--force redoes them)")
    resume = not (force or refresh)
    if not pending:
        return []
    first = pending[0]
    if scheduler is None:
        # On a cluster the data need only be on the workers: each run checks it there.
        check_budget(first, data_dir)
        if _in_worker_processes(jobs, pending):
            forget_problems()  # the runs build their own in the worker processes; free the parent's
        outcomes = _outcomes(pending, data_dir, results_dir, jobs, resume)
    else:
        from common.distributed import cluster_outcomes

        outcomes = cluster_outcomes(scheduler, pending, worker_data_dir, results_dir, resume)
    environment = environment_metadata()
    failures = []
    bar = tqdm(total=len(pending), unit="run", desc=first.benchmark.name, dynamic_ncols=True)
    for outcome in outcomes:
        spec = outcome.spec
        if outcome.failed:
            where = f" on worker {outcome.worker}" if outcome.worker else ""
            message = f"run failed: {spec.method.name} seed {spec.seed} ({spec.model}){where}: {outcome.error.strip()}"
            tqdm.write(message, file=sys.stderr)
            failures.append(message)
        else:
            write_run(results_dir, spec.key, outcome.arrays, {**outcome.metadata, **environment})
        bar.update()
    bar.close()
    remove_empty_checkpoint_folders(results_dir, [spec.key for spec in pending])
    return failures


def main(benchmark: Benchmark | str, argv: Optional[Sequence[str]] = None, prog: Optional[str] = None) -> int:
    """Command-line entry point of a benchmark script (``benchmark`` or its registered name);
    returns the exit status. ``prog`` names the command in messages (default: the run script)."""
    from common.summary import format_summary, summarize

    if isinstance(benchmark, str):
        benchmark = get_benchmark(benchmark)
    prog = prog or f"{benchmark.name}/run_benchmark.py"
    try:
        args, specs = parse_specs(benchmark, argv, prog)
        check_dependencies(specs, args.scheduler)
        if args.refresh:
            check_refreshable()
        failures = run_grid(specs, args.data_dir, args.results_dir, args.jobs, args.force,
                            args.scheduler, args.worker_data_dir, args.refresh)
    except UsageError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
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


def cli(argv: Optional[Sequence[str]] = None, prog: str = "python -m common.runner") -> int:
    """``python -m common.runner BENCHMARK [flags]``: run any registered benchmark, including one
    that a ``--plugin`` registers; ``prog`` is the command's name in messages."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(f"usage: {prog} BENCHMARK [flags]   ({prog} BENCHMARK --help lists the flags)\n"
              f"benchmarks: {', '.join(benchmark_names())}")
        return 0
    try:
        load_plugins(argv)
        if not argv or argv[0].startswith("-"):
            raise UsageError(f"name a benchmark first: {prog} BENCHMARK [flags]; one of: {', '.join(benchmark_names())}")
        benchmark = get_benchmark(argv[0])
    except UsageError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyError as error:
        print(f"{prog}: error: {error.args[0]}", file=sys.stderr)
        return 2
    return main(benchmark, argv[1:], prog=f"{prog} {benchmark.name}")


def console_main() -> int:
    """The ``active-label-benchmark`` command that ``pip install`` puts on the PATH: the same as
    ``python -m common.runner``."""
    return cli(prog=DISTRIBUTION)


if __name__ == "__main__":
    sys.exit(cli())
