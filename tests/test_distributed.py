"""The grid on a dask.distributed LocalCluster of 2 worker processes, against the local runner.

Workers unpickle the test benchmarks by reference (``tests.conftest``, this module), so they get
the repository root on PYTHONPATH before the cluster starts.
"""

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from common.data import DataError
from common.models import Model
from common.results import METRICS, RunKey
from common.runner import main, parse_specs, run_grid
from tests.conftest import REPO_ROOT, TINY, logistic, nearest

distributed = pytest.importorskip("distributed")

GRID = ["--methods", "random", "activelab", "--seeds", "2", "--rounds", "2"]
RUNS = [(method, seed) for method in ("random", "activelab") for seed in (0, 1)]


def slow_logistic(seed):
    """The tiny benchmark's model, slowed down so that a run is still going when a worker dies."""
    time.sleep(0.3)
    return logistic(seed)


def no_data(data_dir, seeds, n_initial, inputs):
    raise DataError(f"tiny.csv is missing from {data_dir}; copy it there")


SLOW = dataclasses.replace(TINY, models={"logistic": Model(slow_logistic), "knn": Model(nearest)})
NO_DATA = dataclasses.replace(TINY, name="tiny-no-data", make_problem=no_data)


def arrays(results_dir):
    return {
        (method, seed, metric): np.load(RunKey("logistic", method, seed).array_path(results_dir, metric))
        for method, seed in RUNS for metric in METRICS
    }


def start_cluster():
    return distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    )


@pytest.fixture(scope="module")
def importable_repo():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
        yield


@pytest.fixture(scope="module")
def cluster(importable_repo):
    with start_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def local_arrays(tmp_path_factory):
    results = tmp_path_factory.mktemp("local")
    assert main(TINY, GRID + ["--jobs", "1", "--results-dir", str(results)]) == 0
    return arrays(results)


def test_the_cli_on_a_cluster_gives_the_local_results(cluster, local_arrays, tmp_path, capsys):
    argv = GRID + ["--results-dir", str(tmp_path), "--scheduler", cluster.scheduler_address]
    assert main(TINY, argv) == 0
    on_cluster = arrays(tmp_path)
    assert all(np.array_equal(on_cluster[k], local_arrays[k]) for k in local_arrays)
    assert "activelab" in capsys.readouterr().out
    assert not (tmp_path / "logistic" / "checkpoints").exists()
    # Resume: finished runs are skipped before anything is sent to the cluster.
    assert main(TINY, argv) == 0
    assert "4 of 4 runs already finished" in capsys.readouterr().out


def test_a_failing_run_is_reported_once_with_its_worker_and_the_others_finish(cluster, tmp_path, capsys):
    from common.methods import METHODS, register

    @register("broken_for_test")
    def broken(state):
        raise RuntimeError("boom")

    try:
        argv = ["--methods", "random", "broken_for_test", "--seeds", "1", "--rounds", "2",
                "--results-dir", str(tmp_path), "--scheduler", cluster.scheduler_address]
        assert main(TINY, argv) == 1
    finally:
        del METHODS["broken_for_test"]
    err = capsys.readouterr().err
    assert err.count("run failed:") == 1
    assert "run failed: broken_for_test seed 0 (logistic) on worker tcp://" in err
    assert "RuntimeError: boom" in err
    assert RunKey("logistic", "random", 0).metadata_path(tmp_path).exists()


def test_a_worker_without_the_data_fails_the_run_in_one_line(cluster, tmp_path):
    args, specs = parse_specs(NO_DATA, ["--methods", "random", "--seeds", "2", "--results-dir", str(tmp_path)])
    failures = run_grid(specs, args.data_dir, tmp_path, 1, False, cluster.scheduler_address)
    assert len(failures) == 2
    for failure in failures:
        assert failure.startswith("run failed: random seed ") and " on worker tcp://" in failure
        assert failure.endswith("; copy it there") and "\n" not in failure


def test_a_killed_worker_does_not_change_the_results(importable_repo, local_arrays, tmp_path):
    args, specs = parse_specs(SLOW, GRID + ["--results-dir", str(tmp_path)])
    with start_cluster() as cluster, distributed.Client(cluster, set_as_default=False) as client:
        outcome = {}
        grid = threading.Thread(
            target=lambda: outcome.update(
                failures=run_grid(specs, args.data_dir, tmp_path, 1, False, cluster.scheduler_address)
            ),
            daemon=True,
        )
        grid.start()
        # Kill a worker in the middle of a run: after its first round's checkpoint.
        deadline = time.monotonic() + 30
        while not list(tmp_path.glob("logistic/checkpoints/*.npz")) and time.monotonic() < deadline:
            time.sleep(0.02)
        busy = [address for address, keys in client.processing().items() if keys]
        assert busy, "no run was in progress"
        os.kill(client.run(os.getpid)[busy[0]], signal.SIGKILL)
        grid.join(timeout=90)
        assert not grid.is_alive(), "the grid did not finish after a worker was killed"
    assert outcome["failures"] == []
    on_cluster = arrays(tmp_path)
    assert all(np.array_equal(on_cluster[k], local_arrays[k]) for k in local_arrays)


def test_a_local_run_does_not_import_dask(tmp_path):
    script = (
        "import sys\n"
        "from tests.conftest import TINY\n"
        "from common.runner import main\n"
        f"assert main(TINY, ['--methods', 'random', '--seeds', '1', '--rounds', '1', '--jobs', '1', "
        f"'--results-dir', {str(tmp_path)!r}]) == 0\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
