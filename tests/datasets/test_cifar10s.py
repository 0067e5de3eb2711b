"""Tests for common/datasets/cifar10s.py: a tiny raw file written here (offline), corrupted copies,
and the real file when the shared data directory has it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from common.data import DATA_DIR_ENV, DataError, DataFile
from common.datasets import cifar10s as c10s
from tests.conftest import real_data_dir

# (subject, trial_index, task, img_id, CIFAR-10 class, chosen class, rt in ms)
SCREENS = [
    ("ann2", 6, "spec_conf", 7, "Cat", "Cat", 30_000),
    ("ann2", 7, "spec_conf", 3, "Ship", "Airplane", 12_500),
    ("ann1", 6, "spec_conf", 7, "Cat", "Dog", 45_000),
    ("ann1", 7, "spec_conf", 9, "Frog", "Frog", 900_000),
    ("ann1", 8, "rerun_spec_conf", 7, "Cat", "Cat", 20_000),
    ("ann3", 6, "spec_conf", 3, "Ship", "Ship", 10_000),
]


def _frame(screens: list[tuple]) -> pd.DataFrame:
    rows = [{"trial_type": "instructions", "trial_index": 0, "time_elapsed": 10, "subject": "ann1", "condition": 1,
             "rt": 5000.0, "view_history": "[]", "response": "", "filename": "", "task": "", "label": "", "img_id": ""}]
    for subject, trial, task, image, label, chosen, rt in screens:
        answer = {"classSelect": f"mostProb{chosen}", "prob": "80", "classSelect2": "secondProbNo", "prob2": ""}
        rows.append({"trial_type": "survey-html-form", "trial_index": trial, "time_elapsed": 99, "subject": subject,
                     "condition": 1, "rt": float(rt), "view_history": "", "response": json.dumps(answer),
                     "filename": f"cifar10_train_{image}_{label}.png", "task": task, "label": label,
                     "img_id": float(image)})
    return pd.DataFrame(rows)


def _write(path, screens=SCREENS, frame=None):
    (_frame(screens) if frame is None else frame).to_csv(path)  # the real file has the unnamed index column too
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    c10s._LOADED.clear()
    yield
    c10s._LOADED.clear()


def test_a_tiny_file_becomes_a_replay_matrix_with_times(tmp_path):
    data = c10s.read_cifar10s(_write(tmp_path / "raw.csv"))
    assert data.images.tolist() == [3, 7, 9] and data.annotators.tolist() == ["ann1", "ann2", "ann3"]
    cat, ship, frog, airplane, dog = (c10s.CLASS_NAMES.index(n) for n in ("cat", "ship", "frog", "airplane", "dog"))
    expected = np.array([[np.nan, airplane, ship], [dog, cat, np.nan], [frog, np.nan, np.nan]])
    np.testing.assert_array_equal(data.hidden_labels, expected)
    np.testing.assert_array_equal(data.seconds, [[np.nan, 12.5, 10], [45, 30, np.nan], [900, np.nan, np.nan]])
    assert data.labels.tolist() == [ship, cat, frog]
    # The rerun is no label; it agrees with nothing (ann1 said dog first, cat on the rerun).
    assert data.facts["reruns"] == 1 and data.facts["rerun_agreement"] == 0.0 and data.facts["labels"] == 5


def test_label_costs_cap_only_the_outliers():
    seconds = np.array([[10.0, np.nan], [20.0, 30.0], [np.nan, 1000.0]])
    costs, cap = c10s.label_costs(seconds, percentile=75)
    assert cap == pytest.approx(np.percentile([10, 20, 30, 1000], 75))
    np.testing.assert_array_equal(costs, [[10, np.nan], [20, 30], [np.nan, cap]])


def test_an_identical_copy_of_a_screen_is_one_label_and_counted(tmp_path):
    frame = _frame(SCREENS)
    doubled = pd.concat([frame, frame.iloc[[1, 2]]], ignore_index=True)  # two screens recorded twice
    data = c10s.read_cifar10s(_write(tmp_path / "raw.csv", frame=doubled), {"repeated_pairs": 2, "labels": 5})
    np.testing.assert_array_equal(data.hidden_labels, c10s.read_cifar10s(_write(tmp_path / "one.csv")).hidden_labels)
    with pytest.raises(DataError, match=r"disagrees with the data README.*'repeated_pairs': \(2, 1\)"):
        c10s.read_cifar10s(tmp_path / "raw.csv", {"repeated_pairs": 1})


@pytest.mark.parametrize(
    "screens, message",
    [
        ([*SCREENS, ("ann2", 9, "spec_conf", 7, "Cat", "Dog", 30_000)], "ann2 labeled image 7 twice with different"),
        ([*SCREENS, ("ann3", 9, "spec_conf", 9, "Frog", "Unicorn", 30_000)], r"names no CIFAR-10 class.*unicorn"),
        ([*SCREENS, ("ann3", 9, "spec_conf", 9, "Gnu", "Frog", 30_000)], r"unknown CIFAR-10 class names \['gnu'\]"),
        ([*SCREENS, ("ann3", 9, "spec_conf", 9, "Cat", "Frog", 30_000)], "one image state different CIFAR-10 classes"),
        ([*SCREENS, ("ann3", 9, "spec_conf", 10_000, "Cat", "Frog", 30_000)], "img_id must be a CIFAR-10 test index"),
        ([*SCREENS, ("ann3", 9, "spec_conf", 9, "Frog", "Frog", 0)], "time \\(rt\\) that is not positive"),
        ([*SCREENS, ("ann3", 9, "rerun_spec_conf", 7, "Cat", "Cat", 9_000)], "1 rerun_spec_conf rows repeat no earlier"),
    ],
)
def test_corrupted_copies_are_refused_naming_the_problem(tmp_path, screens, message):
    with pytest.raises(DataError, match=message) as error:
        c10s.read_cifar10s(_write(tmp_path / "raw.csv", screens))
    assert "\n" not in str(error.value)


def test_a_missing_column_and_a_count_off_the_readme_are_refused(tmp_path):
    path = _write(tmp_path / "raw.csv", frame=_frame(SCREENS).drop(columns=["rt"]))
    with pytest.raises(DataError, match="Malformed .*expected columns"):
        c10s.read_cifar10s(path)
    with pytest.raises(DataError, match=r"'annotators': \(3, 248\)"):
        c10s.read_cifar10s(_write(tmp_path / "raw.csv"), {"annotators": 248})


def test_load_checks_the_checksum_and_offline_says_what_to_do(tmp_path, monkeypatch):
    (tmp_path / "cifar-10s").mkdir()
    path = _write(tmp_path / "cifar-10s" / "raw_human_data.csv")
    spec = c10s.RAW_FILE
    monkeypatch.setattr(c10s, "RAW_FILE", DataFile(spec.name, hashlib.sha256(path.read_bytes()).hexdigest(),
                                                   spec.description, spec.how_to_get))
    monkeypatch.setattr(c10s, "EXPECTED", {"images": 3, "annotators": 3})
    assert c10s.load_cifar10s(tmp_path).hidden_labels.shape == (3, 3)
    c10s._LOADED.clear()
    path.write_bytes(path.read_bytes().replace(b"Frog", b"Toad"))
    with pytest.raises(DataError, match="corrupt or truncated: checksum mismatch"):
        c10s.load_cifar10s(tmp_path)

    def offline(url, dest, timeout=60):
        raise OSError("network is unreachable")

    monkeypatch.setattr(c10s, "download_url", offline)
    with pytest.raises(DataError) as error:
        c10s.load_cifar10s(tmp_path / "elsewhere")
    message = str(error.value)
    assert "\n" not in message and "cifar-10s/raw_human_data.csv" in message and "network is unreachable" in message
    assert f"{tmp_path / 'elsewhere'} (which does not exist)" in message and DATA_DIR_ENV in message
    assert c10s.RAW_URL in message


def test_the_real_file():
    data_dir = real_data_dir("cifar-10s/raw_human_data.csv")
    data = c10s.load_cifar10s(data_dir)
    assert data.hidden_labels.shape == (1000, 248) and data.facts["labels"] == 6200
    assert data.facts["repeated_pairs"] == 25 and data.facts["reruns"] == 498
    given = ~np.isnan(data.hidden_labels)
    assert np.bincount(given.sum(axis=1)).tolist() == [0, 0, 0, 0, 0, 0, 800, 200]
    right = data.hidden_labels[given] == np.broadcast_to(data.labels[:, None], given.shape)[given]
    assert abs(right.mean() - 0.843) < 0.001  # the data README's per-label accuracy
    assert abs(np.nanmedian(data.seconds) - 32.4) < 0.1 and abs(np.nanmax(data.seconds) - 1577.1) < 0.1
    costs, cap = c10s.label_costs(data.seconds)
    assert 200 < cap < 300 and np.sum(costs[given] < data.seconds[given]) == np.sum(data.seconds[given] > cap)
