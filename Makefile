# vae-course: every target sets up its own environment first.
#
#   make course     run the whole course end to end and print the score table
#   make test       run the test suite
#   make lab        open JupyterLab on the student notebooks (LAB_ARGS=... passes options on)
#   make release    regenerate notebooks/ from solutions/ (nbgrader generate_assignment)
#   make autograde  grade the class's submissions in submitted/ (ASSIGNMENT=..., STUDENT=...)
#   make bench      time training (vs the pytorch/examples recipe), every notebook and the checks
#
# Outside conda, the environment is .venv, (re)built with pip whenever it is
# missing or older than pyproject.toml. Inside an activated conda environment
# (other than base), that environment is used instead.

SHELL := /bin/bash
BOOTSTRAP_PYTHON ?= python3

ifneq ($(filter-out base,$(CONDA_DEFAULT_ENV)),)
  ENV_DIR := $(CONDA_PREFIX)
  STAMP := build/.conda-$(CONDA_DEFAULT_ENV).stamp
else
  ENV_DIR := .venv
  STAMP := .venv/.installed
endif
PYTHON := $(ENV_DIR)/bin/python
export PATH := $(abspath $(ENV_DIR))/bin:$(PATH)

.PHONY: setup course test lab release autograde bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(BOOTSTRAP_PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "vae-course needs Python 3.10 or newer, found " + sys.version.split()[0]' \
	  || { echo "Set BOOTSTRAP_PYTHON to a Python 3.10+ interpreter, e.g. make $(MAKECMDGOALS) BOOTSTRAP_PYTHON=python3.11"; exit 1; }
ifeq ($(ENV_DIR),.venv)
	@test -x .venv/bin/python || { echo "Creating .venv ..."; $(BOOTSTRAP_PYTHON) -m venv .venv; }
endif
	@echo "Installing the course into $(ENV_DIR) (pip install -e '.[dev]'; the first time takes a few minutes) ..."
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@mkdir -p $(dir $@) && touch $@

course: setup
	$(PYTHON) -m vae_helpers.course check

test: setup
	$(PYTHON) -m pytest

lab: setup
	$(PYTHON) -m jupyter lab notebooks/ $(LAB_ARGS)

release: setup
	$(PYTHON) -m vae_helpers.course release $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

autograde: setup
	$(PYTHON) -m vae_helpers.course autograde $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(STUDENT),--student $(STUDENT))

bench: setup
	$(PYTHON) benchmarks/bench_training.py
	$(PYTHON) benchmarks/bench_notebooks.py
	$(PYTHON) benchmarks/bench_checks.py

clean:
	rm -rf build .pytest_cache
