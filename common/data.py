"""Locating, verifying and (optionally) fetching the benchmark's data files.

Data files are never committed to the repository.  They live in a *data
directory*, chosen (see :func:`resolve_data_dir`) from the ``--data-dir`` flag,
the ``AL_RELABEL_DATA_DIR`` environment variable, or a per-user cache
directory.  Every file is described by a :class:`DataFile` (relative path,
SHA-256, where to get it) and obtained through :func:`require_file`, which
verifies the checksum and, if the file is missing, can call a dataset-specific
fetch function.  All user-facing failures are raised as :class:`DataError`
with a single-line message meant to be printed without a traceback.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Sequence

__all__ = [
    "DATA_DIR_ENV",
    "CACHE_DIR_NAME",
    "DataError",
    "DataFile",
    "atomic_write",
    "default_cache_dir",
    "download_url",
    "require_file",
    "resolve_data_dir",
    "sha256_of",
]

DATA_DIR_ENV = "AL_RELABEL_DATA_DIR"
CACHE_DIR_NAME = "active-label-benchmark"

_CHUNK = 1 << 20


class DataError(Exception):
    """A data file is missing, corrupt or malformed.

    The message is one human-readable line explaining what is wrong and how to
    fix it; the CLI prints it and exits with status 2 (no traceback).
    """


@dataclass(frozen=True)
class DataFile:
    """Description of one data file inside the data directory."""

    name: str  # path relative to the data directory, "/"-separated
    sha256: str  # expected lowercase hex digest
    description: str
    how_to_get: str  # one sentence: where to download it manually

    def path_in(self, data_dir: str | Path) -> Path:
        return Path(data_dir).joinpath(*self.name.split("/"))


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/active-label-benchmark`` or ``~/.cache/active-label-benchmark``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / CACHE_DIR_NAME


def resolve_data_dir(flag: str | Path | None) -> Path:
    """The data directory: the ``--data-dir`` flag, else ``$AL_RELABEL_DATA_DIR``, else the cache dir."""
    if flag is not None and str(flag) != "":
        return Path(flag).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return default_cache_dir()


def sha256_of(path: str | Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


# (absolute path, size, mtime_ns) -> digest; avoids rehashing big files that
# are loaded many times in one process.
_DIGEST_CACHE: dict[tuple[str, int, int], str] = {}


def _cached_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    digest = _DIGEST_CACHE.get(key)
    if digest is None:
        digest = sha256_of(path)
        _DIGEST_CACHE[key] = digest
    return digest


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _describe_exc(exc: BaseException) -> str:
    msg = _one_line(exc)
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _how_to_provide(data_dir: Path, spec: DataFile) -> str:
    return (
        f"Provide it by passing --data-dir DIR or setting the {DATA_DIR_ENV} environment variable "
        f"to a directory that contains {spec.name}; to get the file manually: {spec.how_to_get}"
    )


def _verify(path: Path, data_dir: Path, spec: DataFile) -> None:
    try:
        actual = _cached_sha256(path)
    except OSError as exc:
        raise DataError(
            f"Cannot read data file {path} ({_describe_exc(exc)}). {_how_to_provide(data_dir, spec)}"
        ) from None
    if actual != spec.sha256.lower():
        raise DataError(
            f"Data file {path} is corrupt or truncated: checksum mismatch "
            f"(expected sha256 {spec.sha256}, got {actual}). Delete it and download it again "
            f"({spec.how_to_get}), or point --data-dir / {DATA_DIR_ENV} at a directory with a good copy."
        )


def _remove_tmp(tmp: Path | None) -> None:
    if tmp is not None:
        try:
            tmp.unlink()
        except OSError:
            pass


def require_file(
    data_dir: str | Path,
    spec: DataFile,
    fetch: Callable[[Path], None] | None = None,
) -> Path:
    """Return the verified path of ``spec`` inside ``data_dir``.

    If the file exists its SHA-256 is checked (once per path/size/mtime per
    process).  If it is missing and ``fetch`` is given, ``fetch(tmp_path)`` is
    called to write the file to a temporary path next to the destination; the
    result is verified and atomically renamed into place.  Any failure raises
    :class:`DataError` with a one-line message.
    """
    data_dir = Path(data_dir)
    path = spec.path_in(data_dir)

    if path.exists():
        if not path.is_file():
            raise DataError(f"Data path {path} exists but is not a regular file. {_how_to_provide(data_dir, spec)}")
        _verify(path, data_dir, spec)
        return path

    where = f"searched data directory {data_dir}" + ("" if data_dir.is_dir() else " (which does not exist)")
    if fetch is None:
        raise DataError(f"Data file {path} not found ({where}). {_how_to_provide(data_dir, spec)}")

    tmp: Path | None = None
    created = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        fetch(tmp)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise RuntimeError("the download produced no data")
        actual = sha256_of(tmp)
        if actual != spec.sha256.lower():
            raise RuntimeError(
                f"the downloaded file does not match the expected checksum "
                f"(expected sha256 {spec.sha256}, got {actual})"
            )
        os.replace(tmp, path)
        tmp = None
    except Exception as exc:  # no network, HTTP errors, sklearn errors, read-only dir, ...
        reason = _describe_exc(exc)
        _remove_tmp(tmp)
        tmp = None
        for d in created:  # innermost first; only directories we made and left empty
            try:
                d.rmdir()
            except OSError:
                break
        raise DataError(
            f"Data file {path} not found ({where}) and downloading it failed ({reason}). "
            f"{_how_to_provide(data_dir, spec)}"
        ) from None
    finally:
        _remove_tmp(tmp)
    _verify(path, data_dir, spec)
    return path


def numeric_columns(frame: Any, columns: Sequence[str], path: Path, what: str) -> Any:
    """``frame[columns]`` (a pandas DataFrame) as a finite float64 matrix; a DataError naming the
    file and ``what`` the columns are otherwise."""
    import numpy as np
    import pandas as pd

    try:
        X = frame[list(columns)].apply(pd.to_numeric, errors="raise").to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        raise DataError(f"Malformed {path}: {what} columns must be numeric.") from None
    if not np.isfinite(X).all():
        raise DataError(f"Malformed {path}: {what} columns contain missing or non-finite values.")
    return X


def atomic_write(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write ``path`` through ``write(stream)`` into a temporary file, then rename it into place:
    an interrupted write never leaves a partial file under the real name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download_url(url: str, dest: str | Path, timeout: float = 60) -> Path:
    """Download ``url`` to ``dest`` via a temporary file and an atomic rename."""
    dest = Path(dest)
    request = urllib.request.Request(url, headers={"User-Agent": "active-label-benchmark"})

    def copy(out: BinaryIO) -> None:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            shutil.copyfileobj(response, out, _CHUNK)

    atomic_write(dest, copy)
    return dest
