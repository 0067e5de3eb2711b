"""The Music Genre benchmark: 700 songs labeled into 10 genres by 44 real MTurk workers, replayed.

Every label the oracle hands out is one a real worker gave that song (Rodrigues, Pereira & Ribeiro,
Pattern Recognition Letters 34(12), 2013; see common/datasets/music_genre.py), replayed by the
shared builder of common/replay.py: the hidden label matrix holds each worker's label in its column
and NaN where the worker never labeled the song, so a request is answered by one of the song's
workers whose label has not been handed out yet, each label at most once, and a song whose labels
are all out is no longer a candidate.

Seed ``s`` (its ``initial_labels`` stream) picks the initially labeled songs and one random real
label for each; the split is the published one (700 pool, 300 test) and the features are standardised with
the pool's statistics. Default model: logistic regression (C = 0.1) on those features, chosen by
measured accuracy and cost (perf/music_genre_models.py, README): within 0.013 of the MLP's test
accuracy on gold labels, as good on crowd labels, about 30 times faster to fit.
"""

from __future__ import annotations

from pathlib import Path

from sklearn.linear_model import LogisticRegression

from common.benchmark import register_benchmark
from common.models import TABULAR_MODELS, Model
from common.replay import ReplayedCrowd, replay_benchmark


def logreg(seed: int) -> LogisticRegression:
    return LogisticRegression(C=0.1, max_iter=1000)


def load_music_genre_crowd(data_dir: Path, inputs: frozenset) -> ReplayedCrowd:
    """The published split, features standardised with pool statistics, the 44 workers' labels."""
    from common.datasets.music_genre import NUM_CLASSES, load_music_genre, standardize

    data = load_music_genre(data_dir)
    X_pool, X_test = standardize(data.X_pool, data.X_test)
    return ReplayedCrowd(X_pool, data.y_pool, X_test, data.y_test, data.hidden_labels, NUM_CLASSES)


MUSIC_GENRE = register_benchmark(
    replay_benchmark(
        "music-genre",
        load_music_genre_crowd,
        models={"logreg": Model(logreg), **TABULAR_MODELS},
        ensemble=("logreg", "extra-trees", "knn"),
        default_model="logreg",
        rounds=20,
        batch_size=50,
        n_initial=200,
        pool_size=700,
        seeds=10,
        settings={"split": "published (700 pool, 300 test)", "features": "standardised with pool statistics"},
    )
)
