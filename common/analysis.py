"""Loading finished runs for analysis, per-method summary tables and the tidy export.

Reads only the results layout of :mod:`common.results` (never the data set). One results folder
``<results_dir>/<model>/`` or a variant folder below it (``consensus-<rule>/``,
``assigner-<name>/``, ``data-seed-<n>/``, a dataset flag's, nested) is one :class:`Group`, the unit
of one table: its runs must share one configuration (benchmark, data settings, rounds,
batch size, initial labels, folds), or loading refuses with the files that differ. Runs still in
progress (arrays without their JSON) and seeds missing for some methods are tolerated and reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from common import stats
from common.methods import METHODS
from common.results import METRICS, REQUIRED_METRICS, RunKey

COST_METRICS = ("pool_label_accuracy", "correct_labels", "label_cost")
"""Per-round metrics of issue 18, read when a run has them (runs made before lack them)."""

REPORT_FOLDER = "report"
"""Where :mod:`common.report` writes, inside a results folder; never read as a model folder."""

VARYING_CONFIG = ("method", "seed", "consensus", "ensemble")
"""Configuration fields that may differ between the runs of one table; all others must agree."""

SCORES = (
    "final_pool_label_accuracy", "final_consensus_accuracy", "final_correct_labels", "final_model_accuracy",
    "pool_label_auc", "consensus_auc", "model_auc",
)
"""Per-run summaries a table reports and that ranks and tests can use (higher is better)."""

METRIC_ALIASES = {
    "pool_label_accuracy": "final_pool_label_accuracy",
    "consensus_accuracy": "final_consensus_accuracy",
    "correct_labels": "final_correct_labels",
    "model_accuracy": "final_model_accuracy",
}
"""``--metric`` names: a per-round metric stands for its final value."""

DEFAULT_SCORE = "final_pool_label_accuracy"
"""The default ranking score: it counts what the labels fixed and what the model learned, and
leaving examples unlabeled cannot raise it (issue 18)."""

FALLBACK_SCORES = {"final_pool_label_accuracy": "final_consensus_accuracy", "pool_label_auc": "consensus_auc"}
"""What ranks when the runs do not record the requested score (made before it existed)."""

SCORE_CURVES = {
    "final_pool_label_accuracy": "pool_label_accuracy", "pool_label_auc": "pool_label_accuracy",
    "final_consensus_accuracy": "consensus_accuracy", "consensus_auc": "consensus_accuracy",
    "final_correct_labels": "correct_labels",
    "final_model_accuracy": "model_accuracy", "model_auc": "model_accuracy",
}
"""The per-round metric behind each score."""

SCORE_LABELS = {
    "final_pool_label_accuracy": "final pool label accuracy",
    "final_consensus_accuracy": "final consensus accuracy (labeled examples)",
    "final_correct_labels": "final correct labels",
    "final_model_accuracy": "final model accuracy",
    "pool_label_auc": "pool label AUC",
    "consensus_auc": "consensus AUC",
    "model_auc": "model AUC",
}


def score_name(metric: str) -> str:
    """The score in :data:`SCORES` that ``metric`` (a score or a :data:`METRIC_ALIASES` name) means."""
    name = METRIC_ALIASES.get(metric, metric)
    if name not in SCORES:
        raise ValueError(f"unknown metric {metric!r}; choose from: {', '.join([*METRIC_ALIASES, *SCORES])}")
    return name

TIDY_COLUMNS = (
    "benchmark", "model", "variant", "consensus_override", "assigner", "method", "consensus", "seed",
    "round", "n_labels", "n_labeled", "pool_label_accuracy", "consensus_accuracy", "correct_labels",
    "model_accuracy", "label_cost", "cost_spent", "num_new_examples", "label_distribution_entropy",
    "new_label_accuracy",
)


class MixedConfigurationError(ValueError):
    """Runs of one table were made with different configurations."""


@dataclass
class MethodRuns:
    """The finished runs of one method in a group, stacked by seed (seeds ascending)."""

    method: str
    consensus: str
    seeds: np.ndarray
    consensus_accuracy: np.ndarray
    """(n_seeds, rounds), measured before each round's labels are added; so are the others."""
    model_accuracy: np.ndarray
    num_new_examples: np.ndarray
    label_distribution_entropy: np.ndarray
    new_label_accuracy: np.ndarray
    """(n_seeds, rounds) accuracy of the labels bought in each round (NaN for runs made before
    this metric existed)."""
    labels_per_annotator: np.ndarray
    """(n_seeds, rounds, annotators) labels each annotator gave in each round (NaN likewise)."""
    near_random_share: np.ndarray
    """(n_seeds,) share of the labels bought from near-random annotators (NaN if not recorded)."""
    n_labels: np.ndarray
    """(n_seeds, rounds) labels collected when each round's metrics were measured."""
    final_labels_per_example: np.ndarray
    """(n_seeds, pool) labels per pool example at the last measurement."""
    n_labeled: np.ndarray = None
    """(n_seeds, rounds) pool examples with at least one label at each measurement."""
    pool_label_accuracy: np.ndarray = None
    """(n_seeds, rounds) accuracy over the whole pool of the labels one would ship: consensus where
    labeled, the round's model prediction elsewhere (NaN for runs made before it was recorded)."""
    correct_labels: np.ndarray = None
    """(n_seeds, rounds) labeled examples whose consensus is right. For runs made before it was
    recorded it is derived exactly: consensus accuracy x labeled examples (see ``derived``)."""
    label_cost: np.ndarray = None
    """(n_seeds, rounds) cost of the labels bought in each round, after its measurement (NaN for
    runs made before it was recorded)."""
    cost_spent: np.ndarray = None
    """(n_seeds, rounds) cost of the labels bought before each measurement (the initial labels not
    counted): the sum of ``label_cost`` over the earlier rounds. Runs made before ``label_cost``
    paid 1 per label, so theirs is the number of labels bought (see ``derived``)."""
    commits: tuple[str, ...] = ()
    """Per seed, the git commit that made the run."""
    derived: tuple[str, ...] = ()
    """Metrics derived from the other records for some seeds (runs older than the metric)."""

    def score(self, name: str) -> np.ndarray:
        """One value per seed for a name in :data:`SCORES` (or :data:`METRIC_ALIASES`); NaN
        where the runs do not record it."""
        name = score_name(name)
        curves = getattr(self, SCORE_CURVES[name])
        return curves[:, -1] if name.startswith("final_") else stats.auc(curves)

    def records(self, name: str) -> np.ndarray:
        """Per seed, whether the runs record score ``name``."""
        return np.isfinite(self.score(name))

    def final(self, metric: str) -> np.ndarray:
        """One value per seed: a per-round metric (``n_labeled``, ``cost_spent``, ...) at the last
        measurement."""
        return getattr(self, metric)[:, -1].astype(float)


@dataclass
class Group:
    """The runs of one table: one results folder (benchmark, model, variant)."""

    folder: Path
    model: str
    variant: tuple[str, ...]
    """The variant folders below the model's (see :mod:`common.results`), () for the defaults."""
    config: dict
    """The configuration shared by every run (without the fields in :data:`VARYING_CONFIG`)."""
    methods: dict[str, MethodRuns]
    """In registry order (the same order, and colours, in every figure)."""
    incomplete: list[str] = field(default_factory=list)
    """Runs found but not finished (still in progress, or interrupted), as file names."""
    commits: dict[str, int] = field(default_factory=dict)
    """Number of runs per git commit that produced them (from the runs' metadata)."""

    @property
    def benchmark(self) -> str:
        return self.config.get("benchmark", "?")

    def _variant_value(self, prefix: str) -> Optional[str]:
        return next((part.removeprefix(prefix) for part in self.variant if part.startswith(prefix)), None)

    @property
    def consensus_override(self) -> Optional[str]:
        return self._variant_value("consensus-")

    @property
    def assigner(self) -> str:
        return self._variant_value("assigner-") or "random"

    @property
    def title(self) -> str:
        rule = f"consensus {self.consensus_override} for all" if self.consensus_override else "own consensus rules"
        others = [part for part in self.variant if not part.startswith("consensus-")]
        return f"{self.benchmark} / {self.model} ({', '.join([rule, *others])})"

    @property
    def slug(self) -> str:
        """A file-name prefix unique within one results folder."""
        return "_".join((self.model, *self.variant))

    @property
    def all_seeds(self) -> list[int]:
        return sorted({int(s) for runs in self.methods.values() for s in runs.seeds})

    def short_methods(self) -> list[str]:
        """Methods with fewer seeds than the group has (marked in tables and figures)."""
        n = len(self.all_seeds)
        return [name for name, runs in self.methods.items() if len(runs.seeds) < n]

    def describe(self) -> str:
        """What was found: methods, seeds, missing seeds and unfinished runs."""
        seeds = self.all_seeds
        lines = [f"{self.title}: {len(self.methods)} methods, {len(seeds)} seeds ({_ranges(seeds)}), "
                 f"{self.config.get('rounds')} rounds of {self.config.get('batch_size')} labels, "
                 f"{self.config.get('n_initial')} initially labeled, in {display_path(self.folder)}"]
        for name in self.short_methods():
            missing = sorted(set(seeds) - set(self.methods[name].seeds.tolist()))
            lines.append(f"  {name}: {len(self.methods[name].seeds)} of {len(seeds)} seeds (missing {_ranges(missing)})")
        if self.commits:
            lines.append("  code: " + ", ".join(f"{c} ({n} runs)" for c, n in sorted(self.commits.items())))
        if self.incomplete:
            lines.append(f"  skipped {len(self.incomplete)} unfinished run(s): {'; '.join(self.incomplete)}")
        return "\n".join(lines)

    def curves(self, metric: str, method: str, relative_to: Optional[str] = None) -> np.ndarray:
        """``(n_seeds, rounds)`` of a per-round metric; with ``relative_to``, the difference to that
        method's curve of the same seed, over the seeds both have."""
        runs = self.methods[method]
        if relative_to is None:
            return getattr(runs, metric)
        reference = self.methods[relative_to]
        common = np.intersect1d(runs.seeds, reference.seeds)
        own = getattr(runs, metric)[np.searchsorted(runs.seeds, common)]
        return own - getattr(reference, metric)[np.searchsorted(reference.seeds, common)]

    def score_matrix(self, score: str, methods: Optional[Sequence[str]] = None) -> tuple[list[str], np.ndarray, np.ndarray]:
        """``(methods, seeds, matrix)``: ``score`` per common seed (rows) and method (columns),
        over the seeds every listed method has (the pairing the rank and paired tests need)."""
        names = list(methods) if methods is not None else list(self.methods)
        common = sorted(set.intersection(*(set(self.methods[m].seeds.tolist()) for m in names))) if names else []
        columns = []
        for name in names:
            runs = self.methods[name]
            rows = np.searchsorted(runs.seeds, common)
            columns.append(runs.score(score)[rows])
        matrix = np.column_stack(columns) if columns else np.zeros((0, 0))
        return names, np.array(common, dtype=int), matrix

    def lacking(self, score: str) -> dict[str, int]:
        """Runs that do not record ``score``, counted by the (short) commit that made them."""
        found: dict[str, int] = {}
        for runs in self.methods.values():
            for commit, recorded in zip(runs.commits, runs.records(score)):
                if not recorded:
                    found[commit[:7]] = found.get(commit[:7], 0) + 1
        return found


@dataclass(frozen=True)
class Ranking:
    """The score that ranks, tests and draws a set of tables: the one requested, or its fallback
    when some runs do not record it (never a ranking of NaNs)."""

    requested: str
    score: str
    lacking: dict
    """Tables (titles) whose runs lack the requested score -> {commit: runs}."""
    tables: int = 0
    """Tables considered."""
    runs: int = 0
    """Runs in them."""

    @property
    def fell_back(self) -> bool:
        return self.score != self.requested

    def note(self) -> str:
        """One line saying the ranking metric is not recorded and what ranks instead ("" if it is)."""
        if not self.lacking:
            return ""
        commits = sorted({c for found in self.lacking.values() for c in found})
        runs = sum(n for found in self.lacking.values() for n in found.values())
        then = (f"so ranks, tests and the critical-difference diagram use {SCORE_LABELS[self.score]} "
                "instead (fallback)") if self.fell_back else "so nothing is ranked by it"
        where = "" if len(self.lacking) == self.tables else f" in {'; '.join(self.lacking)}"
        return (f"Note: the ranking metric, {SCORE_LABELS[self.requested]}, is not recorded by {runs} of the "
                f"{self.runs} runs (made by commit {', '.join(commits)}, before the metric existed){where}; {then}.")

    def short_note(self) -> str:
        """The same in a few words, for a section below the full note ("" if nothing lacks)."""
        if not self.lacking:
            return ""
        commits = sorted({c for found in self.lacking.values() for c in found})
        return (f"Ranked by {SCORE_LABELS[self.score]}: {SCORE_LABELS[self.requested]} is not recorded by "
                f"runs of commit {', '.join(commits)}.")


def choose_ranking(groups: Sequence[Group], metric: str = DEFAULT_SCORE) -> Ranking:
    """The score to rank ``groups`` by: ``metric``, or its fallback if any run lacks it."""
    requested = score_name(metric)
    lacking = {g.title: found for g in groups if (found := g.lacking(requested))}
    score = FALLBACK_SCORES.get(requested, requested) if lacking else requested
    runs = sum(len(r.seeds) for g in groups for r in g.methods.values())
    return Ranking(requested, score, lacking, len(groups), runs)


REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout holding ``common/``: reports show paths relative to it."""


def display_path(path: Path, root: Optional[Path] = None) -> str:
    """``path`` relative to ``root`` (default: the repository root) when it lies below it, else
    absolute: the same text whatever the working directory (a report's bytes must not depend on
    where it ran from)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path(root or REPO_ROOT).resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def resolve_results_dir(path: Path) -> Path:
    """A benchmark folder's ``results/``, or ``path`` itself if it is a results folder."""
    path = Path(path)
    is_benchmark = any((path / name).exists() for name in ("results", "run_benchmark.py", "plot_results.ipynb"))
    return path / "results" if is_benchmark else path


def load_results(results_dir: Path) -> list[Group]:
    """Every group of finished runs under ``results_dir`` (a benchmark folder works too).

    Raises :class:`MixedConfigurationError` if the runs of one folder differ in configuration.
    """
    results_dir = resolve_results_dir(results_dir)
    if not results_dir.is_dir():
        return []
    groups = []
    for model_dir in sorted(p for p in results_dir.iterdir() if p.is_dir() and p.name != REPORT_FOLDER):
        folders = [model_dir] + sorted(
            p for p in model_dir.rglob("*")
            if p.is_dir() and "checkpoints" not in p.relative_to(model_dir).parts
        )
        for folder in folders:
            group = _load_group(results_dir, folder, model_dir.name, folder.relative_to(model_dir).parts)
            if group is not None:
                groups.append(group)
    return groups


def load_folder(results_dir: Path, model: str, variant: Sequence[str] = ()) -> Optional[Group]:
    """The group of one folder, ``<results_dir>/<model>/<variant...>/`` alone (None if it holds no
    finished runs); raises :class:`MixedConfigurationError` like :func:`load_results`."""
    folder = Path(results_dir, model, *variant)
    if not folder.is_dir():
        return None
    return _load_group(Path(results_dir), folder, model, tuple(variant))


def _load_group(results_dir: Path, folder: Path, model: str, variant: tuple[str, ...]) -> Optional[Group]:
    runs: dict[str, list[tuple[dict, dict]]] = {}
    incomplete: list[str] = []
    commits: dict[str, int] = {}
    for path in sorted(folder.glob("*.json")):
        metadata = _read_json(path)
        config = (metadata or {}).get("config")
        if not isinstance(config, dict) or "method" not in config or "seed" not in config:
            incomplete.append(f"{path.name} (unreadable, or without a configuration)")
            continue
        key = RunKey(model, config["method"], int(config["seed"]), variant)
        if key.metadata_path(results_dir) != path:
            incomplete.append(f"{path.name} (its configuration names {key.metadata_path(results_dir).name})")
            continue
        if not all(key.array_path(results_dir, m).exists() for m in REQUIRED_METRICS):
            incomplete.append(f"{path.name} (arrays missing)")
            continue
        paths = {m: key.array_path(results_dir, m) for m in dict.fromkeys((*METRICS, *COST_METRICS))}
        arrays = {m: np.load(p) for m, p in paths.items() if p.exists()}
        arrays["near_random_share"] = _near_random_share(arrays, (metadata.get("problem") or {}))
        commit = str(metadata.get("git_commit", "unknown"))
        arrays["commit"] = commit
        runs.setdefault(config["method"], []).append((config, arrays))
        commits[commit] = commits.get(commit, 0) + 1
    finished_prefixes = {f"{c['method']}_{c['seed']}" for rs in runs.values() for c, _ in rs}
    for path in sorted(folder.glob("checkpoints/*.npz")):  # see common.checkpoint
        if path.stem not in finished_prefixes and not (folder / f"{path.stem}.json").exists():
            incomplete.append(f"{path.stem} (checkpointed: in progress or interrupted)")
    for path in sorted(folder.glob("*_consensus_accuracy_*.npy")):
        method, seed = path.stem.rsplit("_consensus_accuracy_", 1)
        prefix = f"{method}_{seed}"
        if prefix not in finished_prefixes and not (folder / f"{prefix}.json").exists():
            if not (folder / "checkpoints" / f"{prefix}.npz").exists():
                incomplete.append(f"{prefix} (arrays without JSON: being written or interrupted)")
    if not runs:
        return None
    shared = _shared_config(folder, runs)
    order = [m for m in METHODS if m in runs] + sorted(m for m in runs if m not in METHODS)
    methods = {name: _stack(name, runs[name]) for name in order}
    return Group(folder, model, tuple(variant), shared, methods, incomplete, commits)


def _near_random_share(arrays: dict, problem: dict) -> float:
    """The share of the labels bought that near-random annotators gave (NaN if not recorded)."""
    near_random = problem.get("near_random_annotators")
    if near_random is None or "labels_per_annotator" not in arrays:
        return np.nan
    paid = arrays["labels_per_annotator"].sum(axis=0)
    return float(paid[near_random].sum() / max(paid.sum(), 1))


def _read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _shared_config(folder: Path, runs: dict[str, list[tuple[dict, dict]]]) -> dict:
    """The configuration common to all runs; raises naming the files if any field differs."""
    files: dict[str, dict[str, list[str]]] = {}
    for method_runs in runs.values():
        for config, _ in method_runs:
            name = f"{config['method']}_{config['seed']}.json"
            for key, value in config.items():
                if key not in VARYING_CONFIG:
                    files.setdefault(key, {}).setdefault(json.dumps(value, sort_keys=True), []).append(name)
    n_runs = sum(len(r) for r in runs.values())
    problems = []
    for key, by_value in files.items():
        if len(by_value) > 1 or sum(len(f) for f in by_value.values()) < n_runs:
            parts = [f"{value} in {_file_list(names)}" for value, names in sorted(by_value.items(), key=lambda kv: len(kv[1]))]
            problems.append(f"{key}: " + "; ".join(parts))
    if problems:
        raise MixedConfigurationError(
            f"runs in {folder} were made with different configurations and cannot share one table:\n  "
            + "\n  ".join(problems)
            + "\nmove one set to another --results-dir (or rerun it with --force)"
        )
    first_config = next(iter(runs.values()))[0][0]
    return {k: v for k, v in first_config.items() if k not in VARYING_CONFIG}


def _file_list(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _ranges(seeds: Sequence[int]) -> str:
    """``[0, 1, 2, 4]`` -> ``"0-2, 4"``."""
    parts, seeds = [], sorted(seeds)
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(str(seeds[i]) if i == j else f"{seeds[i]}-{seeds[j]}")
        i = j + 1
    return ", ".join(parts) or "none"


def _stack(method: str, runs: list[tuple[dict, dict]]) -> MethodRuns:
    runs = sorted(runs, key=lambda r: int(r[0]["seed"]))
    stacked = {m: np.stack([arrays[m] for _, arrays in runs]) for m in REQUIRED_METRICS}
    rounds = stacked["consensus_accuracy"].shape[1]
    new_label_accuracy = np.stack([arrays.get("new_label_accuracy", np.full(rounds, np.nan)) for _, arrays in runs])
    annotators = {arrays["labels_per_annotator"].shape[1] for _, arrays in runs if "labels_per_annotator" in arrays}
    width = annotators.pop() if len(annotators) == 1 else 0
    labels_per_annotator = np.stack([
        arrays["labels_per_annotator"] if "labels_per_annotator" in arrays else np.full((rounds, width), np.nan)
        for _, arrays in runs
    ])
    return MethodRuns(
        method=method,
        consensus=runs[0][0].get("consensus", ""),
        seeds=np.array([int(config["seed"]) for config, _ in runs]),
        consensus_accuracy=stacked["consensus_accuracy"].astype(float),
        model_accuracy=stacked["model_accuracy"].astype(float),
        num_new_examples=stacked["num_new_examples"].astype(int),
        label_distribution_entropy=stacked["label_distribution_entropy"].astype(float),
        new_label_accuracy=new_label_accuracy.astype(float),
        labels_per_annotator=labels_per_annotator.astype(float),
        near_random_share=np.array([arrays["near_random_share"] for _, arrays in runs], dtype=float),
        n_labels=stacked["labels_per_example"].sum(axis=2),
        final_labels_per_example=stacked["labels_per_example"][:, -1],
        **_cost_metrics([arrays for _, arrays in runs], rounds),
    )


def _cost_metrics(runs: list[dict], rounds: int) -> dict:
    """Issue 18's metrics per seed. ``correct_labels`` and the cost spent of runs made before they
    were recorded are derived exactly (consensus accuracy is over the labeled examples, and those
    runs paid 1 per label); ``pool_label_accuracy`` cannot be, and stays NaN."""
    pool, correct, cost, spent, derived = [], [], [], [], set()
    for arrays in runs:
        counts = arrays["labels_per_example"]
        labeled = np.count_nonzero(counts > 0, axis=1)
        pool.append(arrays.get("pool_label_accuracy", np.full(rounds, np.nan)))
        if "correct_labels" in arrays:
            correct.append(arrays["correct_labels"])
        else:
            correct.append(np.rint(arrays["consensus_accuracy"] * labeled))
            derived.add("correct_labels")
        if "label_cost" in arrays:
            cost.append(arrays["label_cost"])
            spent.append(np.concatenate([[0.0], np.cumsum(arrays["label_cost"], dtype=float)[:-1]]))
        else:
            collected = counts.sum(axis=1)
            cost.append(np.full(rounds, np.nan))
            spent.append(collected - collected[0])
            derived.add("cost_spent")
    return {
        "n_labeled": np.stack([np.count_nonzero(a["labels_per_example"] > 0, axis=1) for a in runs]),
        "pool_label_accuracy": np.stack(pool).astype(float),
        "correct_labels": np.stack(correct).astype(float),
        "label_cost": np.stack(cost).astype(float),
        "cost_spent": np.stack(spent).astype(float),
        "commits": tuple(a["commit"] for a in runs),
        "derived": tuple(sorted(derived)),
    }


TABLE_FINALS = ("n_labeled", "n_labels", "cost_spent")
"""Counts a table shows at the last measurement beside the scores (examples labeled, labels
collected, cost spent)."""


def summary_table(group: Group, metric: str = DEFAULT_SCORE, reference: str = "random") -> pd.DataFrame:
    """One row per method: mean and std over its seeds of every score in :data:`SCORES` and of
    the counts in :data:`TABLE_FINALS`, average rank by the ranking score (``metric``, or its
    fallback when the runs do not record it: see :func:`choose_ranking`; over the seeds all methods
    share), labels and cost needed to reach ``reference``'s final mean of that score's curve, and
    paired Wilcoxon tests (Holm) of it against ``reference`` and against the best method."""
    ranking = choose_ranking([group], metric)
    rank_by = ranking.score
    names = list(group.methods)
    rows = {}
    for name, runs in group.methods.items():
        row = {"method": name, "consensus": runs.consensus, "seeds": len(runs.seeds)}
        for score in SCORES:
            row[f"{score}_mean"], row[f"{score}_std"] = stats.mean_std(runs.score(score))
        for count in TABLE_FINALS:
            row[f"final_{count}_mean"], row[f"final_{count}_std"] = stats.mean_std(runs.final(count))
        rows[name] = row

    _, common, matrix = group.score_matrix(rank_by)
    ranks = stats.average_ranks(matrix) if len(common) else np.full(len(names), np.nan)
    for name, rank in zip(names, ranks):
        rows[name]["average_rank"] = rank
        rows[name]["rank_seeds"] = len(common)

    curve = SCORE_CURVES[rank_by]
    target = getattr(group.methods[reference], curve).mean(axis=0)[-1] if reference in group.methods else None
    for name, runs in group.methods.items():
        mean_curve = getattr(runs, curve).mean(axis=0)
        for column, spent in (("labels", runs.n_labels), ("cost", runs.cost_spent)):
            reached = None if target is None else stats.labels_to_reach(mean_curve, spent.mean(axis=0), target)
            rows[name][f"{column}_to_reach_reference"] = np.nan if reached is None else reached

    best = names[int(np.argmax([rows[n][f"{rank_by}_mean"] for n in names]))]
    for label, ref in (("reference", reference), ("best", best)):
        for name in names:
            rows[name].update({f"vs_{label}": ref, f"vs_{label}_mean_difference": np.nan, f"vs_{label}_wins": 0,
                               f"vs_{label}_losses": 0, f"vs_{label}_p": np.nan, f"vs_{label}_p_holm": np.nan,
                               f"vs_{label}_seeds": 0, f"vs_{label}_note": ""})
        if ref not in group.methods:
            continue
        differences = {}
        for name in names:
            if name != ref:
                _, _, pair = group.score_matrix(rank_by, [name, ref])
                differences[name] = pair[:, 0] - pair[:, 1]
        for test in stats.paired_tests(differences, ref):
            rows[test.method].update({
                f"vs_{label}_mean_difference": test.mean_difference, f"vs_{label}_wins": test.wins,
                f"vs_{label}_losses": test.losses, f"vs_{label}_p": test.p_value,
                f"vs_{label}_p_holm": test.p_holm, f"vs_{label}_seeds": test.n_seeds, f"vs_{label}_note": test.note,
            })

    table = pd.DataFrame(list(rows.values()))
    table.insert(0, "benchmark", group.benchmark)
    table.insert(1, "model", group.model)
    table.insert(2, "variant", "/".join(group.variant))
    table.insert(3, "consensus_override", group.consensus_override or "")
    table.insert(4, "assigner", group.assigner)
    table["rank_by"] = rank_by
    table["rank_by_requested"] = ranking.requested
    return table


ASSIGNER_SCORES = ("final_pool_label_accuracy", "final_consensus_accuracy", "final_correct_labels", "final_model_accuracy")


def assigner_table(groups: Sequence[Group]) -> pd.DataFrame:
    """Methods crossed with assigners: one row per (table without its assigner, method, assigner)
    for every table whose runs were also made with another assigner; over the seeds that every
    assigner of the method has (paired), the mean and std of each score in
    :data:`ASSIGNER_SCORES`, of the examples labeled and the cost spent, the mean accuracy of the
    labels bought, and the share of them that near-random annotators gave."""
    families: dict[tuple, list[Group]] = {}
    for group in groups:
        rest = tuple(part for part in group.variant if not part.startswith("assigner-"))
        families.setdefault((group.benchmark, group.model, rest), []).append(group)
    rows = []
    for (benchmark, model, rest), members in families.items():
        if len({g.assigner for g in members}) < 2:
            continue
        members = sorted(members, key=lambda g: g.assigner != "random")
        for name in dict.fromkeys(m for g in members for m in g.methods):
            having = [g for g in members if name in g.methods]
            shared = set.intersection(*(set(g.methods[name].seeds.tolist()) for g in having))
            for group in having:
                runs = group.methods[name]
                rows_of_shared = np.isin(runs.seeds, sorted(shared))
                rows.append({
                    "benchmark": benchmark, "model": model, "variant": "/".join(rest), "method": name,
                    "assigner": group.assigner, "seeds": int(rows_of_shared.sum()),
                    **{f"{score}_{part}": value for score in ASSIGNER_SCORES
                       for part, value in zip(("mean", "std"), stats.mean_std(runs.score(score)[rows_of_shared]))},
                    **{f"final_{count}_{part}": value for count in ("n_labeled", "cost_spent")
                       for part, value in zip(("mean", "std"), stats.mean_std(runs.final(count)[rows_of_shared]))},
                    "new_label_accuracy_mean": _nanmean(runs.new_label_accuracy[rows_of_shared]),
                    "near_random_share_mean": _nanmean(runs.near_random_share[rows_of_shared]),
                })
    return pd.DataFrame(rows)


def _nanmean(values: np.ndarray) -> float:
    """The mean of the finite values, NaN (without a warning) when there are none."""
    finite = np.isfinite(values)
    return float(values[finite].mean()) if finite.any() else float("nan")


def widest_groups(groups: Sequence[Group]) -> list[Group]:
    """The tables run with the most methods. A cross run with a few methods (another assigner,
    consensus rule or data seed) must not shrink a benchmark's ranks to the methods it shares."""
    most = max((len(g.methods) for g in groups), default=0)
    return [g for g in groups if len(g.methods) == most]


def rank_blocks(groups: Sequence[Group], score: str) -> tuple[list[str], np.ndarray]:
    """``(methods, matrix)`` for ranks across tables: one row per (group, seed) block, over the
    methods every group has and, within each group, the seeds all those methods share."""
    if not groups:
        return [], np.zeros((0, 0))
    shared = set.intersection(*(set(g.methods) for g in groups))
    names = [m for m in groups[0].methods if m in shared]
    blocks = [group.score_matrix(score, names)[2] for group in groups] if names else []
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, 0))
    return names, matrix


def tidy_table(groups: Sequence[Group]) -> pd.DataFrame:
    """One row per run and round, columns :data:`TIDY_COLUMNS` (concatenate tables from several
    machines or benchmarks with ``pd.concat``)."""
    frames = []
    for group in groups:
        for runs in group.methods.values():
            n_seeds, rounds = runs.consensus_accuracy.shape
            frames.append(pd.DataFrame({
                "benchmark": group.benchmark,
                "model": group.model,
                "variant": "/".join(group.variant),
                "consensus_override": group.consensus_override or "",
                "assigner": group.assigner,
                "method": runs.method,
                "consensus": runs.consensus,
                "seed": np.repeat(runs.seeds, rounds),
                "round": np.tile(np.arange(rounds), n_seeds),
                "n_labels": runs.n_labels.ravel(),
                "n_labeled": runs.n_labeled.ravel(),
                "pool_label_accuracy": runs.pool_label_accuracy.ravel(),
                "consensus_accuracy": runs.consensus_accuracy.ravel(),
                "correct_labels": runs.correct_labels.ravel(),
                "model_accuracy": runs.model_accuracy.ravel(),
                "label_cost": runs.label_cost.ravel(),
                "cost_spent": runs.cost_spent.ravel(),
                "num_new_examples": runs.num_new_examples.ravel(),
                "label_distribution_entropy": runs.label_distribution_entropy.ravel(),
                "new_label_accuracy": runs.new_label_accuracy.ravel(),
            }))
    if not frames:
        return pd.DataFrame({column: [] for column in TIDY_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(TIDY_COLUMNS)]


def write_tidy(table: pd.DataFrame, path: Path) -> Path:
    """Write a tidy table as CSV, or as Parquet if ``path`` ends in ``.parquet`` (needs pyarrow)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    return path


def read_tidy(path: Path) -> pd.DataFrame:
    """Read a table written by :func:`write_tidy` back with its column types."""
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    text_columns = ("benchmark", "model", "variant", "consensus_override", "assigner", "method", "consensus")
    table = pd.read_csv(path, dtype={c: str for c in text_columns}, keep_default_na=False)
    for column in ("pool_label_accuracy", "consensus_accuracy", "correct_labels", "model_accuracy", "label_cost",
                   "cost_spent", "label_distribution_entropy", "new_label_accuracy"):
        if column in table:  # tables written before a column existed lack it
            table[column] = pd.to_numeric(table[column])
    return table
