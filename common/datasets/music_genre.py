"""Music Genre: 700 GTZAN songs with real labels from 44 Amazon Mechanical Turk workers.

Files, in the data directory's ``music-genre/`` folder (see ``../shared/data/README.md``):

- ``music_genre_gold.csv``: the pool, 700 rows ``id, feature0..feature123, class`` (gold genre);
- ``music_genre_test.csv``: 300 held-out test songs, same columns, gold genres only;
- ``music_genre_mturk.csv``: 2,945 crowd labels, one per row ``id, annotator, feature0..feature123,
  class`` (the song, the worker, the song's features again, the genre that worker chose).

Each file is checked against its SHA-256. When any is missing and there is a network, the
canonical archive of Rodrigues, Pereira & Ribeiro (:data:`ARCHIVE_URL`, folder
``music_genre_classification/``) is downloaded to a temporary directory, the missing files are read
out of it (nothing else is extracted or kept), checked, and written atomically; offline, the load
stops with one line naming the three files, the directory searched and how to provide them.

The oracle by replay. :func:`replay_matrix` puts every real crowd label exactly once into a
``(700, 44)`` matrix: row = the pool song (matched by ``id``), column = the worker (worker ids
sorted), value = the genre chosen (0..9), NaN where that worker did not label that song. A
benchmark answers a label request for song *i* with one of row *i*'s labels (the shared replay of
``common/replay.py``).

What the files hold (checked on the copies whose checksums are below): no worker labeled a song
twice; every crowd-labeled song is in the gold file, and every gold song has 1 to 7 crowd labels
(58 songs have one, mean 4.2); each crowd row repeats its song's gold-file features exactly; the
pool and test ids are disjoint. The rule: any of these failing (a repeated (song, worker) pair, a
crowd label for an unknown song, features that differ between the crowd and gold rows, an id in
both pool and test, unknown genre names, missing columns, non-numeric features) raises
:class:`~common.data.DataError`; nothing is silently dropped or merged. Songs without any crowd
label are allowed (they would simply never get a label) but do not occur.

Facts worth knowing. Per-label accuracy is 0.560. Three of the five busiest workers label at
random (accuracy 0.18, 0.07 and 0.11 over 368, 338 and 296 labels, confusion rows near uniform):
a third of all labels. The majority vote of all labels ties on 188 of the 700 songs, so its
accuracy depends on the tie-break: 0.613 if every tie is lost, 0.813 if every tie is won, 0.709
with the project's rule (``common.crowdlab.majority_vote``); the data README's 0.783 breaks ties
toward the first worker column (sorted ids). GTZAN's known repetitions (Sturm, 2012) survive in the features: five pairs of metal
excerpts have identical feature vectors (metal.00043/00064 and 00045/00066 both in the pool,
00041/00062 and 00044/00065 both in the test set, and pool metal.00042 = test metal.00063, one
test song seen in training); they are kept, as published. The ids are GTZAN file names that start
with the gold genre (``hiphop.00053.mp3``), so they must never be used as features. Features are
unscaled (about -71 to 102) and returned as they are: :func:`standardize` scales them with pool
statistics only.

Licence: none is published; do not redistribute the files. Cite Rodrigues, Pereira & Ribeiro,
"Learning from multiple annotators: distinguishing good from random labelers", Pattern Recognition
Letters 34(12), 2013 (doi:10.1016/j.patrec.2013.05.012), and, for the audio, Tzanetakis & Cook,
"Musical genre classification of audio signals", IEEE Trans. Speech and Audio Processing 10(5), 2002.

Example::

    data = load_music_genre(resolve_data_dir(None))
    X_pool, X_test = standardize(data.X_pool, data.X_test)
    data.hidden_labels.shape   # (700, 44), NaN where a worker did not label a song
"""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from common.data import DATA_DIR_ENV, DataError, DataFile, atomic_write, download_url, numeric_columns, require_file

__all__ = [
    "ARCHIVE_FOLDER",
    "ARCHIVE_URL",
    "FEATURE_COLUMNS",
    "GENRES",
    "GOLD_FILE",
    "MTURK_FILE",
    "MUSIC_GENRE_FILES",
    "MusicGenre",
    "NUM_CLASSES",
    "NUM_FEATURES",
    "TEST_FILE",
    "fetch_music_genre",
    "load_music_genre",
    "read_music_genre",
    "replay_matrix",
    "standardize",
]

ARCHIVE_URL = "http://fprodrigues.com//mturk-datasets.tar.gz"
ARCHIVE_FOLDER = "music_genre_classification"
FOLDER = "music-genre"

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
NUM_CLASSES = len(GENRES)
NUM_FEATURES = 124
FEATURE_COLUMNS = tuple(f"feature{j}" for j in range(NUM_FEATURES))
_GENRE_INDEX = {name: k for k, name in enumerate(GENRES)}

_HOW_TO_GET = (
    f"download {ARCHIVE_URL} and copy the three files of its folder {ARCHIVE_FOLDER}/ "
    f"into {FOLDER}/ in the data directory"
)
GOLD_FILE = DataFile(
    name=f"{FOLDER}/music_genre_gold.csv",
    sha256="28cd73e9bf555e5847de0b0fc4c4998264d4a272d657c452edf2c93c206bda64",
    description="700 pool songs: id, feature0..feature123, class (the gold genre)",
    how_to_get=_HOW_TO_GET,
)
TEST_FILE = DataFile(
    name=f"{FOLDER}/music_genre_test.csv",
    sha256="952b423483bef4e0aa38b628815232b600a745d028fc8dfe8addd49e616931b8",
    description="300 test songs: id, feature0..feature123, class (the gold genre)",
    how_to_get=_HOW_TO_GET,
)
MTURK_FILE = DataFile(
    name=f"{FOLDER}/music_genre_mturk.csv",
    sha256="20abf70b06d77653742125d8ae57a6b46d3e6d5e0291de4fc9c76d433cd9b834",
    description="2,945 crowd labels: id, annotator, feature0..feature123, class (the worker's genre)",
    how_to_get=_HOW_TO_GET,
)
MUSIC_GENRE_FILES = (GOLD_FILE, TEST_FILE, MTURK_FILE)


@dataclass(frozen=True)
class MusicGenre:
    """The Music Genre data. Arrays are read-only (they are shared by every load in a process)."""

    X_pool: np.ndarray  # (700, 124) float64, unscaled
    y_pool: np.ndarray  # (700,) int64, gold genre 0..9 (index into GENRES)
    X_test: np.ndarray  # (300, 124) float64, unscaled
    y_test: np.ndarray  # (300,) int64
    hidden_labels: np.ndarray  # (700, 44) float64: the worker's genre, NaN where none
    workers: np.ndarray  # (44,) str, worker id of each hidden_labels column (sorted)
    pool_ids: np.ndarray  # (700,) str, song file names (they start with the genre: not a feature)
    test_ids: np.ndarray  # (300,) str

    @property
    def labels_per_song(self) -> np.ndarray:
        """``(700,)`` int, crowd labels per pool song."""
        return np.sum(~np.isnan(self.hidden_labels), axis=1)

    @property
    def worker_accuracy(self) -> np.ndarray:
        """``(44,)`` each worker's fraction of labels equal to the gold genre."""
        given = ~np.isnan(self.hidden_labels)
        correct = np.sum(self.hidden_labels == self.y_pool[:, None], axis=0)
        return correct / given.sum(axis=0)


# ------------------------------------------------------------------------------ pure helpers


def replay_matrix(
    pool_ids: np.ndarray,
    label_song_ids: np.ndarray,
    label_workers: np.ndarray,
    labels: np.ndarray,
    source: str = "the crowd labels",
) -> tuple[np.ndarray, np.ndarray]:
    """The oracle by replay: every crowd label once, in its song's row and its worker's column.

    ``pool_ids`` ``(n,)`` the pool songs in row order; ``label_song_ids``, ``label_workers``,
    ``labels`` ``(L,)`` one entry per crowd label (song id, worker id, class 0..K-1). Returns the
    hidden labels ``(n, M)`` float64 (NaN where that worker did not label that song) and the
    ``M`` worker ids, sorted, in column order. Raises :class:`DataError` (naming ``source``) when a
    label's song is not in the pool or a worker labeled one song twice.
    """
    rows = pd.Index(pool_ids).get_indexer(np.asarray(label_song_ids))
    if np.any(rows < 0):
        unknown = [str(song) for song in pd.unique(np.asarray(label_song_ids)[rows < 0])]
        raise DataError(
            f"Malformed {source}: {np.sum(rows < 0)} crowd labels name {len(unknown)} songs that are not "
            f"in the pool, e.g. {unknown[:3]}."
        )
    workers, columns = np.unique(np.asarray(label_workers), return_inverse=True)
    cells = rows.astype(np.int64) * len(workers) + columns
    repeated = np.unique(cells, return_counts=True)
    if np.any(repeated[1] > 1):
        cell = repeated[0][np.argmax(repeated[1] > 1)]
        raise DataError(
            f"Malformed {source}: {np.sum(repeated[1] > 1)} (song, worker) pairs are labeled more than once, "
            f"e.g. worker {workers[cell % len(workers)]} on song {pool_ids[cell // len(workers)]}."
        )
    hidden = np.full((len(pool_ids), len(workers)), np.nan)
    hidden[rows, columns] = labels
    return hidden, workers


def standardize(X_pool: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays centred and scaled by the pool's column means and standard deviations only.

    A constant pool column (standard deviation 0) is centred and left unscaled. Returns new
    float64 arrays; the inputs are not modified.
    """
    X_pool = np.asarray(X_pool, dtype=np.float64)
    mean = X_pool.mean(axis=0)
    scale = X_pool.std(axis=0)
    scale[scale == 0] = 1.0
    return (X_pool - mean) / scale, (np.asarray(X_test, dtype=np.float64) - mean) / scale


# ------------------------------------------------------------------------------ parsing


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _read_songs(path: Path, with_annotator: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One file's ids, features ``(R, 124)``, classes ``(R,)`` and (crowd file) worker ids."""
    try:
        frame = pd.read_csv(path, dtype={"id": str, "annotator": str, "class": str}, keep_default_na=False)
    except Exception as error:
        raise DataError(f"Cannot parse {path} as CSV ({_one_line(error)}).") from None
    expected = ["id", *(["annotator"] if with_annotator else []), *FEATURE_COLUMNS, "class"]
    if list(frame.columns) != expected:
        raise DataError(
            f"Malformed {path}: expected columns {expected[:3] + ['...'] + expected[-2:]} "
            f"({len(expected)} in all), got {len(frame.columns)} starting {list(frame.columns[:3])}."
        )
    X = numeric_columns(frame, FEATURE_COLUMNS, path, "feature")
    names = frame["class"].str.strip()
    unknown = sorted(set(names) - set(GENRES))
    if unknown:
        raise DataError(f"Malformed {path}: unknown genres {unknown[:5]} (expected {list(GENRES)}).")
    y = names.map(_GENRE_INDEX).to_numpy(dtype=np.int64)
    ids = frame["id"].str.strip().to_numpy(dtype=str)
    workers = frame["annotator"].str.strip().to_numpy(dtype=str) if with_annotator else None
    return ids, X, y, workers


def read_music_genre(gold: str | Path, test: str | Path, mturk: str | Path) -> MusicGenre:
    """Parse and cross-check the three files (any sizes); see the module docstring for the rules."""
    gold, test, mturk = Path(gold), Path(test), Path(mturk)
    pool_ids, X_pool, y_pool, _ = _read_songs(gold, with_annotator=False)
    test_ids, X_test, y_test, _ = _read_songs(test, with_annotator=False)
    song_ids, X_labels, labels, workers = _read_songs(mturk, with_annotator=True)
    for path, ids in ((gold, pool_ids), (test, test_ids)):
        if len(set(ids)) != len(ids):
            raise DataError(f"Malformed {path}: song ids are not unique.")
    both = sorted(set(pool_ids) & set(test_ids))
    if both:
        raise DataError(f"{gold} and {test} share {len(both)} song ids, e.g. {both[:3]}; they must be disjoint.")
    hidden, worker_ids = replay_matrix(pool_ids, song_ids, workers, labels, source=str(mturk))
    rows = pd.Index(pool_ids).get_indexer(song_ids)
    differ = np.any(X_labels != X_pool[rows], axis=1)
    if np.any(differ):
        raise DataError(
            f"{mturk} and {gold} disagree: {int(differ.sum())} crowd rows carry features that differ from "
            f"their song's gold row, e.g. song {song_ids[np.argmax(differ)]}."
        )
    data = MusicGenre(X_pool, y_pool, X_test, y_test, hidden, worker_ids, pool_ids, test_ids)
    for array in vars(data).values():
        array.flags.writeable = False
    return data


# ------------------------------------------------------------------------------ files and download


def fetch_music_genre(data_dir: str | Path, files: tuple[DataFile, ...] = MUSIC_GENRE_FILES) -> None:
    """Download :data:`ARCHIVE_URL` to a temporary directory and write ``files`` from its folder
    ``music_genre_classification/`` into ``data_dir``.

    Every file is read out of the archive (never ``extractall``) and checked against its SHA-256
    before any is written; each is then written atomically. The archive is deleted afterwards.
    Raises ``RuntimeError`` (or the download's own error) when anything fails; nothing is written then.
    """
    contents: dict[DataFile, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="music-genre-") as tmp:
        archive = Path(tmp) / "mturk-datasets.tar.gz"
        download_url(ARCHIVE_URL, archive, timeout=120)
        with tarfile.open(archive, "r:*") as tar:
            members = {m.name.strip("/"): m for m in tar.getmembers() if m.isfile()}
            for spec in files:
                base = spec.name.rsplit("/", 1)[-1]
                wanted = f"{ARCHIVE_FOLDER}/{base}"
                found = sorted(n for n in members if n == wanted or n.endswith("/" + wanted))
                if not found:
                    raise RuntimeError(f"{wanted} not found in {ARCHIVE_URL}")
                handle = tar.extractfile(members[found[0]])
                data = handle.read() if handle is not None else b""
                digest = hashlib.sha256(data).hexdigest()
                if digest != spec.sha256:
                    raise RuntimeError(
                        f"{found[0]} in {ARCHIVE_URL} has sha256 {digest}, expected {spec.sha256}"
                    )
                contents[spec] = data
    for spec, data in contents.items():
        atomic_write(spec.path_in(data_dir), lambda out, data=data: out.write(data))


def _require_all(data_dir: Path) -> tuple[Path, Path, Path]:
    """The three verified paths, downloading the missing ones (one archive download for all)."""
    missing = tuple(spec for spec in MUSIC_GENRE_FILES if not spec.path_in(data_dir).exists())
    if missing:
        try:
            fetch_music_genre(data_dir, missing)
        except Exception as error:  # offline, HTTP error, archive changed, read-only directory, ...
            where = data_dir if data_dir.is_dir() else f"{data_dir} (which does not exist)"
            raise DataError(
                f"Music Genre data files {', '.join(s.name for s in missing)} not found in data directory "
                f"{where} and downloading {ARCHIVE_URL} failed ({_one_line(error)}). Provide them by passing "
                f"--data-dir DIR or setting {DATA_DIR_ENV} to a directory that contains "
                f"{', '.join(s.name for s in MUSIC_GENRE_FILES)}; to get them manually: {_HOW_TO_GET}."
            ) from None
    gold, test, mturk = (require_file(data_dir, spec) for spec in MUSIC_GENRE_FILES)
    return gold, test, mturk


_LOADED: dict[tuple, MusicGenre] = {}


def load_music_genre(data_dir: str | Path) -> MusicGenre:
    """The Music Genre data from ``data_dir`` (checked; downloaded when missing), parsed once per
    process per file version. The arrays are read-only: copy them to modify them."""
    paths = _require_all(Path(data_dir))
    key = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
    if key not in _LOADED:
        _LOADED[key] = read_music_genre(*paths)
    return _LOADED[key]
