"""Tests for common/datasets/sentiment_polarity.py: small CSV copies written here (good and
corrupted), the download and offline paths with the network replaced, and the real file when the
shared data directory has it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from common.data import DataError, DataFile
from common.datasets import sentiment_polarity as sp
from tests.conftest import real_data_dir

# (sentence, worker, text, gold, answer): 4 sentences, 3 workers.
ROWS = [
    (0, 0, "a gorgeous , witty film .", 0, 0),
    (1, 0, "dull and lifeless .", 1, 1),
    (0, 1, "a gorgeous , witty film .", 0, 1),
    (2, 1, "the best thing this year .", 0, 0),
    (3, 2, "a waste of a fine cast .", 1, 1),
    (1, 2, "dull and lifeless .", 1, 0),
    (2, 2, "the best thing this year .", 0, 0),
]
SMALL = {"labels": 7, "sentences": 4, "workers": 3}


def _write(path: Path, rows: list[tuple], columns=sp.COLUMNS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    sp._LOADED.clear()
    yield
    sp._LOADED.clear()


def test_a_small_copy_is_read_into_the_replay_matrix(tmp_path):
    data = sp.read_sentiment_polarity(_write(tmp_path / "s.csv", ROWS), expected_counts=SMALL)
    assert data.hidden_labels.shape == (4, 3) and np.sum(~np.isnan(data.hidden_labels)) == 7
    for sentence, worker, text, gold, answer in ROWS:  # every label once, in its row and column
        assert data.hidden_labels[sentence, worker] == answer
        assert data.sentences[sentence] == text and data.gold[sentence] == gold
    assert np.isnan(data.hidden_labels[3, 0]) and data.labels_per_sentence.tolist() == [2, 2, 2, 1]
    assert not data.hidden_labels.flags.writeable


@pytest.mark.parametrize("rows, message", [
    (ROWS + [(0, 1, "a gorgeous , witty film .", 0, 0)], r"1 \(sentence, worker\) pairs are labeled more than once, e.g. worker 1 on sentence 0"),
    ([*ROWS[:6], (2, 2, "the best thing this year .", 0, 2)], r"unknown classes \[2\] in answer"),
    ([*ROWS[:6], (2, 2, "the best thing this year .", -1, 0)], r"ground_truth holds 1 values that are not non-negative integers"),
    ([*ROWS[:6], (2, 2, "the best thing this year .", 1, 0)], r"1 sentences disagree on their gold class \(ground_truth\), e.g. sentence 2"),
    ([*ROWS[:6], (2, 2, "another sentence", 0, 0)], r"disagree on their text \(task\), e.g. sentence 2"),
    ([*ROWS[:6], ("x", 2, "the best thing this year .", 0, 0)], r"task_id holds 1 values"),
    ([row for row in ROWS if row[0] != 2], r"without gaps, but 1 below the largest \(3\) are missing, e.g. \[2\]"),
])
def test_a_corrupted_copy_is_a_data_error_naming_the_problem(tmp_path, rows, message):
    with pytest.raises(DataError, match=message):
        sp.read_sentiment_polarity(_write(tmp_path / "s.csv", rows), expected_counts=None)


def test_missing_columns_and_counts_that_disagree_with_the_readme_are_refused(tmp_path):
    with pytest.raises(DataError, match="expected columns"):
        sp.read_sentiment_polarity(_write(tmp_path / "a.csv", [row[:4] for row in ROWS], sp.COLUMNS[:4]))
    with pytest.raises(DataError, match=r"holds \{'labels': 7, 'sentences': 4, 'workers': 3\}, but the data README states"):
        sp.read_sentiment_polarity(_write(tmp_path / "b.csv", ROWS))  # the README's counts by default


def test_the_split_is_fixed_stratified_and_covers_every_sentence():
    gold = np.repeat([0, 1], [2502, 2497])
    pool, test = sp.split_pool_test(gold)
    again_pool, _ = sp.split_pool_test(gold)
    assert (len(pool), len(test)) == (4000, 999) and np.array_equal(pool, again_pool)
    assert np.array_equal(np.sort(np.concatenate([pool, test])), np.arange(len(gold)))
    assert abs(gold[test].mean() - gold.mean()) < 0.002


def test_tfidf_is_fitted_on_the_pool_only_and_sparse():
    pool = np.array(["good film", "good acting", "bad film", "bad plot"])
    X_pool, X_test = sp.tfidf_features(pool, np.array(["unseen words only", "good film"]))
    assert sparse.isspmatrix_csr(X_pool) and sparse.isspmatrix_csr(X_test)
    assert X_pool.shape[1] == X_test.shape[1] == 3  # good, film, bad: the n-grams in two pool sentences
    assert X_test[0].nnz == 0 and np.isclose(sparse.linalg.norm(X_test[1]), 1)


def _small_copy_in(tmp_path: Path, monkeypatch) -> bytes:
    content = _write(tmp_path / "source.csv", ROWS).read_bytes()
    spec = sp.SENTIMENT_FILE
    monkeypatch.setattr(sp, "SENTIMENT_FILE", DataFile(spec.name, hashlib.sha256(content).hexdigest(), spec.description, spec.how_to_get))
    monkeypatch.setattr(sp, "EXPECTED_COUNTS", SMALL)
    return content


def test_a_missing_file_is_downloaded_checked_and_written(tmp_path, monkeypatch):
    content = _small_copy_in(tmp_path, monkeypatch)
    asked = []

    def download(url, dest, timeout=60):
        asked.append(url)
        Path(dest).write_bytes(content)

    monkeypatch.setattr(sp, "download_url", download)
    data = sp.load_sentiment_polarity(tmp_path / "data")
    assert asked == [sp.SOURCE_URL] and data.hidden_labels.shape == (4, 3)
    assert (tmp_path / "data" / sp.SENTIMENT_FILE.name).read_bytes() == content


def test_offline_the_error_is_one_line_naming_the_file_directory_and_fix(tmp_path, monkeypatch):
    def offline(url, dest, timeout=60):
        raise OSError("network is unreachable")

    monkeypatch.setattr(sp, "download_url", offline)
    with pytest.raises(DataError) as caught:
        sp.load_sentiment_polarity(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "sentiment-polarity/total_sentiment.csv" in message
    assert str(tmp_path) in message and "network is unreachable" in message and "--data-dir" in message
    assert not (tmp_path / "sentiment-polarity").exists()  # nothing half-written is left


def test_a_damaged_file_fails_its_checksum(tmp_path):
    _write(tmp_path / sp.SENTIMENT_FILE.name, ROWS)
    with pytest.raises(DataError, match="checksum mismatch"):
        sp.load_sentiment_polarity(tmp_path)


def test_the_real_file():
    data = sp.load_sentiment_polarity(real_data_dir(sp.SENTIMENT_FILE.name))
    given = ~np.isnan(data.hidden_labels)
    assert data.hidden_labels.shape == (4999, 203) and given.sum() == 27_746
    assert data.labels_per_sentence.min() == 4 and data.labels_per_sentence.max() == 10
    assert np.array_equal(data.workers, np.arange(203))  # the renumbered ids, one column each
    raw = pd.read_csv(sp.SENTIMENT_FILE.path_in(real_data_dir(sp.SENTIMENT_FILE.name)), keep_default_na=False)
    assert np.array_equal(data.hidden_labels[raw.task_id, raw.annotator_id], raw.answer)  # every row in its cell
    accuracy = np.sum(data.hidden_labels == data.gold[:, None]) / given.sum()
    assert accuracy == np.mean(raw.answer == raw.ground_truth)  # 0.7895: the gold matches each row's
    assert np.array_equal(data.gold[raw.task_id], raw.ground_truth)
