import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from common.models import cross_validated_predictions, full_proba, sklearn_mlp
from common.seeding import ModelSeeds


def one_nn(seed):
    return KNeighborsClassifier(n_neighbors=1)


def test_out_of_fold_predictions_never_see_their_own_label():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = rng.integers(0, 2, 200)  # labels unrelated to X: a memorising model is at chance out of fold
    out_of_fold, (test,), _ = cross_validated_predictions(one_nn, X, y, [X[:10]], 2, 5, ModelSeeds(0))
    assert 0.35 < np.mean(out_of_fold.argmax(axis=1) == y) < 0.65
    # The four fold models trained on an example recall its label; the fifth may or may not.
    recalled = test[np.arange(10), y[:10]]
    assert np.all(np.isclose(recalled, 0.8) | np.isclose(recalled, 1.0)) and np.isclose(recalled, 0.8).any()


def test_a_class_missing_from_a_fold_gets_probability_zero_and_columns_stay_aligned():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.zeros(60, dtype=int)
    y[:30] = 2  # class 1 never appears, class 3 appears once
    y[-1] = 3
    out_of_fold, (others,), _ = cross_validated_predictions(one_nn, X, y, [X], 4, 3, ModelSeeds(1))
    assert out_of_fold.shape == (60, 4) and others.shape == (60, 4)
    assert np.allclose(out_of_fold.sum(axis=1), 1) and np.allclose(others.sum(axis=1), 1)
    assert np.all(out_of_fold[:, 1] == 0) and np.all(others[:, 1] == 0)
    assert out_of_fold[-1, 3] == 0  # its only example was held out: no model saw class 3


def test_a_fold_with_a_single_class_predicts_it():
    X = np.arange(10, dtype=float)[:, None]
    y = np.full(10, 2)
    out_of_fold, (others,), _ = cross_validated_predictions(sklearn_mlp, X, y, [X[:3]], 3, 2, ModelSeeds(0))
    assert np.all(out_of_fold[:, 2] == 1) and np.all(others[:, 2] == 1)


def test_predictions_are_reproducible_from_the_seed():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 4)), rng.integers(0, 3, 80)
    a = cross_validated_predictions(sklearn_mlp, X, y, [X[:5]], 3, 3, ModelSeeds(4))
    b = cross_validated_predictions(sklearn_mlp, X, y, [X[:5]], 3, 3, ModelSeeds(4))
    c = cross_validated_predictions(sklearn_mlp, X, y, [X[:5]], 3, 3, ModelSeeds(5))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1][0], b[1][0])
    assert not np.array_equal(a[0], c[0])


def test_full_proba_places_columns_by_class():
    model = KNeighborsClassifier(n_neighbors=1).fit([[0.0], [1.0]], [1, 3])
    assert np.array_equal(full_proba(model, np.array([[0.0], [1.0]]), 4), [[0, 1, 0, 0], [0, 0, 0, 1]])


def test_each_fit_records_its_rows_epochs_and_whether_it_converged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)

    def short_mlp(seed):
        return sklearn_mlp(seed).set_params(max_iter=3)

    _, _, records = cross_validated_predictions(short_mlp, X, y, [], 2, 3, ModelSeeds(0))
    assert records == [{"epochs": 3, "converged": False, "rows": 40}] * 3
    records = [r for seed in range(4) for r in cross_validated_predictions(sklearn_mlp, X, y, [], 2, 3, ModelSeeds(seed))[2]]
    assert all(0 < r["epochs"] <= 500 and r["converged"] == (r["epochs"] < 500) for r in records)
    assert any(r["converged"] for r in records) and not all(r["converged"] for r in records)
    _, _, records = cross_validated_predictions(one_nn, X, y, [], 2, 3, ModelSeeds(0))
    assert records == [{"rows": 40}] * 3


def test_the_compiled_mlp_model_cross_validates_like_scikit_learn():
    from common.models import TABULAR_MODELS

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(int) + (X[:, 1] > 1)
    compiled = cross_validated_predictions(TABULAR_MODELS["mlp"].factory, X, y, [X[:7]], 3, 3, ModelSeeds(2))
    reference = cross_validated_predictions(sklearn_mlp, X, y, [X[:7]], 3, 3, ModelSeeds(2))
    assert np.allclose(compiled[0], reference[0], atol=1e-6) and np.allclose(compiled[1][0], reference[1][0], atol=1e-6)
    assert [r["epochs"] for r in compiled[2]] == [r["epochs"] for r in reference[2]]
