import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from common.results import METRICS, RunKey
from common import runner
from common.runner import main
from tests.conftest import REPO_ROOT


def arrays(results_dir, model="logistic", methods=("random", "activelab"), seeds=(0, 1)):
    return {
        (m, s, metric): np.load(RunKey(model, m, s).array_path(results_dir, metric))
        for m in methods for s in seeds for metric in METRICS
    }


def test_results_are_identical_whatever_the_number_of_jobs(tiny_benchmark, tmp_path, capsys):
    for jobs in (1, 2):
        argv = ["--methods", "random", "activelab", "--jobs", str(jobs), "--results-dir", str(tmp_path / str(jobs))]
        assert main(tiny_benchmark, argv) == 0
    one, two = arrays(tmp_path / "1"), arrays(tmp_path / "2")
    assert all(np.array_equal(one[k], two[k]) for k in one)
    table = capsys.readouterr().out
    assert "activelab" in table and "final consensus acc" in table


def test_the_parent_keeps_its_checked_problem_only_when_it_runs_the_grid_itself(tiny_benchmark, tmp_path):
    import dataclasses

    from common import execution

    built = []

    def counting_make_problem(*args):
        built.append(args)
        return tiny_benchmark.make_problem(*args)

    benchmark = dataclasses.replace(tiny_benchmark, make_problem=counting_make_problem)
    execution._PROBLEMS.clear()
    argv = ["--methods", "random", "--seeds", "2", "--results-dir", str(tmp_path / "parallel"), "--jobs", "2"]
    assert main(benchmark, argv) == 0
    assert len(built) == 1  # the parent's check only: the runs built theirs in the workers
    assert execution._PROBLEMS == {}  # and the parent's copy is not kept, it would only cost memory
    argv = ["--methods", "random", "activelab", "--seeds", "1", "--results-dir", str(tmp_path / "serial"), "--jobs", "1"]
    assert main(benchmark, argv) == 0
    assert len(built) == 2  # built once more for the check, and reused by both runs of the seed


def test_metadata_records_configuration_versions_and_timings(tiny_benchmark, tmp_path):
    assert main(tiny_benchmark, ["--methods", "random", "--seeds", "1", "--jobs", "1", "--results-dir", str(tmp_path)]) == 0
    metadata = json.loads(RunKey("logistic", "random", 0).metadata_path(tmp_path).read_text())
    assert metadata["config"]["rounds"] == 3 and metadata["config"]["consensus"] == "majority"
    assert "cleanlab" in metadata["packages"] and metadata["git_commit"]
    assert len(metadata["round_seconds"]) == 3
    assert metadata["problem"]["annotator_identity"] == "simulated"


def test_resume_completes_only_what_is_missing(tiny_benchmark, tmp_path):
    argv = ["--methods", "random", "activelab", "--jobs", "1", "--results-dir", str(tmp_path)]
    assert main(tiny_benchmark, argv) == 0
    reference = arrays(tmp_path)
    # Simulate a run interrupted before it finished: its metadata is missing, one array is partial.
    interrupted = RunKey("logistic", "activelab", 1)
    interrupted.metadata_path(tmp_path).unlink()
    interrupted.array_path(tmp_path, "consensus_accuracy").write_bytes(b"partial")
    finished = RunKey("logistic", "random", 0).metadata_path(tmp_path)
    before = finished.stat().st_mtime_ns
    assert main(tiny_benchmark, argv) == 0
    assert finished.stat().st_mtime_ns == before  # finished runs are not redone
    resumed = arrays(tmp_path)
    assert all(np.array_equal(reference[k], resumed[k]) for k in reference)


def test_a_finished_run_with_another_configuration_is_never_overwritten(tiny_benchmark, tmp_path, capsys):
    base = ["--methods", "random", "--seeds", "1", "--jobs", "1", "--results-dir", str(tmp_path)]
    assert main(tiny_benchmark, base) == 0
    path = RunKey("logistic", "random", 0).metadata_path(tmp_path)
    original = path.read_text()
    assert main(tiny_benchmark, base + ["--rounds", "2"]) == 2
    assert "different configuration (rounds)" in capsys.readouterr().err
    assert path.read_text() == original
    assert main(tiny_benchmark, base + ["--rounds", "2", "--force"]) == 0
    assert json.loads(path.read_text())["config"]["rounds"] == 2


def test_refresh_redoes_only_runs_another_commit_made(tiny_benchmark, tmp_path, monkeypatch):
    argv = ["--methods", "random", "--jobs", "1", "--results-dir", str(tmp_path)]
    monkeypatch.setattr(runner, "_git_commit", lambda: "a" * 40)
    assert main(tiny_benchmark, argv) == 0
    old = RunKey("logistic", "random", 0).metadata_path(tmp_path)
    same = RunKey("logistic", "random", 1).metadata_path(tmp_path)
    reference = arrays(tmp_path, methods=("random",))
    metadata = json.loads(old.read_text())
    old.write_text(json.dumps({**metadata, "git_commit": "b" * 40}))
    kept = same.stat().st_mtime_ns
    assert main(tiny_benchmark, argv + ["--refresh"]) == 0
    assert json.loads(old.read_text())["git_commit"] == "a" * 40  # redone by this commit
    assert same.stat().st_mtime_ns == kept  # this commit's run is kept
    refreshed = arrays(tmp_path, methods=("random",))
    assert all(np.array_equal(reference[k], refreshed[k]) for k in reference)


def test_a_run_is_stale_and_a_checkout_dirty_only_if_the_code_that_runs_changed(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "common").mkdir(parents=True)

    def commit(path: str, text: str) -> str:
        (repo / path).write_text(text)
        git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", path], check=True)
        return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()

    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    first = commit("common/loop.py", "a = 1\n")
    docs_only = commit("README.md", "docs\n")
    code_changed = commit("common/loop.py", "a = 2\n")
    monkeypatch.setattr(runner, "PROJECT_ROOT", repo)
    runner._run_code_differs.cache_clear()
    key = RunKey("logistic", "random", 0)
    key.folder(tmp_path).mkdir(parents=True)
    for made_by, now, expected in [(first, docs_only, False), (first, code_changed, True),
                                   (docs_only, docs_only, False), ("unknown", docs_only, True),
                                   (first + "-dirty", docs_only, True)]:
        key.metadata_path(tmp_path).write_text(json.dumps({"git_commit": made_by}))
        assert runner.stale(tmp_path, key, now) is expected, (made_by, now)
    runner._run_code_differs.cache_clear()
    monkeypatch.setattr(runner, "IN_CHECKOUT", True)
    (repo / "README.md").write_text("a grid's results being written\n")
    assert runner._git_commit() == code_changed
    (repo / "common" / "loop.py").write_text("a = 3\n")
    assert runner._git_commit() == code_changed + "-dirty"


def test_refresh_needs_a_clean_checkout(tiny_benchmark, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "_git_commit", lambda: "a" * 40 + "-dirty")
    assert main(tiny_benchmark, ["--methods", "random", "--results-dir", str(tmp_path), "--refresh"]) == 2
    assert "--refresh needs a clean git checkout" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--methods", "nope"], "unknown method 'nope'; choose from: random, good_random"),
        (["--model", "svm"], "invalid choice: 'svm'"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--batch-size", "500"], "--batch-size 500 exceeds"),
        (["--rounds", "100", "--batch-size", "100"], "asks for more labels"),
        (["--n-initial", "2"], "--n-initial 2 is below --folds 3"),
        (["--consensus", "vote"], "invalid choice: 'vote'"),
        (["--rounds", "x"], "invalid int value"),
        (["--annotator-cost", "gold"], "invalid choice: 'gold'"),
        (["--round-cost", "0"], "--round-cost must be a positive number"),
        (["--round-cost", "0.5"], "--round-cost 0.5 is smaller than any label the annotators can give (the cheapest costs 1)"),
        (["--round-cost", "1000"], "--rounds 3 x --round-cost 1000 is more than the"),
    ],
)
def test_bad_flags_give_one_line_and_exit_status_2(tiny_benchmark, tmp_path, capsys, argv, message):
    assert main(tiny_benchmark, argv + ["--results-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_a_failing_run_is_reported_and_the_others_finish(tiny_benchmark, tmp_path, capsys):
    from common.methods import METHODS, register

    @register("broken_for_test")
    def broken(state):
        raise RuntimeError("boom")

    try:
        argv = ["--methods", "random", "broken_for_test", "--seeds", "1", "--jobs", "1", "--results-dir", str(tmp_path)]
        assert main(tiny_benchmark, argv) == 1
    finally:
        del METHODS["broken_for_test"]
    assert "run failed: broken_for_test seed 0" in capsys.readouterr().err
    assert RunKey("logistic", "random", 0).metadata_path(tmp_path).exists()


@pytest.mark.parametrize(
    "script, extra",
    [
        ("wall-robot/run_benchmark.py", ["--methods", "random", "activelab", "activelab_ensemble"]),
        ("wall-robot-completely-labeled/run_benchmark.py", ["--methods", "activelab", "--model", "extra-trees"]),
    ],
)
def test_quick_run_on_the_real_data(shared_data_dir, tmp_path, script, extra):
    command = [sys.executable, str(REPO_ROOT / script), "--quick", "--jobs", "2",
               "--data-dir", str(shared_data_dir), "--results-dir", str(tmp_path), *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    method = extra[1]
    model = extra[-1] if "--model" in extra else "mlp"
    for seed in (0, 1):
        accuracy = np.load(RunKey(model, method, seed).array_path(tmp_path, "consensus_accuracy"))
        assert accuracy.shape == (3,) and np.all(accuracy > 0.7)
    assert method in done.stdout and "±" in done.stdout


def test_missing_data_is_one_clear_error(tmp_path):
    command = [sys.executable, str(REPO_ROOT / "wall-robot/run_benchmark.py"), "--quick",
               "--data-dir", str(tmp_path / "empty"), "--results-dir", str(tmp_path / "r")]
    env = {"PATH": "", "HOME": str(tmp_path), "NO_NETWORK_FOR_TEST": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**env, "PYTHONPATH": ""})
    assert done.returncode == 2
    assert "sensor_readings_4.csv" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()


def test_a_fixed_data_seed_shares_the_data_draw_and_varies_the_rest(tiny_benchmark, tmp_path):
    argv = ["--methods", "random", "--seeds", "2", "--data-seed", "7", "--jobs", "1", "--results-dir", str(tmp_path)]
    assert main(tiny_benchmark, argv) == 0
    keys = [RunKey("logistic", "random", seed, ("data-seed-7",)) for seed in (0, 1)]
    first = [np.load(k.array_path(tmp_path, "labels_per_example"))[0] for k in keys]
    assert np.array_equal(first[0], first[1])  # the same initial labels
    later = [np.load(k.array_path(tmp_path, "labels_per_example"))[-1] for k in keys]
    assert not np.array_equal(later[0], later[1])  # different choices afterwards
    assert json.loads(keys[0].metadata_path(tmp_path).read_text())["config"]["data_seed"] == 7
    assert not (tmp_path / "logistic" / "random_0.json").exists()


HIDE_AND_RUN = textwrap.dedent('''
    import sys

    class Hidden:  # as if the module were not installed
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == sys.argv[1]:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    sys.meta_path.insert(0, Hidden())
    from common.runner import cli
    sys.exit(cli(sys.argv[2:]))
''')


@pytest.mark.parametrize("hidden", ["torch", "torchvision"])
def test_a_missing_optional_module_is_one_line_before_any_run(tmp_path, hidden):
    argv = ["cifar-10h", "--model", "resnet18", "--quick", "--methods", "random", "activelab",
            "--data-dir", str(tmp_path / "no-data"), "--results-dir", str(tmp_path / "r")]
    done = subprocess.run([sys.executable, "-c", HIDE_AND_RUN, hidden, *argv], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.startswith(f"python -m common.runner cifar-10h: error: --model resnet18 needs {hidden}, "
                                  "which is not installed; install it with: pip install ")
    assert "[images]" in done.stderr or "requirements.txt" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()


def test_a_scheduler_without_dask_distributed_is_one_line(tiny_benchmark, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # not installed
    argv = ["--scheduler", "tcp://localhost:8786", "--results-dir", str(tmp_path / "r")]
    assert main(tiny_benchmark, argv) == 2
    err = capsys.readouterr().err
    assert "error: --scheduler needs distributed, which is not installed" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_the_install_command_names_the_extra_of_an_installed_package(monkeypatch):
    from common import runner

    monkeypatch.setattr(runner.package_metadata, "distribution", lambda name: object())
    message = runner.missing_dependency("torch", "--model resnet18")
    assert message == ("--model resnet18 needs torch, which is not installed; install it with: "
                       "pip install 'active-label-benchmark[images]'")
    assert runner.missing_dependency("distributed", "--scheduler").endswith("'active-label-benchmark[cluster]'")

    def not_installed(name):
        raise runner.package_metadata.PackageNotFoundError(name)

    monkeypatch.setattr(runner.package_metadata, "distribution", not_installed)
    assert runner.missing_dependency("torch", "--model resnet18").endswith(
        f"pip install -r {runner.PROJECT_ROOT / 'requirements.txt'}")  # a plain checkout
    monkeypatch.setattr(runner, "IN_CHECKOUT", False)
    assert runner.missing_dependency("numba", "--model mlp").endswith("pip install numba")


def test_outside_a_checkout_results_go_to_the_working_directory_and_no_commit_is_guessed(
        tiny_benchmark, tmp_path, monkeypatch):
    from common import runner

    assert runner.IN_CHECKOUT and runner.default_results_dir(tiny_benchmark) == REPO_ROOT / "tiny" / "results"
    monkeypatch.setattr(runner, "IN_CHECKOUT", False)
    monkeypatch.chdir(tmp_path)
    assert runner.default_results_dir(tiny_benchmark) == tmp_path / "tiny" / "results"
    assert runner.environment_metadata()["git_commit"] == "unknown"


def test_cost_settings_go_to_their_own_folders_and_configuration(tiny_benchmark, tmp_path):
    argv = ["--methods", "random", "--seeds", "1", "--jobs", "1", "--results-dir", str(tmp_path),
            "--assigner", "best_value", "--annotator-cost", "accuracy", "--round-cost", "15"]
    assert main(tiny_benchmark, argv) == 0
    key = RunKey("logistic", "random", 0, ("assigner-best_value", "annotator-cost-accuracy", "round-cost-15"))
    metadata = json.loads(key.metadata_path(tmp_path).read_text())
    assert metadata["config"]["annotator_cost"] == "accuracy" and metadata["config"]["round_cost"] == 15.0
    prices = np.array(metadata["problem"]["annotator_price"])
    accuracy = np.array(metadata["problem"]["annotator_accuracy"])  # 3 classes: chance 1/3
    assert np.allclose(prices, 1 + (accuracy - 1 / 3) / (2 / 3), atol=1e-3) and np.all(prices > 1)
    spent = np.load(key.array_path(tmp_path, "label_cost"))
    assert spent.shape == (3,) and np.all(spent >= 15) and np.all(spent - 15 < prices.max())
    # the defaults keep the folder and configuration they always had
    assert main(tiny_benchmark, argv[:8]) == 0
    config = json.loads(RunKey("logistic", "random", 0).metadata_path(tmp_path).read_text())["config"]
    assert "annotator_cost" not in config and "round_cost" not in config
    assert np.array_equal(np.load(RunKey("logistic", "random", 0).array_path(tmp_path, "label_cost")), [10.0] * 3)


def test_pricing_real_annotators_is_one_line_error(tiny_benchmark, tmp_path, capsys):
    import dataclasses

    def real_crowd(*args):
        problem = tiny_benchmark.make_problem(*args)
        return dataclasses.replace(problem, info={**problem.info, "annotator_identity": "real"})

    benchmark = dataclasses.replace(tiny_benchmark, make_problem=real_crowd)
    argv = ["--annotator-cost", "accuracy", "--jobs", "1", "--results-dir", str(tmp_path / "r")]
    assert main(benchmark, argv) == 2
    err = capsys.readouterr().err
    assert "--annotator-cost accuracy prices simulated annotators, but tiny's annotators are real: use " \
           "--annotator-cost flat" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_the_compiled_mlp_gives_the_same_arrays_with_any_jobs_and_as_sklearns_mlp(tiny_benchmark, tmp_path):
    """The README's claims for the default model, on a tiny configuration: every recorded array is
    bit-identical with --jobs 1 and --jobs 2 (worker processes, each with its compiled kernels),
    and equal to those of scikit-learn's own MLPClassifier (--model sklearn-mlp)."""
    import dataclasses

    from common.models import TABULAR_MODELS

    models = {name: TABULAR_MODELS[name] for name in ("mlp", "sklearn-mlp")}
    benchmark = dataclasses.replace(tiny_benchmark, models=models, ensemble=("mlp",), default_model="mlp")
    base = ["--methods", "random", "activelab", "--seeds", "1"]
    for model, jobs in (("mlp", 1), ("mlp", 2), ("sklearn-mlp", 1)):
        argv = [*base, "--model", model, "--jobs", str(jobs), "--results-dir", str(tmp_path / f"{model}-{jobs}")]
        assert main(benchmark, argv) == 0
    one, two = arrays(tmp_path / "mlp-1", "mlp", seeds=(0,)), arrays(tmp_path / "mlp-2", "mlp", seeds=(0,))
    reference = arrays(tmp_path / "sklearn-mlp-1", "sklearn-mlp", seeds=(0,))
    assert one.keys() == two.keys() == reference.keys()
    assert all(np.array_equal(one[k], two[k]) for k in one)
    assert all(np.array_equal(one[k], reference[k]) for k in one)
    metadata = json.loads(RunKey("mlp", "activelab", 0).metadata_path(tmp_path / "mlp-2").read_text())
    folds = [fold for round_fits in metadata["fits"] for member in round_fits for fold in member]
    assert len(folds) == 3 * 3 and all(fold["epochs"] > 0 for fold in folds)  # 3 rounds x 3 folds trained
