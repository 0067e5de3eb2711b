"""The LabelMe benchmark: 1,000 scene images labeled into 8 classes by 59 real MTurk workers, replayed.

Every label the oracle hands out is one a real worker gave that image (Rodrigues & Pereira, AAAI
2018; see common/datasets/labelme.py), replayed by the shared builder of common/replay.py: each
label at most once, from the image's own workers, into the worker's column; an image whose labels
are all out is no longer a candidate. Images have 1 to 3 labels (42, 369 and 589 images), so a
relabeling method soon meets images it cannot relabel: second opinion or first label is a real
choice, under a real cap.

Split: the published one, the 1,000 crowd-labeled training images are the pool and the 1,188 test
images (gold labels) the test set; the 500 validation images served only to choose the defaults
below and are never used by a run. Features: the 200 vendored columns (a bag of visual words),
standardised with the pool's statistics. The image files themselves (``labelme/<split>/<class>/``)
can feed pretrained backbones later: :func:`common.datasets.labelme.image_paths` lists them in row
order; no model reads them yet.

Defaults, measured with perf/labelme_models.py on the validation images (README, "LabelMe"):
logistic regression with C = 0.03, the best mean validation accuracy over gold labels (0.832) and
the majority vote of all crowd labels (0.736); C = 0.01 is within 0.006 on both and on the
200-label start. 200 images start with one real label each, 50 labels a round, 20 rounds: 1,000 of
the 2,347 labels left, so no method can run the crowd dry, while relabeling is capped per image.
"""

from __future__ import annotations

from pathlib import Path

from sklearn.linear_model import LogisticRegression

from common.benchmark import register_benchmark
from common.models import TABULAR_MODELS, Model
from common.replay import ReplayedCrowd, replay_benchmark


def logreg(seed: int) -> LogisticRegression:
    return LogisticRegression(C=0.03, max_iter=1000)


def load_labelme_crowd(data_dir: Path, inputs: frozenset) -> ReplayedCrowd:
    """The published split (pool = the training images), standardised vendored features, the 59 workers."""
    from common.datasets.labelme import NUM_CLASSES, load_labelme
    from common.datasets.music_genre import standardize

    data = load_labelme(data_dir)
    X_pool, X_test = standardize(data.X["train"], data.X["test"])
    info = {"answer_columns_of_workers": data.workers.tolist()}
    return ReplayedCrowd(X_pool, data.y["train"], X_test, data.y["test"], data.hidden_labels, NUM_CLASSES,
                         info=info)


LABELME = register_benchmark(
    replay_benchmark(
        "labelme",
        load_labelme_crowd,
        models={"logreg": Model(logreg), **TABULAR_MODELS},
        ensemble=("logreg", "extra-trees", "knn"),
        default_model="logreg",
        rounds=20,
        batch_size=50,
        n_initial=200,
        pool_size=1000,
        seeds=10,
        settings={"split": "published (1,000 pool = training images, 1,188 test; validation unused)",
                  "features": "vendored 200 columns, standardised with pool statistics"},
    )
)
