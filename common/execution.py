"""One run, the unit of work: what determines it (:class:`RunSpec`), how it is computed
(:func:`execute_run`) and what comes back (:class:`RunOutcome`).

A run is computed from its spec alone, in this process, a local worker process or a dask worker
(:mod:`common.distributed`); the process that started the grid (:mod:`common.runner`) writes the
outcomes. Both import this module; neither imports the other.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import platform
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from common.annotators import price_labels
from common.benchmark import Benchmark
from common.checkpoint import RunCheckpoint
from common.data import DataError, resolve_data_dir
from common.loop import BudgetError, LoopSettings, run_rounds
from common.methods import Method
from common.problem import Problem
from common.results import RunKey
from common.seeding import RunSeeds


class UsageError(Exception):
    """A bad setting (flag value, budget, unreachable scheduler): reported in one line with exit
    status 2, before anything is written."""


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
    assigner: str = "random"
    data_seed: Optional[int] = None
    """Fixes the data draw (subset, split, annotators, initial labels) whatever ``seed`` is."""
    plugins: tuple[str, ...] = ()
    """``--plugin`` files and modules, imported by the process that computes the run (they may
    register the consensus rule or assigner the run names)."""
    annotator_cost: str = "flat"
    """The price scheme of simulated annotators (:data:`common.annotators.PRICE_SCHEMES`)."""
    round_cost: Optional[float] = None
    """The budget each round spends in cost units; None: ``batch_size`` labels a round."""

    @property
    def variant(self) -> tuple[str, ...]:
        """The results' variant folders (see :mod:`common.results`): () for the defaults."""
        return (
            *self.benchmark.variant,
            *([f"data-seed-{self.data_seed}"] if self.data_seed is not None else []),
            *([f"consensus-{self.consensus_override}"] if self.consensus_override else []),
            *([f"assigner-{self.assigner}"] if self.assigner != "random" else []),
            *([f"annotator-cost-{self.annotator_cost}"] if self.annotator_cost != "flat" else []),
            *([f"round-cost-{self.round_cost:g}"] if self.round_cost is not None else []),
        )

    @property
    def key(self) -> RunKey:
        return RunKey(self.model, self.method.name, self.seed, self.variant)

    @property
    def consensus(self) -> str:
        return self.consensus_override or self.method.consensus

    @property
    def seeds(self) -> RunSeeds:
        return RunSeeds(self.seed, self.data_seed)

    @property
    def inputs(self) -> frozenset:
        return self.benchmark.inputs(self.model, self.method.ensemble)

    def config(self) -> dict[str, Any]:
        """The configuration stored with the results and compared on resume (``assigner``,
        ``data_seed``, ``annotator_cost`` and ``round_cost`` only when not the defaults, as runs
        made before they existed lack them)."""
        config = {
            "benchmark": self.benchmark.name,
            "dataset": self.benchmark.settings,
            "model": self.model,
            "ensemble": list(self.benchmark.ensemble_for(self.model)) if self.method.ensemble else None,
            "method": self.method.name,
            "consensus": self.consensus,
            "seed": self.seed,
            "rounds": self.rounds,
            "batch_size": self.batch_size,
            "n_initial": self.n_initial,
            "folds": self.folds,
        }
        if self.assigner != "random":
            config["assigner"] = self.assigner
        if self.data_seed is not None:
            config["data_seed"] = self.data_seed
        if self.annotator_cost != "flat":
            config["annotator_cost"] = self.annotator_cost
        if self.round_cost is not None:
            config["round_cost"] = self.round_cost
        return config


@dataclass
class RunOutcome:
    """A finished run's arrays and metadata, or the error that stopped it."""

    spec: RunSpec
    arrays: Optional[dict[str, np.ndarray]] = None
    metadata: Optional[dict[str, Any]] = None
    error: Optional[str] = None
    worker: Optional[str] = None
    """The dask worker's address, for runs on a cluster."""

    @property
    def failed(self) -> bool:
        return self.error is not None


_PROBLEMS: dict[tuple, Problem] = {}


def problem_for(spec: RunSpec, data_dir: Path) -> Problem:
    """The run's round-0 problem, reused by the next run of the same seed in this process.

    Only the latest problem is kept: a CIFAR-10H problem holds about 230 MB, and the grid is
    ordered seed by seed so that consecutive runs share it."""
    key = (spec.benchmark.name, repr(spec.benchmark.settings), str(data_dir), spec.seed, spec.data_seed,
           spec.n_initial, spec.inputs, spec.annotator_cost)
    if key not in _PROBLEMS:
        _PROBLEMS.clear()
        problem = spec.benchmark.make_problem(data_dir, spec.seeds, spec.n_initial, spec.inputs)
        _PROBLEMS[key] = with_annotator_cost(problem, spec.annotator_cost, spec.benchmark.name)
    return _PROBLEMS[key]


def with_annotator_cost(problem: Problem, scheme: str, benchmark: str) -> Problem:
    """``problem`` with its label costs set by the ``--annotator-cost`` scheme: ``flat`` leaves it
    as built (1 per label, or the real costs a replayed crowd carries); any other scheme prices
    simulated annotators (:func:`common.annotators.price_labels`) and is a :class:`UsageError` for
    a crowd of real annotators, whose prices are not ours to invent."""
    if scheme == "flat":
        return problem
    if problem.info.get("annotator_identity") != "simulated":
        raise UsageError(
            f"--annotator-cost {scheme} prices simulated annotators, but {benchmark}'s annotators "
            f"are {problem.info.get('annotator_identity', 'not marked simulated')}: use --annotator-cost flat"
        )
    costs, prices = price_labels(problem.hidden_labels, problem.y_pool, problem.num_classes, scheme)
    info = {**problem.info, "annotator_cost": scheme, "annotator_price": np.round(prices, 4).tolist()}
    return dataclasses.replace(problem, label_costs=costs, info=info)


def forget_problems() -> None:
    """Drop the cached problem (the parent does, once worker processes build their own)."""
    _PROBLEMS.clear()


def execute_run(
    spec: RunSpec,
    data_dir: Optional[Path],
    results_dir: Optional[Path] = None,
    resume: bool = True,
    on_round: Optional[Callable[[int], None]] = None,
) -> RunOutcome:
    """Compute one run with one BLAS/torch thread.

    ``data_dir`` None means this process's default (``resolve_data_dir``). With ``results_dir``,
    the run checkpoints every round there (the only file it writes), starts from a checkpoint of
    the same configuration if ``resume``, and removes its checkpoint when it finishes.
    ``on_round(round_index)`` is called after each round's checkpoint (a hook for tests).
    """
    from threadpoolctl import threadpool_limits

    started = time.time()
    checkpoint = None if results_dir is None else RunCheckpoint(results_dir, spec.key, spec.config())
    try:
        for plugin in spec.plugins:
            import_plugin(plugin)
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        with threadpool_limits(limits=1):
            problem = problem_for(spec, resolve_data_dir(data_dir))
            result = run_rounds(
                problem,
                spec.method,
                spec.benchmark.members(spec.model, spec.method.ensemble),
                LoopSettings(spec.rounds, spec.batch_size, spec.folds, spec.consensus, spec.assigner,
                             spec.round_cost),
                spec.seeds,
                on_round=on_round,
                resume_from=checkpoint.load() if checkpoint is not None and resume else None,
                on_state=None if checkpoint is None else checkpoint.save,
            )
        if checkpoint is not None:
            checkpoint.remove()
    except (DataError, BudgetError, UsageError) as error:
        return RunOutcome(spec, error=str(error))
    except Exception:
        return RunOutcome(spec, error=traceback.format_exc())
    return RunOutcome(
        spec,
        arrays=result.metrics,
        metadata={
            "config": spec.config(),
            "problem": problem.info,
            "round_seconds": result.round_seconds,
            "phase_seconds": result.phase_seconds,
            "fits": result.fits,
            "wall_seconds": time.time() - started,
            "peak_rss_mb": _peak_rss_mb(),
            "host": platform.node(),
        },
    )


def import_plugin(name: str):
    """Import a plugin given as a path to a ``.py`` file or as a module name."""
    import cloudpickle

    try:
        if name.endswith(".py") or os.sep in name:
            path = Path(name)
            if not path.is_file():
                raise UsageError(f"--plugin {name}: no such file")
            module_name = f"al_relabel_plugin_{path.stem}"
            if module_name in sys.modules:
                return sys.modules[module_name]
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
        else:
            module = importlib.import_module(name)
    except UsageError:
        raise
    except ModuleNotFoundError as error:
        raise UsageError(f"--plugin {name}: {error}; give a path to a .py file or an importable module") from None
    except Exception as error:  # the plugin's own error: name it in one line
        raise UsageError(f"--plugin {name} failed to import: {type(error).__name__}: {error}") from None
    cloudpickle.register_pickle_by_value(module)
    return module


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far (a worker's, when run in one)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
