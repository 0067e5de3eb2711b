"""CIFAR-10S: 1,000 CIFAR-10 test images labeled by 248 Prolific annotators, with the time each label took.

File, in the data directory's ``cifar-10s/`` folder (see ``../shared/data/README.md``):
``raw_human_data.csv``, every screen of the study (Collins, Bhatt & Weller, HCOMP 2022). A label is
a row with ``task == "spec_conf"``: ``subject`` (the annotator's random id), ``img_id`` (index into
the CIFAR-10 test set), ``label`` (CIFAR-10's class name), ``response`` (JSON; ``classSelect`` such
as ``mostProbFrog`` is the annotator's most probable class, the label used here) and ``rt`` (the
milliseconds spent on that screen: the label's cost, in seconds here). The pixels are not in this
file: they are the CIFAR-10 test images of the ``cifar-10h/`` folder, at index ``img_id``.

Decisions, each checked on load (a file that breaks one is a :class:`~common.data.DataError`):

- **Repeated (image, annotator) pairs.** 25 pairs occur twice: one annotator's whole session
  (``cl73wyn5lh8fjj1``, 25 images) is recorded twice in the file, row for row identical (same
  ``trial_index``, answer and ``rt``). The copy is the same screen, not a second label: the first
  row is kept. A repeated pair whose rows differ, or more repeated pairs than :data:`EXPECTED`
  names, is refused.
- **``rerun_spec_conf`` rows** (498) show an annotator an image it labeled earlier in the session:
  a consistency check, not a new label (the same worker cannot give an item two labels in the
  replay). They are not used as labels; each must repeat an earlier ``spec_conf`` pair of its
  annotator, and the share of reruns whose top class agrees with the first answer is reported.
- **Outliers in time.** ``rt`` is time on the screen; the longest is 1,577 s (26 minutes), 13
  labels exceed 10 minutes: an annotator who left the screen open, not a price paid for the label.
  :func:`label_costs` caps each time at the :data:`COST_CAP_PERCENTILE` th percentile of all label
  times (240 s): 1% of the labels are capped, the rest keep their real time. The raw times are kept
  in :attr:`Cifar10S.seconds`.
- **The authors' exclusion list** (``exclusion_criteria_prolific_ids.json``, 45 Prolific ids) is in
  another id space: the file holds no Prolific id, so the list cannot be applied here, nor checked
  directly. What can be said: the file's 248 annotators are the paper's N = 248, and no annotator in
  it breaks the authors' criterion for exclusion (choosing as most probable a class also marked
  impossible, more than once; measured, 25 annotators did it once), which suggests the listed
  participants are already out. Every annotator in the file is kept.

The oracle by replay: :attr:`Cifar10S.hidden_labels` is ``(1000, 248)``, row = image (sorted
``img_id``), column = annotator (sorted ``subject``), NaN where the annotator did not label it.

Facts (measured here): 6,200 distinct labels, 6 or 7 per image (800 and 200 images); per-label
accuracy 0.843; annotator accuracy 0.84 ± 0.08, none near random; median time 32.4 s.

Licence: none is stated; do not redistribute the file. Cite Collins, Bhatt & Weller, "Eliciting and
Learning with Soft Labels from Every Annotator", HCOMP 2022 (arXiv:2207.00810), and Krizhevsky
(2009) for CIFAR-10.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from common.data import DataError, DataFile, download_url, require_file

__all__ = [
    "CLASS_NAMES",
    "COST_CAP_PERCENTILE",
    "Cifar10S",
    "EXPECTED",
    "NUM_CLASSES",
    "RAW_FILE",
    "label_costs",
    "load_cifar10s",
    "read_cifar10s",
]

FOLDER = "cifar-10s"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
NUM_CLASSES = len(CLASS_NAMES)
NUM_CIFAR_TEST_IMAGES = 10_000
EXPECTED = {"label_rows": 6225, "images": 1000, "annotators": 248, "repeated_pairs": 25}
"""The data README's counts, checked by :func:`load_cifar10s`."""
COST_CAP_PERCENTILE = 99.0

SOURCE_COMMIT = "bc74f16628bda0b6f00cad17244b4be6be056063"
RAW_URL = (f"https://raw.githubusercontent.com/cambridge-mlg/cifar-10s/{SOURCE_COMMIT}"
           "/cifar10s_data/raw_human_data.csv")
RAW_FILE = DataFile(
    name=f"{FOLDER}/raw_human_data.csv",
    sha256="e1dd26bfd75a00cb4e9e875a4ad7a02b3f16a3bd318a165b4693c059c85d0eb0",
    description="CIFAR-10S raw study data: one row per screen, the labels are task == spec_conf",
    how_to_get=f"download cifar10s_data/raw_human_data.csv of github.com/cambridge-mlg/cifar-10s ({RAW_URL})",
)
COLUMNS = ("trial_index", "subject", "rt", "response", "task", "label", "img_id")
_CLASS_INDEX = {name: k for k, name in enumerate(CLASS_NAMES)}


@dataclass(frozen=True)
class Cifar10S:
    """The CIFAR-10S labels. Arrays are read-only (they are shared by every load in a process)."""

    images: np.ndarray  # (n,) int64, CIFAR-10 test index of each row, sorted
    labels: np.ndarray  # (n,) int64, CIFAR-10's class of each image, as the file states it
    hidden_labels: np.ndarray  # (n, M) float64: the annotator's top class, NaN where none
    seconds: np.ndarray  # (n, M) float64: the raw time of that label (s), NaN where none
    annotators: np.ndarray  # (M,) str, the subject id of each column, sorted
    facts: dict  # counts measured on load: repeated pairs dropped, reruns and their agreement


def label_costs(seconds: np.ndarray, percentile: float = COST_CAP_PERCENTILE) -> tuple[np.ndarray, float]:
    """Each label's cost: its time capped at the ``percentile`` th percentile of all label times.
    Returns the costs (NaN where no label) and the cap in seconds."""
    cap = float(np.nanpercentile(seconds, percentile))
    return np.minimum(seconds, cap), cap


# ------------------------------------------------------------------------------ parsing


def _top_class(responses: pd.Series, path: Path) -> np.ndarray:
    """The class of each answer's ``classSelect`` (``mostProbFrog`` -> frog), vectorised."""
    names = responses.str.extract(r'"classSelect"\s*:\s*"mostProb([A-Za-z]+)"', expand=False).str.lower()
    unknown = sorted(set(names[~names.isin(list(CLASS_NAMES))].fillna("<none>")))
    if unknown:
        raise DataError(f"Malformed {path}: answers whose classSelect names no CIFAR-10 class, e.g. {unknown[:5]}.")
    return names.map(_CLASS_INDEX).to_numpy(dtype=np.int64)


def _numeric(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise DataError(f"Malformed {path}: {column} is missing or not a number on {np.sum(~np.isfinite(values))} "
                        f"label rows.")
    return values


def read_cifar10s(path: str | Path, expected: Optional[dict] = None) -> Cifar10S:
    """Parse and check ``raw_human_data.csv`` (any size, or the counts in ``expected``); see the
    module docstring for the rules."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, usecols=list(COLUMNS), dtype={"subject": str, "task": str, "label": str,
                                                                 "response": str})
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(f"Malformed {path}: {' '.join(str(error).split())} (expected columns {list(COLUMNS)}).") from None
    task = frame["task"].fillna("")
    labels, reruns = frame[task == "spec_conf"], frame[task == "rerun_spec_conf"]
    image = _numeric(labels, "img_id", path)
    if np.any((image != np.round(image)) | (image < 0) | (image >= NUM_CIFAR_TEST_IMAGES)):
        raise DataError(f"Malformed {path}: img_id must be a CIFAR-10 test index 0..{NUM_CIFAR_TEST_IMAGES - 1}.")
    image = image.astype(np.int64)
    seconds = _numeric(labels, "rt", path) / 1000
    if np.any(seconds <= 0):
        raise DataError(f"Malformed {path}: {np.sum(seconds <= 0)} label rows have a time (rt) that is not positive.")
    top = _top_class(labels["response"].fillna(""), path)
    stated = labels["label"].fillna("").str.lower()
    if not stated.isin(list(CLASS_NAMES)).all():
        raise DataError(f"Malformed {path}: unknown CIFAR-10 class names {sorted(set(stated) - set(CLASS_NAMES))[:5]}.")
    subject = labels["subject"].fillna("").to_numpy(dtype=str)

    # Repeated (image, annotator) pairs: identical records of one screen are one label.
    pair = pd.DataFrame({"image": image, "subject": subject})
    repeated = pair.duplicated(keep="first").to_numpy()
    record = pd.DataFrame({"image": image, "subject": subject, "trial": labels["trial_index"].to_numpy(),
                           "response": labels["response"].to_numpy(), "seconds": seconds})
    differing = record[pair.duplicated(keep=False).to_numpy()].drop_duplicates()
    if differing.duplicated(["image", "subject"]).any():
        first = differing[differing.duplicated(["image", "subject"])].iloc[0]
        raise DataError(f"Malformed {path}: annotator {first['subject']} labeled image {first['image']} twice with "
                        f"different records; only identical copies of one screen are merged.")
    keep = ~repeated
    image, subject, top, seconds, stated = image[keep], subject[keep], top[keep], seconds[keep], stated.to_numpy()[keep]

    images, rows = np.unique(image, return_inverse=True)
    annotators, columns = np.unique(subject, return_inverse=True)
    true = np.full(len(images), -1)
    true[rows] = pd.Series(stated).map(_CLASS_INDEX).to_numpy()
    if np.any(true[rows] != pd.Series(stated).map(_CLASS_INDEX).to_numpy()):
        raise DataError(f"Malformed {path}: rows of one image state different CIFAR-10 classes (label column).")
    hidden = np.full((len(images), len(annotators)), np.nan)
    hidden[rows, columns] = top
    times = np.full(hidden.shape, np.nan)
    times[rows, columns] = seconds

    # Reruns repeat an earlier label of the same annotator: not labels, but they must align.
    rerun_image = _numeric(reruns, "img_id", path).astype(np.int64)
    rerun_rows = pd.Index(images).get_indexer(rerun_image)
    rerun_columns = pd.Index(annotators).get_indexer(reruns["subject"].fillna("").to_numpy(dtype=str))
    found = (rerun_rows >= 0) & (rerun_columns >= 0)
    found[found] = ~np.isnan(hidden[rerun_rows[found], rerun_columns[found]])
    if not np.all(found):
        raise DataError(f"Malformed {path}: {np.sum(~found)} rerun_spec_conf rows repeat no earlier spec_conf label "
                        f"of their annotator.")
    rerun_top = _top_class(reruns["response"].fillna(""), path)
    agreement = float(np.mean(rerun_top == hidden[rerun_rows, rerun_columns])) if len(reruns) else float("nan")

    facts = {"label_rows": int(len(labels)), "repeated_pairs": int(repeated.sum()), "labels": int(keep.sum()),
             "images": int(len(images)), "annotators": int(len(annotators)), "reruns": int(len(reruns)),
             "rerun_agreement": agreement}
    if expected is not None:
        differ = {key: (facts[key], expected[key]) for key in expected if facts[key] != expected[key]}
        if differ:
            raise DataError(f"{path} disagrees with the data README: (found, expected) {differ}.")
    data = Cifar10S(images, true, hidden, times, annotators, facts)
    for array in (images, true, hidden, times, annotators):
        array.flags.writeable = False
    return data


# ------------------------------------------------------------------------------ file and download

_LOADED: dict[tuple, Cifar10S] = {}


def load_cifar10s(data_dir: str | Path) -> Cifar10S:
    """The CIFAR-10S labels from ``data_dir`` (checked; downloaded from :data:`RAW_URL` when missing,
    one line naming the file, the directory and the fix when that fails), parsed once per process
    per file version and checked against the data README's counts."""
    path = require_file(Path(data_dir), RAW_FILE, fetch=lambda tmp: download_url(RAW_URL, tmp, timeout=120))
    key = (str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns)
    if key not in _LOADED:
        _LOADED[key] = read_cifar10s(path, EXPECTED)
    return _LOADED[key]
