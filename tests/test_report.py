from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from common import analysis, report
from common.results import RunKey, write_run
from tests.test_analysis import fake_arrays, fake_config, write_fake_runs


def test_write_report_writes_figures_tables_and_markdown(tmp_path):
    write_fake_runs(tmp_path / "results")
    result = report.write_report(tmp_path)  # a benchmark folder: reads its results/
    out = tmp_path / "results" / "report"
    assert result.out_dir == out
    names = {p.name for p in result.figures}
    assert names == {"mlp_learning_curves.png", "mlp_learning_curves_vs_random.png", "mlp_budget.png",
                     "critical_difference.png"}
    assert all(p.stat().st_size > 0 for p in result.figures)
    assert (out / "summary.md").read_text() == result.markdown
    for name in names:
        assert f"]({name})" in result.markdown and name not in result.text()
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.method) == ["random", "entropy", "activelab"]
    runs = analysis.read_tidy(out / "runs.csv")
    assert len(runs) == 3 * 3 * 4
    assert "low power (3 seeds)" in result.markdown and "0.25" in result.markdown  # 2 / 2^3
    assert "| activelab | 3 |" in result.markdown and "not reached" in result.markdown
    # the report folder is not read back as results
    assert len(analysis.load_results(tmp_path)) == 1


def test_report_prints_holm_corrected_p_values_with_enough_seeds(tmp_path):
    seeds = range(7)
    write_fake_runs(tmp_path, {"random": 0.0, "entropy": -0.02}, seeds=seeds)
    # a method whose advantage over random varies with the seed, so the test is not degenerate
    for seed in seeds:
        arrays = fake_arrays(0.03 * (seed % 3) - 0.02, seed, 3)
        write_run(tmp_path, RunKey("mlp", "margin", seed), arrays, {"config": fake_config("margin", seed)})
    result = report.write_report(tmp_path)
    (group,) = analysis.load_results(tmp_path)
    random = group.methods["random"].score("final_consensus_accuracy")
    p = [scipy_stats.wilcoxon(group.methods[m].score("final_consensus_accuracy") - random).pvalue
         for m in ("entropy", "margin")]
    holm = np.minimum(np.maximum.accumulate(np.sort(p) * np.array([2, 1])), 1)[np.argsort(np.argsort(p))]
    for value in holm:
        assert f"{value:.3g}" in result.markdown
    assert "low power" not in result.markdown
    assert "Friedman test of final consensus accuracy across the 3 methods" in result.markdown


def test_cli_writes_each_folder_and_combined_ranks(tmp_path, capsys):
    write_fake_runs(tmp_path / "a" / "results")
    write_fake_runs(tmp_path / "b" / "results", {"random": 0.0, "activelab": 0.01}, seeds=(0, 1))
    status = report.main([str(tmp_path / "a"), str(tmp_path / "b"), "--combined-out", str(tmp_path / "all")])
    assert status == 0
    assert (tmp_path / "a" / "results" / "report" / "summary.md").exists()
    assert (tmp_path / "b" / "results" / "report" / "mlp_learning_curves.png").exists()
    combined = (tmp_path / "all" / "summary.md").read_text()
    assert "5 blocks" in combined and (tmp_path / "all" / "critical_difference.png").exists()
    assert "wrote" in capsys.readouterr().out


def test_cli_reports_missing_and_mixed_results(tmp_path, capsys):
    assert report.main([str(tmp_path / "empty")]) == 1
    assert "No finished runs" in capsys.readouterr().err
    write_fake_runs(tmp_path)
    key = RunKey("mlp", "random", 5)
    config = {**fake_config("random", 5), "batch_size": 7}
    write_run(tmp_path, key, fake_arrays(0.0, 5, 3), {"config": config})
    assert report.main([str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "batch_size" in error and "random_5.json" in error


def write_ie_thresh_runs(results_dir, seeds=(0, 1, 2)) -> None:
    """Finished ``random`` runs with the ``ie_thresh`` assigner: a cross beside the default table."""
    for seed in seeds:
        arrays = fake_arrays(0.05, seed, 4)
        arrays["new_label_accuracy"] = np.full(4, 0.7)
        arrays["labels_per_annotator"] = np.tile([1, 4], (4, 1))
        metadata = {"config": {**fake_config("random", seed), "assigner": "ie_thresh"},
                    "problem": {"near_random_annotators": [0]}}
        write_run(results_dir, RunKey("mlp", "random", seed, ("assigner-ie_thresh",)), arrays, metadata)


def test_the_report_compares_assigners_when_a_table_was_run_with_several(tmp_path):
    write_fake_runs(tmp_path, {"random": 0.0})
    write_ie_thresh_runs(tmp_path)
    result = report.write_report(tmp_path)
    assert "## Who labels: assigners" in result.markdown and "| random | ie_thresh | 3 |" in result.markdown
    assert (tmp_path / "report" / "assigners_mlp.png").exists() and (tmp_path / "report" / "assigners.csv").exists()


def test_a_cross_run_with_few_methods_does_not_shrink_the_ranks(tmp_path):
    write_fake_runs(tmp_path)  # random, entropy, activelab
    write_ie_thresh_runs(tmp_path)
    groups = analysis.load_results(tmp_path)
    assert [len(g.methods) for g in analysis.widest_groups(groups)] == [3]
    result = report.write_report(tmp_path)
    ranks = result.markdown.split("## Ranks across tables and seeds")[1]
    assert "Tables: fake / mlp (own consensus rules)." in ranks
    assert "Friedman test: χ²" in ranks  # 3 methods ranked, not random alone
