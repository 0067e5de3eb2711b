"""The Music Genre suite on the real data: replayed labels, the loop until songs run dry, and a
--quick run of music-genre/run_benchmark.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from common.annotators import Oracle
from common.loop import LoopSettings, run_rounds
from common.methods import METHODS
from common.models import FEATURES
from common.seeding import RunSeeds
from common.suites.music_genre import MUSIC_GENRE
from tests.conftest import quick_keys, quick_run, real_data_dir
from tests.test_replay import check_replay_invariants


@pytest.fixture
def music_data_dir() -> Path:
    return real_data_dir("music-genre/music_genre_mturk.csv")


def test_initial_labels_are_one_real_label_per_chosen_song(music_data_dir):
    problem = MUSIC_GENRE.make_problem(music_data_dir, RunSeeds(3), 200, frozenset({FEATURES}))
    counts = np.sum(~np.isnan(problem.initial_labels), axis=1)
    assert np.sum(counts == 1) == 200 and counts.max() == 1
    assert problem.hidden_labels.shape == (700, 44) and np.sum(~np.isnan(problem.hidden_labels)) == 2945
    assert problem.info["annotator_identity"] == "real"
    # Features standardised with pool statistics only.
    assert np.allclose(problem.X_pool.mean(axis=0), 0, atol=1e-9) and not np.allclose(problem.X_test.mean(axis=0), 0)
    again = MUSIC_GENRE.make_problem(music_data_dir, RunSeeds(3), 200, frozenset({FEATURES}))
    assert np.array_equal(problem.initial_labels, again.initial_labels, equal_nan=True)


@pytest.mark.parametrize("assigner", ["random", "best_estimated", "ie_thresh"])
def test_replay_hands_out_only_real_labels_each_once_until_songs_run_dry(music_data_dir, assigner):
    problem = MUSIC_GENRE.make_problem(music_data_dir, RunSeeds(0), 200, frozenset({FEATURES}))
    knn = MUSIC_GENRE.models["knn"].factory
    rounds, batch = 22, 120  # 2,640 of the 2,745 labels left: most songs run dry
    settings = LoopSettings(rounds, batch, 3, "majority", assigner)
    result = run_rounds(problem, METHODS["good_random"], [knn], settings, RunSeeds(0))
    per_song = result.metrics["labels_per_example"]
    available = np.sum(~np.isnan(problem.hidden_labels), axis=1)
    assert np.all(per_song <= available)  # never more labels than the song's real workers gave
    assert np.all(np.diff(per_song.sum(axis=1)) == batch)
    assert np.sum(per_song[-1] == available) > 300  # many songs are dry and were never picked again
    assert np.all((result.metrics["new_label_accuracy"] >= 0) & (result.metrics["new_label_accuracy"] <= 1))


def test_replayed_labels_land_in_their_workers_columns(music_data_dir):
    problem = MUSIC_GENRE.make_problem(music_data_dir, RunSeeds(1), 200, frozenset({FEATURES}))
    labels = check_replay_invariants(problem, MUSIC_GENRE.models["logreg"].factory, rounds=6, batch=150,
                                     assigner="ie_thresh")
    assert np.sum(~np.isnan(labels)) == 200 + 6 * 150
    with pytest.raises(ValueError, match="cannot give or already gave"):
        taken = np.argwhere(~np.isnan(labels))[0]
        Oracle(problem.hidden_labels).answer(labels, taken[:1], taken[1:])


def test_quick_run_on_the_real_data(music_data_dir, tmp_path):
    methods = ["random", "activelab", "disagreement"]
    quick_run("music-genre", music_data_dir, tmp_path, methods, "--assigner", "ie_thresh")
    for key in quick_keys("logreg", methods, ("assigner-ie_thresh",)):
        assert np.load(key.array_path(tmp_path, "consensus_accuracy")).shape == (3,)
        assert np.load(key.array_path(tmp_path, "new_label_accuracy")).shape == (3,)
        metadata = json.loads(key.metadata_path(tmp_path).read_text())
        assert metadata["config"]["assigner"] == "ie_thresh"
        assert metadata["problem"]["annotator_identity"] == "real"
