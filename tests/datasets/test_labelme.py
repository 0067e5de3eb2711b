"""Tests for common/datasets/labelme.py: tiny files written here (offline), corrupted copies, and
the real files when the shared data directory has them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from common.data import DATA_DIR_ENV, DataError, DataFile
from common.datasets import labelme as lm
from tests.conftest import real_data_dir

# Tiny data: gold classes per split, and answers (train rows x 4 worker slots, slot 2 never used).
GOLD = {"train": [0, 3, 5, 5, 7], "valid": [1, 2], "test": [4, 6, 0]}
ANSWERS = [[0, -1, -1, 0], [3, 6, -1, -1], [-1, 5, -1, 4], [5, -1, -1, -1], [7, 7, -1, 6]]


def _features(split: str, row: int) -> str:
    """A sparse line: 3 of the 200 columns set, derived from the split and row."""
    start = 1 + 7 * row + (50 if split == "valid" else 100 if split == "test" else 0)
    return "3 " + " ".join(f"{start + k}:{10 * (row + 1) + k}" for k in range(3))


def _tiny_files(gold: dict = GOLD, answers: list = ANSWERS) -> dict[str, str]:
    files = {"answers.txt": "\n".join(" ".join(map(str, row)) for row in answers) + "\n"}
    for split, classes in gold.items():
        files[f"labels_{split}.txt"] = "".join(f"{c}\n" for c in classes)
        files[f"filenames_{split}.txt"] = "".join(f"{lm.CLASSES[c]}_img{split}{i}.jpg\n" for i, c in enumerate(classes))
        files[f"data_{split}.txt"] = "".join(_features(split, i) + "\n" for i in range(len(classes)))
    return files


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(autouse=True)
def _fresh_cache():
    lm._LOADED.clear()
    yield
    lm._LOADED.clear()


def test_tiny_files_are_parsed_into_a_replay_matrix(tmp_path):
    data = lm.read_labelme(_write(tmp_path, _tiny_files()))
    assert data.workers.tolist() == [0, 1, 3]  # the empty answer column 2 is no worker
    expected = np.array([[0, np.nan, 0], [3, 6, np.nan], [np.nan, 5, 4], [5, np.nan, np.nan], [7, 7, 6]])
    np.testing.assert_array_equal(data.hidden_labels, expected)
    assert data.labels_per_image.tolist() == [2, 2, 2, 1, 3]
    np.testing.assert_allclose(data.worker_accuracy, [4 / 4, 2 / 3, 1 / 3])
    assert data.y["valid"].tolist() == [1, 2] and data.X["test"].shape == (3, lm.NUM_FEATURES)
    # "3 8:20 9:21 10:22" on train row 1: columns 7, 8, 9 (1-based indices), zeros elsewhere.
    row = data.X["train"][1]
    assert row[7:10].tolist() == [20.0, 21.0, 22.0] and np.count_nonzero(row) == 3
    with pytest.raises(ValueError):
        data.hidden_labels[0, 0] = 1  # read-only: every load shares these arrays


def test_image_paths_follow_the_class_folders(tmp_path):
    data = lm.read_labelme(_write(tmp_path, _tiny_files()))
    paths = lm.image_paths(tmp_path, data, "test")
    assert paths[1] == tmp_path / "labelme" / "test" / "mountain" / "mountain_imgtest1.jpg"


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("data_train.txt", lambda t: t.replace("3 1:10", "4 1:10", 1), "announces 4 pairs but holds 3"),
        ("data_valid.txt", lambda t: t.replace("51:10", "201:10", 1), r"index outside 1\.\.200 or one given twice"),
        ("data_test.txt", lambda t: t.replace("102:11", "101:11", 1), "one given twice"),
        ("data_test.txt", lambda t: t.replace(":10", ":ten", 1), "not 'count index:value"),
        ("labels_test.txt", lambda t: t.replace("6\n", "8\n", 1), r"unknown classes \[8\]"),
        ("answers.txt", lambda t: t.replace("0 -1", "9 -1", 1), r"unknown classes \[9\]"),
        ("answers.txt", lambda t: t + "1 -1 -1 -1\n", "has 6 rows but the training split 5"),
        ("answers.txt", lambda t: t.replace("-1 -1 -1\n", "-1 -1\n", 1), "same number of columns"),
        ("filenames_valid.txt", lambda t: t + "street_x.jpg\n", r"valid files .* do not align"),
        ("filenames_train.txt", lambda t: t.replace("street_", "forest_", 1), "named for another class.*line 2"),
    ],
)
def test_corrupted_copies_are_refused_naming_the_problem(tmp_path, name, change, message):
    files = _tiny_files()
    files[name] = change(files[name])
    with pytest.raises(DataError, match=message) as error:
        lm.read_labelme(_write(tmp_path, files))
    assert "\n" not in str(error.value)


def test_counts_that_disagree_with_the_readme_are_refused(tmp_path):
    folder = _write(tmp_path, _tiny_files())
    lm.read_labelme(folder, {"train": 5, "workers": 3, "labels": 10})
    with pytest.raises(DataError, match=r"disagree with the data README.*'labels': \(10, 11\)"):
        lm.read_labelme(folder, {"train": 5, "workers": 3, "labels": 11})


def _patch_checksums(monkeypatch, files: dict[str, str]) -> None:
    specs = tuple(DataFile(spec.name, hashlib.sha256(files[spec.name.split("/")[1]].encode()).hexdigest(),
                           spec.description, spec.how_to_get) for spec in lm.LABELME_FILES)
    monkeypatch.setattr(lm, "LABELME_FILES", specs)
    monkeypatch.setattr(lm, "EXPECTED", {"train": 5, "valid": 2, "test": 3, "workers": 3, "labels": 10})


def test_load_checks_checksums_and_a_tampered_copy_is_refused(tmp_path, monkeypatch):
    files = _tiny_files()
    _patch_checksums(monkeypatch, files)
    _write(tmp_path / "labelme", files)
    assert lm.load_labelme(tmp_path).hidden_labels.shape == (5, 3)
    lm._LOADED.clear()
    (tmp_path / "labelme" / "answers.txt").write_text(files["answers.txt"].replace("7 7", "7 6"))
    with pytest.raises(DataError, match="corrupt or truncated: checksum mismatch"):
        lm.load_labelme(tmp_path)


def test_missing_files_offline_give_one_line_naming_files_directory_and_fix(tmp_path, monkeypatch):
    def offline(url, dest, timeout=60):
        raise OSError("network is unreachable")

    monkeypatch.setattr(lm, "download_url", offline)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as error:
        lm.load_labelme(data_dir)
    message = str(error.value)
    assert "\n" not in message and error.value.__cause__ is None
    assert all(spec.name in message for spec in lm.LABELME_FILES)
    assert f"{data_dir} (which does not exist)" in message and "network is unreachable" in message
    assert "--data-dir" in message and DATA_DIR_ENV in message and "crowd-embeddings" in message
    assert not data_dir.exists()


def test_missing_files_are_downloaded_and_checked(tmp_path, monkeypatch):
    files = _tiny_files()
    _patch_checksums(monkeypatch, files)
    asked = []

    def fake_download(url, dest, timeout=60):
        asked.append(url)
        Path(dest).write_text(files[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(lm, "download_url", fake_download)
    data = lm.load_labelme(tmp_path)
    assert data.hidden_labels.shape == (5, 3) and len(asked) == len(files)
    assert all(url.startswith(lm.SOURCE_URL) for url in asked)


def test_the_real_files():
    data_dir = real_data_dir("labelme/answers.txt")
    data = lm.load_labelme(data_dir)
    assert data.hidden_labels.shape == (1000, 59) and len(data.workers) == 59 and data.workers.max() < 77
    assert {split: len(data.y[split]) for split in lm.SPLITS} == {"train": 1000, "valid": 500, "test": 1188}
    assert np.sum(~np.isnan(data.hidden_labels)) == 2547
    assert np.bincount(data.labels_per_image).tolist() == [0, 42, 369, 589]
    given = ~np.isnan(data.hidden_labels)
    assert abs(np.mean(data.hidden_labels[given] == np.broadcast_to(data.y["train"][:, None], given.shape)[given])
               - 0.741) < 0.001  # the data README's per-label accuracy
    assert np.allclose(data.X["train"].sum(axis=1), data.X["train"][0].sum())  # a bag of visual words
    assert all(path.exists() for path in lm.image_paths(data_dir, data, "valid")[:20])
