"""The ActiveLab study's own stored results, summarised as Markdown tables (printed, never asserted).

    .venv/bin/python perf/study_figures.py [--study-repo BARE_GIT_DIR [--rev REV] | --study-dir CHECKOUT]

What it prints. For each of the study's active-learning benchmarks -- CIFAR-10H (ResNet), Wall Robot
with the MLP and with ExtraTrees, and Wall Robot completely labeled with the MLP and with
ExtraTrees -- one Markdown table with a row per method: the method's study name and this project's
name for it, the number of runs, the number of rounds per run, the final-round consensus-label
accuracy and the final-round model test accuracy (mean ± std over runs, std with ddof=0 as in the
study's plots), and the model accuracy at the last point of the study's model-accuracy plots
(round 15, see below). Then the mapping of the study's method names to ours (which study methods
have no counterpart here, which of ours the study did not run), a check of the figures quoted from
the study (Wall Robot MLP final consensus accuracy ~0.998 ActiveLab vs ~0.929 random; the paper's
Wall Robot ExtraTrees final model accuracy 0.988 ActiveLab vs 0.945 random), and any irregularity
found in the arrays (NaNs, runs of different lengths, runs without a partner array).

Where the figures come from. The public repository cleanlab/multiannotator-benchmarks (Goh &
Mueller 2023, "ActiveLab: Active Learning with Re-Labeling by Multiple Annotators"), folder
``active_learning_benchmarks/``:

* ``cifar-10h/results/<method>_accuracy_<timestamp>.npy`` and
  ``cifar-10h/results/<method>_model_accuracy_<timestamp>.npy``
* ``wall-robot/results/{mlp,et}/<method>_accuracy_<k>.npy`` and ``..._model_accuracy_<k>.npy``
* ``wall-robot-completely-labeled/results/{mlp,et}/`` likewise

Each file is ONE run (a 1-D array, one entry per round); a method's runs are the files with its
prefix, stacked into (runs, rounds) exactly as the study's ``2_plot_results*.ipynb`` notebooks do
(``np.array([np.load(f) for f in os.listdir(...) if f.startswith(f"{method}_accuracy")])``). The
run id (timestamp or k) pairs a consensus-accuracy file with its model-accuracy file. Round 0 is the
state before any new label (majority vote on the initial labels); round i follows i batches
(100 labels on Wall Robot, 500 on CIFAR-10H); the study records ``num_iter`` rounds (20 on Wall
Robot, 13 on CIFAR-10H), the same round-0-first convention as this project's ``--rounds``.
"Final round" here is the last entry of each array. The study's model-accuracy plots cut the arrays
at ``[:, :16]`` (rounds 0..15) while its consensus-accuracy plots do not; the paper's quoted final
model accuracies are those of the full arrays (round 19), which the check below shows.

The snapshot read by default is the bare git directory
``/work/.mirror/cleanlab+multiannotator-benchmarks/repo`` at ``HEAD`` (commit
237db43227a3b6d213f882e8bffd4ca122c191d9 when this was written; the commit actually read is
printed). Files are read with ``git show <rev>:<path>`` into memory; ``--study-dir`` reads a plain
checkout instead. The study's data is only read, never copied into or committed to this
repository.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_REPO = "/work/.mirror/cleanlab+multiannotator-benchmarks/repo"
ROOT = "active_learning_benchmarks"

# (title, results folder inside ROOT, methods the study's plotting notebook draws for it)
SINGLE = ["random", "good_random", "entropy", "uncertainty", "crowdlab"]
ENSEMBLE = ["disagreement", "crowdlab_ensemble"]
SECTIONS = [
    ("CIFAR-10H (ResNet)", "cifar-10h/results", SINGLE + ENSEMBLE),
    ("Wall Robot, MLP", "wall-robot/results/mlp", SINGLE + ENSEMBLE),
    ("Wall Robot, ExtraTrees", "wall-robot/results/et", SINGLE),
    ("Wall Robot completely labeled, MLP", "wall-robot-completely-labeled/results/mlp",
     SINGLE + ["active_label_cleaning"] + ENSEMBLE),
    ("Wall Robot completely labeled, ExtraTrees", "wall-robot-completely-labeled/results/et",
     SINGLE + ["active_label_cleaning"]),
]
ORDER = SINGLE + ["active_label_cleaning"] + ENSEMBLE

# study name -> this project's name (None: no counterpart)
STUDY_TO_OURS = {
    "random": "random",
    "good_random": "good_random",
    "entropy": "entropy",
    "uncertainty": "uncertainty",
    "crowdlab": "activelab",
    "disagreement": "disagreement",
    "crowdlab_ensemble": "activelab_ensemble",
    "active_label_cleaning": "active_label_cleaning",
}

PLOT_END = 15  # last round of the study's model-accuracy plots ([:, :16])

# figures quoted from the study: (section title, metric, study method, value, source)
KNOWN = [
    ("Wall Robot, MLP", "consensus", "crowdlab", 0.998, "study, Wall Robot MLP"),
    ("Wall Robot, MLP", "consensus", "random", 0.929, "study, Wall Robot MLP"),
    ("Wall Robot, ExtraTrees", "model", "crowdlab", 0.988, "paper, Wall Robot ExtraTrees"),
    ("Wall Robot, ExtraTrees", "model", "random", 0.945, "paper, Wall Robot ExtraTrees"),
]

FILE = re.compile(r"^(?P<method>.+?)_(?P<kind>model_accuracy|accuracy)_(?P<run>[^_/]+)\.npy$")


class Source:
    """Lists and reads files of the study, from a bare git directory or a checkout."""

    def __init__(self, repo: str | None, rev: str, checkout: str | None):
        self.checkout = Path(checkout) if checkout else None
        self.git = None if checkout else ["git", f"--git-dir={repo}"]
        self.rev = rev
        if self.git:
            found = subprocess.run(self.git + ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                                   capture_output=True, text=True)
            if found.returncode != 0:
                sys.exit(f"{repo}: no commit {rev!r} (is --study-repo the bare git directory of the study?)")
            self.commit = found.stdout.strip()
            self.label = f"{repo} at {rev}"
            self._files = self._git("ls-tree", "-r", "--name-only", self.commit, ROOT).decode().split("\n")
        else:
            self.label = str(self.checkout)
            self.commit = "unknown (not a git checkout)"
            try:
                git = ["git", "-C", str(self.checkout), "rev-parse"]
                top = subprocess.run(git + ["--show-toplevel"], capture_output=True, check=True, text=True).stdout.strip()
                if Path(top).resolve() == self.checkout.resolve():  # not some enclosing repository's HEAD
                    self.commit = subprocess.run(git + ["HEAD"], capture_output=True, check=True, text=True).stdout.strip()
            except (subprocess.CalledProcessError, FileNotFoundError):
                pass
            base = self.checkout / ROOT
            if not base.is_dir():
                sys.exit(f"{base} does not exist: --study-dir must be a checkout of cleanlab/multiannotator-benchmarks")
            self._files = [p.relative_to(self.checkout).as_posix() for p in base.rglob("*.npy")]

    def _git(self, *args: str) -> bytes:
        try:
            return subprocess.run(self.git + list(args), capture_output=True, check=True).stdout
        except subprocess.CalledProcessError as e:
            sys.exit(f"git {' '.join(args)} failed: {e.stderr.decode().strip()}")

    def listdir(self, folder: str) -> list[str]:
        """Names of the files directly inside ``ROOT/folder`` (like os.listdir in the notebooks)."""
        prefix = f"{ROOT}/{folder}/"
        return sorted(f[len(prefix):] for f in self._files if f.startswith(prefix) and "/" not in f[len(prefix):])

    def load(self, folder: str, name: str) -> np.ndarray:
        path = f"{ROOT}/{folder}/{name}"
        data = self._git("show", f"{self.commit}:{path}") if self.git else (self.checkout / path).read_bytes()
        return np.load(io.BytesIO(data), allow_pickle=False)


@dataclass
class MethodRuns:
    consensus: dict[str, np.ndarray] = field(default_factory=dict)  # run id -> per-round array
    model: dict[str, np.ndarray] = field(default_factory=dict)


def collect(source: Source, folder: str) -> tuple[dict[str, MethodRuns], list[str]]:
    methods: dict[str, MethodRuns] = {}
    notes: list[str] = []
    for name in source.listdir(folder):
        m = FILE.match(name)
        if not m:
            continue  # other per-run arrays: distribution entropy, num_added, per-example counts
        runs = methods.setdefault(m["method"], MethodRuns())
        array = source.load(folder, name)
        if array.ndim != 1:
            notes.append(f"`{name}` has shape {array.shape}, not one run of rounds; rows taken as runs")
            for i, row in enumerate(np.atleast_2d(array)):
                getattr(runs, "model" if m["kind"] == "model_accuracy" else "consensus")[f"{m['run']}#{i}"] = row
            continue
        getattr(runs, "model" if m["kind"] == "model_accuracy" else "consensus")[m["run"]] = array
    for method, runs in methods.items():
        if set(runs.consensus) != set(runs.model):
            notes.append(f"`{method}`: runs without a partner array: consensus only "
                         f"{sorted(set(runs.consensus) - set(runs.model))}, model only "
                         f"{sorted(set(runs.model) - set(runs.consensus))}")
        for kind in ("consensus", "model"):
            arrays = getattr(runs, kind)
            lengths = sorted({len(a) for a in arrays.values()})
            if len(lengths) > 1:
                notes.append(f"`{method}` {kind} accuracy: runs of different lengths {lengths}")
            nans = {r: int(np.isnan(a).sum()) for r, a in arrays.items() if np.isnan(a).any()}
            if nans:
                notes.append(f"`{method}` {kind} accuracy: NaN entries (rounds never reached) in runs {nans}")
    return methods, notes


def final(arrays: dict[str, np.ndarray], index: int | None = None) -> np.ndarray:
    """Per run: the entry at ``index``, or the last non-NaN entry when ``index`` is None."""
    out = []
    for a in arrays.values():
        if index is None:
            valid = a[~np.isnan(a)]
            out.append(valid[-1] if len(valid) else np.nan)
        else:
            out.append(a[index] if index < len(a) else np.nan)
    return np.array(out, dtype=float)


def fmt(values: np.ndarray) -> str:
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return "–"
    return f"{values.mean():.4f} ± {values.std():.4f}"


def our_methods() -> tuple[set[str] | None, str]:
    """This project's registered method names, or None where the registry cannot be imported."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        from common.methods import METHODS
    except Exception as e:  # the table does not need it; say so and go on
        return None, f"(could not import this project's method registry: {e!r})"
    return set(METHODS), "(checked against `common.methods.METHODS`)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--study-repo", default=DEFAULT_REPO,
                       help=f"bare git directory of cleanlab/multiannotator-benchmarks (default: {DEFAULT_REPO})")
    where.add_argument("--study-dir", help="a checkout of cleanlab/multiannotator-benchmarks (read from disk, not git)")
    parser.add_argument("--rev", default="HEAD", help="revision to read with --study-repo (default: HEAD)")
    args = parser.parse_args(argv)

    source = Source(None if args.study_dir else args.study_repo, args.rev, args.study_dir)
    print("# The ActiveLab study's stored results\n")
    print(f"Source: cleanlab/multiannotator-benchmarks, `{ROOT}/<dataset>/results/[<model>/]"
          f"<method>_{{accuracy,model_accuracy}}_<run>.npy`, read from {source.label}")
    print(f"Commit: {source.commit}\n")
    print("One file per run; final round = last entry of each run's array; mean ± std over runs (std ddof=0, "
          f"as the study's plots). \"model @ {PLOT_END}\" = model accuracy at round {PLOT_END}, the last point "
          "of the study's model-accuracy plots (they cut the arrays at [:, :16]).\n")

    results: dict[str, dict[str, MethodRuns]] = {}
    seen: set[str] = set()
    all_notes: list[str] = []
    for title, folder, plotted in SECTIONS:
        methods, notes = collect(source, folder)
        results[title] = methods
        seen |= set(methods)
        print(f"## {title}\n\n`{ROOT}/{folder}/`\n")
        print(f"| study method | ours | runs | rounds | final consensus acc. | final model acc. | model @ {PLOT_END} |")
        print("| --- | --- | ---: | ---: | --- | --- | --- |")
        for method in sorted(methods, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m)):
            runs = methods[method]
            lengths = sorted({len(a) for a in (*runs.consensus.values(), *runs.model.values())})
            rounds = "/".join(str(n) for n in lengths)
            n_runs = len(runs.consensus) if len(runs.consensus) == len(runs.model) else \
                f"{len(runs.consensus)}/{len(runs.model)}"
            mark = "" if method in plotted else " ¹"
            ours = STUDY_TO_OURS.get(method) or "—"
            at_end = "= final (all plotted)" if max(lengths) <= PLOT_END + 1 else fmt(final(runs.model, PLOT_END))
            print(f"| `{method}`{mark} | `{ours}` | {n_runs} | {rounds} | {fmt(final(runs.consensus))} | "
                  f"{fmt(final(runs.model))} | {at_end} |")
        unplotted = [m for m in methods if m not in plotted]
        if unplotted:
            print(f"\n¹ stored but not drawn by the study's plotting notebook for this benchmark: "
                  f"{', '.join(f'`{m}`' for m in unplotted)}")
        missing = [m for m in plotted if m not in methods]
        if missing:
            print(f"\nDrawn by the notebook but no arrays stored: {', '.join(missing)}")
        all_notes += [f"{title}: {n}" for n in notes]
        print()

    registered, how = our_methods()
    print("## Method names: study → this project\n")
    print(f"{how}\n")
    print("| study | ours | registered here |")
    print("| --- | --- | --- |")
    for method in sorted(seen, key=lambda m: (ORDER.index(m) if m in ORDER else len(ORDER), m)):
        ours = STUDY_TO_OURS.get(method)
        here = "?" if registered is None else ("yes" if ours in registered else "no")
        print(f"| `{method}` | {f'`{ours}`' if ours else '— (no counterpart)'} | {here} |")
    no_counterpart = [m for m in seen if not STUDY_TO_OURS.get(m) or (registered is not None and STUDY_TO_OURS[m] not in registered)]
    print(f"\nStudy methods with no counterpart here: {', '.join(no_counterpart) if no_counterpart else 'none'}.")
    if registered is not None:
        extra = sorted(registered - {STUDY_TO_OURS[m] for m in seen if STUDY_TO_OURS.get(m)})
        print(f"Ours that the study did not run: {', '.join(f'`{m}`' for m in extra) or 'none'}.")
    print()

    print("## Check against the figures quoted from the study\n")
    print("| benchmark | metric | method | quoted | final round (mean) | "
          f"round {PLOT_END} (mean) | matches (final, to 3 decimals) |")
    print("| --- | --- | --- | ---: | ---: | ---: | --- |")
    for title, metric, method, quoted, where in KNOWN:
        runs = results[title][method]
        arrays = runs.consensus if metric == "consensus" else runs.model
        last = np.nanmean(final(arrays))
        at_end = np.nanmean(final(arrays, PLOT_END))
        ok = "yes" if abs(last - quoted) <= 0.0005 + 1e-12 else "NO"
        print(f"| {title} | {metric} | `{method}` | {quoted:.3f} ({where}) | {last:.4f} | {at_end:.4f} | {ok} |")
    print()

    print("## Irregularities in the arrays\n")
    print("\n".join(f"- {n}" for n in all_notes) if all_notes else
          "None: every run has a consensus and a model array of the same length, all runs of a method "
          "have the same number of rounds, and no array holds a NaN.")


if __name__ == "__main__":
    main()
