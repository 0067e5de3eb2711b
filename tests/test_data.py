"""Tests for common/data.py: data-dir resolution, checksum verification, fetch handling."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from common import data as data_mod
from common.data import (
    DATA_DIR_ENV,
    DataError,
    DataFile,
    download_url,
    require_file,
    resolve_data_dir,
    sha256_of,
)

CONTENT = b"a,b\n1,2\n3,4\n"
SPEC = DataFile(
    name="toy/toy.csv",
    sha256=hashlib.sha256(CONTENT).hexdigest(),
    description="toy file",
    how_to_get="copy it from https://example.invalid/toy.csv",
)


def _write(data_dir: Path, content: bytes = CONTENT) -> Path:
    path = data_dir / "toy" / "toy.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# ------------------------------------------------------------------ resolve_data_dir


def test_resolve_data_dir_flag_beats_env(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_data_dir(str(tmp_path / "flag")) == tmp_path / "flag"


def test_resolve_data_dir_env_beats_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir(None) == tmp_path / "env"


def test_resolve_data_dir_cache_fallbacks(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir(None) == tmp_path / "xdg" / "active-label-benchmark"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir(None) == tmp_path / "home" / ".cache" / "active-label-benchmark"
    monkeypatch.setenv(DATA_DIR_ENV, "")  # empty counts as unset
    assert resolve_data_dir(None) == tmp_path / "home" / ".cache" / "active-label-benchmark"


# ------------------------------------------------------------------ sha256 / require_file


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "f.bin"
    payload = bytes(range(256)) * 10000  # > one read chunk
    path.write_bytes(payload)
    assert sha256_of(path) == hashlib.sha256(payload).hexdigest()


def test_require_file_ok_and_hash_cached(tmp_path, monkeypatch):
    path = _write(tmp_path)
    calls = []
    real = data_mod.sha256_of
    monkeypatch.setattr(data_mod, "sha256_of", lambda p: calls.append(p) or real(p))
    assert require_file(tmp_path, SPEC) == path
    assert require_file(tmp_path, SPEC) == path
    assert len(calls) == 1


def _assert_one_line_no_chain(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__
    return msg


def test_missing_file_without_fetch(tmp_path):
    with pytest.raises(DataError) as err:
        require_file(tmp_path / "nowhere", SPEC)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tmp_path / "nowhere" / "toy" / "toy.csv") in msg
    assert str(tmp_path / "nowhere") in msg and "does not exist" in msg
    assert DATA_DIR_ENV in msg and "--data-dir" in msg
    assert "example.invalid" in msg  # manual download source


def test_missing_file_with_failing_fetch(tmp_path):
    def fetch(dest: Path) -> None:
        import urllib.error

        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(DataError) as err:
        require_file(tmp_path, SPEC, fetch=fetch)
    msg = _assert_one_line_no_chain(err)
    assert str(tmp_path / "toy" / "toy.csv") in msg
    assert f"searched data directory {tmp_path}" in msg
    assert DATA_DIR_ENV in msg and "--data-dir" in msg and "example.invalid" in msg
    assert "URLError" in msg
    assert not (tmp_path / "toy").exists()  # temp file and the dir it made are cleaned up


def test_fetch_success_is_verified_and_placed(tmp_path):
    def fetch(dest: Path) -> None:
        dest.write_bytes(CONTENT)

    path = require_file(tmp_path, SPEC, fetch=fetch)
    assert path == tmp_path / "toy" / "toy.csv" and path.read_bytes() == CONTENT
    assert sorted(p.name for p in path.parent.iterdir()) == ["toy.csv"]


def test_fetch_with_wrong_content_is_rejected(tmp_path):
    with pytest.raises(DataError) as err:
        require_file(tmp_path, SPEC, fetch=lambda dest: dest.write_bytes(b"garbage"))
    msg = _assert_one_line_no_chain(err)
    assert "checksum" in msg and SPEC.sha256 in msg
    assert not (tmp_path / "toy" / "toy.csv").exists()


def test_truncated_file_is_reported_corrupt(tmp_path):
    path = _write(tmp_path, CONTENT[:-3])
    fetched = []
    with pytest.raises(DataError) as err:
        require_file(tmp_path, SPEC, fetch=fetched.append)
    msg = str(err.value)
    assert "corrupt or truncated" in msg and "checksum" in msg
    assert SPEC.sha256 in msg and hashlib.sha256(CONTENT[:-3]).hexdigest() in msg
    assert str(path) in msg and "Delete it" in msg
    assert fetched == []  # an existing bad file is never silently replaced


def test_modified_file_is_rehashed(tmp_path):
    path = _write(tmp_path)
    require_file(tmp_path, SPEC)
    path.write_bytes(CONTENT.replace(b"1", b"9"))  # same size, new mtime
    import os

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(DataError, match="corrupt"):
        require_file(tmp_path, SPEC)


def test_download_url_file_scheme(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(CONTENT)
    dest = download_url(src.as_uri(), tmp_path / "out" / "dest.bin")
    assert dest.read_bytes() == CONTENT
    with pytest.raises(Exception):
        download_url((tmp_path / "missing.bin").as_uri(), tmp_path / "out" / "x.bin")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dest.bin"]
