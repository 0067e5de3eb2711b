"""Every random stream of a run, named, in one place.

A run's seed ``s`` fixes everything random in it (``--data-seed d`` takes over the data streams).
The streams below are the only way code in this project turns a seed into randomness; no other
module derives seeds. Each stream is ``numpy.random.SeedSequence(entropy, spawn_key=key)`` with its
own key, so no two purposes can share a stream (keys differ in their first element, and the model
keys in their round, member and fold):

================== ================================================ ========== ====================
stream             used for                                         entropy    spawn key
================== ================================================ ========== ====================
``subset``         the class-stratified subset of the dataset       data seed  ``(0,)``
``split``          the stratified pool/test split                   data seed  ``(1,)``
``annotators``     simulated annotators (and CIFAR-10H's            data seed  ``(2,)``
                   pseudo-annotators)
``initial_labels`` which pool examples start labeled, how many      data seed  ``(3,)``
                   labels each gets and from whom
``loop``           random methods, tie-breaks, consensus ties,      seed       ``(4,)``
                   who answers a label request
``model_folds``    round ``r``, ensemble member ``m``: the fold     seed       ``(5, r, m)``
                   assignment of its cross-validation
``model_fit``      ... and the model of fold ``f``                  seed       ``(6, r, m, f)``
================== ================================================ ========== ====================

A stream that needs a plain integer seed (scikit-learn's ``random_state``, cleanlab's global
generator) takes the first 32-bit word of its sequence's state.
"""

from __future__ import annotations

import numpy as np

_KEYS = {
    "subset": 0,
    "split": 1,
    "annotators": 2,
    "initial_labels": 3,
    "loop": 4,
    "model_folds": 5,
    "model_fit": 6,
}


def stream(entropy: int, name: str, *indices: int) -> np.random.SeedSequence:
    """The seed sequence of stream ``name`` (with its round/member/fold ``indices``)."""
    return np.random.SeedSequence(int(entropy), spawn_key=(_KEYS[name], *map(int, indices)))


def _integer(sequence: np.random.SeedSequence) -> int:
    return int(sequence.generate_state(1)[0])


class RunSeeds:
    """The named streams of one run; ``data_seed`` (default: ``seed``) fixes the data streams
    (``subset``, ``split``, ``annotators``, ``initial_labels``) and ``seed`` the others."""

    def __init__(self, seed: int, data_seed: int | None = None):
        self.seed = int(seed)
        self.data_seed = self.seed if data_seed is None else int(data_seed)

    def subset(self) -> np.random.Generator:
        """The subset of the dataset a run uses."""
        return np.random.default_rng(stream(self.data_seed, "subset"))

    def split(self) -> int:
        """``random_state`` of the pool/test split."""
        return _integer(stream(self.data_seed, "split"))

    def annotators(self) -> int:
        """Seed of the simulated annotators (noise matrices and their labels)."""
        return _integer(stream(self.data_seed, "annotators"))

    def initial_labels(self) -> np.random.Generator:
        """Which pool examples start labeled, and with which annotators' labels."""
        return np.random.default_rng(stream(self.data_seed, "initial_labels"))

    def loop(self) -> np.random.Generator:
        """The round loop's generator: methods, tie-breaks, consensus ties, assigners."""
        return np.random.default_rng(stream(self.seed, "loop"))

    def model(self, round_index: int, member: int) -> "ModelSeeds":
        """Seeds of one cross-validated fit of ensemble member ``member`` in round ``round_index``."""
        return ModelSeeds(self.seed, round_index, member)


class ModelSeeds:
    """Seeds of one cross-validation: the fold assignment and each fold's model."""

    def __init__(self, seed: int, round_index: int = 0, member: int = 0):
        self.seed, self.round_index, self.member = int(seed), int(round_index), int(member)

    def fold_split(self) -> int:
        return _integer(stream(self.seed, "model_folds", self.round_index, self.member))

    def fold_model(self, fold: int) -> int:
        return _integer(stream(self.seed, "model_fit", self.round_index, self.member, fold))
