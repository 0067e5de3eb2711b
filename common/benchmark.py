"""What a benchmark is, the shared tabular problem builder, and the registry of benchmarks.

A benchmark suite (one module in :mod:`common.suites`) defines a dataset's :class:`Benchmark`: how
a seed turns the data into a round-0 :class:`~common.problem.Problem`, its models, its defaults
and any flags of its own, and registers it with :func:`register_benchmark`. A run script names its
benchmark; :func:`common.runner.main` looks it up (:func:`common.registry.get_benchmark`) and does
the rest.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from sklearn.model_selection import train_test_split

from common.annotators import (
    initial_label_matrix,
    near_random_annotators,
    simulate_annotators,
    simulate_individual_annotators,
)
from common.models import Model, ModelFactory
from common.problem import Problem
from common.seeding import RunSeeds

ProblemBuilder = Callable[[Path, RunSeeds, int, frozenset], Problem]
"""``(data_dir, seeds, n_initial, inputs) -> Problem``: the round-0 state of the run whose random
streams are ``seeds``, with ``n_initial`` labeled pool examples and the design-matrix blocks named
in ``inputs`` (what the run's models read, see :class:`common.models.Model`)."""


@dataclass(frozen=True)
class DatasetFlag:
    """A command-line flag of one benchmark (``--name``), passed to its ``configure`` function.

    The runner adds it to the one parser every run script uses; ``check(value)`` returns an error
    message (what the value must be) or None, reported in one line like every other bad flag.
    """

    name: str
    type: Callable[[str], Any]
    default: Any
    help: str
    check: Callable[[Any], Optional[str]] = lambda value: None
    choices: Optional[tuple] = None

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Benchmark:
    name: str
    make_problem: ProblemBuilder
    models: dict[str, Model]
    ensemble: tuple[str, ...]
    """Members fitted for ensemble methods (their predictions are averaged)."""
    default_model: str
    rounds: int
    batch_size: int
    n_initial: int
    pool_size: int
    """Pool examples: the bound on --n-initial and --batch-size checked before any data is read."""
    folds: int = 5
    seeds: int = 5
    settings: dict = field(default_factory=dict)
    """Dataset settings recorded with every run (subset sizes, noise level, flag values, ...)."""
    flags: tuple[DatasetFlag, ...] = ()
    configure: Optional[Callable[..., "Benchmark"]] = None
    """Called with the values of ``flags`` (by ``dest``) to build the benchmark they select."""
    variant: tuple[str, ...] = ()
    """Results folders of the non-default flag values (``test-size-4000``): kept apart."""
    model_ensembles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Members for ensemble methods under particular ``--model`` values, instead of ``ensemble``
    (CIFAR-10H: its no-outside-data models keep an ensemble without pretrained weights)."""

    def ensemble_for(self, model: str) -> tuple[str, ...]:
        """The members that ensemble methods fit in a grid whose ``--model`` is ``model``."""
        return self.model_ensembles.get(model, self.ensemble)

    def members(self, model: str, ensemble: bool) -> list[ModelFactory]:
        return [self.models[name].factory for name in self._model_names(model, ensemble)]

    def inputs(self, model: str, ensemble: bool) -> frozenset:
        """The design-matrix blocks the run's models read: what its problem must hold."""
        return frozenset(self.models[name].reads for name in self._model_names(model, ensemble))

    def _model_names(self, model: str, ensemble: bool) -> tuple[str, ...]:
        return self.ensemble_for(model) if ensemble else (model,)


def tabular_benchmark(
    name: str,
    load: Callable[[Path], tuple[np.ndarray, np.ndarray]],
    class_counts: tuple[int, ...],
    n_test: int,
    num_annotators: int,
    trace_fraction: float,
    models: dict[str, Model],
    ensemble: tuple[str, ...],
    annotators: str = "shared",
    **defaults: Any,
) -> Benchmark:
    """A benchmark on tabular data with simulated annotators (the Wall Robot protocol, see
    :func:`simulated_tabular_problem`); ``defaults`` are the remaining :class:`Benchmark` fields
    (``default_model``, ``rounds``, ``batch_size``, ``n_initial``, ...)."""
    return Benchmark(
        name=name,
        make_problem=simulated_tabular_problem(load, class_counts, n_test, num_annotators, trace_fraction, annotators),
        models=models,
        ensemble=ensemble,
        pool_size=sum(class_counts) - n_test,
        settings={
            "class_counts": list(class_counts),
            "n_test": n_test,
            "num_annotators": num_annotators,
            "trace_fraction": trace_fraction,
            **({"annotators": annotators} if annotators != "shared" else {}),
        },
        **defaults,
    )


def simulated_tabular_problem(
    load: Callable[[Path], tuple[np.ndarray, np.ndarray]],
    class_counts: tuple[int, ...],
    n_test: int,
    num_annotators: int,
    trace_fraction: float,
    annotators: str = "shared",
) -> ProblemBuilder:
    """A problem builder for tabular data with simulated annotators (the Wall Robot protocol).

    ``annotators="shared"``: every annotator labels through one noise matrix of trace
    ``trace_fraction * K``, as in the ActiveLab study; ``"individual"``: each has its own, with
    quality spread as on real crowds and the same mean accuracy
    (:func:`common.annotators.simulate_individual_annotators`).

    The ``subset`` stream draws a class-stratified subset with ``class_counts`` rows per class, the
    ``split`` stream splits off a stratified test set of ``n_test`` rows, the ``annotators`` stream
    simulates the annotators on the remaining pool, and the ``initial_labels`` stream labels
    ``n_initial`` pool examples (see :mod:`common.seeding`), so every method with the same seeds
    starts from the same state.
    """

    def make_problem(data_dir: Path, seeds: RunSeeds, n_initial: int, inputs: frozenset) -> Problem:
        X, y = load(data_dir)
        num_classes = len(class_counts)
        rng = seeds.subset()
        subset = np.concatenate(
            [rng.choice(np.flatnonzero(y == k), count, replace=False) for k, count in enumerate(class_counts)]
        )
        X, y = X[subset], y[subset]
        pool, test = train_test_split(np.arange(len(y)), test_size=n_test, stratify=y, random_state=seeds.split())
        if annotators == "shared":
            hidden, noise_matrix = simulate_annotators(
                y[pool], num_annotators, trace_fraction, num_classes, seeds.annotators()
            )
            described = {"noise_matrix": np.round(noise_matrix, 6).tolist()}
        else:
            hidden, _, expected = simulate_individual_annotators(
                y[pool], num_annotators, num_classes, seeds.annotators(), trace_fraction=trace_fraction
            )
            described = {"expected_annotator_accuracy": np.round(expected, 4).tolist()}
        rng = seeds.initial_labels()
        labeled = np.sort(rng.choice(len(pool), n_initial, replace=False))
        initial = initial_label_matrix(hidden, labeled, rng)
        accuracy = np.mean(hidden == y[pool][:, None], axis=0)
        info = {
            "annotator_identity": "simulated",
            "mean_annotator_accuracy": float(accuracy.mean()),
            "annotator_accuracy": np.round(accuracy, 4).tolist(),
            "near_random_annotators": near_random_annotators(accuracy, num_classes).tolist(),
            **described,
            "initial_labels_per_example": labels_per_example(initial, labeled),
        }
        return Problem(X[pool], y[pool], X[test], y[test], hidden, initial, num_classes, info)

    return make_problem


def labels_per_example(initial: np.ndarray, labeled: np.ndarray) -> dict[str, int]:
    """How many initially labeled examples have 1, 2, ... labels (for the run's metadata)."""
    counts = np.bincount(np.sum(~np.isnan(initial[labeled]), axis=1))
    return {str(k): int(c) for k, c in enumerate(counts) if k and c}


BENCHMARKS: dict[str, Benchmark] = {}
"""Every registered benchmark by name. Look names up with :func:`common.registry.get_benchmark`,
which imports the built-in suites first; this module never imports a suite (they import it)."""


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Add ``benchmark`` to the registry; its name is its folder and the results' benchmark."""
    if benchmark.name in BENCHMARKS and BENCHMARKS[benchmark.name] is not benchmark:
        raise ValueError(f"benchmark {benchmark.name!r} is registered twice")
    if benchmark.default_model not in benchmark.models:
        raise ValueError(f"benchmark {benchmark.name!r}: default model {benchmark.default_model!r} is not one of its models")
    members = {name for names in (benchmark.ensemble, *benchmark.model_ensembles.values()) for name in names}
    unknown = sorted(name for name in members | set(benchmark.model_ensembles) if name not in benchmark.models)
    if unknown:
        raise ValueError(f"benchmark {benchmark.name!r}: ensemble members {unknown} are not among its models")
    BENCHMARKS[benchmark.name] = benchmark
    return benchmark


def configured(benchmark: Benchmark, values: dict[str, Any]) -> Benchmark:
    """``benchmark`` with its dataset flags set to ``values`` (itself when they are the defaults)."""
    changed = [f for f in benchmark.flags if values[f.dest] != f.default]
    if not changed:
        return benchmark
    chosen = benchmark.configure(**{f.dest: values[f.dest] for f in benchmark.flags})
    return dataclasses.replace(chosen, variant=tuple(f"{f.name.lstrip('-')}-{values[f.dest]}" for f in changed))

