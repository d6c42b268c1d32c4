"""Shared test setup: the repository root, offline data, a headless plotting backend,
one autograded run of the whole course that the notebook tests share, and one run of
each solution notebook on the full MNIST when its files are on disk.

Set ``VAE_TEST_ASSIGNMENTS=02_reparameterization,03_kl_divergence`` to grade only
those notebooks while working on them (tests of other notebooks then fail).

The full-MNIST runs read the four IDX files from ``$VAE_DATA_DIR/MNIST/raw`` (default
``~/.cache/vae-course``); without them, the tests that need them are skipped and say
how to get them. ``.ci/run`` points ``VAE_DATA_DIR`` at ``../shared/data`` when it exists.
"""

import os
import re
from pathlib import Path

import matplotlib
import pytest

from vae_helpers import data
from vae_helpers.grading import course

# The suite runs offline and must be deterministic: notebooks executed by the
# grading tests (in kernels that inherit this environment) use the embedded data.
os.environ["VAE_DATA_SOURCE"] = "embedded"
os.environ["MPLBACKEND"] = "Agg"
matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("subset", "full")  # the embedded 4,000 + 1,000 digits, and the full MNIST
FULL_MNIST_MISSING = (
    "full MNIST not found under $VAE_DATA_DIR/MNIST/raw: set VAE_DATA_DIR to a folder holding the four "
    "IDX files (on this project's machines: VAE_DATA_DIR=$(cd ../shared/data && pwd)), or download them "
    "once with: python -c \"from vae_helpers.data import load_mnist; load_mnist('torchvision')\"")


def full_mnist_dir() -> Path | None:
    """The data directory holding the full MNIST files, or None."""
    root = data.default_data_dir()
    return root if data._torchvision_files_present(root) else None


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """Release every assignment in a scratch course and autograde the solutions and blanks.

    Returns (course directory, {name: NotebookResult}); nothing in the repo changes.
    """
    build = tmp_path_factory.mktemp("build")
    only = os.environ.get("VAE_TEST_ASSIGNMENTS")
    names = only.split(",") if only else None
    results = {r.name: r for r in course.run_course(ROOT, build, names=names, publish=False)}
    return build / "course", results


@pytest.fixture(scope="session")
def solution_outputs(graded):
    """``solution_outputs(name)``: the text each code cell of the autograded solution printed, by cell id."""
    import nbformat

    course_dir, _ = graded

    def outputs(name: str) -> dict[str, str]:
        executed = course_dir / "autograded" / course.SOLUTION / name / f"{name}.ipynb"
        return course.printed_text(nbformat.read(executed, as_version=4))

    return outputs


@pytest.fixture(scope="session")
def full_outputs(tmp_path_factory):
    """``full_outputs(name)``: cell outputs of solution notebook ``name`` executed on the full MNIST.

    Each notebook runs once per session, in a fresh kernel, without a time limit (the
    machine may be busy; the benchmarks time it). Skipped when the files are absent.
    """
    root = full_mnist_dir()
    if root is None:
        pytest.skip(FULL_MNIST_MISSING)
    cache: dict[str, dict[str, str]] = {}

    def outputs(name: str) -> dict[str, str]:
        if name not in cache:
            nb, _ = course.execute(ROOT / "solutions" / name / f"{name}.ipynb", "full",
                                   workdir=tmp_path_factory.mktemp(f"full-{name}"),
                                   env={"VAE_DATA_DIR": str(root)})
            cache[name] = course.printed_text(nb)
        return cache[name]

    return outputs


@pytest.fixture(scope="session")
def executed(request):
    """``executed(name, source)``: cell outputs of solution notebook ``name`` run on ``source``
    (``"subset"``: the autograded run on the embedded digits; ``"full"``: the full MNIST)."""

    def outputs(name: str, source: str) -> dict[str, str]:
        fixture = {"subset": "solution_outputs", "full": "full_outputs"}[source]
        return request.getfixturevalue(fixture)(name)

    return outputs


@pytest.fixture(scope="session")
def one_exercise_solved(graded):
    """``one_exercise_solved(name, grade_id)``: the path of assignment ``name``'s blank student
    notebook with only the solution cell ``grade_id`` filled in (from the solution notebook)."""
    import nbformat

    course_dir, _ = graded

    def notebook(name: str, grade_id: str) -> Path:
        solution = {c.id: c for c in nbformat.read(course_dir / "solutions" / name / f"{name}.ipynb", as_version=4).cells}
        nb = nbformat.read(course_dir / "notebooks" / name / f"{name}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.id == grade_id:
                cell.source = re.sub(r"\s*### (BEGIN|END) SOLUTION", "", solution[grade_id].source)
        path = course_dir / f"{name}-only-{grade_id}.ipynb"
        nbformat.write(nb, path)
        return path

    return notebook


@pytest.fixture(scope="session")
def released(tmp_path_factory) -> Path:
    """A scratch course with every assignment released into its gradebook (copy it before grading)."""
    import grading_batch

    return grading_batch.released_course(ROOT, tmp_path_factory.mktemp("released") / "course")


@pytest.fixture(scope="session")
def suite_outcomes(released, tmp_path_factory):
    """Every answer of the library planted into its lean solution notebook and autograded by nbgrader.

    Returns {(assignment, student): Outcome}; student ``reference`` is the unchanged lean solution.
    """
    import answer_suites
    import grading_batch

    lean = {name: grading_batch.lean_notebook(released, name) for name in course.assignments(ROOT)}
    submissions = {(name, "reference"): nb for name, nb in lean.items()}
    for exercise, answer, _ in answer_suites.submissions():
        source = answer_suites.plant(answer, exercise.name)
        submissions[exercise.assignment, answer_suites.student(exercise, answer)] = \
            grading_batch.with_cell(lean[exercise.assignment], exercise.cell, source)
    return grading_batch.autograde_batch(released, tmp_path_factory.mktemp("suites"), submissions)


REPORTS: list[str] = []  # text the tests want shown at the end of the run (the catch-rate table)


def pytest_terminal_summary(terminalreporter):
    for report in REPORTS:
        terminalreporter.write_sep("=", "answer suites: catch rates")
        terminalreporter.write_line(report)
