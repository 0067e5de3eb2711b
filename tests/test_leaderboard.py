"""The leaderboard across benchmarks, on a small synthetic tree of benchmark folders."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from common import analysis, leaderboard, report, stats
from tests.test_analysis import write_fake_runs

BENCHMARKS = {
    # benchmark: (model folder, consensus-accuracy offsets, pool-label-accuracy offsets)
    "alpha": ("mlp", {"random": 0.0, "entropy": -0.02, "activelab": 0.1},
              {"random": 0.0, "entropy": 0.05, "activelab": -0.03}),
    "beta": ("logreg", {"random": 0.0, "entropy": 0.03, "activelab": 0.05, "margin": 0.2},
             {"random": 0.02, "entropy": 0.0, "activelab": 0.04, "margin": 0.3}),
    "wall-robot": ("mlp", {"random": 0.0, "entropy": 0.01, "activelab": 0.02},
                   {"random": -0.01, "entropy": 0.03, "activelab": 0.01}),
}


def write_tree(root, old: tuple[str, ...] = ()) -> None:
    """Default grids of every benchmark in :data:`BENCHMARKS` (those in ``old`` made before pool
    label accuracy existed), plus folders the leaderboard must not read."""
    for name, (model, offsets, pool) in BENCHMARKS.items():
        write_fake_runs(root / name / "results", offsets, model=model, benchmark=name,
                        pool_offsets=None if name in old else pool)
    # a variant folder and a non-default model: not the default grid
    write_fake_runs(root / "alpha" / "results", {"uncertainty": 0.5}, consensus_override="crowdlab",
                    benchmark="alpha", pool_offsets={"uncertainty": 0.5})
    write_fake_runs(root / "wall-robot" / "results", {"disagreement": 0.5}, model="extra-trees",
                    benchmark="wall-robot", pool_offsets={"disagreement": 0.5})
    (root / "docs").mkdir()
    (root / "delta" / "results" / "report").mkdir(parents=True)  # a benchmark not run yet


def _mean_finals(root, score: str) -> dict[str, dict[str, float]]:
    """Mean over seeds of a final score per benchmark and method, computed from the arrays."""
    means = {}
    for name, (model, offsets, _) in BENCHMARKS.items():
        group = analysis.load_folder(root / name / "results", model)
        means[name] = {m: float(np.mean(group.methods[m].score(score))) for m in offsets}
    return means


def test_leaderboard_ranks_methods_over_the_default_grids(tmp_path):
    write_tree(tmp_path)
    board = leaderboard.write_leaderboard(tmp_path)
    assert board.path == tmp_path / "results" / "leaderboard.md" and board.benchmarks == 3 and board.note == ""
    text = board.path.read_text()
    assert "uncertainty" not in text and "disagreement" not in text  # variant and non-default model left out
    assert "wall-robot/results/mlp" in text and "extra-trees" not in text
    assert "Left out, no finished runs in the default grid yet: `delta/results/`." in text
    # average ranks over benchmarks, by mean final pool label accuracy, over the methods all ran
    means = _mean_finals(tmp_path, "final_pool_label_accuracy")
    methods = ["random", "entropy", "activelab"]
    matrix = np.array([[means[b][m] for m in methods] for b in sorted(BENCHMARKS)])
    ranks = scipy_stats.rankdata(-matrix, axis=1)
    section = text.split("## Average rank across benchmarks, by final pool label accuracy")[1].split("## Winners")[0]
    for j, method in enumerate(methods):
        row = f"| {method} | {ranks[:, j].mean():.2f} | " + " | ".join(f"{r:g}" for r in ranks[:, j]) + " |"
        assert row in section
    assert "dropped (not run on every benchmark): margin" in section
    friedman = scipy_stats.friedmanchisquare(*matrix.T)
    assert f"χ² = {friedman.statistic:.2f}, p = {friedman.pvalue:.3g}" in section
    assert f"critical difference at α = 0.05: {stats.critical_difference(3, 3):.2f}" in section
    assert {p.name for p in board.figures} == {"leaderboard_critical_difference.png", "leaderboard_final_values.png"}
    assert all(p.stat().st_size > 0 for p in board.figures)


def test_leaderboard_names_the_winner_per_benchmark_and_metric(tmp_path):
    write_tree(tmp_path)
    text = leaderboard.write_leaderboard(tmp_path).path.read_text()
    winners = text.split("## Winners")[1].split("## Per benchmark")[0]
    for benchmark in BENCHMARKS:
        row = next(line for line in winners.splitlines() if line.startswith(f"| {benchmark} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
        for cell, score in zip(cells, leaderboard.LEADERBOARD_SCORES):
            finals = _mean_finals(tmp_path, score)[benchmark]
            best = max(finals, key=finals.get)
            assert cell.startswith(f"{best} (")
    # beta's margin wins there though it is dropped from the ranks across benchmarks
    assert "| beta | margin (" in winners
    # per benchmark, every metric with mean ± sd over seeds
    beta = text.split("### beta (logreg, 3 seeds)")[1]
    margin = analysis.load_folder(tmp_path / "beta" / "results", "logreg").methods["margin"]
    pool = margin.score("pool_label_accuracy")
    assert f"| margin | 3 | {pool.mean():.3f} ± {pool.std(ddof=1):.3f} |" in beta


def test_leaderboard_falls_back_where_a_benchmark_lacks_the_ranking_metric(tmp_path):
    write_tree(tmp_path, old=("beta",))
    board = leaderboard.write_leaderboard(tmp_path)
    text = board.path.read_text()
    assert "not recorded by 12 of the 30 runs (made by commit 0123456" in board.note and "in beta / logreg" in board.note
    assert board.note in text
    assert "## Average rank across benchmarks, by final consensus accuracy (labeled examples)" in text
    means = _mean_finals(tmp_path, "final_consensus_accuracy")
    activelab = np.mean([scipy_stats.rankdata([-means[b][m] for m in ("random", "entropy", "activelab")])[2]
                         for b in sorted(BENCHMARKS)])
    assert f"| activelab | {activelab:.2f} |" in text
    assert "| beta | not recorded |" in text  # no winner by a metric its runs lack
    # asked for a metric every run records: no fallback
    assert leaderboard.write_leaderboard(tmp_path, metric="model_accuracy").note == ""


def test_leaderboard_from_the_command_line(tmp_path, capsys):
    write_tree(tmp_path)
    assert report.main(["--leaderboard", "--root", str(tmp_path), "--out", str(tmp_path / "board")]) == 0
    assert (tmp_path / "board" / "leaderboard.md").exists() and (tmp_path / "board" / "leaderboard.csv").exists()
    assert "leaderboard of 3 benchmarks" in capsys.readouterr().out


def test_a_benchmark_whose_default_model_is_unknown_is_an_error_naming_it(tmp_path, capsys):
    write_tree(tmp_path)
    write_fake_runs(tmp_path / "alpha" / "results", {"random": 0.0}, model="svm", benchmark="alpha")
    with pytest.raises(leaderboard.LeaderboardError, match="alpha: no registered benchmark of that name, and 2 model"):
        leaderboard.write_leaderboard(tmp_path)
    assert report.main(["--leaderboard", "--root", str(tmp_path)]) == 2
    assert "register the benchmark" in capsys.readouterr().err
