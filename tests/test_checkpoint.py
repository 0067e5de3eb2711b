import json

import numpy as np
import pytest

from common.checkpoint import RunCheckpoint
from common.execution import RunSpec, execute_run
from common.methods import METHODS
from common.results import METRICS, RunKey
from common.runner import main


class Stop(Exception):
    """Raised by the test hook to interrupt a run after a given round."""


def stop_after(last_round):
    def hook(round_index):
        if round_index == last_round:
            raise Stop(f"stopped after round {last_round}")

    return hook


def spec(benchmark, method="activelab", seed=1, rounds=3, batch_size=10):
    return RunSpec(benchmark, METHODS[method], "logistic", seed, None, rounds, batch_size,
                   benchmark.n_initial, benchmark.folds)


def same_arrays(a, b):
    return all(np.array_equal(a.arrays[m], b.arrays[m]) for m in METRICS)


@pytest.mark.parametrize("method, last_round", [("activelab", 0), ("activelab", 1), ("random", 1)])
def test_an_interrupted_run_resumes_bit_identically(tiny_benchmark, tmp_path, method, last_round):
    run = spec(tiny_benchmark, method)
    reference = execute_run(run, None)
    interrupted = execute_run(run, None, tmp_path, on_round=stop_after(last_round))
    assert f"Stop: stopped after round {last_round}" in interrupted.error
    path = run.key.checkpoint_path(tmp_path)
    assert path.exists()
    rounds_run = []
    resumed = execute_run(run, None, tmp_path, on_round=rounds_run.append)
    assert rounds_run == list(range(last_round + 1, 3))
    assert same_arrays(resumed, reference)
    assert len(resumed.metadata["round_seconds"]) == 3
    assert not path.exists()  # a finished run's checkpoint is removed


def test_a_checkpoint_is_written_after_every_round(tiny_benchmark, tmp_path):
    run = spec(tiny_benchmark, rounds=2)
    path = run.key.checkpoint_path(tmp_path)
    saved_rounds = []

    def look(round_index):
        saved_rounds.append(RunCheckpoint(tmp_path, run.key, run.config()).load().next_round)

    execute_run(run, None, tmp_path, on_round=look)
    assert saved_rounds == [1, 2]
    assert not path.exists()


def test_a_checkpoint_of_another_configuration_is_not_used(tiny_benchmark, tmp_path):
    other, run = spec(tiny_benchmark, batch_size=5), spec(tiny_benchmark, batch_size=10)
    assert other.key == run.key
    execute_run(other, None, tmp_path, on_round=stop_after(0))
    assert RunCheckpoint(tmp_path, run.key, run.config()).load() is None
    assert RunCheckpoint(tmp_path, other.key, other.config()).load().next_round == 1
    rounds_run = []
    result = execute_run(run, None, tmp_path, on_round=rounds_run.append)
    assert rounds_run == [0, 1, 2]
    assert same_arrays(result, execute_run(run, None))


def test_without_resume_a_run_starts_over(tiny_benchmark, tmp_path):
    run = spec(tiny_benchmark)
    execute_run(run, None, tmp_path, on_round=stop_after(0))
    rounds_run = []
    execute_run(run, None, tmp_path, resume=False, on_round=rounds_run.append)
    assert rounds_run == [0, 1, 2]


def test_an_unreadable_checkpoint_is_ignored(tiny_benchmark, tmp_path):
    run = spec(tiny_benchmark)
    path = run.key.checkpoint_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    with pytest.warns(UserWarning, match="ignoring unreadable checkpoint"):
        assert RunCheckpoint(tmp_path, run.key, run.config()).load() is None


def test_an_unwritable_checkpoint_only_warns(tiny_benchmark, tmp_path):
    run = spec(tiny_benchmark, rounds=2)
    (tmp_path / "logistic").write_text("a file where the run's folder should be")
    with pytest.warns(UserWarning, match="cannot write checkpoint"):
        result = execute_run(run, None, tmp_path)
    assert same_arrays(result, execute_run(run, None))


def test_the_grid_resumes_an_interrupted_run_and_cleans_up(tiny_benchmark, tmp_path):
    argv = ["--methods", "random", "activelab", "--seeds", "1", "--jobs", "1"]
    assert main(tiny_benchmark, argv + ["--results-dir", str(tmp_path / "reference")]) == 0
    results = tmp_path / "resumed"
    interrupted = spec(tiny_benchmark, seed=0, rounds=tiny_benchmark.rounds)
    execute_run(interrupted, None, results, on_round=stop_after(1))
    saved = RunCheckpoint(results, interrupted.key, interrupted.config()).load()
    assert main(tiny_benchmark, argv + ["--results-dir", str(results)]) == 0
    # The run went on from its checkpoint: its first two rounds' timings are the saved ones.
    metadata = json.loads(interrupted.key.metadata_path(results).read_text())
    assert metadata["round_seconds"][:2] == saved.result.round_seconds
    for method in ("random", "activelab"):
        key = RunKey("logistic", method, 0)
        for metric in METRICS:
            expected = np.load(key.array_path(tmp_path / "reference", metric))
            assert np.array_equal(np.load(key.array_path(results, metric)), expected)
    assert not (results / "logistic" / "checkpoints").exists()
