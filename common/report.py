"""Figures, tables and statistics of benchmark results, without Jupyter.

    python -m common.report wall-robot [wall-robot-completely-labeled ...] [--metric NAME]
    python -m common.report --leaderboard

Each argument is a benchmark folder (its ``results/`` is read) or a results folder. For each one,
``<results>/report/`` gets ``summary.md`` (tables, tests, figures), ``summary.csv`` (the table,
one row per method), ``runs.csv`` (every run and round, tidy) and the PNG figures. With several
arguments, a critical-difference diagram across all of them goes to ``--combined-out``.
``--metric`` picks what ranks, tests and draws the critical-difference diagram (default: final
pool label accuracy; runs that do not record it fall back, and the report says so).
``--leaderboard`` compares every benchmark's default grid (see :mod:`common.leaderboard`).

Paths in the reports are relative to the repository root, so the same results give the same
bytes wherever the command (or a notebook) runs from.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from common import analysis, leaderboard, plots, stats
from common.analysis import Group
from common.tables import METRICS_EXPLAINED, METRICS_HEADER, count_cell, derived_note, mean_std_cell, metric_cells

SCORE_LABELS = analysis.SCORE_LABELS


@dataclass
class Report:
    out_dir: Path
    markdown: str
    """``summary.md``: tables, tests and links to the figures (relative to ``out_dir``)."""
    figures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)
    note: str = ""
    """Where the ranking metric is not recorded: what ranks instead (:meth:`analysis.Ranking.note`)."""

    def text(self) -> str:
        """The Markdown without its figure links (a notebook shows the PNGs themselves)."""
        return "\n".join(line for line in self.markdown.splitlines() if not line.startswith("!["))


def write_report(path: Path, metric: str = analysis.DEFAULT_SCORE, reference: str = "random",
                 out_dir: Optional[Path] = None) -> Report:
    """Load the results under ``path`` and write figures, tables and ``summary.md`` to
    ``out_dir`` (default ``<results>/report/``); ``metric`` ranks, tests and draws the
    critical-difference diagram (its fallback where runs lack it, named in the report). Raises
    :class:`analysis.MixedConfigurationError` on mixed runs."""
    results_dir = analysis.resolve_results_dir(path)
    out_dir = Path(out_dir) if out_dir is not None else results_dir / analysis.REPORT_FOLDER
    groups = analysis.load_results(results_dir)
    if not groups:
        return Report(out_dir, f"No finished runs in {analysis.display_path(results_dir)} yet: run the benchmark first.\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir, "")
    lines = [f"# Results in `{analysis.display_path(results_dir)}`", "", "Found:", "", "```text",
             *[g.describe() for g in groups], "```", ""]
    report.note = analysis.choose_ranking(groups, metric).note()
    if report.note:
        lines += [report.note, ""]
    tables = []
    for group in groups:
        table = analysis.summary_table(group, metric, reference)
        tables.append(table)
        lines += group_markdown(group, table, reference)
        figures = [("learning_curves", plots.plot_learning_curves(group))]
        if reference in group.methods and len(group.methods) > 1:
            figures.append((f"learning_curves_vs_{reference}", plots.plot_learning_curves(group, relative_to=reference)))
        figures.append(("learning_curves_cost", plots.plot_learning_curves(group, against="cost")))
        figures.append(("budget", plots.plot_budget(group)))
        for kind, figure in figures:
            name = f"{group.slug}_{kind}.png"
            _save(figure, out_dir / name, report)
            lines += [f"![{kind.replace('_', ' ')}]({name})", ""]
    lines += cd_markdown(analysis.widest_groups(groups), metric, out_dir / "critical_difference.png", report,
                         full_note=False)
    crossed = analysis.assigner_table(groups)
    if len(crossed):
        lines += assigner_markdown(crossed, out_dir, report)
        report.tables.append(analysis.write_tidy(crossed, out_dir / "assigners.csv"))
    report.tables.append(analysis.write_tidy(pd.concat(tables, ignore_index=True), out_dir / "summary.csv"))
    report.tables.append(analysis.write_tidy(analysis.tidy_table(groups), out_dir / "runs.csv"))
    report.markdown = "\n".join(lines)
    (out_dir / "summary.md").write_text(report.markdown)
    report.tables.insert(0, out_dir / "summary.md")
    return report


def write_combined(paths: Sequence[Path], out_dir: Path, metric: str = analysis.DEFAULT_SCORE) -> Report:
    """A critical-difference diagram and Friedman test across several results folders."""
    groups = [g for p in paths for g in analysis.load_results(p)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir, "")
    lines = [f"# Methods across {len(groups)} benchmark/model tables", "",
             *[f"- {g.title}: {len(g.all_seeds)} seeds" for g in groups], ""]
    lines += cd_markdown(groups, metric, out_dir / "critical_difference.png", report)
    report.tables.append(analysis.write_tidy(analysis.tidy_table(groups), out_dir / "runs.csv"))
    report.markdown = "\n".join(lines)
    (out_dir / "summary.md").write_text(report.markdown)
    return report


def _save(figure, path: Path, report: Report) -> None:
    figure.savefig(path, dpi=120)
    report.figures.append(path)


def _p_cell(p_holm: float, note: str, seeds: int) -> str:
    if note:
        return f"low power ({seeds} seeds)"
    if np.isnan(p_holm):
        return ""
    return f"{p_holm:.3g}" + (" *" if p_holm < 0.05 else "")


def group_markdown(group: Group, table: pd.DataFrame, reference: str) -> list[str]:
    """The Markdown section of one group: the summary table, the paired tests, the Friedman test."""
    n_seeds = len(group.all_seeds)
    short = set(group.short_methods())
    rank_by = table["rank_by"].iloc[0]
    target = SCORE_LABELS[rank_by].removeprefix("final ").split(" (")[0]
    lines = [f"## {group.title}", ""]
    note = analysis.choose_ranking([group], table["rank_by_requested"].iloc[0]).short_note()
    if note:
        lines += [note, ""]
    lines += [f"| method | seeds | {METRICS_HEADER} | pool label AUC | consensus AUC | model AUC "
              f"| avg rank | labels (cost) to reach {reference}'s final {target} |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in table.itertuples():
        marker = " †" if row.method in short else ""
        if np.isnan(row.labels_to_reach_reference):
            reached = "not reached"
        else:
            reached = f"{row.labels_to_reach_reference:,.0f} ({count_cell(row.cost_to_reach_reference, np.nan)})"
        lines.append(
            f"| {row.method}{marker} | {row.seeds} | {metric_cells(row)} "
            f"| {mean_std_cell(row.pool_label_auc_mean, row.pool_label_auc_std)} "
            f"| {mean_std_cell(row.consensus_auc_mean, row.consensus_auc_std)} "
            f"| {mean_std_cell(row.model_auc_mean, row.model_auc_std)} "
            f"| {row.average_rank:.2f} | {reached} |"
        )
    rank_seeds = int(table["rank_seeds"].iloc[0])
    lines += [
        "",
        f"Mean ± standard deviation over seeds. \"final\": the last round's measurement; AUC: the mean over "
        f"the {group.config.get('rounds')} rounds. {METRICS_EXPLAINED}{derived_note([group])} Average rank by "
        f"{SCORE_LABELS[rank_by]} (1 = best) over the {rank_seeds} seeds every method has. Labels (cost): labels "
        f"collected (cost spent) when the method's mean {target} first reached {reference}'s final mean "
        "(measured once per round)."
        + (f" † fewer seeds than the {n_seeds} found." if short else ""),
        "",
    ]
    if {"vs_reference_p", "vs_best_p"} <= set(table.columns) and len(table) > 1:
        best = table["vs_best"].iloc[0]
        lines += [f"Paired comparisons of {SCORE_LABELS[rank_by]} over seeds: mean difference (seeds higher/lower), "
                  "and the Wilcoxon signed-rank test (two-sided, Holm-corrected within each column; * p < 0.05):", "",
                  f"| method | diff. vs {reference} | p vs {reference} | diff. vs best ({best}) | p vs best |",
                  "|---|---:|---:|---:|---:|"]
        for row in table.itertuples():
            cells = []
            for ref, label in ((reference, "reference"), (best, "best")):
                if row.method == ref or ref not in group.methods:
                    cells += ["—", "—"]
                    continue
                get = lambda field: getattr(row, f"vs_{label}_{field}")  # noqa: E731
                cells += [f"{get('mean_difference'):+.3f} ({get('wins')}/{get('losses')})",
                          _p_cell(get("p_holm"), get("note"), get("seeds"))]
            lines.append(f"| {row.method} | " + " | ".join(cells) + " |")
        lines.append("")
        fewest = int(table[["vs_reference_seeds", "vs_best_seeds"]].replace(0, np.nan).min().min()) if len(table) > 1 else 0
        if 0 < fewest < stats.MIN_SEEDS_FOR_TESTS:
            lines += [f"With {fewest} paired seeds the smallest possible two-sided Wilcoxon p-value is "
                      f"{2 / 2 ** fewest:.3g}, so the test cannot detect a difference at 0.05: no p-value is "
                      f"shown. Run at least {stats.MIN_SEEDS_FOR_TESTS} seeds (`--seeds`) for these tests.", ""]
    names, _, matrix = group.score_matrix(rank_by)
    result = stats.friedman(matrix)
    if result is None:
        lines += ["Friedman test: not applicable (needs 3 methods and 2 seeds in common).", ""]
    else:
        lines += [f"Friedman test of {SCORE_LABELS[rank_by]} across the {result.n_methods} methods: "
                  f"χ² = {result.statistic:.2f}, p = {result.p_value:.3g} ({result.n_blocks} seeds, chi-square "
                  "approximation).", ""]
    return lines


def cd_markdown(groups: Sequence[Group], metric: str, path: Path, report: Report, full_note: bool = True) -> list[str]:
    """Average ranks over every (table, seed) block by ``metric`` (or its fallback, said in a
    note: the full one, or a short one where the report's top already gave it), the Friedman test
    and the CD diagram."""
    ranking = analysis.choose_ranking(groups, metric)
    rank_by = ranking.score
    note = ranking.note() if full_note else ranking.short_note()
    names, matrix = analysis.rank_blocks(groups, rank_by)
    if len(names) < 2 or len(matrix) < 2:
        return ["Critical-difference diagram: needs 2 methods and 2 seeds in common.", ""]
    ranks = stats.average_ranks(matrix)
    cd = stats.critical_difference(len(names), len(matrix))
    title = f"average rank by {SCORE_LABELS[rank_by]} over {len(matrix)} blocks (table × seed)"
    _save(plots.plot_critical_difference(names, ranks, cd, title), path, report)
    result = stats.friedman(matrix)
    lines = ["## Ranks across tables and seeds", "",
             f"Each seed of each table is one block; methods are ranked by {SCORE_LABELS[rank_by]} within "
             f"each of the {len(matrix)} blocks (methods present in every table only). Bars join methods whose "
             f"average ranks differ by less than the Nemenyi critical difference ({cd:.2f} at α = 0.05). "
             "Seeds of one benchmark are not independent data sets, so read it as a summary rather than a "
             "test across problems.", "", "Tables: " + "; ".join(g.title for g in groups) + ".", ""]
    if note:
        lines += [note, ""]
    if result is not None:
        lines += [f"Friedman test: χ² = {result.statistic:.2f}, p = {result.p_value:.3g}.", ""]
    lines += [f"![critical difference]({path.name})", ""]
    return lines


def assigner_markdown(crossed: pd.DataFrame, out_dir: Path, report: Report) -> list[str]:
    """The assigner comparison: a table and a figure per table that was run with several assigners."""
    lines = ["## Who labels: assigners", "",
             "Each method run with each assigner on the same seeds. *Bought*: mean accuracy, against the "
             "truth, of the labels bought (`new_label_accuracy`); *near-random*: share of them that "
             "near-random annotators gave (accuracy below chance + 0.2). " + METRICS_EXPLAINED, ""]
    for (benchmark, model, variant), part in crossed.groupby(["benchmark", "model", "variant"], sort=False):
        title = f"{benchmark} / {model}" + (f" ({variant})" if variant else "")
        lines += [f"### {title}", "", f"| method | assigner | seeds | {METRICS_HEADER} | bought | near-random |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for row in part.itertuples():
            lines.append(
                f"| {row.method} | {row.assigner} | {row.seeds} | {metric_cells(row)} | "
                f"{mean_std_cell(row.new_label_accuracy_mean, np.nan)} | {mean_std_cell(row.near_random_share_mean, np.nan)} |"
            )
        name = "assigners_" + "_".join(p for p in (model, variant.replace("/", "_")) if p) + ".png"
        _save(plots.plot_assigners(part, title), out_dir / name, report)
        lines += ["", f"![assigners]({name})", ""]
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, metavar="FOLDER",
                        help="benchmark folder (reads its results/) or results folder")
    metrics = [*analysis.METRIC_ALIASES, *analysis.SCORES]
    parser.add_argument("--metric", "--rank-by", dest="metric", default="pool_label_accuracy", choices=metrics,
                        metavar="NAME",
                        help="what ranks, runs the paired tests and draws the critical-difference diagram: "
                             f"{', '.join(metrics)} (default: pool_label_accuracy, its final value; runs that "
                             "do not record it fall back to final consensus accuracy, and the report says so)")
    parser.add_argument("--reference", default="random", help="baseline method (default: random)")
    parser.add_argument("--combined-out", type=Path, default=Path("report-combined"),
                        help="with several folders: where the cross-benchmark ranks go (default: report-combined)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write here instead of <results>/report/ (one folder), or instead of "
                             "<root>/results/ (--leaderboard)")
    parser.add_argument("--leaderboard", action="store_true",
                        help="compare every benchmark's default grid under --root; writes results/leaderboard.md")
    parser.add_argument("--root", type=Path, default=analysis.REPO_ROOT,
                        help="with --leaderboard: the folder holding the benchmark folders (default: this checkout)")
    args = parser.parse_args(argv)
    if not args.leaderboard and not args.paths:
        parser.error("name at least one benchmark or results folder, or use --leaderboard")
    if args.out is not None and len(args.paths) > 1:
        parser.error("--out takes one folder; with several, each report goes to its own <results>/report/")
    import matplotlib

    matplotlib.use("Agg")
    if args.leaderboard:
        try:
            board = leaderboard.write_leaderboard(args.root, args.out, args.metric)
        except leaderboard.LeaderboardError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"leaderboard of {board.benchmarks} benchmarks: {board.path}")
        if board.note:
            print(board.note)
        if not args.paths:
            return 0
    status = 0
    for path in args.paths:
        try:
            report = write_report(path, args.metric, args.reference, args.out)
        except analysis.MixedConfigurationError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 2
            continue
        if not report.figures:
            print(report.markdown.strip(), file=sys.stderr)
            status = max(status, 1)
            continue
        print(f"{path}: wrote {len(report.figures)} figures and {len(report.tables)} tables to {report.out_dir}")
        if report.note:
            print(report.note)
    if len(args.paths) > 1 and status == 0:
        combined = write_combined(args.paths, args.combined_out, args.metric)
        print(f"ranks across all folders: {combined.out_dir / 'summary.md'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
