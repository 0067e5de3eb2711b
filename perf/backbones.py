"""How good and how costly each pretrained backbone's features are on CIFAR-10H (issue 20).

Logistic regression on standardised features, trained on 1,000 random images among the first
5,000 and tested on the last 5,000 (``--test-images N``: the first N of them), from their true
labels or from one random CIFAR-10H vote each (a crowd label); C is chosen by 3-fold
cross-validation on the training labels. Also 25 nearest neighbours (cosine) on the crowd labels,
and (``--all-train``) logistic regression on all 5,000 true training labels.

Features are computed for the images used only (and cached, keyed by that image set); the
embedding's wall and CPU seconds are printed with their rate per 10,000 images (0 when the cache
already held them: pass ``--cache-dir`` an empty folder to time them).

    python perf/backbones.py [--backbones resnet56 efficientnet-lite2] [--test-images 2000] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import Normalizer, StandardScaler  # noqa: E402

from common.backbones import BACKBONES  # noqa: E402
from common.data import resolve_data_dir  # noqa: E402
from common.datasets.cifar10h import load_cifar10h  # noqa: E402
from common.features import backbone_features  # noqa: E402

C_GRID = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0]


def logreg_cv(X: np.ndarray, y: np.ndarray, grid: list[float] = C_GRID) -> GridSearchCV:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    return GridSearchCV(model, {"logisticregression__C": grid}, cv=3, n_jobs=1).fit(X, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=list(BACKBONES))
    parser.add_argument("--test-images", type=int, default=5000)
    parser.add_argument("--all-train", action="store_true", help="also train on all 5,000 true labels")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--cache-dir", type=Path, help="feature cache (default: the usual one)")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    data_dir = resolve_data_dir(args.data_dir)
    data = load_cifar10h(data_dir)
    rng = np.random.default_rng(0)
    subset = np.sort(rng.choice(5000, 1000, replace=False))
    crowd = np.array([rng.choice(10, p=row / row.sum()) for row in data.counts[subset]])
    test = np.arange(5000, 5000 + args.test_images)
    used = np.arange(5000) if args.all_train else subset
    used = np.concatenate([used, test])
    where = np.full(10_000, -1)
    where[used] = np.arange(len(used))
    print(f"crowd labels: accuracy {np.mean(crowd == data.labels[subset]):.3f}; {len(test)} test images")
    print("| backbone | dims | embed s (CPU s) for N images | per 10,000 | 1,000 true (C) | 1,000 crowd (C) "
          "| kNN 1,000 crowd |" + (" 5,000 true |" if args.all_train else ""))
    for name in args.backbones:
        started, cpu = time.time(), time.process_time()
        X = np.asarray(backbone_features(name, data.images[used], data_dir, args.cache_dir))
        seconds, cpu = time.time() - started, time.process_time() - cpu
        X_test, y_test = X[where[test]], data.labels[test]
        X_train = X[where[subset]]
        true = logreg_cv(X_train, data.labels[subset])
        noisy = logreg_cv(X_train, crowd)
        knn = make_pipeline(Normalizer(), KNeighborsClassifier(25, weights="distance")).fit(X_train, crowd)

        def acc(model) -> float:
            return float(np.mean(model.predict(X_test) == y_test))

        C = "logisticregression__C"
        scale = 10_000 / len(used)
        row = (f"| {name} | {X.shape[1]} | {seconds:.0f} ({cpu:.0f}) for {len(used)} | {seconds * scale:.0f} "
               f"({cpu * scale:.0f}) | {acc(true):.3f} ({true.best_params_[C]:g}) | "
               f"{acc(noisy):.3f} ({noisy.best_params_[C]:g}) | {acc(knn):.3f} |")
        if args.all_train:
            train = np.arange(5000)
            full = logreg_cv(X[where[train]], data.labels[train], [1e-3, 3e-3, 1e-2])
            row += f" {acc(full):.3f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
