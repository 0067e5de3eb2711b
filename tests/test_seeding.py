import numpy as np

from common.seeding import ModelSeeds, RunSeeds, stream


def _first_words(seeds: RunSeeds, rounds: int = 3, members: int = 3, folds: int = 5) -> dict[str, tuple]:
    """A fingerprint of every stream of a run: the state words each purpose starts from."""
    prints = {
        "subset": tuple(seeds.subset().bit_generator.state["state"].values()),
        "initial_labels": tuple(seeds.initial_labels().bit_generator.state["state"].values()),
        "loop": tuple(seeds.loop().bit_generator.state["state"].values()),
        "split": seeds.split(),
        "annotators": seeds.annotators(),
    }
    for r in range(rounds):
        for m in range(members):
            model = seeds.model(r, m)
            prints[f"folds {r} {m}"] = model.fold_split()
            for f in range(folds):
                prints[f"fit {r} {m} {f}"] = model.fold_model(f)
    return prints


def test_no_two_purposes_share_a_stream():
    prints = _first_words(RunSeeds(0))
    assert len(set(prints.values())) == len(prints)
    # nor does a purpose of one seed share a stream with any purpose of the next
    assert not set(prints.values()) & set(_first_words(RunSeeds(1)).values())


def test_the_data_seed_fixes_the_data_streams_and_only_them():
    fixed_a, fixed_b = _first_words(RunSeeds(1, data_seed=7)), _first_words(RunSeeds(2, data_seed=7))
    data = ("subset", "initial_labels", "split", "annotators")
    assert all(fixed_a[name] == fixed_b[name] for name in data)
    assert all(fixed_a[name] != fixed_b[name] for name in fixed_a if name not in data)
    assert _first_words(RunSeeds(7)).items() >= {name: fixed_a[name] for name in data}.items()


def test_streams_are_spawned_sequences_with_distinct_keys():
    assert np.array_equal(stream(3, "loop").generate_state(4), np.random.SeedSequence(3, spawn_key=(4,)).generate_state(4))
    assert ModelSeeds(3, 2, 1).fold_model(4) == int(stream(3, "model_fit", 2, 1, 4).generate_state(1)[0])
    assert RunSeeds(3).model(2, 1).fold_split() == ModelSeeds(3, 2, 1).fold_split()
