# `make test` and `make benchmark` set themselves up: the first use creates .venv and installs
# requirements.txt into it (again whenever requirements.txt changes).
PYTHON_SYSTEM ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: test benchmark benchmark-completely-labeled report leaderboard

$(VENV)/.installed: requirements.txt
	test -x $(PYTHON) || $(PYTHON_SYSTEM) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

test: $(VENV)/.installed
	$(PYTHON) -m pytest

benchmark: $(VENV)/.installed
	$(PYTHON) wall-robot/run_benchmark.py $(ARGS)

benchmark-completely-labeled: $(VENV)/.installed
	$(PYTHON) wall-robot-completely-labeled/run_benchmark.py $(ARGS)

# `make report` writes <benchmark>/results/report/ for each folder in BENCHMARKS; `make leaderboard`
# writes results/leaderboard.md from every benchmark's default grid. ARGS="--metric consensus_accuracy"
# ranks by another metric.
BENCHMARKS ?= $(patsubst %/results/,%,$(wildcard */results/))

report: $(VENV)/.installed
	for benchmark in $(BENCHMARKS); do $(PYTHON) -m common.report $$benchmark $(ARGS) || exit 1; done

leaderboard: $(VENV)/.installed
	$(PYTHON) -m common.report --leaderboard $(ARGS)

# `make grids` reruns every committed grid from this commit, one grid after another. `--refresh`
# redoes the runs whose recorded commit ran other code (common/, run scripts, requirements) and
# keeps the rest, so an interrupted `make grids` resumes where it stopped and a docs-only commit
# invalidates nothing; it needs a clean checkout. Each grid-* target runs alone
# too; then `make report leaderboard`. Wall times on 2 cores are in the README's speed section.
GRID := --refresh --jobs $(or $(JOBS),2)
CROSS_METHODS := --methods random activelab activelab_ensemble uncertainty --seeds 5
.PHONY: grids grid-wall-robot grid-wall-robot-completely-labeled grid-music-genre grid-cifar-10h \
	grid-labelme grid-sentiment-polarity grid-cifar-10s
grids: grid-wall-robot grid-wall-robot-completely-labeled grid-music-genre grid-labelme \
	grid-sentiment-polarity grid-cifar-10s grid-cifar-10h

grid-wall-robot: $(VENV)/.installed
	$(PYTHON) wall-robot/run_benchmark.py $(GRID)
	$(PYTHON) wall-robot/run_benchmark.py $(GRID) --data-seed 0 --seeds 5
	$(PYTHON) wall-robot/run_benchmark.py $(GRID) --model extra-trees
	for assigner in best_estimated ie_thresh; do \
	  $(PYTHON) wall-robot/run_benchmark.py $(GRID) --methods random activelab --seeds 5 --assigner $$assigner || exit 1; done
	for assigner in random best_estimated ie_thresh; do \
	  $(PYTHON) wall-robot/run_benchmark.py $(GRID) $(CROSS_METHODS) --annotators individual --assigner $$assigner || exit 1; done

grid-wall-robot-completely-labeled: $(VENV)/.installed
	$(PYTHON) wall-robot-completely-labeled/run_benchmark.py $(GRID)
	$(PYTHON) wall-robot-completely-labeled/run_benchmark.py $(GRID) --data-seed 0 --seeds 5

# The replayed crowds: the default grid (every method, 10 seeds, assigner random) and the assigner
# crosses; best_value where labels have real costs (CIFAR-10S's response times).
grid-music-genre grid-labelme grid-sentiment-polarity: grid-%: $(VENV)/.installed
	$(PYTHON) $*/run_benchmark.py $(GRID)
	for assigner in best_estimated ie_thresh; do \
	  $(PYTHON) $*/run_benchmark.py $(GRID) $(CROSS_METHODS) --assigner $$assigner || exit 1; done

grid-cifar-10s: $(VENV)/.installed
	$(PYTHON) cifar-10s/run_benchmark.py $(GRID)
	for assigner in best_estimated ie_thresh best_value; do \
	  $(PYTHON) cifar-10s/run_benchmark.py $(GRID) $(CROSS_METHODS) --assigner $$assigner || exit 1; done

# CIFAR-10H: the default (ImageNet-pretrained features), the study's design, and model strength as
# a factor (k-means features, no outside data; ResNet-56 trained on CIFAR-10, in-domain).
grid-cifar-10h: $(VENV)/.installed
	$(PYTHON) cifar-10h/run_benchmark.py $(GRID)
	$(PYTHON) cifar-10h/run_benchmark.py $(GRID) --data-seed 0 --seeds 5 \
	  --methods random good_random entropy uncertainty disagreement activelab activelab_ensemble
	$(PYTHON) cifar-10h/run_benchmark.py $(GRID) --model kmeans-logreg
	$(PYTHON) cifar-10h/run_benchmark.py $(GRID) --model resnet56-logreg
