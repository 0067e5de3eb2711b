"""The README's "Adding a method / a dataset / a model" sections, as a user would follow them: a
plugin file registers a toy benchmark (its own data and model) and a method, and the public entry
point runs a 2-round grid of it in worker processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from common.methods import register
from common.results import RunKey
from common.runner import main
from tests.conftest import REPO_ROOT

PLUGIN = textwrap.dedent('''
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.naive_bayes import GaussianNB

    from common.benchmark import register_benchmark, tabular_benchmark
    from common.methods import ScoringState, register
    from common.models import Model


    def load_toy(data_dir):
        return make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=0,
                                   n_classes=3, random_state=0)


    def naive_bayes(seed):
        return GaussianNB()


    register_benchmark(tabular_benchmark(
        "toy", load_toy, class_counts=(80, 60, 40), n_test=60, num_annotators=5, trace_fraction=0.8,
        models={"naive-bayes": Model(naive_bayes)}, ensemble=("naive-bayes",),
        default_model="naive-bayes", rounds=2, batch_size=10, n_initial=30, folds=3,
    ))


    @register("fewest_labels_first")
    def fewest_labels_first(state: ScoringState) -> np.ndarray:
        return state.num_labels + state.rng.random(len(state.labels))
''')


def test_a_plugin_adds_a_dataset_a_model_and_a_method_and_runs_through_the_public_entry_point(tmp_path):
    plugin = tmp_path / "my_plugin.py"
    plugin.write_text(PLUGIN)
    command = [sys.executable, "-m", "common.runner", "toy", "--plugin", str(plugin),
               "--methods", "fewest_labels_first", "random", "--seeds", "2", "--jobs", "2",
               "--results-dir", str(tmp_path / "results")]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for method in ("fewest_labels_first", "random"):
        for seed in (0, 1):
            key = RunKey("naive-bayes", method, seed)
            assert np.load(key.array_path(tmp_path / "results", "consensus_accuracy")).shape == (2,)
    assert "fewest_labels_first" in done.stdout


def test_a_missing_plugin_or_benchmark_is_one_line(tmp_path):
    for argv, message in ((["toy", "--plugin", str(tmp_path / "nope.py")], "no such file"),
                          (["no-such-benchmark"], "unknown benchmark 'no-such-benchmark'")):
        done = subprocess.run([sys.executable, "-m", "common.runner", *argv], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1


def test_registration_rejects_an_unknown_consensus_rule_and_a_bad_name():
    with pytest.raises(ValueError, match="unknown consensus rule 'vote'"):
        register("never_registered", consensus="vote")(lambda state: state.num_labels)
    with pytest.raises(ValueError, match="letters, digits"):
        register("bad/name")(lambda state: state.num_labels)


def test_a_dataset_flag_keeps_its_results_apart(tiny_benchmark, tmp_path):
    import dataclasses

    from common.benchmark import DatasetFlag

    def configure(noise: float):
        return dataclasses.replace(tiny_benchmark, settings={"tiny": True, "noise": noise})

    flagged = dataclasses.replace(tiny_benchmark, flags=(
        DatasetFlag("--noise", float, 0.5, "noise", lambda v: None if v >= 0 else "must be at least 0"),
    ), configure=configure)
    base = ["--methods", "random", "--seeds", "1", "--rounds", "1", "--jobs", "1", "--results-dir", str(tmp_path)]
    assert main(flagged, base) == 0 and main(flagged, base + ["--noise", "0.25"]) == 0
    assert RunKey("logistic", "random", 0).metadata_path(tmp_path).exists()
    assert RunKey("logistic", "random", 0, ("noise-0.25",)).metadata_path(tmp_path).exists()
    assert main(flagged, base + ["--noise", "-1"]) == 2
