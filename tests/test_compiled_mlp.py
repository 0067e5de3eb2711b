"""CompiledMLP against scikit-learn's MLPClassifier: same draws, same updates, same layout.

Float64 tolerances: parameters after one Adam step or a few epochs within ``STEP_ATOL`` (measured
here: at most 2.2e-16; the two differ only in the order of floating-point sums), probabilities
and losses of fits of a few epochs within ``FIT_ATOL`` (measured: at most 2e-15). A whole fit of
hundreds of epochs can amplify rounding (docs/compiled-mlp.md: parameters up to 2.4e-10 apart after
500 epochs of 1,600 rows), so it gets ``WHOLE_FIT_ATOL`` (measured on its 238 epochs: 4e-15)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from common import compiled_mlp
from common.compiled_mlp import CompiledMLP, CompiledMLPClassifier, initial_parameters

STEP_ATOL = 1e-14
FIT_ATOL = 1e-12
WHOLE_FIT_ATOL = 1e-9


def data(n: int, classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(n_samples=n, n_features=4, n_informative=4, n_redundant=0,
                               n_classes=classes, random_state=seed)
    return X * 2 + 3, y  # like the Wall Robot sensors: positive, a few units wide


def plateau_data() -> tuple[np.ndarray, np.ndarray]:
    """Labels unrelated to small inputs: the loss plateaus and sklearn stops after 238 epochs."""
    rng = np.random.default_rng(1)
    return rng.normal(size=(300, 4)) * 0.1 + 1, rng.integers(0, 3, 300)


def sklearn_fit(X, y, seed: int, max_iter: int) -> MLPClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(max_iter=max_iter, random_state=seed).fit(X, y)


def max_difference(a: MLPClassifier, b: CompiledMLPClassifier) -> float:
    pairs = list(zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_))
    assert all(p.shape == q.shape for p, q in pairs)
    return max(np.abs(p - q).max() for p, q in pairs)


def test_the_in_kernel_shuffle_is_randomstate_shuffle():
    rs = np.random.RandomState(123)
    rs.uniform(size=11)  # start mid-block, as after the weight draws
    _, key, pos, *_ = rs.get_state(legacy=True)
    key, pos = key.copy(), np.array([pos], dtype=np.int64)
    ours = np.arange(1000)
    theirs = np.arange(1000)
    for n in (1, 2, 3, 150, 1000, 1000, 1000, 17):  # crosses several 624-word refills
        a, b = np.arange(n), np.arange(n)
        rs.shuffle(a)
        compiled_mlp._shuffle(b, key, pos)
        np.testing.assert_array_equal(a, b)
    # in-place shuffling of a permuted array is sklearn's sample_idx = sample_idx[perm]
    perm = np.arange(1000)
    rs.shuffle(perm)
    theirs = theirs[perm]
    compiled_mlp._shuffle(ours, key, pos)
    np.testing.assert_array_equal(ours, theirs)
    _, key_after, pos_after, *_ = rs.get_state(legacy=True)
    np.testing.assert_array_equal(key, key_after)
    assert pos[0] == pos_after


def test_initial_weights_are_sklearns_draws():
    X, y = data(150, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # learning_rate_init tiny: after one step the weights are the initial ones to 1e-12
        model = MLPClassifier(max_iter=1, random_state=5, learning_rate_init=1e-15).fit(X, y)
    W1, b1, W2, b2, _ = initial_parameters(5, 4, 3)
    for ours, theirs in zip((W1, W2, b1, b2), model.coefs_ + model.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n, classes", [(150, 4), (200, 3), (120, 2)])
def test_one_adam_step_equals_sklearn(n, classes):
    # n <= 200: one minibatch holds every (shuffled) row, so one epoch is exactly one Adam step
    X, y = data(n, classes, seed=n)
    theirs = sklearn_fit(X, y, seed=3, max_iter=1)
    ours = CompiledMLP(max_iter=1)(3).fit(X, y)
    assert max_difference(theirs, ours) < STEP_ATOL
    assert ours.n_iter_ == theirs.n_iter_ == 1
    assert ours.loss_ == pytest.approx(theirs.loss_, abs=FIT_ATOL)


@pytest.mark.parametrize("n, classes, epochs", [(500, 4, 1), (450, 2, 1), (530, 3, 4)])
def test_epochs_of_several_minibatches_equal_sklearn(n, classes, epochs):
    # 500 rows: minibatches of 200, 200 and 100 in the order of sklearn's shuffle
    X, y = data(n, classes, seed=n)
    theirs = sklearn_fit(X, y, seed=11, max_iter=epochs)
    ours = CompiledMLP(max_iter=epochs)(11).fit(X, y)
    assert max_difference(theirs, ours) < STEP_ATOL
    assert ours.loss_ == pytest.approx(theirs.loss_, abs=FIT_ATOL)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=FIT_ATOL)


def test_a_whole_fit_stops_when_sklearn_stops():
    X, y = plateau_data()
    theirs = sklearn_fit(X, y, seed=1, max_iter=500)
    ours = CompiledMLP()(1).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 500  # converged by the no-improvement rule
    assert ours.converged_
    assert ours.loss_ == pytest.approx(theirs.loss_, abs=WHOLE_FIT_ATOL)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=WHOLE_FIT_ATOL)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)


def test_the_stopping_rule_needs_eleven_epochs_without_improvement():
    # Loss curve of a fit that stops: the last 11 epochs do not beat the best before them by tol.
    X, y = plateau_data()
    ours = CompiledMLP()(1).fit(X, y)
    assert ours.converged_
    for max_iter in (ours.n_iter_ - 1, ours.n_iter_):
        shorter = CompiledMLP(max_iter=max_iter)(1).fit(X, y)
        assert shorter.converged_ == (max_iter == ours.n_iter_)


def test_cross_validate_matches_per_fold_sklearn_fits_and_the_loop_layout():
    rng = np.random.default_rng(0)
    X, _ = data(240, 4)
    y = rng.integers(0, 4, 240)
    y[:60] = 3  # trained on alone: one class, a constant fold
    y[60:120] = rng.choice([0, 2], 60)  # two classes: a single logistic unit
    y[120:180] = rng.choice([0, 1, 3], 60)  # class 2 missing
    blocks = [np.arange(i, i + 60) for i in range(0, 240, 60)]
    splits = [  # (train, held out); the held-out parts cover every row once
        (np.arange(180), blocks[3]),  # all four classes
        (blocks[2], blocks[0]),
        (blocks[0], blocks[1]),
        (blocks[1], blocks[2]),
    ]
    seeds = [7, 8, 9, 10]
    X_other = X[:25] + 0.5
    out_of_fold, (others,), infos = CompiledMLP(max_iter=3).cross_validate(X, y, [X_other], 5, splits, seeds)
    assert out_of_fold.shape == (240, 5) and others.shape == (25, 5)
    expected_others = np.zeros((25, 5))
    for f, ((train, held_out), seed) in enumerate(zip(splits, seeds)):
        classes = np.unique(y[train])
        proba_held, proba_other = np.zeros((60, 5)), np.zeros((25, 5))
        if len(classes) == 1:
            proba_held[:, classes[0]] = proba_other[:, classes[0]] = 1
            assert infos[f] == {"epochs": 0, "converged": True, "final_loss": 0.0}
        else:
            reference = sklearn_fit(X[train], y[train], seed, max_iter=3)
            proba_held[:, classes] = reference.predict_proba(X[held_out])
            proba_other[:, classes] = reference.predict_proba(X_other)
            assert infos[f]["epochs"] == 3 and infos[f]["converged"] is False
            assert infos[f]["final_loss"] == pytest.approx(reference.loss_, abs=FIT_ATOL)
        np.testing.assert_allclose(out_of_fold[held_out], proba_held, rtol=0, atol=FIT_ATOL)
        expected_others += proba_other / len(splits)
    np.testing.assert_allclose(others, expected_others, rtol=0, atol=FIT_ATOL)
    assert (out_of_fold[:, 4] == 0).all() and (others[:, 4] == 0).all()  # class 4 never seen
    assert (out_of_fold[blocks[0], 2] == 0).all()  # fold 1 never saw class 2
    np.testing.assert_allclose(out_of_fold.sum(axis=1), 1.0)


def test_float32_trains_in_single_precision_close_to_float64():
    X, y = data(400, 4, seed=1)
    single = CompiledMLP(np.float32, max_iter=2)(0).fit(X, y)
    double = CompiledMLP(np.float64, max_iter=2)(0).fit(X, y)
    assert single.coefs_[0].dtype == np.float32
    assert max_difference(double, single) < 1e-4
    np.testing.assert_allclose(single.predict_proba(X).sum(axis=1), 1.0, atol=1e-6)


def test_new_row_counts_do_not_recompile():
    CompiledMLP(max_iter=1)(0).fit(*data(50, 3))
    before = len(compiled_mlp._train_folds.signatures)
    for n in (61, 333, 1201):
        X, y = data(n, 4, seed=n)
        splits = [(np.arange(n)[i::2], np.arange(n)[1 - i::2]) for i in range(2)]
        CompiledMLP(max_iter=1).cross_validate(X, y, [X[:3]], 4, splits, [0, 1])
    assert len(compiled_mlp._train_folds.signatures) == before


def test_labels_of_any_type_and_a_single_class():
    X, y = data(150, 3)
    names = np.array(["left", "right", "straight"])[y]
    model = CompiledMLP(max_iter=2)(0).fit(X, names)
    np.testing.assert_array_equal(model.classes_, ["left", "right", "straight"])
    assert set(model.predict(X)) <= set(names)
    constant = CompiledMLP()(0).fit(X, np.full(150, 7))
    np.testing.assert_array_equal(constant.predict_proba(X[:4]), np.ones((4, 1)))
    np.testing.assert_array_equal(constant.predict(X[:2]), [7, 7])


def test_invalid_arguments_are_rejected_with_their_name():
    with pytest.raises(ValueError, match="dtype"):
        CompiledMLP(np.int32)
    with pytest.raises(ValueError, match="max_iter"):
        CompiledMLP(max_iter=0)
    X, y = data(40, 3)
    with pytest.raises(ValueError, match="labels"):
        CompiledMLP().cross_validate(X, y, [], 2, [(np.arange(20), np.arange(20, 40))], [0])
    with pytest.raises(ValueError, match="fold_seeds"):
        CompiledMLP().cross_validate(X, y, [], 3, [(np.arange(20), np.arange(20, 40))], [0, 1])
    with pytest.raises(ValueError, match="labels"):
        CompiledMLP().cross_validate(X, y + 0.5, [], 4, [(np.arange(20), np.arange(20, 40))], [0])


def test_float_labels_holding_integers_count_as_those_classes():
    X, y = data(40, 3)
    split = [(np.arange(30), np.arange(30, 40))]
    as_int = CompiledMLP(max_iter=2).cross_validate(X, y, [X[:5]], 3, split, [4])
    as_float = CompiledMLP(max_iter=2).cross_validate(X, y.astype(float), [X[:5]], 3, split, [4])
    np.testing.assert_array_equal(as_int[0], as_float[0])
    np.testing.assert_array_equal(as_int[1][0], as_float[1][0])


def test_only_constant_folds_need_no_training():
    X, _ = data(20, 2)
    y = np.full(20, 1)
    splits = [(np.arange(10), np.arange(10, 20)), (np.arange(10, 20), np.arange(10))]
    out_of_fold, (others,), infos = CompiledMLP().cross_validate(X, y, [X[:3]], 3, splits, [0, 1])
    np.testing.assert_array_equal(out_of_fold, np.tile([0.0, 1.0, 0.0], (20, 1)))
    np.testing.assert_array_equal(others, np.tile([0.0, 1.0, 0.0], (3, 1)))
    assert [i["epochs"] for i in infos] == [0, 0]
