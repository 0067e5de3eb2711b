"""CIFAR-10H: the 10,000 CIFAR-10 test images with about 51 real human votes each.

Files, in the data directory (see ``../shared/data/README.md`` for sources and checksums):

- images: ``cifar-10-batches-py/test_batch`` (the canonical CIFAR-10 file, where torchvision's
  ``CIFAR10(root=DATA_DIR, train=False)`` keeps it; preferred), else
  ``cifar-10h/cifar10-test-images.npz`` (a JPEG-derived copy); when neither is there the canonical
  archive is downloaded and ``test_batch`` extracted from it, both checked against their MD5 sums;
- votes: ``cifar-10h/cifar10h-raw.csv`` or ``cifar-10h/cifar10h-raw.zip`` (one row per vote with
  the real ``annotator_id``; attention checks are dropped) when present, else
  ``cifar-10h/cifar10h-counts.npy`` (votes per image and class; downloaded when missing).

Annotators. With the raw file the hidden label matrix holds the real annotators' votes. With the
counts only, who cast which vote is unknown: :func:`pseudo_annotator_labels` deals each image's
real votes to pseudo-annotators (about 200 images each, as in CIFAR-10H) so that their skill
differs, and :func:`least_accurate_initial_labels` gives the initially labeled images their labels
from the least accurate annotators first, to a target consensus accuracy. Every label in both
matrices is a real human vote for that image, and no vote is used twice.

Licence: CIFAR-10H is CC BY-NC-SA 4.0. Cite Peterson, Battleday, Griffiths & Russakovsky (ICCV
2019) and Krizhevsky (2009).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from common.data import DataError, DataFile, atomic_write, download_url, require_file

NUM_IMAGES, NUM_CLASSES = 10_000, 10
CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

COUNTS_URL = "https://raw.githubusercontent.com/jcpeterson/cifar-10h/master/data/cifar10h-counts.npy"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"  # as torchvision checks it
TEST_BATCH = "cifar-10-batches-py/test_batch"
TEST_BATCH_MD5 = "40351d587109b95175f43aff81a1287e"
RAW_CSV, RAW_ZIP = "cifar-10h/cifar10h-raw.csv", "cifar-10h/cifar10h-raw.zip"
RAW_COLUMNS = ("annotator_id", "is_attn_check", "chosen_label", "cifar10_test_set_idx")

COUNTS_FILE = DataFile(
    name="cifar-10h/cifar10h-counts.npy",
    sha256="9b36b4550349af56c79083356312eb4af856cc5fd3caf1f669d40b9d0bbb69ff",
    description="CIFAR-10H human votes per image and class, (10000, 10)",
    how_to_get=f"download data/cifar10h-counts.npy from github.com/jcpeterson/cifar-10h ({COUNTS_URL})",
)
IMAGES_NPZ = DataFile(
    name="cifar-10h/cifar10-test-images.npz",
    sha256="8e40e424b5c7acf6d8d39a36c342e048b50996f936271f997c4e6c02a15bef31",
    description="CIFAR-10 test images (uint8 10000x32x32x3) and labels, test-batch order",
    how_to_get=f"put {TEST_BATCH} from {CIFAR10_URL} in the data directory instead",
)


@dataclass(frozen=True)
class RawVotes:
    """One row per real vote (attention checks dropped): who, on which image, which class."""

    annotator: np.ndarray  # (V,) int, the real annotator_id
    image: np.ndarray  # (V,) int, index in the CIFAR-10 test set
    label: np.ndarray  # (V,) int, 0..9


@dataclass(frozen=True)
class Cifar10H:
    images: np.ndarray  # (10000, 32, 32, 3) uint8
    labels: np.ndarray  # (10000,) int64, the original CIFAR-10 labels
    counts: np.ndarray  # (10000, 10) int64 votes
    raw: Optional[RawVotes]  # None: only the counts are available
    sources: dict  # which file each part came from, recorded with every run


# ------------------------------------------------------------------------------ reading files


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_test_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The canonical pickled ``test_batch``: images ``(10000, 32, 32, 3)`` uint8 and labels."""
    with open(path, "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(data), np.asarray(batch[b"labels"], dtype=np.int64)


def read_images_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as archive:
        return archive["images"].astype(np.uint8), archive["labels"].astype(np.int64)


def read_counts(path: Path) -> np.ndarray:
    counts = np.load(path)
    if counts.ndim != 2 or counts.shape[1] != NUM_CLASSES or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise DataError(f"Malformed {path}: expected non-negative whole vote counts, one column per class.")
    return counts.astype(np.int64)


def read_raw_votes(source: str | Path | io.IOBase) -> RawVotes:
    """Votes from ``cifar10h-raw.csv`` (a path or an open file); attention checks are dropped
    (``is_attn_check == 1`` or ``cifar10_test_set_idx == -99999``), as are repeated votes of one
    annotator on one image (the first is kept)."""
    try:
        frame = pd.read_csv(source, usecols=list(RAW_COLUMNS))
    except (ValueError, pd.errors.ParserError) as error:
        raise DataError(f"Malformed CIFAR-10H raw file: {' '.join(str(error).split())}.") from None
    frame = frame[(frame["is_attn_check"] == 0) & (frame["cifar10_test_set_idx"] >= 0)]
    frame = frame.drop_duplicates(["annotator_id", "cifar10_test_set_idx"])
    image = frame["cifar10_test_set_idx"].to_numpy(dtype=np.int64)
    label = frame["chosen_label"].to_numpy(dtype=np.int64)
    if np.any((label < 0) | (label >= NUM_CLASSES)):
        raise DataError("Malformed CIFAR-10H raw file: chosen_label out of range 0..9.")
    return RawVotes(frame["annotator_id"].to_numpy(dtype=np.int64), image, label)


# ------------------------------------------------------------------------------ locating files


def _download_test_batch(dest: Path) -> None:
    """Download the CIFAR-10 archive and extract ``test_batch`` to ``dest`` (MD5-checked)."""
    with tempfile.TemporaryDirectory(prefix="cifar-10-") as tmp:
        archive = download_url(CIFAR10_URL, Path(tmp) / "cifar-10-python.tar.gz", timeout=120)
        if _md5(archive) != CIFAR10_ARCHIVE_MD5:
            raise RuntimeError(f"{CIFAR10_URL} does not match its MD5 sum")
        with tarfile.open(archive) as tar:
            member = tar.extractfile(TEST_BATCH)
            if member is None:
                raise RuntimeError(f"{TEST_BATCH} not found in {CIFAR10_URL}")
            batch = member.read()
    if hashlib.md5(batch).hexdigest() != TEST_BATCH_MD5:
        raise RuntimeError(f"{TEST_BATCH} does not match its MD5 sum")
    atomic_write(dest, lambda out: out.write(batch))


def load_images(data_dir: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Images, labels and the name of the file they came from (see the module docstring)."""
    batch = Path(data_dir) / TEST_BATCH
    if not batch.exists() and not IMAGES_NPZ.path_in(data_dir).exists():
        try:
            _download_test_batch(batch)
        except Exception as error:  # offline, HTTP error, read-only data directory, ...
            reason = " ".join(f"{type(error).__name__}: {error}".split())
            raise DataError(
                f"CIFAR-10 test images not found in {data_dir} (looked for {TEST_BATCH} and "
                f"{IMAGES_NPZ.name}) and downloading {CIFAR10_URL} failed ({reason}). Pass --data-dir "
                f"DIR or set AL_RELABEL_DATA_DIR to a directory holding either file."
            ) from None
    if batch.exists():
        if _md5(batch) != TEST_BATCH_MD5:
            raise DataError(f"Data file {batch} is corrupt (MD5 mismatch, expected {TEST_BATCH_MD5}); delete it.")
        images, labels = read_test_batch(batch)
        return images, labels, TEST_BATCH
    images, labels = read_images_npz(require_file(data_dir, IMAGES_NPZ))
    return images, labels, IMAGES_NPZ.name


def load_raw_votes(data_dir: Path) -> tuple[Optional[RawVotes], Optional[str]]:
    """The raw votes and their file name, or ``(None, None)`` when no raw file is present."""
    csv, archive = Path(data_dir) / RAW_CSV, Path(data_dir) / RAW_ZIP
    if csv.exists():
        return read_raw_votes(csv), RAW_CSV
    if archive.exists():
        with zipfile.ZipFile(archive) as zf:
            members = [n for n in zf.namelist() if n.endswith("cifar10h-raw.csv")]
            if not members:
                raise DataError(f"{archive} holds no cifar10h-raw.csv.")
            with zf.open(members[0]) as handle:
                return read_raw_votes(handle), RAW_ZIP
    return None, None


_LOADED: dict[str, Cifar10H] = {}


def load_cifar10h(data_dir: str | Path) -> Cifar10H:
    """Images, labels, vote counts and (when present) raw votes; parsed once per process.

    The counts are always loaded (downloaded when missing): they are the annotator source without
    the raw file and a consistency check with it.
    """
    data_dir = Path(data_dir)
    key = str(data_dir.resolve())
    if key not in _LOADED:
        images, labels, image_source = load_images(data_dir)
        counts = read_counts(require_file(data_dir, COUNTS_FILE, fetch=lambda tmp: download_url(COUNTS_URL, tmp)))
        raw, raw_source = load_raw_votes(data_dir)
        n = len(labels)
        if images.shape != (n, 32, 32, 3) or len(counts) != n:
            raise DataError(
                f"CIFAR-10H files in {data_dir} disagree: images {images.shape}, labels {labels.shape}, "
                f"counts {counts.shape}; expected (N, 32, 32, 3), (N,) and (N, 10)."
            )
        if raw is not None and np.any(raw.image >= n):
            raise DataError(f"Malformed CIFAR-10H raw file in {data_dir}: image index beyond {n - 1}.")
        sources = {"images": image_source, "votes": raw_source or COUNTS_FILE.name}
        _LOADED[key] = Cifar10H(images, labels, counts, raw, sources)
    return _LOADED[key]


# ------------------------------------------------------------------------------ annotators


def real_annotator_labels(votes: RawVotes, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hidden labels ``(len(images), M)`` of the real annotators who voted on ``images`` (indices
    into the test set), and their ``annotator_id`` per column."""
    position = np.full(max(votes.image.max(initial=-1), images.max(initial=-1)) + 1, -1)
    position[images] = np.arange(len(images))
    rows = position[votes.image]
    keep = rows >= 0
    annotator_ids, columns = np.unique(votes.annotator[keep], return_inverse=True)
    hidden = np.full((len(images), len(annotator_ids)), np.nan)
    hidden[rows[keep], columns] = votes.label[keep]
    return hidden, annotator_ids


def pseudo_annotator_labels(
    counts: np.ndarray,
    true_labels: np.ndarray,
    rng: np.random.Generator,
    labels_per_annotator: int = 200,
    skill_spread: float = 2.0,
) -> np.ndarray:
    """Deal each image's real votes to pseudo-annotators of differing skill: ``(n, M)`` hidden labels.

    ``M = round(total votes / labels_per_annotator)``. Each image's ``n_i`` votes go to ``n_i``
    distinct annotators drawn uniformly (so each labels about ``labels_per_annotator`` images).
    Annotator ``m`` has a latent skill ``s_m ~ N(0, 1)``; an image's incorrect votes (those that
    differ from ``true_labels``) go to its annotators in a Plackett-Luce order with weights
    ``exp(-skill_spread * s_m)`` (Gumbel top-k), its correct votes to the rest. So with
    ``skill_spread = 0`` every annotator is equally reliable, and the larger it is the more the
    errors concentrate on the least skilled annotators. Every vote is used exactly once.
    """
    n, num_classes = counts.shape
    votes = counts.sum(axis=1)
    width = int(votes.max())
    M = max(int(round(votes.sum() / labels_per_annotator)), width)
    # Annotators of each image: its width smallest random keys, in key order; the first n_i vote.
    keys = rng.random((n, M))
    chosen = np.argpartition(keys, width - 1, axis=1)[:, :width]
    chosen = np.take_along_axis(chosen, np.take_along_axis(keys, chosen, axis=1).argsort(axis=1), axis=1)
    del keys
    voting = np.arange(width)[None, :] < votes[:, None]
    skill = rng.standard_normal(M)
    error_key = np.where(voting, -skill_spread * skill[chosen] + rng.gumbel(size=chosen.shape), -np.inf)
    ranked = np.take_along_axis(chosen, np.argsort(-error_key, axis=1), axis=1)
    # Each image's votes as a list: its incorrect classes first (in random order), correct last.
    class_key = rng.random((n, num_classes)) + (np.arange(num_classes)[None, :] == true_labels[:, None])
    class_order = np.argsort(class_key, axis=1)
    ordered_counts = np.take_along_axis(counts, class_order, axis=1)
    vote_labels = np.repeat(class_order.ravel(), ordered_counts.ravel())
    rows = np.repeat(np.arange(n), votes)
    slot = np.arange(len(rows)) - np.repeat(np.cumsum(votes) - votes, votes)
    hidden = np.full((n, M), np.nan)
    hidden[rows, ranked[rows, slot]] = vote_labels
    return hidden


def annotator_accuracy(hidden: np.ndarray, true_labels: np.ndarray) -> np.ndarray:
    """Each annotator's fraction of correct labels, ``(M,)`` (NaN for one without labels)."""
    given = ~np.isnan(hidden)
    correct = np.sum(hidden == true_labels[:, None], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return correct / given.sum(axis=0)


def describe_annotators(hidden: np.ndarray, true_labels: np.ndarray) -> dict:
    """Facts recorded with every run: how many annotators, how much and how well they label."""
    accuracy = annotator_accuracy(hidden, true_labels)
    given = np.sum(~np.isnan(hidden), axis=0)
    return {
        "num_annotators": int(hidden.shape[1]),
        "labels_per_annotator": {"min": int(given.min()), "median": float(np.median(given)),
                                 "max": int(given.max())},
        "mean_annotator_accuracy": float(np.nanmean(accuracy)),
        "annotator_accuracy_percentiles": {
            str(p): float(np.nanpercentile(accuracy, p)) for p in (1, 5, 25, 50, 75, 95)
        },
    }


STUDY_INITIAL_LABELS: dict[int, int] = {1: 738, 2: 85, 3: 174, 5: 1, 6: 2}
"""Images of the ActiveLab study's 1,000 initially labeled CIFAR-10H images by their number of labels
(1,447 labels, 1.45 per image), as printed by its ``cifar-10h/0_preprocess_data.ipynb``
(cleanlab/multiannotator-benchmarks)."""


def label_counts(labels_per_example: dict[int, int], n: int) -> np.ndarray:
    """``n`` label counts in the proportions of ``labels_per_example``, sorted (largest remainders)."""
    sizes = np.array(sorted(labels_per_example), dtype=int)
    weights = np.array([labels_per_example[k] for k in sizes], dtype=float)
    if np.any(sizes < 1) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(f"labels_per_example must map label counts >= 1 to non-negative weights, got {labels_per_example}")
    exact = n * weights / weights.sum()
    images = np.floor(exact).astype(int)
    images[np.argsort(-(exact - images), kind="stable")[: n - images.sum()]] += 1
    return np.repeat(sizes, images)


def least_accurate_initial_labels(
    hidden: np.ndarray,
    true_labels: np.ndarray,
    labeled: np.ndarray,
    rng: np.random.Generator,
    target_accuracy: float,
    num_classes: int = NUM_CLASSES,
    labels_per_example: dict[int, int] = STUDY_INITIAL_LABELS,
) -> tuple[np.ndarray, float, float]:
    """Initial labels for the ``labeled`` examples, least accurate annotators first.

    How many labels each example gets follows ``labels_per_example`` (images per label count) scaled
    to ``len(labeled)`` by largest remainders and dealt in random order, so 1,000 examples get the
    study's counts exactly. Example ``i`` gets its ``n_i`` labels from its annotators with the smallest keys
    ``(1 - mix) * r_m + mix * u_im``, where ``r_m`` is annotator ``m``'s accuracy rank in [0, 1]
    (0 = least accurate) and ``u_im`` uniform noise: ``mix = 0`` takes each example's least
    accurate annotators, ``mix = 1`` random ones. ``mix`` is set by bisection so that the majority
    vote's accuracy on the labeled examples comes as close as it can to ``target_accuracy`` (``mix``
    is 0 if even the least accurate annotators beat the target, 1 if random ones fall short).

    Returns the initial label matrix (same shape as ``hidden``), ``mix`` and the accuracy reached.
    """
    from common.crowdlab import majority_vote

    accuracy = annotator_accuracy(hidden, true_labels)
    order = np.lexsort((rng.random(len(accuracy)), np.nan_to_num(accuracy, nan=2.0)))
    rank = np.empty(len(accuracy))
    rank[order] = np.arange(len(accuracy)) / max(len(accuracy) - 1, 1)

    rows = hidden[labeled]
    present = ~np.isnan(rows)
    width = int(present.sum(axis=1).max())
    # Each labeled example's annotators as a compact (L, width) table, absent ones padded last.
    candidates = np.argsort(~present, axis=1, kind="stable")[:, :width]
    is_candidate = np.take_along_axis(present, candidates, axis=1)
    noise = rng.random(candidates.shape)
    wanted = np.minimum(rng.permutation(label_counts(labels_per_example, len(labeled))), is_candidate.sum(axis=1))
    if np.any(wanted == 0):
        raise ValueError("some initially labeled examples have no annotator able to label them")
    take = np.arange(width)[None, :] < wanted[:, None]
    row_of = np.repeat(np.arange(len(labeled)), wanted)
    tie_seed = int(rng.integers(2**32))

    def pick(mix: float) -> np.ndarray:
        """Column of each initial label, in ``row_of`` order."""
        key = np.where(is_candidate, (1 - mix) * rank[candidates] + mix * noise, np.inf)
        return np.take_along_axis(candidates, np.argsort(key, axis=1), axis=1)[take]

    def consensus_accuracy(columns: np.ndarray) -> float:
        votes = np.full(rows.shape, np.nan)
        votes[row_of, columns] = rows[row_of, columns]
        consensus = majority_vote(votes, None, num_classes, np.random.default_rng(tie_seed))
        return float(np.mean(consensus == true_labels[labeled]))

    tried = {mix: consensus_accuracy(pick(mix)) for mix in (0.0, 1.0)}
    low, high = 0.0, 1.0
    if tried[0.0] < target_accuracy < tried[1.0]:
        for _ in range(20):
            mix = (low + high) / 2
            tried[mix] = consensus_accuracy(pick(mix))
            low, high = (mix, high) if tried[mix] < target_accuracy else (low, mix)
    mix = min(tried, key=lambda m: (abs(tried[m] - target_accuracy), m))
    initial = np.full(hidden.shape, np.nan)
    columns = pick(mix)
    initial[labeled[row_of], columns] = hidden[labeled[row_of], columns]
    return initial, mix, tried[mix]
