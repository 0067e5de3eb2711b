"""Tests for common/datasets/music_genre.py, offline: tiny CSV files and a fake archive built here,
and the real files when the shared data directory has them."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.crowdlab import majority_vote
from common.data import DATA_DIR_ENV, DataError, DataFile
from common.datasets import music_genre as mg

REPO_ROOT = Path(__file__).resolve().parents[2]

# Tiny data: 6 pool songs, 3 test songs, 3 workers; (song, worker, genre) per crowd label.
POOL = [("rock.00001.mp3", "rock"), ("jazz.00002.mp3", "jazz"), ("pop.00003.mp3", "pop"),
        ("blues.00004.mp3", "blues"), ("metal.00005.mp3", "metal"), ("disco.00006.mp3", "disco")]
TEST = [("rock.00007.mp3", "rock"), ("jazz.00008.mp3", "jazz"), ("reggae.00009.mp3", "reggae")]
CROWD = [("jazz.00002.mp3", "W2", "jazz"), ("rock.00001.mp3", "W1", "rock"), ("rock.00001.mp3", "W3", "pop"),
         ("pop.00003.mp3", "W1", "hiphop"), ("disco.00006.mp3", "W2", "disco"),
         ("blues.00004.mp3", "W3", "country"), ("jazz.00002.mp3", "W1", "classical")]


def _features(song: str) -> list[float]:
    seed = int(song.split(".")[1])
    return np.round(np.random.default_rng(seed).normal(size=mg.NUM_FEATURES) * 10, 6).tolist()


def _csv(rows: list[tuple], crowd: bool) -> bytes:
    columns = ["id", *(["annotator"] if crowd else []), *mg.FEATURE_COLUMNS, "class"]
    records = [(row[0], *row[1:-1], *_features(row[0]), row[-1]) for row in rows]
    return pd.DataFrame(records, columns=columns).to_csv(index=False).encode()


def _tiny_files(crowd: list[tuple] = CROWD, pool: list[tuple] = POOL, test: list[tuple] = TEST) -> dict:
    """File contents keyed by their name in the data directory."""
    return {mg.GOLD_FILE.name: _csv(pool, False), mg.TEST_FILE.name: _csv(test, False),
            mg.MTURK_FILE.name: _csv(crowd, True)}


def _write(data_dir: Path, files: dict) -> list[Path]:
    paths = []
    for name, content in files.items():
        path = data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    return paths


def _patch_checksums(monkeypatch, files: dict) -> None:
    """Point the module's checksums at the tiny files' contents."""
    patched = []
    for attribute in ("GOLD_FILE", "TEST_FILE", "MTURK_FILE"):
        spec = getattr(mg, attribute)
        sha = hashlib.sha256(files[spec.name]).hexdigest()
        patched.append(DataFile(spec.name, sha, spec.description, spec.how_to_get))
        monkeypatch.setattr(mg, attribute, patched[-1])
    monkeypatch.setattr(mg, "MUSIC_GENRE_FILES", tuple(patched))


def _offline(url, dest, timeout=60):
    raise OSError("network is unreachable")


@pytest.fixture(autouse=True)
def _fresh_cache():
    mg._LOADED.clear()
    yield
    mg._LOADED.clear()


# ------------------------------------------------------------------ the replay matrix


def test_replay_matrix_puts_each_label_in_its_cell_and_nan_elsewhere(tmp_path):
    data = mg.read_music_genre(*_write(tmp_path, _tiny_files()))
    assert data.workers.tolist() == ["W1", "W2", "W3"]
    assert data.hidden_labels.shape == (6, 3) and data.hidden_labels.dtype == np.float64
    expected = np.full((6, 3), np.nan)
    row = {song: i for i, (song, _) in enumerate(POOL)}
    for song, worker, genre in CROWD:
        expected[row[song], int(worker[1]) - 1] = mg.GENRES.index(genre)
    np.testing.assert_array_equal(data.hidden_labels, expected)  # NaN where expected is NaN
    assert data.labels_per_song.tolist() == [2, 2, 1, 1, 0, 1]
    assert data.y_pool.tolist() == [mg.GENRES.index(g) for _, g in POOL]
    assert data.y_test.tolist() == [mg.GENRES.index(g) for _, g in TEST]
    assert data.pool_ids.tolist() == [s for s, _ in POOL]
    np.testing.assert_array_equal(data.X_pool[1], _features("jazz.00002.mp3"))
    assert data.X_pool.shape == (6, mg.NUM_FEATURES) and data.X_test.shape == (3, mg.NUM_FEATURES)
    np.testing.assert_allclose(data.worker_accuracy, [1 / 3, 1.0, 0.0])
    with pytest.raises(ValueError):
        data.hidden_labels[0, 0] = 3  # read-only: every load shares these arrays


@pytest.mark.parametrize(
    "crowd, message",
    [
        ([*CROWD, ("rock.00001.mp3", "W1", "rock")], r"labeled more than once, e\.g\. worker W1 on song rock\.00001"),
        ([*CROWD, ("rock.00007.mp3", "W2", "rock")], r"not in the pool, e\.g\. \['rock\.00007\.mp3'\]"),
    ],
)
def test_inconsistent_crowd_labels_are_refused(tmp_path, crowd, message):
    with pytest.raises(DataError, match=message):
        mg.read_music_genre(*_write(tmp_path, _tiny_files(crowd)))


def test_other_inconsistencies_are_refused(tmp_path):
    gold, test, mturk = _write(tmp_path, _tiny_files())
    frame = pd.read_csv(mturk)
    frame.loc[0, "feature5"] += 1
    frame.to_csv(mturk, index=False)
    with pytest.raises(DataError, match="carry features that differ"):
        mg.read_music_genre(gold, test, mturk)
    _write(tmp_path, _tiny_files(test=[*TEST, POOL[0]]))
    with pytest.raises(DataError, match="share 1 song ids"):
        mg.read_music_genre(gold, test, mturk)
    _write(tmp_path, _tiny_files(pool=[*POOL[:-1], ("disco.00006.mp3", "techno")]))
    with pytest.raises(DataError, match="unknown genres"):
        mg.read_music_genre(gold, test, mturk)
    gold.write_text("id,class\nrock.00001.mp3,rock\n")
    with pytest.raises(DataError, match="Malformed.*expected columns"):
        mg.read_music_genre(gold, test, mturk)


def test_standardize_uses_pool_statistics_only():
    rng = np.random.default_rng(0)
    X_pool = rng.normal(5, 3, size=(50, 4))
    X_pool[:, 3] = 7.0  # constant column: centred, not scaled
    X_test = rng.normal(-2, 10, size=(20, 4))
    Z_pool, Z_test = mg.standardize(X_pool, X_test)
    np.testing.assert_allclose(Z_pool.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z_pool[:, :3].std(axis=0), 1)
    assert np.all(Z_pool[:, 3] == 0)
    mean, std = X_pool.mean(axis=0), X_pool.std(axis=0)
    np.testing.assert_allclose(Z_test[:, :3], (X_test[:, :3] - mean[:3]) / std[:3])
    _, Z_test_again = mg.standardize(X_pool, X_test * 100)  # test data never changes the scaling
    np.testing.assert_allclose(Z_test_again[:, :3], (100 * X_test[:, :3] - mean[:3]) / std[:3])


# ------------------------------------------------------------------ checksums, offline, download


def test_a_tampered_copy_is_refused_naming_the_file(tmp_path, monkeypatch):
    files = _tiny_files()
    _patch_checksums(monkeypatch, files)
    monkeypatch.setattr(mg, "download_url", _offline)
    paths = _write(tmp_path, files)
    assert mg.load_music_genre(tmp_path).hidden_labels.shape == (6, 3)
    mg._LOADED.clear()
    paths[2].write_bytes(files[mg.MTURK_FILE.name].replace(b"hiphop", b"hippop"))
    with pytest.raises(DataError, match="corrupt or truncated: checksum mismatch") as error:
        mg.load_music_genre(tmp_path)
    assert str(paths[2]) in str(error.value) and "\n" not in str(error.value)


def test_missing_files_offline_give_one_line_naming_files_and_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(mg, "download_url", _offline)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as error:
        mg.load_music_genre(data_dir)
    message = str(error.value)
    assert "\n" not in message and error.value.__cause__ is None
    for name in ("music-genre/music_genre_gold.csv", "music-genre/music_genre_test.csv",
                 "music-genre/music_genre_mturk.csv"):
        assert name in message
    assert f"{data_dir} (which does not exist)" in message and "network is unreachable" in message
    assert "--data-dir" in message and DATA_DIR_ENV in message and mg.ARCHIVE_URL in message
    assert "music_genre_classification/" in message
    assert not data_dir.exists()  # nothing created


def _fake_archive(path: Path, files: dict) -> None:
    """A tar.gz laid out like the canonical one, with other data sets beside the three files."""
    extra = {"mturk-datasets/music_genre_classification/README.txt": b"readme",
             "mturk-datasets/sentiment_polarity/polarity_gold_lsa_topics.csv": b"a,b\n1,2\n"}
    entries = {f"mturk-datasets/{mg.ARCHIVE_FOLDER}/{name.rsplit('/', 1)[1]}": content
               for name, content in files.items()}
    with tarfile.open(path, "w:gz") as tar:
        for name, content in {**extra, **entries}.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))


def test_download_extracts_only_the_three_files_and_checks_them(tmp_path, monkeypatch):
    files = _tiny_files()
    _patch_checksums(monkeypatch, files)
    archive = tmp_path / "archive.tar.gz"
    _fake_archive(archive, files)
    calls = []

    def fake_download(url, dest, timeout=60):
        calls.append(url)
        Path(dest).write_bytes(archive.read_bytes())
        return Path(dest)

    monkeypatch.setattr(mg, "download_url", fake_download)
    data_dir = tmp_path / "data"
    data = mg.load_music_genre(data_dir)
    assert calls == [mg.ARCHIVE_URL]  # one download for all three files
    assert data.hidden_labels.shape == (6, 3)
    assert sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*")) == [
        "music-genre", "music-genre/music_genre_gold.csv", "music-genre/music_genre_mturk.csv",
        "music-genre/music_genre_test.csv",
    ]
    for name, content in files.items():
        assert (data_dir / name).read_bytes() == content

    # Only the missing file is fetched again.
    mg.MTURK_FILE.path_in(data_dir).unlink()
    mg._LOADED.clear()
    mg.load_music_genre(data_dir)
    assert len(calls) == 2 and mg.MTURK_FILE.path_in(data_dir).read_bytes() == files[mg.MTURK_FILE.name]


def test_a_download_with_a_wrong_checksum_writes_nothing(tmp_path, monkeypatch):
    files = _tiny_files()
    _patch_checksums(monkeypatch, files)
    other = dict(files)
    other[mg.TEST_FILE.name] = files[mg.TEST_FILE.name] + b"\n"
    archive = tmp_path / "archive.tar.gz"
    _fake_archive(archive, other)
    def fake_download(url, dest, timeout=60):
        Path(dest).write_bytes(archive.read_bytes())
        return Path(dest)

    monkeypatch.setattr(mg, "download_url", fake_download)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError, match=r"downloading .* failed \(RuntimeError: .*music_genre_test\.csv .*has sha256"):
        mg.load_music_genre(data_dir)
    assert not data_dir.exists()


# ------------------------------------------------------------------ the real files


@pytest.fixture
def real_data() -> mg.MusicGenre:
    data_dir = Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT.parent / "shared" / "data")
    missing = [spec.name for spec in mg.MUSIC_GENRE_FILES if not spec.path_in(data_dir).is_file()]
    if missing:
        pytest.skip(f"Music Genre data not found in {data_dir} (missing {missing}); set {DATA_DIR_ENV}")
    return mg.load_music_genre(data_dir)


def test_real_data_facts(real_data):
    data = real_data
    assert data.X_pool.shape == (700, 124) and data.X_test.shape == (300, 124)
    assert data.y_pool.dtype == np.int64 and np.bincount(data.y_pool).tolist() == [67, 72, 74, 72, 63, 71, 75, 64, 70, 72]
    assert np.bincount(data.y_test, minlength=10).sum() == 300
    assert data.hidden_labels.shape == (700, 44) and len(data.workers) == 44
    assert data.workers.tolist() == sorted(data.workers.tolist())
    given = ~np.isnan(data.hidden_labels)
    assert given.sum() == 2945
    assert np.bincount(data.labels_per_song).tolist() == [0, 58, 158, 91, 18, 105, 189, 81]  # 1 to 7
    per_worker = given.sum(axis=0)
    assert per_worker.min() == 2 and per_worker.max() == 368 and np.median(per_worker) == 16
    gold = np.broadcast_to(data.y_pool[:, None], data.hidden_labels.shape)
    assert round(float(np.mean(data.hidden_labels[given] == gold[given])), 3) == 0.560
    # The ids start with the gold genre (never a feature).
    assert all(song.split(".")[0] == mg.GENRES[k] for song, k in zip(data.pool_ids, data.y_pool))


def test_real_majority_vote_depends_on_the_tie_break(real_data):
    """188 of the 700 songs tie between two or more genres, so "the majority vote" is 0.61 to 0.81.
    The README's 0.783 is the tie broken toward the first worker column (sorted ids); the
    project's majority vote (cleanlab's tie-breaks) gives 0.709."""
    hidden, y = real_data.hidden_labels, real_data.y_pool
    given = ~np.isnan(hidden)
    counts = np.stack([np.bincount(row[~np.isnan(row)].astype(int), minlength=10) for row in hidden])
    tied = counts == counts.max(axis=1, keepdims=True)
    assert np.sum(tied.sum(axis=1) > 1) == 188
    gold_tied = tied[np.arange(len(y)), y]
    assert round(float(np.mean(gold_tied & (tied.sum(axis=1) == 1))), 3) == 0.613
    assert round(float(np.mean(gold_tied)), 3) == 0.813
    first_column = np.argmax(given & tied[np.arange(len(y))[:, None], np.nan_to_num(hidden).astype(int)], axis=1)
    readme_rule = hidden[np.arange(len(y)), first_column]
    assert round(float(np.mean(readme_rule == y)), 3) == 0.783
    ours = majority_vote(hidden, None, mg.NUM_CLASSES, np.random.default_rng(0))
    assert 0.70 < np.mean(ours == y) < 0.72


def test_a_truncated_real_copy_is_refused(real_data, tmp_path, monkeypatch):
    monkeypatch.setattr(mg, "download_url", _offline)
    source = Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT.parent / "shared" / "data")
    for spec in mg.MUSIC_GENRE_FILES:
        content = spec.path_in(source).read_bytes()
        _write(tmp_path, {spec.name: content[:100_000] if spec is mg.GOLD_FILE else content})
    with pytest.raises(DataError, match="corrupt or truncated: checksum mismatch") as error:
        mg.load_music_genre(tmp_path)
    assert str(mg.GOLD_FILE.path_in(tmp_path)) in str(error.value)
