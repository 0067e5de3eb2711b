"""Shared fixtures: a tiny synthetic benchmark that runs in a fraction of a second."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from common.benchmark import Benchmark, simulated_tabular_problem
from common.models import Model
from common.results import RunKey

REPO_ROOT = Path(__file__).resolve().parent.parent


def tiny_data(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(
        n_samples=400, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
        weights=[0.5, 0.3, 0.2], random_state=0,
    )
    return X, y


def logistic(seed: int) -> LogisticRegression:
    return LogisticRegression(max_iter=200)


def nearest(seed: int) -> KNeighborsClassifier:
    return KNeighborsClassifier(n_neighbors=5, weights="distance")


TINY = Benchmark(
    name="tiny",
    make_problem=simulated_tabular_problem(tiny_data, (90, 60, 30), 60, 6, 0.8),
    models={"logistic": Model(logistic), "knn": Model(nearest)},
    ensemble=("logistic", "knn"),
    default_model="logistic",
    rounds=3,
    batch_size=10,
    n_initial=40,
    pool_size=120,
    folds=3,
    seeds=2,
    settings={"tiny": True},
)


@pytest.fixture
def tiny_benchmark() -> Benchmark:
    return TINY


def real_data_dir(needed: str) -> Path:
    """The real data directory ($AL_RELABEL_DATA_DIR, else ../shared/data beside the checkout);
    the test is skipped, saying why, when the file ``needed`` is not in it."""
    path = Path(os.environ.get("AL_RELABEL_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")
    if not (path / needed).exists():
        pytest.skip(f"no {needed} in {path}; set AL_RELABEL_DATA_DIR")
    return path


@pytest.fixture
def shared_data_dir() -> Path:
    return real_data_dir("wall-robot/sensor_readings_4.csv")


def quick_run(benchmark: str, data_dir: Path, results_dir: Path, methods: list[str], *flags: str,
              timeout: int = 900) -> str:
    """Run ``<benchmark>/run_benchmark.py --quick --jobs 2`` as a user would, assert that it
    succeeds, and return what it printed."""
    command = [sys.executable, str(REPO_ROOT / benchmark / "run_benchmark.py"), "--quick", "--jobs", "2",
               "--methods", *methods, *flags, "--data-dir", str(data_dir), "--results-dir", str(results_dir)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def quick_keys(model: str, methods: list[str], variant: tuple[str, ...] = ()) -> Iterator[RunKey]:
    """The runs of a ``--quick`` grid (its two seeds) of ``methods``."""
    return (RunKey(model, method, seed, variant) for method in methods for seed in (0, 1))
