"""Sentiment Polarity: 4,999 movie-review sentences labeled positive or negative by 203 real
Amazon Mechanical Turk workers (27,746 labels, 4 to 10 per sentence).

File, in the data directory's ``sentiment-polarity/`` folder (see ``../shared/data/README.md``):
``total_sentiment.csv``, one row per crowd label ``task_id, annotator_id, task, ground_truth,
answer``: the sentence (0..4998), the worker (0..202), the sentence's text, its gold class and the
worker's class; 0 = positive, 1 = negative (:data:`CLASSES`).

The worker ids are a renumbered copy. The canonical archive of Rodrigues, Pereira & Ribeiro
(``http://fprodrigues.com//mturk-datasets.tar.gz``, folder ``sentiment_polarity/``) names workers
by their MTurk ids; the copy this loader reads comes from a public research repository
(Qacket/Sentiment, ``datasets/total_sentiment.csv``) that renumbered them 0..202 (each worker keeps
one number, the original strings are lost) and kept 4,999 of the 5,000 sentences. Its counts match
the paper's (203 workers, 27,746 labels). The file is checked against its SHA-256; when it is
missing and there is a network, that exact copy is downloaded from :data:`SOURCE_URL` (pinned to a
commit) and checked before it is written; offline, the load stops with one line naming the file,
the directory searched and how to provide it. (The canonical archive cannot stand in: its format
and worker ids differ, and the renumbering is not published.)

Rules. Any of these raises :class:`~common.data.DataError` naming the problem; nothing is dropped:
missing columns, non-integer ids, classes other than 0 and 1, a (sentence, worker) pair labeled
twice, rows of one sentence that disagree on its text or gold class, and counts that disagree with
the data README (:data:`EXPECTED_COUNTS`: 27,746 labels, 4,999 sentences, 203 workers).

Split and features (:func:`split_pool_test`, :func:`tfidf_features`). The split is fixed, the same
for every seed: a class-stratified split of the 4,999 sentences into 4,000 pool and 999 test
sentences by ``train_test_split(..., random_state=0)`` (:data:`SPLIT_SEED`). The test sentences'
crowd labels are never used; test accuracy is against gold. Features: TF-IDF of word 1-2 grams
(sublinear term frequency, n-grams in at least 2 pool sentences), fitted on the pool sentences
only, as a SciPy CSR matrix (12,235 columns).

Facts (measured on the checked file): per-label accuracy 0.7895 (the data README's 0.790); 49 workers below chance + 0.2 gave
19.6% of the labels; one of the five busiest (about 2,500 labels) is at 0.49. All 203 workers
labeled pool sentences (22,197 of the 27,746 labels are on the pool).

Licence: none is stated; do not redistribute the file. Cite Rodrigues, Pereira & Ribeiro,
"Learning from multiple annotators: distinguishing good from random labelers", Pattern Recognition
Letters 34(12), 2013 (doi:10.1016/j.patrec.2013.05.012), and, for the sentences, Pang & Lee,
"Seeing stars: exploiting class relationships for sentiment categorization with respect to rating
scales", ACL 2005.

Example::

    data = load_sentiment_polarity(resolve_data_dir(None))
    pool, test = split_pool_test(data.gold)
    X_pool, X_test = tfidf_features(data.sentences[pool], data.sentences[test])
    data.hidden_labels[pool].shape   # (4000, 203), NaN where a worker did not label a sentence
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split

from common.data import DataError, DataFile, download_url, require_file

__all__ = [
    "CLASSES",
    "EXPECTED_COUNTS",
    "NUM_CLASSES",
    "N_TEST",
    "SENTIMENT_FILE",
    "SOURCE_URL",
    "SPLIT_SEED",
    "SentimentPolarity",
    "load_sentiment_polarity",
    "read_sentiment_polarity",
    "split_pool_test",
    "tfidf_features",
]

FOLDER = "sentiment-polarity"
CLASSES = ("positive", "negative")
NUM_CLASSES = len(CLASSES)
COLUMNS = ("task_id", "annotator_id", "task", "ground_truth", "answer")
EXPECTED_COUNTS = {"labels": 27_746, "sentences": 4_999, "workers": 203}
"""What the data README states; a file that disagrees is refused."""
N_TEST = 999
SPLIT_SEED = 0
SOURCE_URL = (
    "https://raw.githubusercontent.com/Qacket/Sentiment/"
    "e888e5a4b20cb0be730324b8e14da4402e12c3fd/datasets/total_sentiment.csv"
)
SENTIMENT_FILE = DataFile(
    name=f"{FOLDER}/total_sentiment.csv",
    sha256="2419f9d0e32886eee74ef3025398d6f253bd69ee04890ba16c157a7ba411a601",
    description="27,746 crowd labels: task_id, annotator_id, task (text), ground_truth, answer",
    how_to_get=f"download {SOURCE_URL} into {FOLDER}/ in the data directory",
)


@dataclass(frozen=True)
class SentimentPolarity:
    """The whole crowd, row = sentence id. Arrays are read-only (shared by every load in a process)."""

    sentences: np.ndarray  # (4999,) str, the text
    gold: np.ndarray  # (4999,) int64, 0 = positive, 1 = negative
    hidden_labels: np.ndarray  # (4999, 203) float64: the worker's class, NaN where none
    workers: np.ndarray  # (203,) int64, the (renumbered) worker id of each column, sorted

    @property
    def labels_per_sentence(self) -> np.ndarray:
        return np.sum(~np.isnan(self.hidden_labels), axis=1)


def read_sentiment_polarity(path: str | Path, expected_counts: dict[str, int] | None = EXPECTED_COUNTS) -> SentimentPolarity:
    """Parse and check ``total_sentiment.csv`` (see the module docstring for the rules);
    ``expected_counts=None`` accepts any size (for small copies)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"task": str}, keep_default_na=False)
    except Exception as error:
        raise DataError(f"Cannot parse {path} as CSV ({type(error).__name__}: {' '.join(str(error).split())}).") from None
    if list(frame.columns) != list(COLUMNS):
        raise DataError(f"Malformed {path}: expected columns {list(COLUMNS)}, got {list(frame.columns)}.")
    numbers = {}
    for column in ("task_id", "annotator_id", "ground_truth", "answer"):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy()
        bad = np.isnan(values) | (values != np.round(values)) | (values < 0)
        if np.any(bad):
            raise DataError(f"Malformed {path}: column {column} holds {int(bad.sum())} values that are not "
                            f"non-negative integers, e.g. {frame[column].to_numpy()[bad][:3].tolist()}.")
        numbers[column] = values.astype(np.int64)
    for column in ("ground_truth", "answer"):
        unknown = sorted(set(numbers[column].tolist()) - set(range(NUM_CLASSES)))
        if unknown:
            raise DataError(f"Malformed {path}: unknown classes {unknown[:5]} in {column} (expected 0 = positive, 1 = negative).")
    sentence_ids, rows = np.unique(numbers["task_id"], return_inverse=True)
    skipped = np.setdiff1d(np.arange(sentence_ids[-1] + 1), sentence_ids)
    if len(skipped):
        raise DataError(f"Malformed {path}: sentence ids (task_id) must run 0..N-1 without gaps, but "
                        f"{len(skipped)} below the largest ({sentence_ids[-1]}) are missing, e.g. {skipped[:3].tolist()}.")
    workers, columns = np.unique(numbers["annotator_id"], return_inverse=True)
    cells = rows * len(workers) + columns
    _, first, repeats = np.unique(cells, return_index=True, return_counts=True)
    if np.any(repeats > 1):
        row = first[np.argmax(repeats > 1)]
        raise DataError(f"Malformed {path}: {int(np.sum(repeats > 1))} (sentence, worker) pairs are labeled more than "
                        f"once, e.g. worker {numbers['annotator_id'][row]} on sentence {numbers['task_id'][row]}.")
    texts, gold = frame["task"].to_numpy(dtype=str), numbers["ground_truth"]
    for name, values in (("text (task)", texts), ("gold class (ground_truth)", gold)):
        per_sentence = pd.Series(values).groupby(rows).nunique()
        if np.any(per_sentence > 1):
            sentence = int(per_sentence.index[np.argmax(per_sentence.to_numpy() > 1)])
            raise DataError(f"Malformed {path}: the rows of {int(np.sum(per_sentence > 1))} sentences disagree on "
                            f"their {name}, e.g. sentence {sentence}.")
    counts = {"labels": len(frame), "sentences": len(sentence_ids), "workers": len(workers)}
    if expected_counts is not None and counts != expected_counts:
        raise DataError(f"{path} holds {counts}, but the data README states {expected_counts}: a different or "
                        f"damaged copy; get the file again ({SENTIMENT_FILE.how_to_get}).")
    hidden = np.full((len(sentence_ids), len(workers)), np.nan)
    hidden[rows, columns] = numbers["answer"]
    first_row = np.unique(rows, return_index=True)[1]
    data = SentimentPolarity(texts[first_row], gold[first_row], hidden, workers)
    for array in vars(data).values():
        array.flags.writeable = False
    return data


def split_pool_test(gold: np.ndarray, n_test: int = N_TEST) -> tuple[np.ndarray, np.ndarray]:
    """The fixed split: sorted pool and test sentence rows, class-stratified, ``random_state`` =
    :data:`SPLIT_SEED` (the same for every run seed)."""
    pool, test = train_test_split(np.arange(len(gold)), test_size=n_test, stratify=gold, random_state=SPLIT_SEED)
    return np.sort(pool), np.sort(test)


def tfidf_features(pool_sentences: np.ndarray, test_sentences: np.ndarray) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """TF-IDF of word 1-2 grams fitted on the pool sentences only (sublinear term frequency,
    n-grams that occur in at least 2 pool sentences), rows L2-normalised; float64 CSR matrices."""
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    X_pool = vectorizer.fit_transform(list(pool_sentences))
    return X_pool.tocsr(), vectorizer.transform(list(test_sentences)).tocsr()


def _fetch(destination: Path) -> None:
    download_url(SOURCE_URL, destination, timeout=120)


_LOADED: dict[tuple, SentimentPolarity] = {}


def load_sentiment_polarity(data_dir: str | Path) -> SentimentPolarity:
    """The Sentiment Polarity crowd from ``data_dir`` (checked; downloaded when missing), parsed
    once per process per file version. The arrays are read-only: copy them to modify them."""
    path = require_file(Path(data_dir), SENTIMENT_FILE, fetch=_fetch)
    key = (str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns)
    if key not in _LOADED:
        _LOADED[key] = read_sentiment_polarity(path, EXPECTED_COUNTS)
    return _LOADED[key]
