"""The Wall Robot benchmarks: 4 robot sensors, 4 moves, 30 simulated annotators (the ActiveLab
study's protocol), with 500 (``wall-robot``) or all 2,000 (``wall-robot-completely-labeled``) pool
examples labeled at the start. ``--annotators individual`` gives each annotator its own noise
matrix (unequal quality, some near-random workers) instead of the study's shared one."""

from __future__ import annotations

from functools import partial

from common.benchmark import Benchmark, DatasetFlag, register_benchmark, tabular_benchmark
from common.datasets.wall_robot import load_wall_robot
from common.models import TABULAR_MODELS


def wall_robot_benchmark(name: str, n_initial: int, trace_fraction: float, annotators: str = "shared") -> Benchmark:
    return tabular_benchmark(
        name,
        load_wall_robot,
        class_counts=(1100, 900, 300, 700),
        n_test=1000,
        num_annotators=30,
        trace_fraction=trace_fraction,
        models=TABULAR_MODELS,
        ensemble=("mlp", "extra-trees", "knn"),
        annotators=annotators,
        default_model="mlp",
        rounds=20,
        batch_size=100,
        n_initial=n_initial,
        seeds=10,  # with 10 paired seeds a two-sided Wilcoxon test can reach p = 0.002
        flags=(
            DatasetFlag("--annotators", str, "shared",
                        "shared: one noise matrix for all 30 annotators (the ActiveLab study's); "
                        "individual: one each, unequal quality with some near-random workers "
                        "(default: shared)", choices=("shared", "individual")),
        ),
        configure=partial(wall_robot_benchmark, name, n_initial, trace_fraction),
    )


WALL_ROBOT = register_benchmark(wall_robot_benchmark("wall-robot", n_initial=500, trace_fraction=0.85))
WALL_ROBOT_COMPLETELY_LABELED = register_benchmark(
    wall_robot_benchmark("wall-robot-completely-labeled", n_initial=2000, trace_fraction=0.8)
)
