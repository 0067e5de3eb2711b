"""Tests for common/datasets/cifar10h.py, offline, on tiny data they build (and on the real counts
when the shared data directory has them)."""

from __future__ import annotations

import hashlib
import os
import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.seeding import RunSeeds
from common.suites import cifar10h as suite
from common.annotators import Oracle
from common.crowdlab import label_counts
from common.data import DATA_DIR_ENV, DataError, DataFile
from common.datasets import cifar10h as c10h

REPO_ROOT = Path(__file__).resolve().parents[2]
N_IMAGES = 60


# ------------------------------------------------------------------ a tiny fake data directory


def _fake_votes(rng: np.random.Generator, labels: np.ndarray, n_annotators: int = 12, per_annotator: int = 30):
    """A raw CSV frame in the documented layout (with attention checks) and the matching counts."""
    rows = []
    for annotator in range(n_annotators):
        skill = 0.5 + 0.5 * annotator / (n_annotators - 1)  # annotator 0 is the worst
        for trial, image in enumerate(rng.choice(len(labels), per_annotator, replace=False)):
            chosen = labels[image] if rng.random() < skill else rng.integers(10)
            rows.append((annotator, trial, 0, int(labels[image]), int(chosen), int(image)))
        rows.append((annotator, per_annotator, 1, 0, 0, -99999))  # attention check
    frame = pd.DataFrame(rows, columns=["annotator_id", "trial_index", "is_attn_check", "true_label",
                                        "chosen_label", "cifar10_test_set_idx"])
    for column in ("true_category", "chosen_category", "correct_guess", "image_filename",
                   "subcategory", "reaction_time", "time_elapsed"):
        frame[column] = 0
    votes = frame[frame["is_attn_check"] == 0]
    counts = np.zeros((len(labels), 10), dtype=np.int64)
    np.add.at(counts, (votes["cifar10_test_set_idx"].to_numpy(), votes["chosen_label"].to_numpy()), 1)
    return frame, counts


@pytest.fixture
def fake_dir(tmp_path, monkeypatch):
    """test_batch, a different npz, counts and raw CSV for 60 images; checksums patched to match."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N_IMAGES, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(N_IMAGES) % 10
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    batch.parent.mkdir()
    chw = images.transpose(0, 3, 1, 2).reshape(N_IMAGES, -1)
    batch.write_bytes(pickle.dumps({b"data": chw, b"labels": labels.tolist()}))
    (tmp_path / "cifar-10h").mkdir()
    npz = tmp_path / "cifar-10h" / "cifar10-test-images.npz"
    np.savez(npz, images=255 - images, labels=labels)
    frame, counts = _fake_votes(rng, labels)
    np.save(tmp_path / "cifar-10h" / "cifar10h-counts.npy", counts)
    frame.to_csv(tmp_path / "cifar-10h" / "cifar10h-raw.csv", index=False)

    def sha(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    monkeypatch.setattr(c10h, "TEST_BATCH_MD5", hashlib.md5(batch.read_bytes()).hexdigest())
    monkeypatch.setattr(c10h, "IMAGES_NPZ", DataFile(c10h.IMAGES_NPZ.name, sha(npz), "", "x"))
    counts_file = tmp_path / "cifar-10h" / "cifar10h-counts.npy"
    monkeypatch.setattr(c10h, "COUNTS_FILE", DataFile(c10h.COUNTS_FILE.name, sha(counts_file), "", "x"))
    monkeypatch.setattr(c10h, "download_url", _offline)
    c10h._LOADED.clear()
    yield tmp_path, images, labels, counts, frame
    c10h._LOADED.clear()


def _offline(url, dest, timeout=60):
    raise OSError("network is unreachable")


# ------------------------------------------------------------------ loading


def test_the_canonical_test_batch_is_preferred_over_the_npz(fake_dir):
    data_dir, images, labels, _, _ = fake_dir
    loaded, loaded_labels, source = c10h.load_images(data_dir)
    assert source == c10h.TEST_BATCH
    assert np.array_equal(loaded, images) and np.array_equal(loaded_labels, labels)
    (data_dir / c10h.TEST_BATCH).unlink()
    loaded, _, source = c10h.load_images(data_dir)
    assert source == c10h.IMAGES_NPZ.name and np.array_equal(loaded, 255 - images)


def test_the_raw_file_is_preferred_over_the_counts_and_read_from_a_zip_too(fake_dir):
    data_dir, _, _, counts, frame = fake_dir
    data = c10h.load_cifar10h(data_dir)
    assert data.sources == {"images": c10h.TEST_BATCH, "votes": c10h.RAW_CSV}
    assert len(data.raw.label) == np.sum(frame["is_attn_check"] == 0)  # attention checks dropped
    assert np.all(data.raw.image >= 0)
    csv = data_dir / c10h.RAW_CSV
    with zipfile.ZipFile(data_dir / c10h.RAW_ZIP, "w") as zf:
        zf.write(csv, "cifar10h-raw.csv")
    csv.unlink()
    raw, source = c10h.load_raw_votes(data_dir)
    assert source == c10h.RAW_ZIP and np.array_equal(raw.label, data.raw.label)
    (data_dir / c10h.RAW_ZIP).unlink()
    c10h._LOADED.clear()
    assert c10h.load_cifar10h(data_dir).raw is None


def test_missing_images_offline_is_one_line_naming_both_files(fake_dir):
    data_dir = fake_dir[0]
    (data_dir / c10h.TEST_BATCH).unlink()
    (data_dir / c10h.IMAGES_NPZ.name).unlink()
    with pytest.raises(DataError) as error:
        c10h.load_images(data_dir)
    message = str(error.value)
    assert "\n" not in message and c10h.TEST_BATCH in message and c10h.IMAGES_NPZ.name in message
    assert "network is unreachable" in message
    assert not (data_dir / c10h.TEST_BATCH).exists()


@pytest.mark.parametrize("tampered", [False, True])
def test_a_downloaded_archive_yields_the_checked_test_batch_and_nothing_else(fake_dir, monkeypatch, tampered):
    data_dir, images, _, _, _ = fake_dir
    batch_bytes = (data_dir / c10h.TEST_BATCH).read_bytes()
    (data_dir / c10h.TEST_BATCH).unlink()
    (data_dir / c10h.IMAGES_NPZ.name).unlink()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        payload = batch_bytes + (b"x" if tampered else b"")
        member = tarfile.TarInfo(c10h.TEST_BATCH)
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    monkeypatch.setattr(c10h, "CIFAR10_ARCHIVE_MD5", hashlib.md5(archive.getvalue()).hexdigest())

    def download(url, dest, timeout=60):
        Path(dest).write_bytes(archive.getvalue())
        return Path(dest)

    monkeypatch.setattr(c10h, "download_url", download)
    if tampered:
        with pytest.raises(DataError, match="MD5"):
            c10h.load_images(data_dir)
        assert os.listdir(data_dir / "cifar-10-batches-py") == []  # no partial or bad file left
    else:
        loaded, _, source = c10h.load_images(data_dir)
        assert source == c10h.TEST_BATCH and np.array_equal(loaded, images)
        assert os.listdir(data_dir / "cifar-10-batches-py") == ["test_batch"]


def test_missing_counts_offline_is_a_data_error(fake_dir):
    data_dir = fake_dir[0]
    (data_dir / c10h.COUNTS_FILE.name).unlink()
    with pytest.raises(DataError, match="cifar10h-counts.npy"):
        c10h.load_cifar10h(data_dir)


def test_a_corrupt_test_batch_is_refused(fake_dir):
    data_dir = fake_dir[0]
    with open(data_dir / c10h.TEST_BATCH, "ab") as handle:
        handle.write(b"x")
    with pytest.raises(DataError, match="corrupt"):
        c10h.load_images(data_dir)


# ------------------------------------------------------------------ annotators


def test_real_annotators_keep_their_identity_and_votes(fake_dir):
    data_dir, _, _, _, frame = fake_dir
    raw = c10h.load_cifar10h(data_dir).raw
    images = np.arange(0, N_IMAGES, 2)
    hidden, ids = c10h.real_annotator_labels(raw, images)
    assert hidden.shape == (len(images), len(ids))
    votes = frame[(frame["is_attn_check"] == 0) & (frame["cifar10_test_set_idx"] % 2 == 0)]
    assert np.sum(~np.isnan(hidden)) == len(votes)
    for vote in votes.itertuples():
        row, column = vote.cifar10_test_set_idx // 2, np.searchsorted(ids, vote.annotator_id)
        assert hidden[row, column] == vote.chosen_label


def test_pseudo_annotators_hold_exactly_each_images_real_votes():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 200)
    counts = rng.multinomial(50, np.full(10, 0.02) + 0.8 * np.eye(10)[0], size=200)
    counts = np.take_along_axis(counts, (np.arange(10)[None, :] - labels[:, None]) % 10, axis=1)
    hidden = c10h.pseudo_annotator_labels(counts, labels, np.random.default_rng(2), labels_per_annotator=40)
    assert hidden.shape[1] == 250  # 10,000 votes / 40
    assert np.array_equal(label_counts(hidden, 10), counts)  # every vote once, no other label
    per_annotator = np.sum(~np.isnan(hidden), axis=0)
    assert per_annotator.mean() == 40 and per_annotator.min() > 15

    # The oracle then hands out each image's votes, each once, and nothing more.
    oracle, collected = Oracle(hidden), np.full(hidden.shape, np.nan)
    for _ in range(50):
        oracle.label(collected, np.arange(200), rng)
    assert np.array_equal(label_counts(collected, 10), counts)
    assert not oracle.available(collected).any()


def test_skill_spread_concentrates_the_errors_on_few_annotators():
    data_rng = np.random.default_rng(3)
    labels = data_rng.integers(0, 10, 500)
    wrong = (labels[:, None] + data_rng.integers(1, 10, (500, 40))) % 10
    votes = np.where(data_rng.random((500, 40)) < 0.9, labels[:, None], wrong)
    counts = label_counts(votes.astype(float), 10)
    spread = {}
    for skill_spread in (0.0, 3.0):
        hidden = c10h.pseudo_annotator_labels(counts, labels, np.random.default_rng(4), 100, skill_spread)
        accuracy = c10h.annotator_accuracy(hidden, labels)
        assert np.array_equal(label_counts(hidden, 10), counts)
        spread[skill_spread] = np.percentile(accuracy, 95) - np.percentile(accuracy, 5)
    assert spread[3.0] > 2 * spread[0.0]


def _initial(hidden, labels, target, seed=5):
    labeled = np.sort(np.random.default_rng(seed).choice(len(labels), len(labels) // 2, replace=False))
    initial, mix, reached = c10h.least_accurate_initial_labels(
        hidden, labels, labeled, np.random.default_rng(seed), target
    )
    return labeled, initial, mix, reached


def test_initial_labels_are_real_votes_as_many_per_example_as_in_the_study(fake_dir):
    data_dir, _, labels, _, _ = fake_dir
    hidden, _ = c10h.real_annotator_labels(c10h.load_cifar10h(data_dir).raw, np.arange(N_IMAGES))
    labeled, initial, _, _ = _initial(hidden, labels, 0.8)
    given = ~np.isnan(initial)
    assert np.array_equal(initial[given], hidden[given])
    per_example = given.sum(axis=1)
    assert per_example.sum() == per_example[labeled].sum()
    available = np.sum(~np.isnan(hidden[labeled]), axis=1)
    assert np.all(per_example[labeled] >= 1) and np.all(per_example[labeled] <= available)
    # with enough annotators on every example, the counts are the study's, in proportion
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, 400)
    dense = np.where(rng.random((400, 12)) < 0.8, labels[:, None], rng.integers(0, 10, (400, 12))).astype(float)
    labeled, initial, _, _ = _initial(dense, labels, 0.8)
    per_example = np.sum(~np.isnan(initial[labeled]), axis=1)
    assert np.array_equal(np.sort(per_example), c10h.label_counts(c10h.STUDY_INITIAL_LABELS, len(labeled)))


def test_the_study_label_counts_are_met_exactly_for_its_1000_images_and_in_proportion_otherwise():
    study = c10h.STUDY_INITIAL_LABELS
    assert sum(study.values()) == 1000
    counts = c10h.label_counts(study, 1000)
    assert {k: int(np.sum(counts == k)) for k in study} == study
    assert counts.sum() == sum(k * n for k, n in study.items())
    for n in (1, 7, 333):
        counts = c10h.label_counts(study, n)
        assert len(counts) == n
        for k, images in study.items():
            assert abs(np.sum(counts == k) - n * images / 1000) < 1


def test_initial_difficulty_targets_the_consensus_accuracy_from_the_least_accurate_first():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 10, 600)
    skill = np.linspace(0.3, 1.0, 40)  # annotator 0 is the least accurate
    wrong = (labels[:, None] + rng.integers(1, 10, (600, 40))) % 10
    noisy = np.where(rng.random((600, 40)) < skill, labels[:, None], wrong)
    hidden = np.where(rng.random((600, 40)) < 0.5, noisy, np.nan).astype(float)
    accuracy = {}
    for target in (0.0, 0.55, 0.7, 1.0):
        labeled, initial, mix, reached = _initial(hidden, labels, target)
        accuracy[target] = reached
        if target == 0.0:  # unreachable: every example's least accurate annotators
            assert mix == 0.0
            ranks = np.argsort(np.argsort(c10h.annotator_accuracy(hidden, labels)))
            for i in labeled[:50]:
                used = np.flatnonzero(~np.isnan(initial[i]))
                others = np.setdiff1d(np.flatnonzero(~np.isnan(hidden[i])), used)
                assert ranks[used].max() < ranks[others].min(initial=len(ranks))
        elif target == 1.0:
            assert mix == 1.0
        else:
            assert abs(reached - target) < 0.02
    assert accuracy[0.0] < 0.55 < 0.7 < accuracy[1.0]


# ------------------------------------------------------------------ the problem builder


@pytest.mark.parametrize("raw, identity", [(True, "real"), (False, "simulated")])
def test_problem_records_the_annotator_identity(fake_dir, monkeypatch, raw, identity):
    data_dir = fake_dir[0]
    if not raw:
        (data_dir / c10h.RAW_CSV).unlink()
    monkeypatch.setattr(suite, "cifar_design_matrix", lambda pool, test: np.zeros((len(pool) + len(test), 4)))
    make_problem = suite.cifar10h_problem(test_size=20, initial_accuracy=0.8, skill_spread=2.0)
    problem = make_problem(data_dir, RunSeeds(0), 10, frozenset({"kmeans"}))
    assert problem.info["annotator_identity"] == identity
    assert problem.X_pool.shape == (40, 5) and problem.X_test.shape == (20, 5)  # image index + 4
    assert np.sum(~np.isnan(problem.initial_labels).all(axis=1)) == 10
    assert 0 <= problem.info["initial_consensus_accuracy"] <= 1
    again = make_problem(data_dir, RunSeeds(0), 10, frozenset({"kmeans"}))
    assert np.array_equal(problem.initial_labels, again.initial_labels, equal_nan=True)


@pytest.fixture
def fake_backbone(monkeypatch):
    """Backbone features replaced by a cheap function of the images (row = image), calls counted."""
    from common import features

    calls = []

    def backbone_features(name, images, data_dir, cache_dir=None, device=None):
        calls.append((name, len(images)))
        return np.stack([images.reshape(len(images), -1).mean(axis=1), np.arange(len(images))], axis=1).astype(np.float32)

    monkeypatch.setattr(features, "backbone_features", backbone_features)
    suite._IMAGE_FEATURES.clear()
    yield calls
    suite._IMAGE_FEATURES.clear()


def test_column_0_is_the_image_index_and_kmeans_blocks_come_only_when_read(fake_dir, monkeypatch, fake_backbone):
    data_dir = fake_dir[0]
    monkeypatch.setattr(suite, "cifar_design_matrix", lambda pool, test: np.ones((len(pool) + len(test), 4)))
    make_problem = suite.cifar10h_problem(test_size=20, initial_accuracy=0.8, skill_spread=2.0)
    problem = make_problem(data_dir, RunSeeds(0), 10, frozenset({"efficientnet-lite2"}))
    indices = np.concatenate([problem.X_pool[:, 0], problem.X_test[:, 0]]).astype(int)
    assert problem.X_pool.shape == (40, 1) and sorted(indices) == list(range(N_IMAGES))
    pool, test = suite.cifar_split(fake_dir[2], RunSeeds(0), 20)
    assert np.array_equal(indices, np.concatenate([pool, test]))
    assert fake_backbone == [("efficientnet-lite2", N_IMAGES)]  # every image, once
    with_pixels = make_problem(data_dir, RunSeeds(0), 10, frozenset({"pixels", "resnet56"}))
    start, stop = suite.CIFAR_BLOCKS["pixels"]
    assert with_pixels.X_pool.shape == (40, 1 + 4 + 3072) and start == 1 + suite._F + 200
    images = c10h.load_cifar10h(data_dir).images
    assert np.allclose(with_pixels.X_pool[:, 5:], images[pool].reshape(40, -1) / 255)


def test_backbone_models_read_each_rows_features_by_its_image_index(fake_dir, fake_backbone):
    data_dir, _, labels = fake_dir[0], fake_dir[1], fake_dir[2]
    make_problem = suite.cifar10h_problem(test_size=20, initial_accuracy=0.8, skill_spread=2.0)
    problem = make_problem(data_dir, RunSeeds(1), 10, frozenset({"efficientnet-lite2"}))
    table = suite._IMAGE_FEATURES["efficientnet-lite2"]
    rows = suite.image_features(problem.X_test, "efficientnet-lite2")
    assert np.array_equal(rows, table[problem.X_test[:, 0].astype(int)]) and rows.dtype == np.float32
    model = suite.CIFAR_MODELS["efficientnet-lite2-logreg"]
    assert model.reads == "efficientnet-lite2"
    fitted = model.factory(0).fit(problem.X_pool, problem.y_pool)
    assert fitted.predict_proba(problem.X_test).shape == (20, len(np.unique(problem.y_pool)))
    # The helper other suites use: features of given CIFAR-10 test images, from the same table.
    assert np.array_equal(suite.cifar_image_features(data_dir, "resnet56", [5, 2]), [[table[5, 0], 5], [table[2, 0], 2]])


def test_images_keeps_the_first_images_only(fake_dir, fake_backbone):
    data_dir = fake_dir[0]
    make_problem = suite.cifar10h_problem(test_size=10, initial_accuracy=0.8, skill_spread=2.0, images=30)
    problem = make_problem(data_dir, RunSeeds(0), 10, frozenset({"efficientnet-lite2"}))
    indices = np.concatenate([problem.X_pool[:, 0], problem.X_test[:, 0]]).astype(int)
    assert sorted(indices) == list(range(30)) and len(problem.y_test) == 10
    assert fake_backbone == [("efficientnet-lite2", 30)]


def test_the_default_model_and_ensemble_are_pretrained_on_imagenet_not_cifar():
    from common.backbones import BACKBONES

    benchmark = suite.cifar10h_benchmark()
    assert benchmark.default_model == "efficientnet-lite2-logreg"
    assert benchmark.inputs(benchmark.default_model, ensemble=False) == {"efficientnet-lite2"}
    read = benchmark.inputs(benchmark.default_model, ensemble=True)
    assert read == {"efficientnet-lite2", "efficientnet-lite0"} and all("ImageNet" in BACKBONES[b].seen for b in read)
    families = {type(benchmark.models[m].factory(0)[-1]).__name__ for m in benchmark.ensemble}
    assert families == {"LogisticRegression", "KNeighborsClassifier"}
    assert "kmeans-logreg" in benchmark.models and "resnet56-logreg" in benchmark.models


@pytest.mark.parametrize("model", ["kmeans-logreg", "kmeans-knn", "pixels-pca-logreg", "resnet18"])
def test_models_without_outside_data_keep_an_ensemble_without_pretrained_weights(model):
    from common.backbones import BACKBONES
    from common.execution import RunSpec
    from common.methods import METHODS

    benchmark = suite.cifar10h_benchmark()
    assert benchmark.ensemble_for(model) == ("kmeans-logreg", "pixels-pca-logreg", "kmeans-knn")
    assert not benchmark.inputs(model, ensemble=True) & BACKBONES.keys()
    spec = RunSpec(benchmark, METHODS["activelab_ensemble"], model, 0, None, 13, 500, 1000, 5)
    assert spec.config()["ensemble"] == ["kmeans-logreg", "pixels-pca-logreg", "kmeans-knn"]  # as committed
    assert benchmark.ensemble_for("resnet56-logreg") == suite.ENSEMBLE


def test_test_size_must_leave_a_pool_among_the_images():
    from common.execution import UsageError

    with pytest.raises(UsageError, match="--test-size 300"):
        suite.cifar10h_benchmark(test_size=300, images=300)
    assert suite.cifar10h_benchmark(test_size=100, images=300).pool_size == 200


# ------------------------------------------------------------------ the real counts


@pytest.fixture
def real_data_dir() -> Path:
    path = Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT.parent / "shared" / "data")
    if not (path / c10h.COUNTS_FILE.name).exists():
        pytest.skip(f"no CIFAR-10H data in {path}; set {DATA_DIR_ENV}")
    return path


def test_real_data_loads_and_initial_accuracy_reaches_the_target(real_data_dir):
    data = c10h.load_cifar10h(real_data_dir)
    assert data.images.shape == (10_000, 32, 32, 3) and data.counts.sum() == 511_000
    pool = np.random.default_rng(0).permutation(10_000)[:5000]
    hidden = c10h.pseudo_annotator_labels(data.counts[pool], data.labels[pool], np.random.default_rng(0))
    assert 1200 < hidden.shape[1] < 1350
    labeled = np.sort(np.random.default_rng(1).choice(5000, 1000, replace=False))
    _, _, reached = c10h.least_accurate_initial_labels(
        hidden, data.labels[pool], labeled, np.random.default_rng(2), 0.82
    )
    assert abs(reached - 0.82) < 0.01
