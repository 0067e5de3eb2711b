"""The results layout on disk: atomic writes, completeness checks, loading.

Per run (model, method, seed) in ``<results_dir>/<model>/``, or in a variant folder below it when
the run departs from the benchmark's defaults in a way that changes what it measures: a
non-default dataset flag (``annotators-individual/``, ``test-size-4000/``), a fixed data draw
(``data-seed-123/``), a ``--consensus`` override (``consensus-crowdlab/``), a non-default
``--assigner`` (``assigner-ie_thresh/``), a non-default ``--annotator-cost``
(``annotator-cost-accuracy/``), a ``--round-cost`` budget (``round-cost-50/``), nested in that
order::

    <method>_<metric>_<seed>.npy   one array per metric (see METRICS)
    <method>_<seed>.json           configuration, package versions, git commit, timings

The JSON file is written last: a run is finished exactly when its JSON exists, names the same
configuration and all its arrays are there. Every file is written to a temporary name and renamed,
so an interrupted run leaves nothing that looks finished.

While a run is unfinished, the process computing it keeps its last finished round in
``<folder>/checkpoints/<method>_<seed>.npz`` (see :mod:`common.checkpoint`); it is removed when the
run finishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from common.data import atomic_write

REQUIRED_METRICS = (
    "consensus_accuracy",
    "model_accuracy",
    "num_new_examples",
    "label_distribution_entropy",
    "labels_per_example",
)
METRICS = (
    *REQUIRED_METRICS,
    "new_label_accuracy",
    "labels_per_annotator",
    "pool_label_accuracy",
    "correct_labels",
    "label_cost",
)
"""One array per metric and run, each with one entry (or row) per round, measured before that
round's labels arrive: accuracy of the consensus labels of the labeled examples
(``consensus_accuracy``, the ActiveLab study's metric), test accuracy of the fold-averaged model,
previously unlabeled examples labeled in the round, normalised entropy of the class distribution
of all labels collected, labels per pool example (``(rounds, n_pool)`` int);
``pool_label_accuracy``: accuracy over the whole pool of the labels one would ship at that moment,
the consensus label where an example is labeled and the arg-max of the round's pool predictions
(the ones its consensus and method used) where it is not (:func:`common.loop.shipped_labels`);
``correct_labels`` (int): labeled examples whose consensus label is right.
Two are about the labels bought in the round instead: ``new_label_accuracy``, their accuracy
against the truth, and ``label_cost``, their total cost (1 per label unless the problem has label
costs, see ``--annotator-cost``; with ``--round-cost B`` the round's overrun of its budget is
``label_cost - B``, the price of the last label bought at most); and ``labels_per_annotator``
(``(rounds, annotators)`` int) counts how many of them each annotator gave: whom the budget paid.
All are float ``(rounds,)`` unless said otherwise.

``new_label_accuracy`` and ``labels_per_annotator``, and later ``pool_label_accuracy``,
``correct_labels`` and ``label_cost``, came after the others: runs made before they existed lack
their files and count as finished without them (only :data:`REQUIRED_METRICS` are required);
:func:`load_run` returns the arrays a run has, and the analysis (:mod:`common.analysis`) puts NaN
in place of the missing ones, or derives them where the other arrays determine them."""


@dataclass(frozen=True)
class RunKey:
    model: str
    method: str
    seed: int
    variant: tuple[str, ...] = ()
    """Variant folders below the model's, outermost first (module docstring); () for defaults."""

    def folder(self, results_dir: Path) -> Path:
        return Path(results_dir, self.model, *self.variant)

    def array_path(self, results_dir: Path, metric: str) -> Path:
        return self.folder(results_dir) / f"{self.method}_{metric}_{self.seed}.npy"

    def metadata_path(self, results_dir: Path) -> Path:
        return self.folder(results_dir) / f"{self.method}_{self.seed}.json"

    def checkpoint_path(self, results_dir: Path) -> Path:
        return self.folder(results_dir) / "checkpoints" / f"{self.method}_{self.seed}.npz"


class ConflictingResultError(RuntimeError):
    """A finished run with the same name but another configuration is already on disk."""


def write_run(results_dir: Path, key: RunKey, arrays: dict[str, np.ndarray], metadata: dict) -> None:
    """Write a run's arrays, then its metadata (which marks it finished)."""
    for metric in METRICS:
        if metric not in arrays and metric not in REQUIRED_METRICS:
            continue
        atomic_write(key.array_path(results_dir, metric), lambda s, a=arrays[metric]: np.save(s, a))
    text = json.dumps(metadata, indent=2, sort_keys=True).encode()
    atomic_write(key.metadata_path(results_dir), lambda s: s.write(text))


def read_metadata(results_dir: Path, key: RunKey) -> Optional[dict]:
    path = key.metadata_path(results_dir)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def is_finished(results_dir: Path, key: RunKey, config: dict) -> bool:
    """True if the run is on disk with ``config``; raises if it is there with another one."""
    metadata = read_metadata(results_dir, key)
    if metadata is None or not all(key.array_path(results_dir, m).exists() for m in REQUIRED_METRICS):
        return False
    if metadata.get("config") != config:
        differing = sorted(
            name
            for name in set(config) | set(metadata.get("config", {}))
            if config.get(name) != metadata.get("config", {}).get(name)
        )
        raise ConflictingResultError(
            f"{key.metadata_path(results_dir)} holds a finished run with a different configuration "
            f"({', '.join(differing)}); use another --results-dir, or --force to replace it"
        )
    return True


def load_run(results_dir: Path, key: RunKey) -> dict[str, Any]:
    """A finished run's arrays by metric name (those it has), plus ``"metadata"``."""
    paths = {m: key.array_path(results_dir, m) for m in METRICS}
    run: dict[str, Any] = {m: np.load(path) for m, path in paths.items() if path.exists()}
    run["metadata"] = read_metadata(results_dir, key)
    return run
