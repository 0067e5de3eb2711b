from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from common import analysis, report
from common.results import RunKey, write_run
from tests.test_analysis import N_INITIAL, ROUNDS, fake_arrays, fake_config, write_fake_runs

POOL_OFFSETS = {"random": 0.0, "entropy": 0.05, "activelab": -0.03}
"""Pool label accuracy ranks entropy first and activelab last; consensus accuracy the reverse."""


def _row(markdown: str, method: str, section: str = "") -> list[str]:
    """The cells of ``method``'s first table row (after ``section``) in a report."""
    text = markdown.split(section, 1)[1] if section else markdown
    line = next(line for line in text.splitlines() if line.startswith(f"| {method} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_write_report_writes_figures_tables_and_markdown(tmp_path):
    write_fake_runs(tmp_path / "results")
    result = report.write_report(tmp_path)  # a benchmark folder: reads its results/
    out = tmp_path / "results" / "report"
    assert result.out_dir == out
    names = {p.name for p in result.figures}
    assert names == {"mlp_learning_curves.png", "mlp_learning_curves_vs_random.png", "mlp_learning_curves_cost.png",
                     "mlp_budget.png", "critical_difference.png"}
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
    assert "Friedman test of final consensus accuracy (labeled examples) across the 3 methods" in result.markdown


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


def _markdown(group, metric: str = "pool_label_accuracy") -> str:
    """One table's section of a report, without drawing its figures."""
    return "\n".join(report.group_markdown(group, analysis.summary_table(group, metric), "random"))


def test_the_report_ranks_tests_and_draws_by_the_chosen_metric(tmp_path, monkeypatch):
    write_fake_runs(tmp_path, pool_offsets=POOL_OFFSETS)
    (group,) = analysis.load_results(tmp_path)
    by_pool = _markdown(group)  # the default: final pool label accuracy
    assert "Ranked by" not in by_pool
    assert _row(by_pool, "entropy")[-2] == "1.00" and _row(by_pool, "activelab")[-2] == "3.00"
    assert "Paired comparisons of final pool label accuracy" in by_pool and "diff. vs best (entropy)" in by_pool
    assert "Friedman test of final pool label accuracy" in by_pool
    assert "labels (cost) to reach random's final pool label accuracy" in by_pool
    assert _row(by_pool, "entropy")[-1] == f"{N_INITIAL + 5 * 2} (10)"  # at round 2
    by_consensus = _markdown(group, "consensus_accuracy")
    assert _row(by_consensus, "entropy")[-2] == "3.00" and _row(by_consensus, "activelab")[-2] == "1.00"
    assert "diff. vs best (activelab)" in by_consensus
    cd = "\n".join(report.cd_markdown([group], "pool_label_accuracy", tmp_path / "cd.png", report.Report(tmp_path, "")))
    assert "methods are ranked by final pool label accuracy" in cd and (tmp_path / "cd.png").exists()
    asked = []
    def record(path, metric, reference, out):
        asked.append(metric)
        return report.Report(tmp_path, "")

    monkeypatch.setattr(report, "write_report", record)
    report.main([str(tmp_path), "--metric", "model_auc"])
    report.main([str(tmp_path)])
    assert asked == ["model_auc", "pool_label_accuracy"]


def test_runs_without_the_ranking_metric_fall_back_and_the_report_says_so(tmp_path, capsys):
    write_fake_runs(tmp_path, {"random": 0.0, "activelab": 0.1})  # made before pool label accuracy existed
    assert report.main([str(tmp_path)]) == 0
    assert "(fallback)" in capsys.readouterr().out
    markdown = (tmp_path / "report" / "summary.md").read_text()
    note = next(line for line in markdown.splitlines() if line.startswith("Note:"))
    assert "final pool label accuracy, is not recorded by 6 of the 6 runs (made by commit 0123456" in note
    assert "use final consensus accuracy (labeled examples) instead (fallback)" in note
    assert "Ranked by final consensus accuracy (labeled examples): final pool label accuracy is not recorded" in markdown
    assert "Paired comparisons of final consensus accuracy (labeled examples)" in markdown
    assert "methods are ranked by final consensus accuracy (labeled examples)" in markdown  # the CD diagram
    assert _row(markdown, "activelab")[-2] == "1.00"  # ranked by consensus accuracy, not NaN
    assert "nan" not in markdown.lower()


def test_every_table_shows_every_metric(tmp_path):
    write_fake_runs(tmp_path, {"random": 0.0, "activelab": 0.1}, pool_offsets=POOL_OFFSETS)
    write_ie_thresh_runs(tmp_path)
    groups = analysis.load_results(tmp_path)
    crossed = "\n".join(report.assigner_markdown(analysis.assigner_table(groups), tmp_path, report.Report(tmp_path, "")))
    markdown = "\n".join([_markdown(group) for group in groups] + [crossed])
    header = ("final pool label acc | final consensus acc (labeled) | labeled | correct labels | final model acc "
              "| label cost")
    assert markdown.count(header) == 3  # the two method tables (assigners random, ie_thresh), the assigners'
    runs = groups[0].methods["activelab"]
    pool, consensus, labeled, correct, model, cost = _row(markdown, "activelab")[2:8]
    mean_sd = lambda values, spec: f"{np.mean(values):{spec}} ± {np.std(values, ddof=1):{spec}}"  # noqa: E731
    assert pool == mean_sd(runs.pool_label_accuracy[:, -1], ".3f")
    assert consensus == mean_sd(runs.consensus_accuracy[:, -1], ".3f")
    assert labeled == f"{N_INITIAL + 2 * (ROUNDS - 1)} ± 0"
    assert correct == mean_sd(runs.correct_labels[:, -1], ",.0f")
    assert model == mean_sd(runs.model_accuracy[:, -1], ".3f")
    assert cost == f"{5 * (ROUNDS - 1)} ± 0"
    cross = _row(crossed, "random | ie_thresh")
    assert cross[2] == "3" and cross[3] == "not recorded"  # these runs predate pool label accuracy
    assert "nan" not in markdown.lower()


def _report_bytes(out) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".md", ".csv")}


def test_the_report_writes_the_same_bytes_wherever_it_runs_from(tmp_path, monkeypatch):
    write_fake_runs(tmp_path / "bench" / "results", {"random": 0.0, "activelab": 0.1}, seeds=(0, 1))
    out = tmp_path / "bench" / "results" / "report"
    monkeypatch.chdir(tmp_path)
    assert report.main(["bench"]) == 0
    from_above = _report_bytes(out)
    monkeypatch.chdir(tmp_path / "bench")
    assert report.main(["."]) == 0
    assert _report_bytes(out) == from_above and "summary.md" in from_above


def test_paths_are_shown_relative_to_the_repository_root(monkeypatch):
    monkeypatch.chdir(analysis.REPO_ROOT / "common")
    assert analysis.display_path(analysis.REPO_ROOT / "wall-robot" / "results") == "wall-robot/results"
    assert analysis.display_path(Path("..") / "wall-robot" / "results" / "mlp") == "wall-robot/results/mlp"
