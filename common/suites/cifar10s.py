"""The CIFAR-10S benchmark: 1,000 CIFAR-10 test images labeled by 248 real Prolific annotators,
replayed with the real time each label took as its cost.

Every label the oracle hands out is one a real annotator gave that image (its most probable class;
Collins, Bhatt & Weller, HCOMP 2022; see common/datasets/cifar10s.py for the rules on repeated
screens, reruns, outliers and the authors' exclusion list), replayed by the shared builder of
common/replay.py: each label at most once, from the image's own annotators, into the annotator's
column. Its cost (``Problem.label_costs``) is the seconds that annotator spent on that screen,
capped at the 99th percentile of all label times (240 s).

Split: the pool is the 1,000 labeled images; the test set is the other 9,000 CIFAR-10 test images
with CIFAR-10's labels (``--test-images N`` keeps the first N of them, for quick smoke runs).
Features and models are the CIFAR-10H suite's (common/suites/cifar10h.py), built by its
:func:`~common.suites.cifar10h.cifar_design` on this split: the same blocks, the same models, the
same default and ensemble.

Defaults: 200 images start with one real label each, 50 labels a round, 20 rounds (the budget
shape of the other replayed crowds): 1,000 of the 6,000 labels left, so the crowd never runs dry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.benchmark import Benchmark, DatasetFlag, register_benchmark
from common.data import DataError
from common.replay import ReplayedCrowd, replay_benchmark
from common.suites.cifar10h import CIFAR_MODELS, DEFAULT_MODEL, ENSEMBLE, MODEL_ENSEMBLES, cifar_design

POOL_IMAGES = 1000
TEST_IMAGES = 10_000 - POOL_IMAGES


def cifar10s_loader(test_images: int = TEST_IMAGES):
    """``load(data_dir, inputs)`` for the replay builder: the pool is the labeled images, the test
    set the first ``test_images`` other CIFAR-10 test images."""

    def load(data_dir: Path, inputs: frozenset) -> ReplayedCrowd:
        from common.datasets import cifar10h as c10h
        from common.datasets import cifar10s as c10s

        data = c10s.load_cifar10s(data_dir)
        images, labels, source = c10h.load_images(data_dir)
        pool = data.images
        if np.any(labels[pool] != data.labels):
            wrong = pool[labels[pool] != data.labels]
            raise DataError(f"{c10s.RAW_FILE.name} and {source} disagree on the class of {len(wrong)} images, "
                            f"e.g. image {wrong[0]}: are they the CIFAR-10 test set in its order?")
        test = np.setdiff1d(np.arange(len(labels)), pool)[:test_images]
        design = cifar_design(images, pool, test, inputs, data_dir)
        costs, cap = c10s.label_costs(data.seconds)
        given = ~np.isnan(data.seconds)
        info = {
            "pixels": source,
            "label_cost_unit": "seconds",
            "label_cost_cap_seconds": round(cap, 3),
            "labels_capped": int(np.sum(data.seconds[given] > cap)),
            "label_seconds_raw_max": float(np.nanmax(data.seconds)),
            **{key: data.facts[key] for key in ("repeated_pairs", "reruns", "rerun_agreement")},
        }
        return ReplayedCrowd(design[: len(pool)], labels[pool], design[len(pool):], labels[test],
                             data.hidden_labels, c10s.NUM_CLASSES, label_costs=costs, info=info)

    return load


FLAGS = (
    DatasetFlag("--test-images", int, TEST_IMAGES,
                f"use only the first N of the {TEST_IMAGES:,} test images, for quick smoke runs (default: {TEST_IMAGES})",
                lambda v: None if 10 <= v <= TEST_IMAGES else f"must be in 10..{TEST_IMAGES}"),
)


def cifar10s_benchmark(test_images: int = TEST_IMAGES) -> Benchmark:
    """The CIFAR-10S benchmark with its dataset flag's value."""
    return replay_benchmark(
        "cifar-10s",
        cifar10s_loader(test_images),
        models=CIFAR_MODELS,
        ensemble=ENSEMBLE,
        model_ensembles=MODEL_ENSEMBLES,
        default_model=DEFAULT_MODEL,
        rounds=20,
        batch_size=50,
        n_initial=200,
        pool_size=POOL_IMAGES,
        seeds=10,
        settings={"split": f"pool = the {POOL_IMAGES:,} labeled images, test = the first {test_images:,} others",
                  "features": "the CIFAR-10H suite's blocks (common.suites.cifar10h.cifar_design)",
                  "label_costs": "seconds on the screen, capped at the 99th percentile"},
        flags=FLAGS,
        configure=cifar10s_benchmark,
    )


CIFAR_10S = register_benchmark(cifar10s_benchmark())
