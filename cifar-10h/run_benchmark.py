"""CIFAR-10H benchmark: 10,000 CIFAR-10 test images with real human votes, split into a test set and
a pool of 5,000; 1,000 pool images start with 1 to 5 labels from the least accurate annotators.
Its dataset flags (--initial-accuracy, --test-size, --skill-spread) are listed by --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("cifar-10h"))
