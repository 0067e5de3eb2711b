"""Sentiment Polarity benchmark: 4,000 movie-review sentences, 203 real MTurk workers whose labels are
replayed (22,197 on the pool); 1,000 sentences start with one real label each, 200 labels a round."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("sentiment-polarity"))
