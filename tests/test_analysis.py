from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd
import pytest

from common import analysis
from common.results import RunKey, write_run

ROUNDS, BATCH, N_INITIAL, POOL = 4, 5, 10, 30


def fake_config(method: str, seed: int, rounds: int = ROUNDS, consensus: str = "majority") -> dict:
    return {
        "benchmark": "fake", "dataset": {"size": POOL}, "model": "mlp", "ensemble": None,
        "method": method, "consensus": consensus, "seed": seed, "rounds": rounds,
        "batch_size": BATCH, "n_initial": N_INITIAL, "folds": 3,
    }


def fake_arrays(offset: float, seed: int, new_per_round: int, rounds: int = ROUNDS) -> dict[str, np.ndarray]:
    """A consistent run: ``N_INITIAL`` examples with one label each, then ``BATCH`` labels per
    round of which ``new_per_round`` go to unlabeled examples and the rest to relabeling."""
    counts = np.zeros(POOL, dtype=int)
    counts[:N_INITIAL] = 1
    labels_per_example = np.zeros((rounds, POOL), dtype=int)
    for r in range(rounds):
        labels_per_example[r] = counts
        first_new = np.count_nonzero(counts)
        counts[first_new:first_new + new_per_round] += 1
        counts[: BATCH - new_per_round] += 1
    rounds_index = np.arange(rounds)
    return {
        "consensus_accuracy": np.minimum(0.6 + 0.05 * rounds_index + offset + 0.01 * seed, 1.0),
        "model_accuracy": np.minimum(0.5 + 0.04 * rounds_index + offset / 2 + 0.02 * seed, 1.0),
        "num_new_examples": np.full(rounds, new_per_round),
        "label_distribution_entropy": np.full(rounds, 0.9),
        "labels_per_example": labels_per_example,
    }


def fake_pool_accuracy(offset: float, seed: int, rounds: int = ROUNDS) -> np.ndarray:
    return np.minimum(0.55 + 0.04 * np.arange(rounds) + offset + 0.005 * seed, 1.0)


def write_cost_metrics(results_dir: Path, key: RunKey, arrays: dict, pool_offset: float, cost: float = 1.0) -> None:
    """Add issue 18's per-round metrics to a finished run: pool label accuracy, correct labels
    (consensus accuracy x labeled examples) and ``cost`` per label bought (``BATCH`` a round)."""
    rounds = len(arrays["consensus_accuracy"])
    labeled = np.count_nonzero(arrays["labels_per_example"] > 0, axis=1)
    extra = {
        "pool_label_accuracy": fake_pool_accuracy(pool_offset, key.seed, rounds),
        "correct_labels": np.rint(arrays["consensus_accuracy"] * labeled).astype(int),
        "label_cost": np.full(rounds, BATCH * cost),
    }
    for metric, values in extra.items():
        np.save(key.array_path(results_dir, metric), values)


def write_fake_runs(
    results_dir: Path,
    offsets: Optional[dict[str, float]] = None,
    seeds: Sequence[int] = (0, 1, 2),
    consensus_override: Optional[str] = None,
    pool_offsets: Optional[dict[str, float]] = None,
    model: str = "mlp",
    benchmark: str = "fake",
) -> None:
    """Finished runs of each method in ``offsets`` (its accuracy offset) for every seed; with
    ``pool_offsets`` (per method), runs that record issue 18's metrics too."""
    offsets = offsets or {"random": 0.0, "entropy": -0.02, "activelab": 0.1}
    for method, offset in offsets.items():
        for seed in seeds:
            key = RunKey(model, method, seed, (f"consensus-{consensus_override}",) if consensus_override else ())
            new = 2 if method == "activelab" else 4
            config = {**fake_config(method, seed, consensus=consensus_override or "majority"),
                      "model": model, "benchmark": benchmark}
            arrays = fake_arrays(offset, seed, new)
            write_run(results_dir, key, arrays, {"config": config, "git_commit": "0123456789abcdef"})
            if pool_offsets is not None:
                write_cost_metrics(results_dir, key, arrays, pool_offsets[method])


def test_loads_groups_in_registry_order_with_labels_collected(tmp_path):
    write_fake_runs(tmp_path)
    (group,) = analysis.load_results(tmp_path)
    assert list(group.methods) == ["random", "entropy", "activelab"]  # common.methods order
    assert group.benchmark == "fake" and group.model == "mlp" and group.consensus_override is None
    assert group.all_seeds == [0, 1, 2] and group.short_methods() == [] and group.incomplete == []
    runs = group.methods["activelab"]
    np.testing.assert_array_equal(runs.seeds, [0, 1, 2])
    expected = N_INITIAL + BATCH * np.arange(ROUNDS)  # every round adds BATCH labels
    np.testing.assert_array_equal(runs.n_labels, np.tile(expected, (3, 1)))
    np.testing.assert_allclose(runs.consensus_accuracy[1], 0.6 + 0.05 * np.arange(ROUNDS) + 0.1 + 0.01)
    assert "config" not in group.config and group.config["rounds"] == ROUNDS and "seed" not in group.config
    assert group.commits == {"0123456789abcdef": 9}


def test_benchmark_folder_resolves_to_its_results(tmp_path):
    write_fake_runs(tmp_path / "results")
    (group,) = analysis.load_results(tmp_path)
    assert group.folder == tmp_path / "results" / "mlp"


def test_benchmark_folder_without_results_resolves_to_results(tmp_path):
    (tmp_path / "run_benchmark.py").write_text("")
    assert analysis.resolve_results_dir(tmp_path) == tmp_path / "results"
    assert analysis.load_results(tmp_path) == []


def test_missing_folder_and_report_folder_are_not_groups(tmp_path):
    assert analysis.load_results(tmp_path / "nothing-here") == []
    write_fake_runs(tmp_path)
    (tmp_path / analysis.REPORT_FOLDER).mkdir()
    (tmp_path / analysis.REPORT_FOLDER / "x.json").write_text("{}")
    assert len(analysis.load_results(tmp_path)) == 1


def test_runs_in_progress_are_skipped_and_reported(tmp_path):
    write_fake_runs(tmp_path)
    RunKey("mlp", "entropy", 2).metadata_path(tmp_path).unlink()  # arrays written, JSON not yet
    (group,) = analysis.load_results(tmp_path)
    np.testing.assert_array_equal(group.methods["entropy"].seeds, [0, 1])
    assert group.short_methods() == ["entropy"]
    assert group.incomplete == ["entropy_2 (arrays without JSON: being written or interrupted)"]
    text = group.describe()
    assert "entropy: 2 of 3 seeds (missing 2)" in text and "entropy_2 (arrays without JSON" in text


def test_checkpointed_runs_are_reported_in_progress(tmp_path):
    write_fake_runs(tmp_path)
    checkpoint = tmp_path / "mlp" / "checkpoints" / "activelab_3.npz"  # see common.checkpoint
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"")
    (group,) = analysis.load_results(tmp_path)
    assert group.all_seeds == [0, 1, 2]
    assert group.incomplete == ["activelab_3 (checkpointed: in progress or interrupted)"]


def test_json_without_arrays_is_skipped(tmp_path):
    write_fake_runs(tmp_path)
    RunKey("mlp", "random", 1).array_path(tmp_path, "model_accuracy").unlink()
    (group,) = analysis.load_results(tmp_path)
    np.testing.assert_array_equal(group.methods["random"].seeds, [0, 2])
    assert any(item.startswith("random_1.json") for item in group.incomplete)


def test_mixed_configurations_are_refused_naming_the_files(tmp_path):
    write_fake_runs(tmp_path)
    key = RunKey("mlp", "entropy", 1)
    write_run(tmp_path, key, fake_arrays(0.0, 1, 3, rounds=6), {"config": fake_config("entropy", 1, rounds=6)})
    with pytest.raises(analysis.MixedConfigurationError) as error:
        analysis.load_results(tmp_path)
    message = str(error.value)
    assert "rounds" in message and "entropy_1.json" in message and "random_0.json" in message
    assert str(tmp_path / "mlp") in message


def test_consensus_override_is_its_own_group(tmp_path):
    write_fake_runs(tmp_path)
    write_fake_runs(tmp_path, {"random": 0.0, "activelab": 0.05}, consensus_override="crowdlab")
    default, override = analysis.load_results(tmp_path)
    assert default.consensus_override is None and override.consensus_override == "crowdlab"
    assert list(override.methods) == ["random", "activelab"]
    assert override.methods["random"].consensus == "crowdlab"
    assert override.slug == "mlp_consensus-crowdlab"


def test_score_matrix_pairs_runs_by_common_seeds(tmp_path):
    write_fake_runs(tmp_path, {"random": 0.0}, seeds=(0, 1, 2))
    write_fake_runs(tmp_path, {"activelab": 0.1}, seeds=(1, 2))
    (group,) = analysis.load_results(tmp_path)
    names, seeds, matrix = group.score_matrix("final_consensus_accuracy")
    assert names == ["random", "activelab"]
    np.testing.assert_array_equal(seeds, [1, 2])
    last = ROUNDS - 1
    expected = np.array([[0.6 + 0.05 * last + 0.01 * s + o for o in (0.0, 0.1)] for s in (1, 2)])
    np.testing.assert_allclose(matrix, expected)


def test_curves_relative_to_a_method_are_paired_by_seed(tmp_path):
    write_fake_runs(tmp_path, {"random": 0.0}, seeds=(0, 1, 2))
    write_fake_runs(tmp_path, {"activelab": 0.1}, seeds=(1, 2))
    (group,) = analysis.load_results(tmp_path)
    np.testing.assert_array_equal(group.curves("model_accuracy", "random"), group.methods["random"].model_accuracy)
    difference = group.curves("consensus_accuracy", "activelab", relative_to="random")
    np.testing.assert_allclose(difference, np.full((2, ROUNDS), 0.1))


def test_summary_table_means_ranks_and_label_efficiency(tmp_path):
    write_fake_runs(tmp_path)
    (group,) = analysis.load_results(tmp_path)
    table = analysis.summary_table(group).set_index("method")
    last = ROUNDS - 1
    finals = 0.6 + 0.05 * last + 0.01 * np.arange(3)
    assert table.loc["random", "final_consensus_accuracy_mean"] == pytest.approx(finals.mean())
    assert table.loc["random", "final_consensus_accuracy_std"] == pytest.approx(np.std(finals, ddof=1))
    auc = np.mean(0.6 + 0.05 * np.arange(ROUNDS)) + 0.01 * np.arange(3)
    assert table.loc["random", "consensus_auc_mean"] == pytest.approx(auc.mean())
    # activelab is always best, entropy always worst
    assert table["average_rank"].to_dict() == {"random": 2.0, "entropy": 3.0, "activelab": 1.0}
    # random's final mean is 0.6 + 0.15 + 0.01; activelab (+0.1) is there at round 1 (0.65 + 0.1 + 0.01)
    assert table.loc["activelab", "labels_to_reach_reference"] == N_INITIAL + BATCH * 1
    assert table.loc["random", "labels_to_reach_reference"] == N_INITIAL + BATCH * last
    assert np.isnan(table.loc["entropy", "labels_to_reach_reference"])
    # 3 seeds: too few for the Wilcoxon test
    assert np.isnan(table.loc["entropy", "vs_reference_p"]) and "too few seeds" in table.loc["entropy", "vs_reference_note"]
    assert table.loc["random", "vs_best"] == "activelab"
    assert table.loc["entropy", "vs_best_mean_difference"] == pytest.approx(-0.12)


def test_rank_blocks_stack_seeds_of_every_group_over_shared_methods(tmp_path):
    write_fake_runs(tmp_path / "a")
    write_fake_runs(tmp_path / "b", {"random": 0.0, "activelab": -0.1}, seeds=(0, 1))
    groups = analysis.load_results(tmp_path / "a") + analysis.load_results(tmp_path / "b")
    names, matrix = analysis.rank_blocks(groups, "final_consensus_accuracy")
    assert names == ["random", "activelab"]
    assert matrix.shape == (5, 2)
    assert np.all(matrix[:3, 1] > matrix[:3, 0]) and np.all(matrix[3:, 1] < matrix[3:, 0])


def test_tidy_table_has_one_row_per_run_and_round(tmp_path):
    write_fake_runs(tmp_path)
    groups = analysis.load_results(tmp_path)
    table = analysis.tidy_table(groups)
    assert list(table.columns) == list(analysis.TIDY_COLUMNS)
    assert len(table) == 3 * 3 * ROUNDS
    row = table[(table.method == "activelab") & (table.seed == 2) & (table["round"] == 3)].iloc[0]
    arrays = fake_arrays(0.1, 2, 2)
    assert row.consensus_accuracy == pytest.approx(arrays["consensus_accuracy"][3])
    assert row.model_accuracy == pytest.approx(arrays["model_accuracy"][3])
    assert row.n_labels == arrays["labels_per_example"][3].sum()
    assert row.num_new_examples == 2 and row.benchmark == "fake" and row.consensus == "majority"
    assert row.consensus_override == ""


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tidy_export_round_trip(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    write_fake_runs(tmp_path / "results")
    write_fake_runs(tmp_path / "results", {"random": 0.0}, consensus_override="crowdlab")
    table = analysis.tidy_table(analysis.load_results(tmp_path / "results"))
    path = analysis.write_tidy(table, tmp_path / f"runs{suffix}")
    pd.testing.assert_frame_equal(analysis.read_tidy(path), table, check_dtype=False)
    back = analysis.read_tidy(path)
    assert set(back.consensus_override) == {"", "crowdlab"}
    assert back["seed"].dtype.kind == "i" and back["consensus_accuracy"].dtype.kind == "f"


def test_assigners_are_a_factor_with_the_labels_bought_and_who_gave_them(tmp_path):
    write_fake_runs(tmp_path, {"random": 0.0, "activelab": 0.1})  # the default assigner, older runs
    for assigner, paid, seeds in (("best_estimated", [0, 5, 0], (0, 1)), ("ie_thresh", [2, 3, 0], (0, 1, 2))):
        for seed in seeds:
            arrays = fake_arrays(0.05, seed, 4)
            arrays["new_label_accuracy"] = np.full(ROUNDS, 0.5 + 0.1 * seed)
            arrays["labels_per_annotator"] = np.tile(paid, (ROUNDS, 1))
            config = {**fake_config("random", seed), "assigner": assigner}
            metadata = {"config": config, "problem": {"near_random_annotators": [0]}}
            write_run(tmp_path, RunKey("mlp", "random", seed, (f"assigner-{assigner}",)), arrays, metadata)
    groups = analysis.load_results(tmp_path)
    assert sorted(g.assigner for g in groups) == ["best_estimated", "ie_thresh", "random"]
    table = analysis.assigner_table(groups).set_index(["method", "assigner"])
    assert table.loc[("random", "ie_thresh"), "near_random_share_mean"] == pytest.approx(0.4)
    assert table.loc[("random", "best_estimated"), "near_random_share_mean"] == 0
    assert table.loc[("random", "ie_thresh"), "new_label_accuracy_mean"] == pytest.approx(0.55)  # seeds 0, 1
    assert set(table.xs("random", level="method")["seeds"]) == {2}  # paired: the seeds every assigner has
    assert np.isnan(table.loc[("random", "random"), "new_label_accuracy_mean"])  # runs made before the metric
    assert table.loc[("activelab", "random"), "seeds"] == 3
    tidy = analysis.tidy_table(groups)
    assert set(tidy.assigner) == {"random", "best_estimated", "ie_thresh"}


def test_issue_18_metrics_load_and_older_runs_derive_what_they_exactly_can(tmp_path):
    write_fake_runs(tmp_path / "new", pool_offsets={"random": 0.0, "entropy": 0.01, "activelab": -0.03})
    write_fake_runs(tmp_path / "old")
    (new,) = analysis.load_results(tmp_path / "new")
    (old,) = analysis.load_results(tmp_path / "old")
    runs, before = new.methods["activelab"], old.methods["activelab"]
    np.testing.assert_allclose(runs.pool_label_accuracy[2], fake_pool_accuracy(-0.03, 2))
    expected_labeled = N_INITIAL + 2 * np.arange(ROUNDS)  # activelab labels 2 new examples a round
    np.testing.assert_array_equal(runs.n_labeled, np.tile(expected_labeled, (3, 1)))
    np.testing.assert_array_equal(runs.cost_spent[0], BATCH * np.arange(ROUNDS))  # before each measurement
    assert runs.derived == () and set(before.derived) == {"correct_labels", "cost_spent"}
    # correct labels of older runs: consensus accuracy over the labeled examples times their number
    np.testing.assert_array_equal(before.correct_labels, runs.correct_labels)
    np.testing.assert_array_equal(before.cost_spent, runs.cost_spent)  # 1 per label bought
    assert np.isnan(before.pool_label_accuracy).all() and np.isnan(before.label_cost).all()
    assert runs.score("pool_label_accuracy")[1] == pytest.approx(fake_pool_accuracy(-0.03, 1)[-1])
    assert not before.records("pool_label_accuracy").any() and before.records("correct_labels").all()


def test_the_ranking_falls_back_where_runs_lack_the_metric_and_says_which_commit(tmp_path):
    write_fake_runs(tmp_path / "new", pool_offsets={"random": 0.0, "entropy": 0.01, "activelab": -0.03})
    write_fake_runs(tmp_path / "old")
    (new,) = analysis.load_results(tmp_path / "new")
    (old,) = analysis.load_results(tmp_path / "old")
    recorded = analysis.choose_ranking([new])
    assert recorded.score == "final_pool_label_accuracy" and not recorded.fell_back and recorded.note() == ""
    for groups in ([old], [new, old]):
        ranking = analysis.choose_ranking(groups, "pool_label_accuracy")
        assert ranking.fell_back and ranking.score == "final_consensus_accuracy"
        assert "not recorded by 9 of the" in ranking.note() and "0123456" in ranking.note()
        assert "final consensus accuracy (labeled examples) instead (fallback)" in ranking.note()
    assert analysis.choose_ranking([old], "model_auc").score == "model_auc"
    with pytest.raises(ValueError, match="unknown metric 'accuracy'"):
        analysis.choose_ranking([old], "accuracy")


def test_summary_table_ranks_by_the_chosen_metric(tmp_path):
    # pool label accuracy ranks entropy first and activelab last; consensus accuracy the reverse
    write_fake_runs(tmp_path, pool_offsets={"random": 0.0, "entropy": 0.05, "activelab": -0.03})
    (group,) = analysis.load_results(tmp_path)
    by_pool = analysis.summary_table(group).set_index("method")
    assert by_pool["average_rank"].to_dict() == {"random": 2.0, "entropy": 1.0, "activelab": 3.0}
    assert set(by_pool["rank_by"]) == {"final_pool_label_accuracy"} and by_pool.loc["random", "vs_best"] == "entropy"
    assert by_pool.loc["activelab", "vs_reference_mean_difference"] == pytest.approx(-0.03)
    # entropy (+0.05) reaches random's final mean pool label accuracy at round 2 (0.04 a round)
    assert by_pool.loc["entropy", "cost_to_reach_reference"] == BATCH * 2
    assert by_pool.loc["entropy", "labels_to_reach_reference"] == N_INITIAL + BATCH * 2
    by_consensus = analysis.summary_table(group, "consensus_accuracy").set_index("method")
    assert by_consensus["average_rank"].to_dict() == {"random": 2.0, "entropy": 3.0, "activelab": 1.0}
    assert by_consensus.loc["activelab", "final_n_labeled_mean"] == N_INITIAL + 2 * (ROUNDS - 1)
    assert by_consensus.loc["activelab", "final_cost_spent_mean"] == BATCH * (ROUNDS - 1)
