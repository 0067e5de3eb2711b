"""The Wall Robot suites: the --annotators flag (shared vs individual noise matrices)."""

from __future__ import annotations

import numpy as np

from common.benchmark import configured
from common.models import FEATURES
from common.seeding import RunSeeds
from common.suites.wall_robot import WALL_ROBOT


def test_individual_annotators_are_unequal_and_kept_apart(shared_data_dir):
    individual = configured(WALL_ROBOT, {"annotators": "individual"})
    assert individual.variant == ("annotators-individual",) and WALL_ROBOT.variant == ()
    assert individual.settings["annotators"] == "individual" and "annotators" not in WALL_ROBOT.settings
    shared = WALL_ROBOT.make_problem(shared_data_dir, RunSeeds(0), 500, frozenset({FEATURES}))
    unequal = individual.make_problem(shared_data_dir, RunSeeds(0), 500, frozenset({FEATURES}))
    spread = {name: np.std(p.info["annotator_accuracy"]) for name, p in (("shared", shared), ("individual", unequal))}
    assert spread["individual"] > 5 * spread["shared"]
    assert min(unequal.info["annotator_accuracy"]) < 0.45  # some near-random workers
    assert abs(unequal.info["mean_annotator_accuracy"] - shared.info["mean_annotator_accuracy"]) < 0.06
    # The data draw is the same: only the annotators differ.
    assert np.array_equal(shared.y_pool, unequal.y_pool) and np.array_equal(shared.X_test, unequal.X_test)
