"""LabelMe: 8-scene images with real labels from 59 Amazon Mechanical Turk workers.

Files, in the data directory's ``labelme/`` folder (see ``../shared/data/README.md``), one line per
image, the three splits in the same order within each split:

- ``answers.txt``: the 1,000 training images x 77 space-separated columns, one per worker slot: the
  class that worker chose, ``-1`` where it did not label the image. 18 columns hold no label at all;
  the 59 others are the workers (2,547 labels, 1 to 3 per image);
- ``labels_{train,valid,test}.txt``: the gold class per image (1,000, 500 and 1,188 images);
- ``filenames_{train,valid,test}.txt``: the image file names; each image is at
  ``labelme/<split>/<class name>/<file name>`` (the names start with the class: never a feature);
- ``data_{train,valid,test}.txt``: 200 precomputed features per image, as sparse ``index:value``
  pairs after a leading count of pairs (indices 1..200; every row sums to 58,564, a bag of visual
  words by its values). Their provenance is not documented by the repository that vendors them.

Classes 0..7 are :data:`CLASSES`: highway, insidecity, tallbuilding, street, forest, coast,
mountain, opencountry. This is the order of the source's ``labels_train_names.txt`` and of the
image folders (every image's folder and name prefix equal ``CLASSES[gold]``, checked on load); it
is **not** alphabetical.

Each file is checked against its SHA-256. A missing file is downloaded from the commit of the
vendoring repository that the checksums describe (:data:`SOURCE_URL`); offline, the load stops
with one line naming the files, the directory and how to get them (the original archive,
:data:`ARCHIVE_URL`, holds the crowd labels and images but not, as far as its users' code shows,
these 200-column features).

The oracle by replay: :attr:`LabelMe.hidden_labels` is ``(1000, 59)``, row = training image, column
= worker (the non-empty answer columns, in file order; :attr:`LabelMe.workers` holds each one's
column in ``answers.txt``), NaN where the worker did not label the image.

The rule: a file whose rows do not align (line counts differ between a split's files or between
``answers.txt`` and the training split), a malformed feature line (count and pairs disagree, an
index outside 1..200 or given twice, a non-numeric value), an unknown class, or an image whose name
or folder does not match its gold class raises :class:`~common.data.DataError`; so do counts that
disagree with the data README (:data:`EXPECTED`: images per split, workers, labels) when the files
are read through :func:`load_labelme`. Nothing is silently dropped except the 18 empty answer
columns, which hold no label.

Facts (measured here): per-label accuracy 0.740, majority vote 0.775 with the project's rule (the
data README's 0.766 breaks the 129 ties another way); 42 images have one label, 369 two, 589
three; the busiest worker gave 182 labels.

Images: the 2,688 JPEGs (256x256 RGB) are not needed by the default features;
:func:`image_paths` gives each split's paths in row order, for models that compute their own
features from the pixels (pretrained backbones). Their folder digest is :data:`IMAGES_DIGEST`
(sha256 of the sorted ``sha256sum`` listing of ``find train valid test -type f -name '*.jpg'`` run
in ``labelme/``).

Licence: none is stated; do not redistribute the files. Cite Rodrigues & Pereira, "Deep learning
from crowds", AAAI 2018, and, for the images, Oliva & Torralba, "Modeling the shape of the scene: a
holistic representation of the spatial envelope", IJCV 42(3), 2001, and Russell, Torralba, Murphy &
Freeman, "LabelMe: a database and web-based tool for image annotation", IJCV 77, 2008.

Example::

    data = load_labelme(resolve_data_dir(None))
    data.hidden_labels.shape   # (1000, 59), NaN where a worker did not label an image
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from common.data import DATA_DIR_ENV, DataError, DataFile, download_url, require_file

__all__ = [
    "ARCHIVE_URL",
    "CLASSES",
    "EXPECTED",
    "IMAGES_DIGEST",
    "LABELME_FILES",
    "LabelMe",
    "NUM_CLASSES",
    "NUM_FEATURES",
    "SOURCE_URL",
    "SPLITS",
    "image_paths",
    "load_labelme",
    "read_answers",
    "read_labelme",
    "read_sparse_features",
]

FOLDER = "labelme"
SPLITS = ("train", "valid", "test")
CLASSES = ("highway", "insidecity", "tallbuilding", "street", "forest", "coast", "mountain", "opencountry")
NUM_CLASSES = len(CLASSES)
NUM_FEATURES = 200
EXPECTED = {"train": 1000, "valid": 500, "test": 1188, "workers": 59, "labels": 2547}
"""The data README's counts, checked by :func:`load_labelme`."""

ARCHIVE_URL = "http://fprodrigues.com/LabelMe.tar.gz"
SOURCE_COMMIT = "f015cc1851d76f96cf55b98ea335ad1f6a7ff80b"
SOURCE_URL = f"https://raw.githubusercontent.com/pilot7747/crowd-embeddings/{SOURCE_COMMIT}/data/LabelMe"
IMAGES_DIGEST = "bb5f141e2ddd6b35e13f810b5b696bb641fe29b657d5dd6d203e15991518dc48"

_HOW_TO_GET = (
    f"copy the files of data/LabelMe/ of github.com/pilot7747/crowd-embeddings (commit {SOURCE_COMMIT[:12]}) "
    f"into {FOLDER}/ in the data directory (the crowd labels and images also come in {ARCHIVE_URL})"
)
_SHA256 = {
    "answers.txt": "7d1945e639cc2bf4de40338eca1be9c8a6f0402da63f73a79b71d98e07e91897",
    "labels_train.txt": "229556bdc5da327dd7d4e4154ba180969091c83f43cf8cbee3727131c5a062f6",
    "labels_valid.txt": "40aba43f903a539b38243c411e214da1f8c696cc47aa59811cc3388cc6899892",
    "labels_test.txt": "6d508b638d41fa84b2628615270456df96a49dce18054d201ac6261b03ea77bc",
    "filenames_train.txt": "ab6b8c79cf243aadad711e13c31fd05c645caeeab691be1f93481eb63105142c",
    "filenames_valid.txt": "7f38999aee931a392a04208cf3a0a48a4556a1d1f0dceeb365b04619b6d0816f",
    "filenames_test.txt": "4ecc5ba8be2060d49783a4f955deeed698f3cde8aeef3b1a1daa2e8d976104d4",
    "data_train.txt": "4477377b48860313b6331c359549588b587c2068ec2b113df9ddfc1f1f49391c",
    "data_valid.txt": "cbd87cb85c201fba4e02189ff3790e579365e77e62da0f8dae4b212cc4952356",
    "data_test.txt": "04a95fcb77b5f82292cca3153a1d3076ee078fe3fa233dd45a9e52b1fecfd29d",
}
LABELME_FILES = tuple(
    DataFile(name=f"{FOLDER}/{name}", sha256=sha, description=f"LabelMe {name}", how_to_get=_HOW_TO_GET)
    for name, sha in _SHA256.items()
)


@dataclass(frozen=True)
class LabelMe:
    """The LabelMe data. Arrays are read-only (they are shared by every load in a process)."""

    X: dict  # split -> (n, 200) float64, the vendored features, unscaled
    y: dict  # split -> (n,) int64, gold class 0..7 (index into CLASSES)
    filenames: dict  # split -> (n,) str
    hidden_labels: np.ndarray  # (n_train, n_workers) float64: the worker's class, NaN where none
    workers: np.ndarray  # (n_workers,) int, each worker's column in answers.txt

    @property
    def labels_per_image(self) -> np.ndarray:
        """``(n_train,)`` int, crowd labels per training (pool) image."""
        return np.sum(~np.isnan(self.hidden_labels), axis=1)

    @property
    def worker_accuracy(self) -> np.ndarray:
        """``(n_workers,)`` each worker's fraction of labels equal to the gold class."""
        given = ~np.isnan(self.hidden_labels)
        return np.sum(self.hidden_labels == self.y["train"][:, None], axis=0) / given.sum(axis=0)


# ------------------------------------------------------------------------------ parsing


def read_sparse_features(path: Path, num_features: int = NUM_FEATURES) -> np.ndarray:
    """``(n, num_features)`` float64 from lines ``count i:v i:v ...`` (1-based indices, absent = 0)."""
    X = []
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            tokens = line.split()
            if not tokens:
                raise DataError(f"Malformed {path}: line {number} is empty.")
            try:
                count = int(tokens[0])
                pairs = [token.split(":") for token in tokens[1:]]
                index = np.array([int(i) for i, _ in pairs], dtype=np.int64)
                value = np.array([float(v) for _, v in pairs])
            except ValueError:
                raise DataError(
                    f"Malformed {path}: line {number} is not 'count index:value ...' with whole counts and indices."
                ) from None
            if count != len(pairs):
                raise DataError(f"Malformed {path}: line {number} announces {count} pairs but holds {len(pairs)}.")
            if np.any((index < 1) | (index > num_features)) or len(np.unique(index)) != len(index):
                raise DataError(
                    f"Malformed {path}: line {number} has an index outside 1..{num_features} or one given twice."
                )
            if not np.all(np.isfinite(value)):
                raise DataError(f"Malformed {path}: line {number} has a non-finite value.")
            row = np.zeros(num_features)
            row[index - 1] = value
            X.append(row)
    return np.array(X).reshape(len(X), num_features)


def _read_classes(path: Path) -> np.ndarray:
    try:
        y = np.loadtxt(path, dtype=np.int64, ndmin=1)
    except ValueError:
        raise DataError(f"Malformed {path}: expected one whole class number per line.") from None
    if np.any((y < 0) | (y >= NUM_CLASSES)):
        raise DataError(f"Malformed {path}: unknown classes {sorted(set(y[(y < 0) | (y >= NUM_CLASSES)].tolist()))[:5]} "
                        f"(expected 0..{NUM_CLASSES - 1}).")
    return y


def read_answers(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The hidden labels ``(n, M)`` (NaN where none) and the ``M`` non-empty columns of ``answers.txt``."""
    try:
        answers = np.loadtxt(path, dtype=np.int64, ndmin=2)
    except ValueError:
        raise DataError(f"Malformed {path}: expected rows of whole numbers with the same number of columns.") from None
    bad = (answers < -1) | (answers >= NUM_CLASSES)
    if np.any(bad):
        raise DataError(f"Malformed {path}: unknown classes {sorted(set(answers[bad].tolist()))[:5]} "
                        f"(expected 0..{NUM_CLASSES - 1}, or -1 for no label).")
    workers = np.flatnonzero(np.any(answers >= 0, axis=0))
    hidden = answers[:, workers].astype(np.float64)
    hidden[hidden < 0] = np.nan
    return hidden, workers


def read_labelme(folder: str | Path, expected: Optional[dict] = None) -> LabelMe:
    """Parse and cross-check the files in ``folder`` (any sizes, or the counts in ``expected``)."""
    folder = Path(folder)
    X, y, filenames = {}, {}, {}
    for split in SPLITS:
        X[split] = read_sparse_features(folder / f"data_{split}.txt")
        y[split] = _read_classes(folder / f"labels_{split}.txt")
        filenames[split] = np.array((folder / f"filenames_{split}.txt").read_text().split(), dtype=str)
        lengths = {"data": len(X[split]), "labels": len(y[split]), "filenames": len(filenames[split])}
        if len(set(lengths.values())) != 1:
            raise DataError(f"LabelMe {split} files in {folder} do not align: {lengths} lines.")
        prefix = np.array([name.split("_", 1)[0] for name in filenames[split]])
        wrong = np.flatnonzero(prefix != np.array(CLASSES)[y[split]])
        if len(wrong):
            raise DataError(
                f"{folder / f'labels_{split}.txt'} and filenames_{split}.txt do not align: {len(wrong)} images are "
                f"named for another class than their gold label, e.g. line {wrong[0] + 1}: {filenames[split][wrong[0]]} "
                f"labeled {CLASSES[y[split][wrong[0]]]}."
            )
    hidden, workers = read_answers(folder / "answers.txt")
    if len(hidden) != len(y["train"]):
        raise DataError(f"{folder / 'answers.txt'} has {len(hidden)} rows but the training split {len(y['train'])}.")
    if expected is not None:
        found = {**{split: len(y[split]) for split in SPLITS}, "workers": len(workers),
                 "labels": int(np.sum(~np.isnan(hidden)))}
        differ = {key: (found[key], expected[key]) for key in expected if found[key] != expected[key]}
        if differ:
            raise DataError(f"LabelMe files in {folder} disagree with the data README: (found, expected) {differ}.")
    data = LabelMe(X, y, filenames, hidden, workers)
    for array in (*X.values(), *y.values(), *filenames.values(), hidden, workers):
        array.flags.writeable = False
    return data


def image_paths(data_dir: str | Path, data: LabelMe, split: str) -> list[Path]:
    """The JPEG of each ``split`` image, in row order: ``labelme/<split>/<class>/<file name>``."""
    root = Path(data_dir) / FOLDER / split
    return [root / CLASSES[label] / name for label, name in zip(data.y[split], data.filenames[split])]


# ------------------------------------------------------------------------------ files and download


def _download(spec: DataFile):
    def fetch(tmp: Path) -> None:
        download_url(f"{SOURCE_URL}/{spec.name.rsplit('/', 1)[1]}", tmp)

    return fetch


def _require_all(data_dir: Path) -> Path:
    """The folder of verified files, downloading the missing ones (one line naming them all when that fails)."""
    missing = [spec for spec in LABELME_FILES if not spec.path_in(data_dir).exists()]
    if missing:
        try:
            for spec in missing:
                require_file(data_dir, spec, fetch=_download(spec))
        except DataError as error:
            where = data_dir if data_dir.is_dir() else f"{data_dir} (which does not exist)"
            found = re.search(r"downloading it failed \((.*)\)\. Provide", str(error))
            reason = found.group(1) if found else str(error)
            raise DataError(
                f"LabelMe data files {', '.join(s.name for s in missing)} not found in data directory {where} and "
                f"downloading them from {SOURCE_URL} failed ({reason}). Provide them by passing --data-dir DIR or "
                f"setting {DATA_DIR_ENV} to a directory that contains them; to get them manually: {_HOW_TO_GET}."
            ) from None
    for spec in LABELME_FILES:
        require_file(data_dir, spec)
    return data_dir / FOLDER


_LOADED: dict[tuple, LabelMe] = {}


def load_labelme(data_dir: str | Path) -> LabelMe:
    """The LabelMe data from ``data_dir`` (checked; downloaded when missing), parsed once per
    process per file version and checked against the data README's counts."""
    folder = _require_all(Path(data_dir))
    paths = [spec.path_in(data_dir) for spec in LABELME_FILES]
    key = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    if key not in _LOADED:
        _LOADED[key] = read_labelme(folder, EXPECTED)
    return _LOADED[key]
