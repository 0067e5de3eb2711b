"""Wall Robot benchmark: 2,000-example pool, 500 labeled at the start, 30 simulated annotators."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("wall-robot"))
