"""CIFAR-10H benchmark: 10,000 CIFAR-10 test images with real human votes, split into a test set and
a pool of 5,000; 1,000 pool images start with 1 to 5 labels from the least accurate annotators.

Besides the common flags (see --help) it takes the dataset flags below; they are recorded with
every run, so results of different settings never mix.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.benchmarks import cifar10h_benchmark  # noqa: E402
from common.runner import main  # noqa: E402


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"cifar-10h/run_benchmark.py: error: {message}\n")


def dataset_flags() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="cifar-10h/run_benchmark.py", add_help=False)
    group = parser.add_argument_group("CIFAR-10H dataset flags")
    group.add_argument("--initial-accuracy", type=float, default=0.82,
                       help="target majority-vote accuracy of the initial labels (default: 0.82)")
    group.add_argument("--test-size", type=int, default=5000,
                       help="images held out as the test set; the rest is the pool (default: 5000)")
    group.add_argument("--skill-spread", type=float, default=2.0,
                       help="how unequal the pseudo-annotators' skill is, without the raw file (default: 2.0)")
    return parser


def run(argv: list[str]) -> int:
    parser = dataset_flags()
    args, rest = parser.parse_known_args(argv)
    if not 0 < args.initial_accuracy <= 1 or not 0 < args.test_size < 10_000 or args.skill_spread < 0:
        print("cifar-10h/run_benchmark.py: error: --initial-accuracy must be in (0, 1], --test-size in "
              "1..9999 and --skill-spread at least 0", file=sys.stderr)
        return 2
    if "-h" in rest or "--help" in rest:
        parser.print_help()
        print()
    return main(cifar10h_benchmark(args.initial_accuracy, args.test_size, args.skill_spread), rest)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
