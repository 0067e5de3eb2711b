"""CIFAR-10S benchmark: 1,000 CIFAR-10 test images, 248 real Prolific annotators whose 6,200 labels
(6 or 7 per image) are replayed with the seconds each took as its cost; 200 images start with one
real label each, 50 labels a round."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("cifar-10s"))
