"""Benchmark suites: one module per dataset, each registering its benchmarks when imported.

A suite holds everything specific to its dataset: the dataset definition, the problem builder, its
models and its own flags. It imports :mod:`common.benchmark` (and the library below it), never
:mod:`common.registry` or the runner: imports only go down (``tests/test_imports.py`` keeps it so).

**The built-in suites are the modules imported below.** To add one, put its module in this folder
and add it here, one line each; :func:`common.registry.get_benchmark` imports this package before
every lookup, so its benchmarks are then known to ``python -m common.runner`` and the console
command ``active-label-benchmark``. Generic code never imports a suite by name.
"""

from common.suites import cifar10h  # noqa: F401
from common.suites import cifar10s  # noqa: F401
from common.suites import labelme  # noqa: F401
from common.suites import music_genre  # noqa: F401
from common.suites import sentiment_polarity  # noqa: F401
from common.suites import wall_robot  # noqa: F401
