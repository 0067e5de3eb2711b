"""Looking benchmarks up by name: the built-in suites and whatever plugins registered.

Imports go one way only::

    common.runner  ->  common.registry  ->  common.suites (and each built-in suite)  ->  common.benchmark

A suite module defines its benchmarks and registers them with
:func:`common.benchmark.register_benchmark` when it is imported; it never imports this module.
This module imports the built-in suites (the list is the import block of
``common/suites/__init__.py``) before every lookup, so that their names resolve, and plugins that
registered a benchmark of their own are found the same way.
"""

from __future__ import annotations

from common.benchmark import BENCHMARKS, Benchmark


def load_built_in_suites() -> None:
    """Import every built-in suite (each registers its benchmarks once, when first imported)."""
    import common.suites  # noqa: F401  (its import block lists the built-in suites)


def get_benchmark(name: str) -> Benchmark:
    """The registered benchmark ``name``, the built-in suites included; KeyError naming the
    registered ones otherwise."""
    load_built_in_suites()
    if name not in BENCHMARKS:
        raise KeyError(f"unknown benchmark {name!r}; registered: {', '.join(sorted(BENCHMARKS))}")
    return BENCHMARKS[name]


def benchmark_names() -> list[str]:
    """Every registered benchmark's name, sorted, the built-in suites included."""
    load_built_in_suites()
    return sorted(BENCHMARKS)
