"""Music Genre benchmark: 700 songs, 44 real MTurk workers whose 2,945 labels are replayed; 200 songs
start with one real label each, 50 labels a round."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("music-genre"))
