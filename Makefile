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
