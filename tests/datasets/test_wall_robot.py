"""Tests for common/datasets/wall_robot.py (offline)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.data import DATA_DIR_ENV, DataError
from common.datasets import wall_robot as wr

REPO_ROOT = Path(__file__).resolve().parents[2]


def _shared_file() -> Path:
    data_dir = Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT.parent / "shared" / "data")
    path = wr.WALL_ROBOT_FILE.path_in(data_dir)
    if not path.is_file():
        pytest.skip(f"wall-robot data not found at {path} (set {DATA_DIR_ENV} to a data dir containing it)")
    return path


@pytest.fixture
def shared_csv() -> Path:
    return _shared_file()


def _openml_like_frame(csv_path: Path) -> pd.DataFrame:
    """The shared CSV reshaped as fetch_openml(data_id=1526, as_frame=True).frame gives it."""
    df = pd.read_csv(csv_path)
    codes = df["move"].map({name: str(i + 1) for i, name in enumerate(wr.CLASS_NAMES)})
    frame = df[list(wr.FEATURE_COLUMNS)].set_axis(["V1", "V2", "V3", "V4"], axis=1)
    frame["Class"] = pd.Categorical(codes, categories=["1", "2", "3", "4"])
    return frame


def _no_network(monkeypatch):
    def boom(tmp_dir):
        raise OSError("network is unreachable")

    monkeypatch.setattr(wr, "_openml_frame", boom)
    monkeypatch.setattr(wr, "_uci_text", boom)


# ------------------------------------------------------------------ real file


def test_load_real_file(shared_csv):
    data_dir = shared_csv.parent.parent
    X, y = wr.load_wall_robot(data_dir)
    assert X.shape == (5456, 4) and X.dtype == np.float64
    assert y.shape == (5456,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [2205, 2097, 328, 826]
    assert X[0].tolist() == [1.687, 0.445, 2.332, 0.429] and y[0] == 3  # Slight-Right-Turn
    # cached parse, but callers get independent copies
    X[:] = 0
    X2, y2 = wr.load_wall_robot(data_dir)
    assert X2[0].tolist() == [1.687, 0.445, 2.332, 0.429] and y2 is not y


# ------------------------------------------------------------------ conversions reproduce the checksum


def test_openml_conversion_reproduces_checksum(shared_csv):
    data = wr.csv_bytes_from_openml_frame(_openml_like_frame(shared_csv))
    assert hashlib.sha256(data).hexdigest() == wr.WALL_ROBOT_FILE.sha256
    # integer class codes work too
    frame = _openml_like_frame(shared_csv)
    frame["Class"] = frame["Class"].astype(int)
    assert hashlib.sha256(wr.csv_bytes_from_openml_frame(frame)).hexdigest() == wr.WALL_ROBOT_FILE.sha256


def test_uci_conversion_reproduces_checksum(shared_csv):
    body = shared_csv.read_text().split("\n", 1)[1]  # UCI file has no header
    assert hashlib.sha256(wr.csv_bytes_from_uci_text(body)).hexdigest() == wr.WALL_ROBOT_FILE.sha256
    crlf = body.replace("\n", "\r\n")
    assert hashlib.sha256(wr.csv_bytes_from_uci_text(crlf)).hexdigest() == wr.WALL_ROBOT_FILE.sha256


def test_conversions_reject_bad_input():
    with pytest.raises(ValueError):
        wr.csv_bytes_from_openml_frame(pd.DataFrame({"V1": [1.0], "Class": ["1"]}))
    bad = pd.DataFrame({"V1": [1.0], "V2": [1.0], "V3": [1.0], "V4": [1.0], "Class": ["7"]})
    with pytest.raises(ValueError):
        wr.csv_bytes_from_openml_frame(bad)
    with pytest.raises(ValueError):
        wr.csv_bytes_from_uci_text("1.0,2.0,3.0,4.0,Fly-Away\n")


# ------------------------------------------------------------------ fetch path (network mocked)


def test_fetch_falls_back_to_uci(shared_csv, tmp_path, monkeypatch):
    body = shared_csv.read_text().split("\n", 1)[1]

    def openml_down(tmp_dir):
        raise OSError("OpenML unreachable")

    monkeypatch.setattr(wr, "_openml_frame", openml_down)
    monkeypatch.setattr(wr, "_uci_text", lambda tmp_dir: body)
    X, y = wr.load_wall_robot(tmp_path)
    assert X.shape == (5456, 4) and np.bincount(y).tolist() == [2205, 2097, 328, 826]
    assert (tmp_path / "wall-robot" / "sensor_readings_4.csv").read_bytes() == shared_csv.read_bytes()


def test_fetch_via_openml(shared_csv, tmp_path, monkeypatch):
    frame = _openml_like_frame(shared_csv)
    monkeypatch.setattr(wr, "_openml_frame", lambda tmp_dir: frame)
    monkeypatch.setattr(wr, "_uci_text", lambda tmp_dir: pytest.fail("UCI should not be tried"))
    X, _ = wr.load_wall_robot(tmp_path)
    assert X.shape == (5456, 4)


def test_missing_offline_gives_one_clear_error(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    with pytest.raises(DataError) as err:
        wr.load_wall_robot(tmp_path / "data")
    msg = str(err.value)
    assert "\n" not in msg and err.value.__cause__ is None
    assert str(tmp_path / "data" / "wall-robot" / "sensor_readings_4.csv") in msg
    assert str(tmp_path / "data") in msg and DATA_DIR_ENV in msg and "--data-dir" in msg
    assert "OpenML" in msg and "UCI" in msg and "archive.ics.uci.edu" in msg


def test_truncated_copy_is_corrupt(shared_csv, tmp_path, monkeypatch):
    _no_network(monkeypatch)
    dest = tmp_path / "wall-robot" / "sensor_readings_4.csv"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(shared_csv.read_bytes()[:100_000])
    with pytest.raises(DataError, match="corrupt or truncated.*checksum"):
        wr.load_wall_robot(tmp_path)


# ------------------------------------------------------------------ CSV validation


def test_read_csv_validation(shared_csv, tmp_path):
    X, y = wr.read_wall_robot_csv(shared_csv)
    assert X.shape == (5456, 4)
    lines = shared_csv.read_text().splitlines(keepends=True)
    cases = {
        "columns": ["a,b,c,d,e\n", *lines[1:]],
        "rows": lines[:-1],
        "class": [*lines[:-1], "0.1,0.2,0.3,0.4,Fly-Away\n"],
        "numeric": [*lines[:-1], "0.1,oops,0.3,0.4,Move-Forward\n"],
    }
    for what, content in cases.items():
        path = tmp_path / f"{what}.csv"
        path.write_text("".join(content))
        with pytest.raises(DataError, match="Malformed"):
            wr.read_wall_robot_csv(path)
