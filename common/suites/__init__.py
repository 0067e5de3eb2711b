"""Benchmark suites: one module per dataset, each registering its benchmarks when imported.

A suite holds everything specific to its dataset: the dataset definition, the problem builder, its
models and its own flags. Generic code never imports a suite by name; it looks benchmarks up with
:func:`common.benchmark.get_benchmark`, which imports this package.
"""

from common.suites import cifar10h, music_genre, wall_robot  # noqa: F401
