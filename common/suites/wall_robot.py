"""The Wall Robot benchmarks: 4 robot sensors, 4 moves, 30 simulated annotators (the ActiveLab
study's protocol), with 500 (``wall-robot``) or all 2,000 (``wall-robot-completely-labeled``) pool
examples labeled at the start."""

from __future__ import annotations

from common.benchmark import Benchmark, register_benchmark, tabular_benchmark
from common.datasets.wall_robot import load_wall_robot
from common.models import TABULAR_MODELS


def wall_robot_benchmark(name: str, n_initial: int, trace_fraction: float) -> Benchmark:
    return tabular_benchmark(
        name,
        load_wall_robot,
        class_counts=(1100, 900, 300, 700),
        n_test=1000,
        num_annotators=30,
        trace_fraction=trace_fraction,
        models=TABULAR_MODELS,
        ensemble=("mlp", "extra-trees", "knn"),
        default_model="mlp",
        rounds=20,
        batch_size=100,
        n_initial=n_initial,
    )


WALL_ROBOT = register_benchmark(wall_robot_benchmark("wall-robot", n_initial=500, trace_fraction=0.85))
WALL_ROBOT_COMPLETELY_LABELED = register_benchmark(
    wall_robot_benchmark("wall-robot-completely-labeled", n_initial=2000, trace_fraction=0.8)
)
