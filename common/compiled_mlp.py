"""A compiled, exact re-implementation of ``MLPClassifier(max_iter=500)`` training.

Every round fits ``MLPClassifier(max_iter=500, random_state=seed)`` once per cross-validation
fold, and those fits were 99% of a benchmark's run time. This module trains the same network with
the same algorithm in one Numba-compiled loop (all folds of a cross-validation in one call), and
reproduces scikit-learn's random draws, so that a fit with the same ``random_state`` starts from
the same weights and sees the same minibatches in the same order.

The algorithm, as scikit-learn implements it (read from 1.9.1, ``sklearn/neural_network``):

- one hidden layer of ``H = 100`` ReLU units; output: softmax over the training fold's classes,
  or, when it holds exactly two, one logistic unit for the second class (``LabelBinarizer``);
- loss per minibatch of ``B`` rows: mean log loss (probabilities clipped to ``[eps, 1 - eps]``)
  plus ``0.5 * alpha * (|W1|^2 + |W2|^2) / B``, ``alpha = 1e-4``; gradients
  ``(A^T delta + alpha W) / B`` and ``sum(delta) / B`` with ``delta = p - y``, and a hidden
  unit's delta set to 0 where its activation is 0;
- Adam (Kingma & Ba 2015, arXiv:1412.6980) with ``lr = 1e-3``, ``beta1 = 0.9``,
  ``beta2 = 0.999``, ``eps = 1e-8``, one step per minibatch, the bias correction folded into
  the step size ``lr * sqrt(1 - beta2^t) / (1 - beta1^t)``;
- minibatches of ``min(200, n)`` consecutive rows of an order reshuffled every epoch, the last
  one smaller;
- the epoch loss is the row-weighted mean of the minibatch losses; training stops when it has
  not improved on the best so far by ``tol = 1e-4`` for more than ``n_iter_no_change = 10``
  consecutive epochs (``_update_no_improvement_count``: stopping needs a count of 11), or after
  ``max_iter = 500`` epochs (not converged).

Random draws: ``check_random_state(seed)`` is ``np.random.RandomState(seed)``; scikit-learn draws
``W1`` (``(d, H)``), ``b1``, ``W2`` (``(H, outputs)``) and ``b2`` with ``uniform(-b, b)``,
``b = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio 2010), then every epoch permutes its index
array with ``RandomState.shuffle``. The initial weights are drawn here with the same NumPy calls;
the shuffles run inside the compiled loop on a copy of the generator's Mersenne Twister state
(:func:`_mt19937_generate`, :func:`_shuffle`, NumPy's legacy ``random_interval`` rejection
sampling), which gives the same permutations without a round trip to Python per epoch.

What differs from scikit-learn is the order of floating-point operations (sums over rows and
units are accumulated row by row instead of by BLAS, and reassociated by the compiler), so
parameters agree to rounding, not bit for bit: ~1e-16 after an epoch and ~1e-10 after 500 in
float64 (``docs/compiled-mlp.md``). ``dtype=np.float32`` trains in single precision, as
scikit-learn does for float32 input; its trajectories depart further, its accuracy does not.

Example::

    model = CompiledMLP()(0).fit(X, y)       # like MLPClassifier(max_iter=500, random_state=0)
    proba = model.predict_proba(X_test)
    out_of_fold, (pool, test), fits = CompiledMLP().cross_validate(
        X, y, [X_pool, X_test], num_classes, splits, fold_seeds)
"""

from __future__ import annotations

import time
from typing import Sequence

import numba
import numpy as np

__all__ = ["CompiledMLP", "CompiledMLPClassifier", "HIDDEN", "MAX_ITER", "initial_parameters", "warm_up"]

HIDDEN = 100
ALPHA = 1e-4
LEARNING_RATE = 1e-3
BETA_1 = 0.9
BETA_2 = 0.999
ADAM_EPSILON = 1e-8
BATCH_SIZE = 200
TOL = 1e-4
N_ITER_NO_CHANGE = 10
MAX_ITER = 500

# Reassociation lets LLVM vectorise the sums over the 100 hidden units; it only changes rounding.
# No 'nnan'/'ninf'/'afn': NaN and infinity behave as in NumPy, exp and log stay exact. The kernel
# uses NumPy's error model (no zero-divisor checks): its divisors are batch sizes >= 1 and softmax
# sums >= 1.
_FASTMATH = {"reassoc", "contract", "nsz"}
_MT_N = 624
_MT_M = 397


# --------------------------------------------------------------------------- Mersenne Twister


@numba.njit(cache=True, fastmath=_FASTMATH)
def _mt19937_generate(key: np.ndarray) -> None:  # pragma: no cover - compiled
    """Refill the 624-word MT19937 state (Matsumoto & Nishimura 1998), as NumPy's ``mt19937_gen``."""
    upper, lower, matrix = np.uint32(0x80000000), np.uint32(0x7FFFFFFF), np.uint32(0x9908B0DF)
    one, zero = np.uint32(1), np.uint32(0)
    for i in range(_MT_N - _MT_M):
        y = (key[i] & upper) | (key[i + 1] & lower)
        key[i] = key[i + _MT_M] ^ (y >> one) ^ (matrix if y & one else zero)
    for i in range(_MT_N - _MT_M, _MT_N - 1):
        y = (key[i] & upper) | (key[i + 1] & lower)
        key[i] = key[i + _MT_M - _MT_N] ^ (y >> one) ^ (matrix if y & one else zero)
    y = (key[_MT_N - 1] & upper) | (key[0] & lower)
    key[_MT_N - 1] = key[_MT_M - 1] ^ (y >> one) ^ (matrix if y & one else zero)


@numba.njit(cache=True, fastmath=_FASTMATH)
def _shuffle(a: np.ndarray, key: np.ndarray, pos: np.ndarray) -> None:  # pragma: no cover - compiled
    """``RandomState.shuffle(a)`` for a 1-d array, advancing the generator state ``(key, pos[0])``.

    NumPy's legacy shuffle is Fisher-Yates from the end; each index comes from ``random_interval``:
    32-bit draws masked to the smallest all-ones mask covering ``i``, rejected while above ``i``.
    """
    p = pos[0]
    for i in range(a.shape[0] - 1, 0, -1):
        bound = np.uint32(i)
        mask = bound
        mask |= mask >> np.uint32(1)
        mask |= mask >> np.uint32(2)
        mask |= mask >> np.uint32(4)
        mask |= mask >> np.uint32(8)
        mask |= mask >> np.uint32(16)
        while True:
            if p >= _MT_N:
                _mt19937_generate(key)
                p = 0
            y = key[p]
            p += 1
            y ^= y >> np.uint32(11)
            y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
            y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
            y ^= y >> np.uint32(18)
            value = y & mask
            if value <= bound:
                break
        j = np.int64(value)
        tmp = a[i]
        a[i] = a[j]
        a[j] = tmp
    pos[0] = p


# --------------------------------------------------------------------------- training kernel


@numba.njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _train_fold(X, labels, rows, theta, key, pos, present, positive, max_iter, record):  # pragma: no cover
    """Train one fold in place: ``theta`` packs ``[W1 (d, H) | b1 (H) | W2^T (K, H) | b2 (K)]``.

    ``rows`` are the fold's training rows of ``X``/``labels`` (its ``X_train``), ``present[c]``
    whether class ``c`` is one of the fold's classes, ``positive`` the class of the single
    logistic output unit when the fold has two classes, else -1 (softmax over present classes).
    Output columns of absent classes have zero weights and stay zero. ``record`` receives
    ``(epochs, converged, final epoch loss)``.
    """
    dt = X.dtype.type
    n = rows.shape[0]
    d = X.shape[1]
    K = present.shape[0]
    H = HIDDEN
    alpha = dt(ALPHA)
    half_alpha = dt(0.5 * ALPHA)
    beta_1, beta_2 = dt(BETA_1), dt(BETA_2)
    one_minus_beta_1, one_minus_beta_2 = dt(1.0 - BETA_1), dt(1.0 - BETA_2)
    tol = dt(TOL)
    zero = dt(0.0)
    clip_low = dt(np.finfo(X.dtype).eps)
    clip_high = dt(1.0) - clip_low
    batch_size = min(BATCH_SIZE, n)

    W1 = theta[: d * H].reshape(d, H)
    b1 = theta[d * H : d * H + H]
    W2 = theta[d * H + H : d * H + H + K * H].reshape(K, H)
    b2 = theta[d * H + H + K * H :]
    grad = np.zeros_like(theta)
    gW1 = grad[: d * H].reshape(d, H)
    gb1 = grad[d * H : d * H + H]
    gW2 = grad[d * H + H : d * H + H + K * H].reshape(K, H)
    gb2 = grad[d * H + H + K * H :]
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    a = np.empty(H, X.dtype)
    dh = np.empty(H, X.dtype)
    x = np.empty(d, X.dtype)
    z = np.empty(K, X.dtype)
    p = np.empty(K, X.dtype)

    order = np.arange(n)
    t = 0
    best = dt(np.inf)
    no_improvement = 0
    epochs = 0
    converged = False
    loss = dt(np.nan)
    for epoch in range(max_iter):
        _shuffle(order, key, pos)
        accumulated = zero
        for start in range(0, n, batch_size):
            B = min(batch_size, n - start)
            grad[:] = zero
            log_loss = zero
            for r in range(B):
                row = rows[order[start + r]]
                label = labels[row]
                for k in range(d):
                    x[k] = X[row, k]
                # forward: a = relu(x W1 + b1), z = a W2 + b2
                for j in range(H):
                    a[j] = zero
                for k in range(d):
                    xk = x[k]
                    for j in range(H):
                        a[j] += xk * W1[k, j]
                for j in range(H):
                    s = a[j] + b1[j]
                    a[j] = s if s > zero else zero
                for c in range(K):
                    s = zero
                    for j in range(H):
                        s += a[j] * W2[c, j]
                    z[c] = s + b2[c]
                # output probabilities, log loss and delta = p - y on the trained columns
                if positive >= 0:
                    q = dt(1.0) / (dt(1.0) + np.exp(-z[positive]))
                    qc = min(max(q, clip_low), clip_high)
                    if label == positive:
                        log_loss -= np.log(qc)
                        delta = q - dt(1.0)
                    else:
                        log_loss -= np.log(dt(1.0) - qc)
                        delta = q
                    for c in range(K):
                        p[c] = zero
                    p[positive] = delta
                else:
                    z_max = dt(-np.inf)
                    for c in range(K):
                        if present[c] and z[c] > z_max:
                            z_max = z[c]
                    total = zero
                    for c in range(K):
                        e = np.exp(z[c] - z_max) if present[c] else zero
                        p[c] = e
                        total += e
                    for c in range(K):
                        p[c] /= total
                    log_loss -= np.log(min(max(p[label], clip_low), clip_high))
                    p[label] -= dt(1.0)
                # backward: p now holds delta for the output layer
                for j in range(H):
                    dh[j] = zero
                for c in range(K):
                    delta = p[c]
                    if delta != zero:
                        gb2[c] += delta
                        for j in range(H):
                            gW2[c, j] += delta * a[j]
                            dh[j] += delta * W2[c, j]
                for j in range(H):
                    if a[j] == zero:
                        dh[j] = zero
                    gb1[j] += dh[j]
                for k in range(d):
                    xk = x[k]
                    for j in range(H):
                        gW1[k, j] += xk * dh[j]
            # L2 penalty on the weights (not the biases), scaled by the batch size
            squares = zero
            for i in range(d * H):
                squares += theta[i] * theta[i]
            for i in range(d * H + H, d * H + H + K * H):
                squares += theta[i] * theta[i]
            batch = dt(B)
            batch_loss = log_loss / batch + half_alpha * squares / batch
            accumulated += batch_loss * batch
            for k in range(d):
                for j in range(H):
                    gW1[k, j] = (gW1[k, j] + alpha * W1[k, j]) / batch
            for j in range(H):
                gb1[j] /= batch
            for c in range(K):
                for j in range(H):
                    gW2[c, j] = (gW2[c, j] + alpha * W2[c, j]) / batch
                gb2[c] /= batch
            # Adam; like scikit-learn, the step size is a float64 scalar whatever the dtype
            t += 1
            step = LEARNING_RATE * np.sqrt(1.0 - BETA_2**t) / (1.0 - BETA_1**t)
            for i in range(theta.shape[0]):
                g = grad[i]
                m[i] = beta_1 * m[i] + one_minus_beta_1 * g
                v[i] = beta_2 * v[i] + one_minus_beta_2 * (g * g)
                theta[i] += dt(-step * m[i] / (np.sqrt(v[i]) + dt(ADAM_EPSILON)))
        loss = accumulated / dt(n)
        epochs = epoch + 1
        # sklearn's _update_no_improvement_count (training loss, early_stopping=False)
        if loss > best - tol:
            no_improvement += 1
        else:
            no_improvement = 0
        if loss < best:
            best = loss
        if no_improvement > N_ITER_NO_CHANGE:
            converged = True
            break
    record[0] = epochs
    record[1] = 1.0 if converged else 0.0
    record[2] = loss


@numba.njit(cache=True)
def _train_folds(
    X, labels, rows, offsets, thetas, keys, positions, present, positive, max_iter, records
):  # pragma: no cover - compiled
    """Train every fold in turn; fold ``f`` trains on ``rows[offsets[f]:offsets[f + 1]]``."""
    for f in range(thetas.shape[0]):
        _train_fold(
            X, labels, rows[offsets[f] : offsets[f + 1]], thetas[f], keys[f], positions[f],
            present[f], positive[f], max_iter, records[f],
        )


# --------------------------------------------------------------------------- random draws and layout


def initial_parameters(seed: int | np.random.RandomState, n_features: int, n_outputs: int, dtype=np.float64):
    """The initial ``(W1, b1, W2, b2)`` and generator that ``MLPClassifier(random_state=seed)`` draws.

    Mirrors ``_initialize``/``_init_coef`` for ReLU (Glorot factor 6), including the float64 draw
    followed by a cast to ``dtype``. Returns the four arrays in scikit-learn's shapes
    (``(d, H)``, ``(H,)``, ``(H, n_outputs)``, ``(n_outputs,)``) and the ``RandomState``, whose
    next draws are the epochs' shuffles.
    """
    rs = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(seed)
    params = []
    for fan_in, fan_out in ((n_features, HIDDEN), (HIDDEN, n_outputs)):
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rs.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False))
        params.append(rs.uniform(-bound, bound, fan_out).astype(dtype, copy=False))
    return (*params, rs)


def _pack(
    W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray, classes: np.ndarray, K: int, dtype
) -> np.ndarray:
    """Flat parameters with one output column per class 0..K-1 (W2 stored transposed).

    ``classes`` are the fold's sorted class indices; with two classes the single logistic unit
    goes to the column of the second one and the first class's column stays zero.
    """
    d = W1.shape[0]
    theta = np.zeros(d * HIDDEN + HIDDEN + K * HIDDEN + K, dtype)
    theta[: d * HIDDEN] = W1.ravel()
    theta[d * HIDDEN : d * HIDDEN + HIDDEN] = b1
    W2T = theta[d * HIDDEN + HIDDEN : d * HIDDEN + HIDDEN + K * HIDDEN].reshape(K, HIDDEN)
    b2_full = theta[d * HIDDEN + HIDDEN + K * HIDDEN :]
    columns = classes[1:] if len(classes) == 2 else classes
    W2T[columns] = W2.T
    b2_full[columns] = b2
    return theta


def _unpack(theta: np.ndarray, d: int, K: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(W1 (d, H), b1 (H,), W2 (H, K), b2 (K,))`` views of packed parameters."""
    W1 = theta[: d * HIDDEN].reshape(d, HIDDEN)
    b1 = theta[d * HIDDEN : d * HIDDEN + HIDDEN]
    W2 = theta[d * HIDDEN + HIDDEN : d * HIDDEN + HIDDEN + K * HIDDEN].reshape(K, HIDDEN).T
    b2 = theta[d * HIDDEN + HIDDEN + K * HIDDEN :]
    return W1, b1, W2, b2


def _predict_proba(theta: np.ndarray, classes: np.ndarray, X: np.ndarray, K: int) -> np.ndarray:
    """``predict_proba`` with K columns (zeros for classes the fold did not see), as
    ``_forward_pass_fast``: softmax over the fold's classes, or ``[1 - s, s]`` of the logistic unit."""
    W1, b1, W2, b2 = _unpack(theta, X.shape[1], K)
    hidden = np.maximum(X @ W1 + b1, 0)
    proba = np.zeros((len(X), K))
    if len(classes) == 2:
        c0, c1 = classes
        z = hidden @ W2[:, c1] + b2[c1]
        s = 1.0 / (1.0 + np.exp(-z))
        proba[:, c0], proba[:, c1] = 1.0 - s, s
    else:
        z = hidden @ W2[:, classes] + b2[classes]
        z = np.exp(z - z.max(axis=1, keepdims=True))
        proba[:, classes] = z / z.sum(axis=1, keepdims=True)
    return proba


class _Fold:
    """One fold's prepared state: packed parameters, generator state and class layout."""

    def __init__(self, seed: int, classes: np.ndarray, n_features: int, K: int, dtype) -> None:
        self.classes = classes
        n_outputs = 1 if len(classes) == 2 else len(classes)
        W1, b1, W2, b2, rs = initial_parameters(seed, n_features, n_outputs, dtype)
        self.theta = _pack(W1, b1, W2, b2, classes, K, dtype)
        _, key, pos, *_ = rs.get_state(legacy=True)
        self.key = np.array(key, dtype=np.uint32)
        self.pos = int(pos)
        self.present = np.zeros(K, dtype=np.bool_)
        self.present[classes] = True
        self.positive = int(classes[1]) if len(classes) == 2 else -1


def _train(
    X: np.ndarray, labels: np.ndarray, row_sets: Sequence[np.ndarray], folds: Sequence[_Fold], max_iter: int
) -> np.ndarray:
    """Train every fold in one compiled call; returns ``(folds, 3)`` records, updates ``folds``."""
    F = len(folds)
    if F == 0:
        return np.zeros((0, 3))
    offsets = np.zeros(F + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in row_sets])
    rows = np.concatenate(row_sets).astype(np.int64, copy=False)
    thetas = np.stack([f.theta for f in folds])
    keys = np.stack([f.key for f in folds])
    positions = np.array([[f.pos] for f in folds], dtype=np.int64)
    present = np.stack([f.present for f in folds])
    positive = np.array([f.positive for f in folds], dtype=np.int64)
    records = np.zeros((F, 3))
    _train_folds(X, labels, rows, offsets, thetas, keys, positions, present, positive, max_iter, records)
    for f, fold in enumerate(folds):
        fold.theta, fold.key, fold.pos = thetas[f], keys[f], int(positions[f, 0])
    return records


def _as_dtype(X: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(X, dtype=dtype)


# --------------------------------------------------------------------------- public interface


class CompiledMLPClassifier:
    """``MLPClassifier(max_iter=500, random_state=seed)`` (adam, ReLU, 100 hidden units), trained
    by the compiled loop: ``fit``, ``predict_proba``, ``predict``, ``classes_``, ``n_iter_``,
    ``loss_``, ``converged_`` and scikit-learn-shaped ``coefs_``/``intercepts_``."""

    def __init__(self, random_state: int = 0, dtype=np.float64, max_iter: int = MAX_ITER) -> None:
        self.random_state = random_state
        self.dtype = np.dtype(dtype)
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, y: np.ndarray) -> "CompiledMLPClassifier":
        """Fit on ``(X, y)``; labels may be any sortable values, as ``LabelBinarizer`` takes them."""
        X = _as_dtype(X, self.dtype)
        self.classes_, labels = np.unique(np.asarray(y), return_inverse=True)
        K = len(self.classes_)
        self.n_features_in_ = X.shape[1]
        if K == 1:  # scikit-learn cannot fit one class usefully; predict it, like _ConstantModel
            self._fold = None
            self.n_iter_, self.converged_, self.loss_ = 0, True, 0.0
            return self
        fold = _Fold(self.random_state, np.arange(K), X.shape[1], K, self.dtype)
        rows = [np.arange(len(X))]
        ((epochs, converged, loss),) = _train(X, labels.astype(np.int64), rows, [fold], self.max_iter)
        self._fold = fold
        self.n_iter_, self.converged_, self.loss_ = int(epochs), bool(converged), float(loss)
        return self

    @property
    def coefs_(self) -> list[np.ndarray]:
        W1, _, W2, _ = _unpack(self._fold.theta, self.n_features_in_, len(self.classes_))
        return [W1.copy(), (W2[:, 1:] if len(self.classes_) == 2 else W2).copy()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        _, b1, _, b2 = _unpack(self._fold.theta, self.n_features_in_, len(self.classes_))
        return [b1.copy(), (b2[1:] if len(self.classes_) == 2 else b2).copy()]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        if self._fold is None:
            return np.ones((len(X), 1))
        K = len(self.classes_)
        return _predict_proba(self._fold.theta, self._fold.classes, _as_dtype(X, self.dtype), K)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class CompiledMLP:
    """A model factory: ``CompiledMLP()(seed)`` returns a scikit-learn style classifier (``fit``,
    ``predict_proba``, ``classes_``) trained by the compiled code, equal in algorithm to
    ``MLPClassifier(max_iter=500, random_state=seed)``; :meth:`cross_validate` trains all folds
    of a cross-validation in one compiled call.

    ``dtype``: float64 (default, scikit-learn's precision for float64 input) or float32 (faster,
    as scikit-learn with float32 input). ``max_iter`` is for tests; the benchmark uses 500.
    The compiled code depends on the dtype only, not on row counts: it is compiled once per
    dtype and cached on disk (Numba ``cache=True``), so later processes only load it.
    """

    def __init__(self, dtype=np.float64, max_iter: int = MAX_ITER) -> None:
        if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {np.dtype(dtype)}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        self.dtype = np.dtype(dtype)
        self.max_iter = int(max_iter)

    def __call__(self, seed: int) -> CompiledMLPClassifier:
        return CompiledMLPClassifier(seed, self.dtype, self.max_iter)

    def cross_validate(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_others: list,
        num_classes: int,
        splits: list[tuple[np.ndarray, np.ndarray]],
        fold_seeds: list[int],
    ) -> tuple[np.ndarray, list[np.ndarray], list[dict]]:
        """All folds in one compiled call. splits[f] = (train_idx, held_out_idx); fold f is trained
        on X[train_idx], y[train_idx] with the random draws MLPClassifier(random_state=fold_seeds[f])
        would make. Returns out-of-fold probabilities (len(X), num_classes) for the held-out rows,
        the fold-AVERAGED probabilities (len(Xo), num_classes) for each Xo in X_others, and per
        fold a dict {"epochs": int, "converged": bool, "final_loss": float}. Columns of classes a
        fold never saw in training are 0; a fold whose training labels hold one class predicts it
        with probability 1 (like common.models._ConstantModel), with epochs 0 and final_loss 0."""
        if len(splits) != len(fold_seeds):
            raise ValueError(f"got {len(splits)} splits but {len(fold_seeds)} fold_seeds")
        labels = np.asarray(y)
        as_int = labels.astype(np.int64)
        in_range = not labels.size or (as_int.min() >= 0 and as_int.max() < num_classes)
        if not (in_range and np.array_equal(as_int, labels)):
            raise ValueError(f"labels y must be integers in 0..{num_classes - 1} (num_classes={num_classes})")
        labels = as_int
        X = _as_dtype(X, self.dtype)
        others = [_as_dtype(Xo, self.dtype) for Xo in X_others]
        K = num_classes
        trained, row_sets, constant = [], [], {}
        for f, ((train, _), seed) in enumerate(zip(splits, fold_seeds)):
            classes = np.unique(labels[train])
            if len(classes) == 1:
                constant[f] = int(classes[0])
            else:
                trained.append((f, _Fold(int(seed), classes, X.shape[1], K, self.dtype)))
                row_sets.append(np.asarray(train))
        records = _train(X, labels, row_sets, [fold for _, fold in trained], self.max_iter)
        out_of_fold = np.zeros((len(X), K))
        averaged = [np.zeros((len(Xo), K)) for Xo in others]
        infos: list[dict] = [{}] * len(splits)
        models = {f: fold for f, fold in trained}
        for i, (f, fold) in enumerate(trained):
            epochs, converged, loss = records[i]
            infos[f] = {"epochs": int(epochs), "converged": bool(converged), "final_loss": float(loss)}
        for f, (_, held_out) in enumerate(splits):
            if f in constant:
                infos[f] = {"epochs": 0, "converged": True, "final_loss": 0.0}
                out_of_fold[held_out] = np.eye(K)[constant[f]]
                for total in averaged:
                    total[:, constant[f]] += 1.0
                continue
            fold = models[f]
            out_of_fold[held_out] = _predict_proba(fold.theta, fold.classes, X[held_out], K)
            for Xo, total in zip(others, averaged):
                if len(Xo):
                    total += _predict_proba(fold.theta, fold.classes, Xo, K)
        return out_of_fold, [total / len(splits) for total in averaged], infos


def warm_up(dtype=np.float64) -> float:
    """Compile (or load from Numba's cache) the training code for ``dtype``; returns seconds."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2)).astype(dtype)
    CompiledMLP(dtype, max_iter=1)(0).fit(X, np.arange(8) % 3)
    return time.perf_counter() - start
