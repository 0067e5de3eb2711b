"""Speed and memory figures for a benchmark grid (printed, never asserted).

    python perf/speed.py grid [--reference-methods] [--model M] wall-robot [run_benchmark flags]
        runs the grid into a fresh temporary results folder and prints its wall time, the time
        split per phase and per method, the peak memory per worker and the peak memory of the
        whole grid (this process and its workers, sampled every half second);
    python perf/speed.py jobs wall-robot [run_benchmark flags, default --methods random --seeds 2]
        runs the same small grid with --jobs 1 and --jobs 2 and prints the speed-up;
    python perf/speed.py models wall-robot [--models sklearn-mlp mlp] [run_benchmark flags,
            default --methods random --seeds 1]
        runs the same small grid with each model (--jobs 1), prints each one's run time (wall and
        CPU), the speed-up over the first, and whether their result arrays are identical;
    python perf/speed.py summarize RESULTS_DIR [--model M]
        prints the phase split and memory recorded in an existing results folder.

--model defaults to the benchmark's default model (grid) or to every model folder found (summarize).

REFERENCE_METHODS are the seven methods of the ActiveLab study's code; perf/reference_speed.py
times the study's own code against ours on them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.registry import benchmark_names, get_benchmark  # noqa: E402
from common.loop import PHASES  # noqa: E402
from common.runner import main as run_benchmark  # noqa: E402

REFERENCE_METHODS = [
    "random", "good_random", "entropy", "uncertainty", "activelab", "disagreement", "activelab_ensemble",
]


class PeakMemory:
    """Samples the memory of this process and all its descendants (the grid's workers) in a thread.

    PSS counts a page shared by several processes (the memory-mapped features, libraries) once in
    all; the RSS sum counts it in every process, so it overstates what the grid needs.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak_pss_mb = self.peak_rss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(self.interval):
            pss = rss = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    info = process.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                pss, rss = pss + info.pss, rss + info.rss
            self.peak_pss_mb = max(self.peak_pss_mb, pss / 2**20)
            self.peak_rss_mb = max(self.peak_rss_mb, rss / 2**20)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def timed_grid(benchmark: str, results_dir: Path, extra: list[str]) -> float:
    start = time.perf_counter()
    status = run_benchmark(get_benchmark(benchmark), ["--results-dir", str(results_dir), "--force", *extra])
    if status != 0:
        raise SystemExit(f"the grid failed with exit status {status}")
    return time.perf_counter() - start


def compare_models(benchmark: str, models: list[str], extra: list[str], tmp: Path) -> None:
    import numpy as np

    times = {}
    for model in models:
        cpu = time.process_time()
        wall = timed_grid(benchmark, tmp / model, ["--jobs", "1", "--model", model, *extra])
        times[model] = (wall, time.process_time() - cpu)
    print(f"\n{benchmark} {' '.join(extra)}, --jobs 1, load average {os.getloadavg()[0]:.2f} at the end:")
    first = models[0]
    for model, (wall, cpu) in times.items():
        print(f"  {model:<14} {wall:8.1f} s wall {cpu:8.1f} s CPU   {times[first][0] / wall:5.2f}x wall "
              f"{times[first][1] / cpu:5.2f}x CPU vs {first}")
    arrays = sorted(p.name for p in (tmp / first / first).glob("*.npy"))
    for model in models[1:]:
        same = [np.array_equal(np.load(tmp / first / first / name), np.load(tmp / model / model / name)) for name in arrays]
        print(f"  {model} vs {first}: {sum(same)} of {len(arrays)} result arrays identical")


def summarize(results_dir: Path, model: str | None = None) -> None:
    if model is None:
        models = sorted(p.name for p in Path(results_dir).iterdir() if p.is_dir() and any(p.glob("*.json")))
        if not models:
            raise SystemExit(f"no finished runs in {results_dir}")
        for model in models:
            summarize(results_dir, model)
        return
    by_method: dict[str, list[dict]] = defaultdict(list)
    for path in sorted((Path(results_dir) / model).glob("*.json")):
        metadata = json.loads(path.read_text())
        by_method[metadata["config"]["method"]].append(metadata)
    if not by_method:
        raise SystemExit(f"no finished runs in {Path(results_dir) / model}")
    print(f"\nper run, mean over seeds ({results_dir}/{model}):")
    header = f"{'method':<26}{'runs':>5}{'seconds':>9}{'fit %':>7}{'other %':>9}" + "".join(
        f"{p:>11}" for p in PHASES
    ) + f"{'peak MB':>9}"
    print(header)
    totals = defaultdict(float)
    for method, runs in by_method.items():
        phases = {p: sum(r["phase_seconds"][p] for r in runs) / len(runs) for p in PHASES}
        seconds = sum(phases.values())
        for p in PHASES:
            totals[p] += sum(r["phase_seconds"][p] for r in runs)
        peak = max(r.get("peak_rss_mb", float("nan")) for r in runs)
        print(
            f"{method:<26}{len(runs):>5}{seconds:>9.1f}{100 * phases['fit'] / seconds:>7.1f}"
            f"{100 * (1 - phases['fit'] / seconds):>9.2f}"
            + "".join(f"{phases[p]:>11.2f}" for p in PHASES)
            + f"{peak:>9.0f}"
        )
    all_seconds = sum(totals.values())
    print(
        f"all runs: {all_seconds:.0f} s of run time, {100 * (1 - totals['fit'] / all_seconds):.2f}% outside "
        "model fitting (consensus, scoring, selection, bookkeeping)"
    )
    worst_round = max(
        (1 - r["phase_seconds"]["fit"] / sum(r["phase_seconds"].values()), m, r["config"]["seed"])
        for m, runs in by_method.items() for r in runs
    )
    print(f"largest non-fit share of one run: {100 * worst_round[0]:.2f}% ({worst_round[1]}, seed {worst_round[2]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    grid = sub.add_parser("grid")
    grid.add_argument("benchmark", choices=benchmark_names())
    grid.add_argument("--reference-methods", action="store_true", help="the study's seven methods only")
    grid.add_argument("--model", help="default: the benchmark's default model")
    grid.add_argument("rest", nargs=argparse.REMAINDER, help="further run_benchmark.py flags")
    jobs = sub.add_parser("jobs")
    jobs.add_argument("benchmark", choices=benchmark_names())
    jobs.add_argument("rest", nargs=argparse.REMAINDER)
    models = sub.add_parser("models")
    models.add_argument("benchmark", choices=benchmark_names())
    models.add_argument("--models", nargs="+", default=["sklearn-mlp", "mlp"])
    models.add_argument("rest", nargs=argparse.REMAINDER)
    summary = sub.add_parser("summarize")
    summary.add_argument("results_dir", type=Path)
    summary.add_argument("--model", help="default: every model folder in RESULTS_DIR")
    args = parser.parse_args()

    if args.command == "summarize":
        summarize(args.results_dir, args.model)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.command == "grid":
            model = args.model or get_benchmark(args.benchmark).default_model
            extra = ["--model", model, *(["--methods", *REFERENCE_METHODS] if args.reference_methods else []), *args.rest]
            with PeakMemory() as memory:
                seconds = timed_grid(args.benchmark, Path(tmp), extra)
            print(f"\n{args.benchmark} grid {' '.join(extra)}: {seconds / 60:.1f} min wall time")
            print(f"peak memory of the whole grid (this process and its workers): {memory.peak_pss_mb:.0f} MB PSS "
                  f"(shared pages counted once), {memory.peak_rss_mb:.0f} MB summed RSS")
            summarize(Path(tmp), model)
        elif args.command == "models":
            compare_models(args.benchmark, args.models, args.rest or ["--methods", "random", "--seeds", "1"], Path(tmp))
        else:
            extra = args.rest or ["--methods", "random", "--seeds", "2"]
            one = timed_grid(args.benchmark, Path(tmp) / "1", ["--jobs", "1", *extra])
            two = timed_grid(args.benchmark, Path(tmp) / "2", ["--jobs", "2", *extra])
            print(f"\n{' '.join(extra)}: --jobs 1 {one:.1f} s, --jobs 2 {two:.1f} s, speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
