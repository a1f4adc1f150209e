# The two commands of the README. Both build .venv on first use with the Python that
# .python-version selects (pyenv), install dlcore editable with its test extra, then run.
# `make test` runs ruff (configured in pyproject.toml) before the tests.
SHELL := /bin/bash
PYTHON_VERSION := $(shell cat .python-version)
PYTHON_BIN := $(shell command -v python$(PYTHON_VERSION) 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORKDIR ?= runs/digits_mlp
CONFIG ?= configs/digits_mlp.py
PYTEST_ARGS ?= -n 2 --durations=20

.PHONY: train test venv clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

train: $(STAMP)
	$(PY) -m launch.train --config $(CONFIG) --workdir $(WORKDIR)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS) tests

clean:
	rm -rf $(VENV) runs
