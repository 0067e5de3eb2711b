"""LabelMe benchmark: 1,000 scene images, 59 real MTurk workers whose 2,547 labels (1 to 3 per image)
are replayed; 200 images start with one real label each, 50 labels a round."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("labelme"))
