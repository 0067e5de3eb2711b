"""Figures, tables and statistics of benchmark results, without Jupyter.

    python -m common.report wall-robot [wall-robot-completely-labeled ...]

Each argument is a benchmark folder (its ``results/`` is read) or a results folder. For each one,
``<results>/report/`` gets ``summary.md`` (tables, tests, figures), ``summary.csv`` (the table,
one row per method), ``runs.csv`` (every run and round, tidy) and the PNG figures. With several
arguments, a critical-difference diagram across all of them goes to ``--combined-out``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from common import analysis, plots, stats
from common.analysis import Group

SCORE_LABELS = {
    "final_consensus_accuracy": "final consensus accuracy",
    "final_model_accuracy": "final model accuracy",
    "consensus_auc": "consensus AUC",
    "model_auc": "model AUC",
}


@dataclass
class Report:
    out_dir: Path
    markdown: str
    """``summary.md``: tables, tests and links to the figures (relative to ``out_dir``)."""
    figures: list[Path] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)

    def text(self) -> str:
        """The Markdown without its figure links (a notebook shows the PNGs themselves)."""
        return "\n".join(line for line in self.markdown.splitlines() if not line.startswith("!["))


def write_report(path: Path, rank_by: str = "final_consensus_accuracy", reference: str = "random") -> Report:
    """Load the results under ``path`` and write figures, tables and ``summary.md`` to
    ``<results>/report/``; raises :class:`analysis.MixedConfigurationError` on mixed runs."""
    results_dir = analysis.resolve_results_dir(path)
    out_dir = results_dir / analysis.REPORT_FOLDER
    groups = analysis.load_results(results_dir)
    if not groups:
        return Report(out_dir, f"No finished runs in {analysis.display_path(results_dir)} yet: run the benchmark first.\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir, "")
    lines = [f"# Results in `{analysis.display_path(results_dir)}`", "", "Found:", "", "```text",
             *[g.describe() for g in groups], "```", ""]
    tables = []
    for group in groups:
        table = analysis.summary_table(group, rank_by, reference)
        tables.append(table)
        lines += group_markdown(group, table, rank_by, reference)
        figures = [("learning_curves", plots.plot_learning_curves(group))]
        if reference in group.methods and len(group.methods) > 1:
            figures.append((f"learning_curves_vs_{reference}", plots.plot_learning_curves(group, relative_to=reference)))
        figures.append(("budget", plots.plot_budget(group)))
        for kind, figure in figures:
            name = f"{group.slug}_{kind}.png"
            _save(figure, out_dir / name, report)
            lines += [f"![{kind.replace('_', ' ')}]({name})", ""]
    lines += cd_markdown(analysis.widest_groups(groups), rank_by, out_dir / "critical_difference.png", report)
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


def write_combined(paths: Sequence[Path], out_dir: Path, rank_by: str = "final_consensus_accuracy") -> Report:
    """A critical-difference diagram and Friedman test across several results folders."""
    groups = [g for p in paths for g in analysis.load_results(p)]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir, "")
    lines = [f"# Methods across {len(groups)} benchmark/model tables", "",
             *[f"- {g.title}: {len(g.all_seeds)} seeds" for g in groups], ""]
    lines += cd_markdown(groups, rank_by, out_dir / "critical_difference.png", report)
    report.tables.append(analysis.write_tidy(analysis.tidy_table(groups), out_dir / "runs.csv"))
    report.markdown = "\n".join(lines)
    (out_dir / "summary.md").write_text(report.markdown)
    return report


def _save(figure, path: Path, report: Report) -> None:
    figure.savefig(path, dpi=120)
    report.figures.append(path)


def _mean_std(mean: float, std: float) -> str:
    return f"{mean:.3f}" if np.isnan(std) else f"{mean:.3f} ± {std:.3f}"


def _p_cell(p_holm: float, note: str, seeds: int) -> str:
    if note:
        return f"low power ({seeds} seeds)"
    if np.isnan(p_holm):
        return ""
    return f"{p_holm:.3g}" + (" *" if p_holm < 0.05 else "")


def group_markdown(group: Group, table: pd.DataFrame, rank_by: str, reference: str) -> list[str]:
    """The Markdown section of one group: the summary table, the paired tests, the Friedman test."""
    n_seeds = len(group.all_seeds)
    short = set(group.short_methods())
    lines = [f"## {group.title}", "",
             "| method | seeds | final consensus acc | final model acc | consensus AUC | model AUC "
             f"| avg rank | labels to reach {reference}'s final consensus acc |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in table.itertuples():
        marker = " †" if row.method in short else ""
        reached = "not reached" if np.isnan(row.labels_to_reach_reference) else f"{row.labels_to_reach_reference:,.0f}"
        lines.append(
            f"| {row.method}{marker} | {row.seeds} "
            f"| {_mean_std(row.final_consensus_accuracy_mean, row.final_consensus_accuracy_std)} "
            f"| {_mean_std(row.final_model_accuracy_mean, row.final_model_accuracy_std)} "
            f"| {_mean_std(row.consensus_auc_mean, row.consensus_auc_std)} "
            f"| {_mean_std(row.model_auc_mean, row.model_auc_std)} "
            f"| {row.average_rank:.2f} | {reached} |"
        )
    rank_seeds = int(table["rank_seeds"].iloc[0])
    lines += [
        "",
        f"Mean ± standard deviation over seeds. \"final\": the last round's measurement; AUC: the mean over "
        f"the {group.config.get('rounds')} rounds. Average rank by {SCORE_LABELS[rank_by]} (1 = best) over the "
        f"{rank_seeds} seeds every method has. Labels: labels collected when the method's mean consensus "
        f"accuracy first reached {reference}'s final mean (measured once per round)."
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


def cd_markdown(groups: Sequence[Group], rank_by: str, path: Path, report: Report) -> list[str]:
    """Average ranks over every (table, seed) block, the Friedman test and the CD diagram."""
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
    if result is not None:
        lines += [f"Friedman test: χ² = {result.statistic:.2f}, p = {result.p_value:.3g}.", ""]
    lines += [f"![critical difference]({path.name})", ""]
    return lines


def assigner_markdown(crossed: pd.DataFrame, out_dir: Path, report: Report) -> list[str]:
    """The assigner comparison: a table and a figure per table that was run with several assigners."""
    lines = ["## Who labels: assigners", "",
             "Each method run with each assigner on the same seeds. *Bought*: mean accuracy, against the "
             "truth, of the labels bought (`new_label_accuracy`); *near-random*: share of them that "
             "near-random annotators gave (accuracy below chance + 0.2).", ""]
    for (benchmark, model, variant), part in crossed.groupby(["benchmark", "model", "variant"], sort=False):
        title = f"{benchmark} / {model}" + (f" ({variant})" if variant else "")
        lines += [f"### {title}", "", "| method | assigner | seeds | final consensus acc | final model acc | bought | near-random |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for row in part.itertuples():
            lines.append(
                f"| {row.method} | {row.assigner} | {row.seeds} | "
                f"{_mean_std(row.final_consensus_accuracy_mean, row.final_consensus_accuracy_std)} | "
                f"{_mean_std(row.final_model_accuracy_mean, row.final_model_accuracy_std)} | "
                f"{row.new_label_accuracy_mean:.3f} | {row.near_random_share_mean:.3f} |"
            )
        name = "assigners_" + "_".join(p for p in (model, variant.replace("/", "_")) if p) + ".png"
        _save(plots.plot_assigners(part, title), out_dir / name, report)
        lines += ["", f"![assigners]({name})", ""]
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, metavar="FOLDER",
                        help="benchmark folder (reads its results/) or results folder")
    parser.add_argument("--rank-by", default="final_consensus_accuracy", choices=analysis.SCORES,
                        help="score for ranks, paired tests and Friedman (default: final_consensus_accuracy)")
    parser.add_argument("--reference", default="random", help="baseline method (default: random)")
    parser.add_argument("--combined-out", type=Path, default=Path("report-combined"),
                        help="with several folders: where the cross-benchmark ranks go (default: report-combined)")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    status = 0
    for path in args.paths:
        try:
            report = write_report(path, args.rank_by, args.reference)
        except analysis.MixedConfigurationError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 2
            continue
        if not report.figures:
            print(report.markdown.strip(), file=sys.stderr)
            status = max(status, 1)
            continue
        print(f"{path}: wrote {len(report.figures)} figures and {len(report.tables)} tables to {report.out_dir}")
    if len(args.paths) > 1 and status == 0:
        combined = write_combined(args.paths, args.combined_out, args.rank_by)
        print(f"ranks across all folders: {combined.out_dir / 'summary.md'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
