"""Per-round checkpoints: an interrupted run resumes from its last finished round, bit-identically.

After every round the process that runs the loop writes the run's :class:`~common.loop.LoopState`
(label matrix, last predictions, metrics and timings so far, the generator's state) to
``RunKey.checkpoint_path(results_dir)``, atomically, with the run's configuration. A later attempt
at the same run with the same configuration starts from it; a checkpoint of another configuration,
or one that cannot be read, is ignored (and overwritten after the next round). The checkpoint is
removed when the run finishes.

The file is a NumPy ``.npz`` archive without pickled objects: the arrays, plus ``meta``, a JSON
string holding the configuration, the round to run next, the generator state and the timings.

Checkpoints live in the results directory *as seen by the process that runs the loop*: locally
that is the results directory; on a cluster it is the same path on the worker, which is the
client's results directory on a shared filesystem and otherwise a resume cache on the worker's
disk. A checkpoint that cannot be written there only costs the ability to resume: the run goes on,
with one warning.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from common.data import atomic_write
from common.loop import LoopState, RunResult
from common.results import RunKey

FORMAT = 3
"""3: the loop records pool_label_accuracy, correct_labels and label_cost (a format-2 checkpoint
lacks them, so it is ignored and the run starts over)."""


class RunCheckpoint:
    """The checkpoint file of one run with one configuration."""

    def __init__(self, results_dir: Path, key: RunKey, config: dict[str, Any]):
        self.path = key.checkpoint_path(results_dir)
        # Compare configurations as they come back from JSON (tuples become lists).
        self.config = json.loads(json.dumps(config))
        self.writable = True

    def load(self) -> Optional[LoopState]:
        """The saved state if there is one for this configuration, else None."""
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                if meta.get("format") != FORMAT or meta.get("config") != self.config:
                    return None
                metrics = {
                    name[len("metric_"):]: archive[name]
                    for name in archive.files
                    if name.startswith("metric_")
                }
                previous = archive["previous_predictions"] if "previous_predictions" in archive.files else None
                labels = archive["labels"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            warnings.warn(f"ignoring unreadable checkpoint {self.path}: {error}", stacklevel=2)
            return None
        result = RunResult(metrics, meta["round_seconds"], meta["phase_seconds"], meta["fits"])
        return LoopState(meta["next_round"], labels, previous, meta["rng_state"], result)

    def save(self, state: LoopState) -> None:
        """Replace the checkpoint with ``state``, atomically."""
        if not self.writable:
            return
        meta = {
            "format": FORMAT,
            "config": self.config,
            "next_round": state.next_round,
            "rng_state": state.rng_state,
            "round_seconds": state.result.round_seconds,
            "phase_seconds": state.result.phase_seconds,
            "fits": state.result.fits,
        }
        arrays = {f"metric_{name}": values for name, values in state.result.metrics.items()}
        arrays["labels"] = state.labels
        if state.previous_predictions is not None:
            arrays["previous_predictions"] = state.previous_predictions
        arrays["meta"] = np.array(json.dumps(meta))
        try:
            atomic_write(self.path, lambda stream: np.savez(stream, **arrays))
        except OSError as error:
            self.writable = False
            warnings.warn(f"cannot write checkpoint {self.path} ({error}); this run goes on without", stacklevel=2)

    def remove(self) -> None:
        """Delete the checkpoint (the run is finished)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass


def remove_empty_checkpoint_folders(results_dir: Path, keys: list[RunKey]) -> None:
    """Remove the ``checkpoints`` folders of ``keys`` that hold nothing any more."""
    for folder in {key.checkpoint_path(results_dir).parent for key in keys}:
        try:
            folder.rmdir()
        except OSError:  # absent, or still holding checkpoints of unfinished runs
            pass
