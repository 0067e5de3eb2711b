"""Wall-Following Robot Navigation data (UCI 194 / OpenML 1526), 4-sensor version.

The canonical local file is ``wall-robot/sensor_readings_4.csv`` in the data
directory: header ``sensor1,sensor2,sensor3,sensor4,move``, 5,456 rows, floats
written with 3 decimals, move names as class labels, UCI row order.  When it is
missing it is rebuilt from OpenML (``fetch_openml(data_id=1526)``) or, failing
that, from the UCI zip; the conversions are pure functions
(:func:`csv_bytes_from_openml_frame`, :func:`csv_bytes_from_uci_text`) that
reproduce the file byte for byte, so the SHA-256 check applies to downloads too.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from common.data import DataError, DataFile, download_url, numeric_columns, require_file

__all__ = [
    "CLASS_NAMES",
    "FEATURE_COLUMNS",
    "N_ROWS",
    "OPENML_DATA_ID",
    "UCI_MEMBER",
    "UCI_URL",
    "WALL_ROBOT_FILE",
    "csv_bytes_from_openml_frame",
    "csv_bytes_from_uci_text",
    "fetch_wall_robot",
    "load_wall_robot",
    "read_wall_robot_csv",
]

OPENML_DATA_ID = 1526
UCI_URL = "https://archive.ics.uci.edu/static/public/194/wall+following+robot+navigation+data.zip"
UCI_MEMBER = "sensor_readings_4.data"

FEATURE_COLUMNS = ("sensor1", "sensor2", "sensor3", "sensor4")
LABEL_COLUMN = "move"
# Alphabetical == OpenML's classes 1..4 shifted to 0..3.
CLASS_NAMES = ("Move-Forward", "Sharp-Right-Turn", "Slight-Left-Turn", "Slight-Right-Turn")
N_ROWS = 5456

WALL_ROBOT_FILE = DataFile(
    name="wall-robot/sensor_readings_4.csv",
    sha256="0a2b3e32320a0ce9d292ffca4a6d916de2d6f3c1b25406a830f334a939d40845",
    description=(
        "UCI Wall-Following Robot Navigation data, 4-sensor version: 5,456 rows, "
        "columns sensor1..sensor4 and move (CC BY 4.0, Freire et al. 2009)"
    ),
    how_to_get=(
        "download sensor_readings_4.data from the UCI repository (dataset 194, "
        "https://archive.ics.uci.edu/dataset/194), add the header line "
        "'sensor1,sensor2,sensor3,sensor4,move' and save it as wall-robot/sensor_readings_4.csv, "
        "or export OpenML dataset 1526 in that format"
    ),
)

_HEADER = ",".join((*FEATURE_COLUMNS, LABEL_COLUMN))
_CLASS_INDEX = {name: i for i, name in enumerate(CLASS_NAMES)}


# --------------------------------------------------------------------------- conversion (pure)


def _format_rows(features: np.ndarray, moves: list[str]) -> bytes:
    lines = [_HEADER]
    for row, move in zip(features, moves):
        lines.append(",".join(f"{v:.3f}" for v in row) + "," + move)
    return ("\n".join(lines) + "\n").encode("ascii")


def csv_bytes_from_openml_frame(frame: pd.DataFrame) -> bytes:
    """Canonical CSV bytes from OpenML 1526 as ``fetch_openml(as_frame=True).frame`` gives it.

    Expects feature columns ``V1..V4`` and a ``Class`` column with values 1..4
    (strings or integers) in OpenML order.
    """
    missing = [c for c in ("V1", "V2", "V3", "V4", "Class") if c not in frame.columns]
    if missing:
        raise ValueError(f"OpenML frame lacks columns {missing}; got {list(frame.columns)}")
    features = frame[["V1", "V2", "V3", "V4"]].to_numpy(dtype=np.float64)
    if not np.isfinite(features).all():
        raise ValueError("OpenML frame has missing or non-finite sensor values")
    moves: list[str] = []
    for value in frame["Class"].astype(str).str.strip():
        try:
            code = int(float(value))
        except ValueError:
            code = -1
        if not 1 <= code <= len(CLASS_NAMES):
            raise ValueError(f"unexpected OpenML class value {value!r} (expected 1..4)")
        moves.append(CLASS_NAMES[code - 1])
    return _format_rows(features, moves)


def csv_bytes_from_uci_text(text: str) -> bytes:
    """Canonical CSV bytes from the text of UCI's ``sensor_readings_4.data`` (no header)."""
    rows: list[list[float]] = []
    moves: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if lineno == 1 and fields == list((*FEATURE_COLUMNS, LABEL_COLUMN)):
            continue  # tolerate an already-added header
        if len(fields) != 5 or fields[4] not in _CLASS_INDEX:
            raise ValueError(f"unexpected line {lineno} in {UCI_MEMBER}: {line[:80]!r}")
        rows.append([float(f) for f in fields[:4]])
        moves.append(fields[4])
    return _format_rows(np.asarray(rows, dtype=np.float64).reshape(-1, 4), moves)


# --------------------------------------------------------------------------- network (untested offline)


def _openml_frame(tmp_dir: Path) -> pd.DataFrame:
    from sklearn.datasets import fetch_openml

    with warnings.catch_warnings():  # sklearn warns on each network retry
        warnings.simplefilter("ignore")
        bunch = fetch_openml(
            data_id=OPENML_DATA_ID, as_frame=True, data_home=str(tmp_dir), n_retries=1, delay=0.5
        )
    return bunch.frame


def _uci_text(tmp_dir: Path) -> str:
    archive = download_url(UCI_URL, tmp_dir / "wall-robot.zip")
    with zipfile.ZipFile(archive) as zf:
        members = [n for n in zf.namelist() if n.rsplit("/", 1)[-1] == UCI_MEMBER]
        if not members:
            raise ValueError(f"{UCI_MEMBER} not found in {UCI_URL}")
        return zf.read(members[0]).decode("ascii")


def fetch_wall_robot(dest: Path) -> None:
    """Write the canonical CSV to ``dest``, from OpenML or else UCI.

    A source is accepted only if its converted bytes match the expected
    SHA-256; raises ``RuntimeError`` listing every source's failure otherwise.
    """
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wall-robot-") as tmp:
        for label, get_bytes in (
            ("OpenML", lambda: csv_bytes_from_openml_frame(_openml_frame(Path(tmp)))),
            ("UCI", lambda: csv_bytes_from_uci_text(_uci_text(Path(tmp)))),
        ):
            try:
                data = get_bytes()
                digest = hashlib.sha256(data).hexdigest()
                if digest != WALL_ROBOT_FILE.sha256:
                    raise ValueError(f"converted data has sha256 {digest}, expected {WALL_ROBOT_FILE.sha256}")
            except Exception as exc:
                msg = " ".join(str(exc).split())
                errors.append(f"{label}: {type(exc).__name__}" + (f": {msg}" if msg else ""))
                continue
            Path(dest).write_bytes(data)
            return
    raise RuntimeError("; ".join(errors))


# --------------------------------------------------------------------------- parsing and loading


def read_wall_robot_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse and validate the canonical CSV: X float64 (5456, 4), y int64 (5456,)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={LABEL_COLUMN: str}, keep_default_na=False)
    except Exception as exc:
        raise DataError(f"Cannot parse {path} as CSV ({type(exc).__name__}: {' '.join(str(exc).split())}).") from None
    expected = [*FEATURE_COLUMNS, LABEL_COLUMN]
    if list(df.columns) != expected:
        raise DataError(f"Malformed {path}: expected columns {expected}, got {list(df.columns)}.")
    if len(df) != N_ROWS:
        raise DataError(f"Malformed {path}: expected {N_ROWS} rows, got {len(df)}.")
    X = numeric_columns(df, FEATURE_COLUMNS, path, "sensor")
    moves = df[LABEL_COLUMN].to_numpy(dtype=object)
    unknown = sorted(set(moves) - set(CLASS_NAMES))
    if unknown:
        raise DataError(f"Malformed {path}: unknown move names {unknown[:5]} (expected {list(CLASS_NAMES)}).")
    y = np.fromiter((_CLASS_INDEX[m] for m in moves), dtype=np.int64, count=len(moves))
    return X, y


_PARSED: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray]] = {}


def load_wall_robot(data_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Load the wall-robot data from ``data_dir`` (fetching it if missing).

    Returns ``X`` float64 (5456, 4) and ``y`` int64 (5456,) with classes
    0=Move-Forward, 1=Sharp-Right-Turn, 2=Slight-Left-Turn, 3=Slight-Right-Turn.
    Parsed arrays are cached per (path, size, mtime); callers get fresh copies.
    """
    path = require_file(Path(data_dir), WALL_ROBOT_FILE, fetch=fetch_wall_robot)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    cached = _PARSED.get(key)
    if cached is None:
        cached = read_wall_robot_csv(path)
        _PARSED[key] = cached
    X, y = cached
    return X.copy(), y.copy()
