"""Shared test setup: the repository root, offline data, a headless plotting backend."""

import os
from pathlib import Path

import matplotlib
import pytest

# The suite runs offline and must be deterministic: notebooks executed by the
# grading tests (in kernels that inherit this environment) use the embedded data.
os.environ["VAE_DATA_SOURCE"] = "embedded"
os.environ["MPLBACKEND"] = "Agg"
matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT
