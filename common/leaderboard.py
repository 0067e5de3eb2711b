"""A leaderboard across benchmarks: which method to use, on which kind of crowd.

    python -m common.report --leaderboard          (or: make leaderboard)

Reads every benchmark folder under the repository root (a folder with a ``results/``), takes its
committed *default* grid (``<benchmark>/results/<default model>/``, no variant folders) and writes
``results/leaderboard.md`` with its figures and ``results/leaderboard.csv``:

- per benchmark, the final value of every metric per method (mean ± sd over seeds);
- across benchmarks, each method's average rank (each benchmark one block, methods ranked by their
  mean over seeds), the Friedman test and the Nemenyi critical-difference diagram (Demšar, JMLR 7,
  2006), over the methods every benchmark ran (the others are named as dropped);
- the winner per benchmark and per metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from common import analysis, plots, stats
from common.analysis import Group
from common.tables import METRICS_EXPLAINED, METRICS_HEADER, derived_note, metric_cells

LEADERBOARD_SCORES = ("final_pool_label_accuracy", "final_consensus_accuracy", "final_correct_labels",
                      "final_model_accuracy")
"""The metrics with a winner and an average rank (higher is better); tables show the counts too."""


class LeaderboardError(ValueError):
    """A benchmark's default grid cannot be found or read."""


@dataclass
class Leaderboard:
    path: Path
    """``leaderboard.md``."""
    benchmarks: int
    figures: list[Path]
    note: str
    """Where the ranking metric is not recorded: what ranks instead ("" if it is)."""


def benchmark_folders(root: Path) -> list[Path]:
    """Folders directly under ``root`` holding a ``results/`` folder, by name."""
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "results").is_dir())


def default_model(folder: Path) -> Optional[str]:
    """The model of a benchmark's default grid: the registered benchmark's default model, or for
    a folder no benchmark is registered under, its only model folder (None if it has none)."""
    from common.registry import get_benchmark

    try:
        return get_benchmark(folder.name).default_model
    except KeyError:
        pass
    models = sorted(p.name for p in (folder / "results").iterdir() if p.is_dir() and p.name != analysis.REPORT_FOLDER)
    if not models:
        return None
    if len(models) != 1:
        raise LeaderboardError(
            f"{folder.name}: no registered benchmark of that name, and {len(models)} model folders in "
            f"{folder / 'results'} ({', '.join(models) or 'none'}): register the benchmark so that its "
            "default model is known"
        )
    return models[0]


def default_groups(root: Path) -> tuple[list[Group], list[str]]:
    """Each benchmark's default grid under ``root``, and the benchmark folders left out because
    their default grid has no finished runs (yet)."""
    groups, empty = [], []
    for folder in benchmark_folders(root):
        model = default_model(folder)
        group = None if model is None else analysis.load_folder(folder / "results", model)
        if group is None:
            empty.append(f"{folder.name}/results/{model or ''}")
        else:
            groups.append(group)
    return groups, empty


def final_values(groups: Sequence[Group]) -> pd.DataFrame:
    """One row per (benchmark, method): mean and sd over seeds of every leaderboard metric and of
    the counts (examples labeled, label cost) at the last measurement."""
    rows = []
    for group in groups:
        for name, runs in group.methods.items():
            row = {"benchmark": group.benchmark, "model": group.model, "method": name, "seeds": len(runs.seeds)}
            for score in LEADERBOARD_SCORES:
                row[f"{score}_mean"], row[f"{score}_std"] = stats.mean_std(runs.score(score))
            for count in ("n_labeled", "cost_spent"):
                row[f"final_{count}_mean"], row[f"final_{count}_std"] = stats.mean_std(runs.final(count))
            rows.append(row)
    return pd.DataFrame(rows)


def rank_over_benchmarks(values: pd.DataFrame, score: str) -> tuple[list[str], list[str], np.ndarray, list[str]]:
    """``(methods, benchmarks, means, dropped)``: the mean of ``score`` per benchmark (rows) and
    method (columns) over the methods every benchmark has; ``dropped`` names the others."""
    benchmarks = list(dict.fromkeys(values["benchmark"]))
    per_benchmark = [set(values.loc[values["benchmark"] == b, "method"]) for b in benchmarks]
    shared = set.intersection(*per_benchmark) if per_benchmark else set()
    methods = [m for m in dict.fromkeys(values["method"]) if m in shared]
    dropped = [m for m in dict.fromkeys(values["method"]) if m not in shared]
    table = values.pivot(index="benchmark", columns="method", values=f"{score}_mean")
    means = table.loc[benchmarks, methods].to_numpy(dtype=float) if methods else np.zeros((len(benchmarks), 0))
    return methods, benchmarks, means, dropped


def write_leaderboard(root: Path = analysis.REPO_ROOT, out_dir: Optional[Path] = None,
                      metric: str = analysis.DEFAULT_SCORE) -> Leaderboard:
    """Write ``leaderboard.md``, ``leaderboard.csv`` and the figures to ``out_dir`` (default
    ``<root>/results/``), ranking across benchmarks by ``metric`` (or its fallback, said in the
    note, where some benchmark's runs do not record it)."""
    root = Path(root)
    out_dir = Path(out_dir) if out_dir is not None else root / "results"
    groups, empty = default_groups(root)
    if not groups:
        raise LeaderboardError(f"no benchmark under {root} has finished runs in its default grid")
    out_dir.mkdir(parents=True, exist_ok=True)
    ranking = analysis.choose_ranking(groups, metric)
    values = final_values(groups)
    figures: list[Path] = []
    lines = ["# Leaderboard across benchmarks", "",
             "Each benchmark's default grid (`<benchmark>/results/<default model>/`, no variant folders), "
             "written by `python -m common.report --leaderboard`. Mean ± sd over seeds; \"final\": the last "
             "round's measurement.", "", "```text",
             *[f"{g.benchmark}: {len(g.methods)} methods, {len(g.all_seeds)} seeds, in "
               f"{analysis.display_path(g.folder, root)}; code: {', '.join(sorted(c[:7] for c in g.commits))}"
               for g in groups], "```", ""]
    if empty:
        lines += [f"Left out, no finished runs in the default grid yet: {', '.join(f'`{e}`' for e in empty)}.", ""]
    if ranking.note():
        lines += [ranking.note(), ""]
    lines += _ranks_markdown(values, ranking.score, out_dir, figures)
    lines += _winners_markdown(values, groups)
    lines += _per_benchmark_markdown(values, groups, ranking.score)
    values.to_csv(out_dir / "leaderboard.csv", index=False)
    path = out_dir / "leaderboard.md"
    path.write_text("\n".join(lines))
    return Leaderboard(path, len(groups), figures, ranking.note())


def _ranks_markdown(values: pd.DataFrame, rank_by: str, out_dir: Path, figures: list[Path]) -> list[str]:
    label = analysis.SCORE_LABELS[rank_by]
    methods, benchmarks, means, dropped = rank_over_benchmarks(values, rank_by)
    lines = [f"## Average rank across benchmarks, by {label}", ""]
    if len(methods) < 2:
        return lines + ["Needs 2 methods run on every benchmark.", ""]
    ranks = stats.rank_matrix(means)
    average = ranks.mean(axis=0)
    lines += [f"Each benchmark is one block: methods are ranked (1 = best) by their mean {label} over seeds. "
              f"Only the {len(methods)} methods run on every benchmark count"
              + (f"; dropped (not run on every benchmark): {', '.join(dropped)}." if dropped else "."), "",
              "| method | average rank | " + " | ".join(benchmarks) + " |",
              "|---|---:|" + "---:|" * len(benchmarks)]
    for j in np.argsort(average, kind="stable"):
        lines.append(f"| {methods[j]} | {average[j]:.2f} | " + " | ".join(f"{r:g}" for r in ranks[:, j]) + " |")
    lines.append("")
    result = stats.friedman(means)
    if result is None:
        lines += ["Friedman test: not applicable (needs 3 methods and 2 benchmarks).", ""]
    else:
        cd = stats.critical_difference(len(methods), len(benchmarks))
        lines += [f"Friedman test over {result.n_blocks} benchmarks and {result.n_methods} methods: "
                  f"χ² = {result.statistic:.2f}, p = {result.p_value:.3g} (chi-square approximation). Nemenyi "
                  f"critical difference at α = 0.05: {cd:.2f}; bars join methods whose average ranks differ "
                  "by less.", ""]
        name = "leaderboard_critical_difference.png"
        title = f"average rank by {label} over {len(benchmarks)} benchmarks"
        figure = plots.plot_critical_difference(methods, average, cd, title)
        figure.savefig(out_dir / name, dpi=120)
        figures.append(out_dir / name)
        lines += [f"![critical difference]({name})", ""]
    name = "leaderboard_final_values.png"
    _plot_final_values(values, rank_by).savefig(out_dir / name, dpi=120)
    figures.append(out_dir / name)
    lines += [f"![{label} per benchmark]({name})", ""]
    return lines


def _winners_markdown(values: pd.DataFrame, groups: Sequence[Group]) -> list[str]:
    lines = ["## Winners", "", "The method with the highest mean per benchmark and metric (all its methods).", "",
             "| benchmark | " + " | ".join(analysis.SCORE_LABELS[s] for s in LEADERBOARD_SCORES) + " |",
             "|---|" + "---|" * len(LEADERBOARD_SCORES)]
    for group in groups:
        part = values[values["benchmark"] == group.benchmark]
        cells = []
        for score in LEADERBOARD_SCORES:
            means = part[f"{score}_mean"].to_numpy(dtype=float)
            if not np.isfinite(means).all():
                cells.append("not recorded")
                continue
            best = int(np.argmax(means))
            cells.append(f"{part['method'].iloc[best]} ({_value(means[best], score)})")
        lines.append(f"| {group.benchmark} | " + " | ".join(cells) + " |")
    return lines + [""]


def _per_benchmark_markdown(values: pd.DataFrame, groups: Sequence[Group], rank_by: str) -> list[str]:
    lines = ["## Per benchmark", "", METRICS_EXPLAINED + derived_note(groups), ""]
    for group in groups:
        part = values[values["benchmark"] == group.benchmark]
        lines += [f"### {group.benchmark} ({group.model}, {len(group.all_seeds)} seeds)", "",
                  f"| method | seeds | {METRICS_HEADER} |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for row in part.itertuples():
            lines.append(f"| {row.method} | {row.seeds} | {metric_cells(row)} |")
        lines.append("")
    return lines


def _value(mean: float, score: str) -> str:
    return f"{mean:,.0f}" if score == "final_correct_labels" else f"{mean:.3f}"


def _plot_final_values(values: pd.DataFrame, score: str) -> Figure:
    """One panel per benchmark: the final value of ``score`` per method, mean over seeds (bar: sd)."""
    benchmarks = list(dict.fromkeys(values["benchmark"]))
    methods = list(dict.fromkeys(values["method"]))
    fig = Figure(figsize=(3.6 * len(benchmarks) + 1.5, 1.5 + 0.3 * len(methods)), layout="constrained")
    axes = fig.subplots(1, len(benchmarks), sharey=True, squeeze=False)[0]
    for ax, benchmark in zip(axes, benchmarks):
        part = values[values["benchmark"] == benchmark].set_index("method").reindex(methods)
        y = np.arange(len(methods))
        ax.barh(y, part[f"{score}_mean"], xerr=part[f"{score}_std"].fillna(0),
                color=[plots.method_color(m) for m in methods], error_kw={"lw": 0.8})
        finite = part[f"{score}_mean"].dropna()
        if len(finite) and score != "final_correct_labels":
            ax.set_xlim(max(0.0, finite.min() - 0.1), min(1.0, finite.max() + 0.05))
        ax.set_title(benchmark, fontsize="medium")
        ax.set_xlabel(analysis.SCORE_LABELS[score], fontsize="small")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(np.arange(len(methods)), methods)
    axes[0].invert_yaxis()
    fig.suptitle("final value per method and benchmark: mean over seeds, bar: sd (blank: not run)", fontsize="medium")
    return fig
