"""Every random stream of a run, named, in one place.

A run's seed ``s`` fixes everything random in it. The streams below are the only way code in this
project turns ``s`` into randomness; no other module derives seeds. Each stream has one purpose:

============== ============================================== ====================================
stream         used for                                       derivation (unchanged since the
                                                              committed results were produced)
============== ============================================== ====================================
``data``       subset of the dataset, initial labeled         ``SeedSequence([s, 0])``, one
               examples and their labels, CIFAR-10H's         generator consumed in that order
               pseudo-annotators, Music Genre's initial
               labels
``split``      the stratified pool/test split                 ``derive_seed(s, 0, 1)``
``annotators`` simulated annotators (cleanlab's global        ``derive_seed(s, 0, 2)``
               numpy generator, seeded and restored)
``loop``       random methods, tie-breaks, consensus ties,    ``SeedSequence([s, 1])``
               who answers a label request
``model``      round ``r``, member ``m``: the folds           ``derive_seed(s, r, m)``, then
               (``fold_split``) and fold ``f``'s model        ``derive_seed(that)`` for the folds
               (``fold_model``)                               and ``derive_seed(that, f)``
============== ============================================== ====================================

Known overlap, kept for now so that the committed results stay reproducible bit for bit: numpy's
``SeedSequence`` pads short entropy with zeros, so ``SeedSequence([s, 0])`` (``data``) is the
sequence behind ``model(round=0, member=0)`` and ``SeedSequence([s, 1])`` (``loop``) the one behind
``model(round=1, member=0)``; ``split`` and ``annotators`` equal ``model(0, 1)`` and
``model(0, 2)``'s base values. The streams drawn from them differ (a generator's state versus a
32-bit seed hashed again), so no two purposes draw the same numbers, but they are not independent
by construction. Switching to ``SeedSequence(s).spawn``-style keys changes every result; it is
to be done in this module alone, together with a rerun of every committed grid.
"""

from __future__ import annotations

import numpy as np


def derive_seed(*keys: int) -> int:
    """A 32-bit seed determined by ``keys``."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


class RunSeeds:
    """The named streams of one run; ``data_seed`` (default: ``seed``) fixes the data streams
    (``data``, ``split``, ``annotators``) and ``seed`` the others."""

    def __init__(self, seed: int, data_seed: int | None = None):
        self.seed = int(seed)
        self.data_seed = self.seed if data_seed is None else int(data_seed)

    def data(self) -> np.random.Generator:
        """Subset, initial labels (and pseudo-annotators), in the order the problem builder draws them."""
        return np.random.default_rng(np.random.SeedSequence([self.data_seed, 0]))

    def split(self) -> int:
        """``random_state`` of the pool/test split."""
        return derive_seed(self.data_seed, 0, 1)

    def annotators(self) -> int:
        """Seed of the simulated annotators' noise matrix and labels."""
        return derive_seed(self.data_seed, 0, 2)

    def loop(self) -> np.random.Generator:
        """The round loop's generator: methods, tie-breaks, consensus ties, assigners."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, 1]))

    def model(self, round_index: int, member: int) -> "ModelSeeds":
        """Seeds of one cross-validated fit of ensemble member ``member`` in round ``round_index``."""
        return ModelSeeds(derive_seed(self.seed, round_index, member))


class ModelSeeds:
    """Seeds of one cross-validation: the fold assignment and each fold's model."""

    def __init__(self, base: int):
        self.base = base

    def fold_split(self) -> int:
        return derive_seed(self.base)

    def fold_model(self, fold: int) -> int:
        return derive_seed(self.base, fold)
