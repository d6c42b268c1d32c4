# vae-course: every target sets up its own environment first.
#
#   make lock       regenerate requirements.lock (exact versions) from pyproject.toml with uv
#   make course     run the whole course end to end and print the score table
#   make test       run the test suite
#   make quick      the fast tests (helpers, checks, repository rules), about a minute
#   make lab        open JupyterLab on the student notebooks (LAB_ARGS=... passes options on)
#   make formgrader open JupyterLab at the course root with nbgrader's Formgrader (its links to solutions/ and
#                   notebooks/ work there; releases go to the course-local exchange/; docs/instructors.md)
#   make release    regenerate notebooks/ from solutions/ (nbgrader generate_assignment)
#   make collect    the latest submissions from the exchange into submitted/ (nbgrader collect --update; ASSIGNMENT=...)
#   make autograde  grade the class's submissions in submitted/ (ASSIGNMENT=..., STUDENT=..., WORKERS=N,
#                   SANDBOX=off, SCHEDULER=tcp://host:8786, AUTOGRADE_ARGS="--memory 2"; see docs/grading.md)
#   make export     grades.csv (one row per student and assignment) and grades-canvas.csv / grades-moodle.csv
#   make bench      time training (vs the pytorch/examples recipe), every notebook, the checks and grading a class
#
# Outside conda, the environment is .venv, (re)built with pip at the versions of
# requirements.lock whenever it is missing or older than pyproject.toml or the lock.
# On Linux without a GPU, `make setup TORCH=cpu` (into a new .venv: rm -rf .venv first) takes torch's
# CPU build from https://download.pytorch.org/whl/cpu: the lock's version, without the CUDA build's
# 3 GB of NVIDIA libraries (docs/install.md). TORCH=cu126 etc. pick another of PyTorch's indexes.
# Inside an activated conda environment (other than base), that environment is used
# instead, with conda's versions: environment.yml installs the dependencies, and make adds only
# the course itself (pip install --no-deps -e .), so pip replaces none of conda's packages.

SHELL := /bin/bash
BOOTSTRAP_PYTHON ?= python3
TORCH ?=
TORCH_INDEX := $(if $(TORCH),--extra-index-url https://download.pytorch.org/whl/$(TORCH))

ifneq ($(filter-out base,$(CONDA_DEFAULT_ENV)),)
  ENV_DIR := $(CONDA_PREFIX)
  STAMP := build/.conda-$(CONDA_DEFAULT_ENV).stamp
else
  ENV_DIR := .venv
  STAMP := .venv/.installed
endif
PYTHON := $(ENV_DIR)/bin/python
export PATH := $(abspath $(ENV_DIR))/bin:$(PATH)

.PHONY: setup lock course test quick lab release collect autograde export bench clean formgrader

setup: $(STAMP)

lock:  # not `setup`: a pyproject.toml the old lock no longer satisfies must still be lockable
	@test -x $(PYTHON) || $(BOOTSTRAP_PYTHON) -m venv .venv
	$(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(PYTHON) scripts/lock.py

$(STAMP): pyproject.toml requirements.lock
	@$(BOOTSTRAP_PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "vae-course needs Python 3.10 or newer, found " + sys.version.split()[0]' \
	  || { echo "Set BOOTSTRAP_PYTHON to a Python 3.10+ interpreter, e.g. make $(MAKECMDGOALS) BOOTSTRAP_PYTHON=python3.11"; exit 1; }
ifeq ($(ENV_DIR),.venv)
	@test -x .venv/bin/python || { echo "Creating .venv ..."; $(BOOTSTRAP_PYTHON) -m venv .venv; }
endif
ifeq ($(ENV_DIR),.venv)
	@echo "Installing the course into .venv (pip install -e '.[dev]', with the lab and grading extras, at the versions of requirements.lock; the first time takes a few minutes) ..."
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check -c requirements.lock $(TORCH_INDEX) -e ".[dev]"
else
	@echo "Installing the course into $(ENV_DIR) (pip install --no-deps -e .: the dependencies are conda's, from environment.yml) ..."
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-deps -e .
endif
	@# the Formgrader's Autograde button then grades like make autograde (vae_helpers/grading/formgrader.py);
	@# mkdir and cp: macOS (BSD) install has no -D option
	@mkdir -p $(ENV_DIR)/etc/jupyter/jupyter_server_config.d
	@cp jupyter-config/vae-course.json $(ENV_DIR)/etc/jupyter/jupyter_server_config.d/vae-course.json
	@mkdir -p $(dir $@) && touch $@

course: setup
	$(PYTHON) -m vae_helpers.grading.course check

test: setup
	$(PYTHON) -m pytest

quick: setup
	$(PYTHON) -m pytest -m "not slow"

lab: setup
	$(PYTHON) -m jupyter lab notebooks/ $(LAB_ARGS)

formgrader: setup
	@mkdir -p exchange  # the course-local exchange (nbgrader_config.py); the Formgrader offers Release only once it exists
	@echo "The Formgrader: JupyterLab's menu Nbgrader > Formgrader, or the URL printed below with &formgrader=true added."
	$(PYTHON) -m jupyter lab --ServerApp.root_dir=. $(LAB_ARGS)

release: setup
	$(PYTHON) -m vae_helpers.grading.course release $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

collect: setup
	$(PYTHON) -m vae_helpers.grading.course collect $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

autograde: setup
	$(PYTHON) -m vae_helpers.grading.course autograde $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(STUDENT),--student $(STUDENT)) \
	  $(if $(WORKERS),--workers $(WORKERS)) $(if $(SANDBOX),--sandbox $(SANDBOX)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) \
	  $(AUTOGRADE_ARGS)

export: setup
	$(PYTHON) -m vae_helpers.grading.nbgrader_main export $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

bench: setup
	$(PYTHON) benchmarks/bench_training.py
	$(PYTHON) benchmarks/bench_notebooks.py
	$(PYTHON) benchmarks/bench_checks.py
	$(PYTHON) benchmarks/bench_grading.py

clean:
	rm -rf build .pytest_cache
