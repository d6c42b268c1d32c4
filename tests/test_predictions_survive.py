"""A student's predictions survive autograding: kept as written, printed beside the measurement, worth no points.

Before some key experiments a notebook asks the student to commit a number or a choice in an
ordinary code cell whose id starts with ``predict-``. It carries no nbgrader metadata, so
autograding keeps what the student wrote (nbgrader restores only the cells it owns) and awards
no points for it; a later locked cell prints it beside the measurement with
``predictions.show``. The cells are found by their id prefix in every notebook, so the tests
cover each prediction cell a notebook adds.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import answer_suites
from test_walkthrough import dependencies, required
from vae_helpers.grading import course

pytestmark = pytest.mark.slow  # autogrades notebooks in kernels: left out of `make quick`

ROOT = Path(__file__).resolve().parents[1]
NAMES = course.assignments(ROOT)
FIRST_LINE = "# Predict before you run the next cells: "


def _cells(folder: str, name: str) -> list:
    return nbformat.read(ROOT / folder / name / f"{name}.ipynb", as_version=4).cells


def prediction_cells(cells) -> list:
    """The prediction cells of a notebook, in order: code cells with an id ``predict-...`` that bind a
    ``PREDICT_...`` name to None (a locked cell that shows the verdict may share the prefix)."""
    return [c for c in cells if c.cell_type == "code" and str(c.get("id", "")).startswith("predict-")
            and re.search(r"^PREDICT_\w+ = None$", c.source, re.M)]


def variable(cell) -> str:
    """The PREDICT_... name the prediction cell binds."""
    match = re.search(r"^(PREDICT_\w+) = None$", cell.source, re.M)
    assert match, f"{cell.id} does not end with 'PREDICT_<WHAT> = None':\n{cell.source}"
    return match.group(1)


def show_cells(cells, name: str) -> list:
    """The cells that print the prediction ``name`` beside a measurement."""
    return [c for c in cells if c.cell_type == "code" and re.search(rf"predictions\.show\(\s*{name}\b", c.source)]


def planted(cell) -> tuple[str, str]:
    """(the value a student writes into the prediction cell, as source; how predictions.show prints it)."""
    choices = re.search(r"one of ((?:\"[^\"]+\"(?:, | or )?)+)", cell.source, re.IGNORECASE)
    if choices:
        first = re.findall(r"\"([^\"]+)\"", choices.group(1))[0]
        return repr(first), first
    return "3.5", "3.5"


WITH_PREDICTIONS = [name for name in NAMES if prediction_cells(_cells("solutions", name))]


def test_the_course_asks_for_at_least_five_predictions():
    assert sum(len(prediction_cells(_cells("solutions", name))) for name in NAMES) >= 5


@pytest.mark.parametrize("name", WITH_PREDICTIONS)
def test_prediction_cells_are_ordinary_cells_the_same_for_students_and_followed_by_a_verdict(name):
    solution, student = _cells("solutions", name), _cells("notebooks", name)
    assert [c.id for c in prediction_cells(student)] == [c.id for c in prediction_cells(solution)]
    for cell, released in zip(prediction_cells(solution), prediction_cells(student)):
        assert "nbgrader" not in cell.metadata and "nbgrader" not in released.metadata, cell.id
        assert released.source == cell.source, f"{cell.id} differs between solution and student notebook"
        assert cell.source.startswith(FIRST_LINE) and re.search(r"a number|one of \"", cell.source, re.I), cell.id
        shows = show_cells(solution, variable(cell))
        assert shows, f"no cell prints {variable(cell)} beside a measurement"
        later = [c.id for c in solution]
        assert all(later.index(s.id) > later.index(cell.id) for s in shows)
        assert all(s.metadata.get("nbgrader", {}).get("locked") for s in shows), "the verdict cells are locked"


@pytest.mark.parametrize("name", WITH_PREDICTIONS)
def test_the_answer_library_and_the_walkthrough_leave_prediction_cells_alone(name):
    cells = _cells("solutions", name)
    ids = {c.id for c in prediction_cells(cells)}
    assert not ids & {e.cell for e in answer_suites.EXERCISES}, "answers are planted into exercise cells only"
    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    needs = dependencies(nb)
    for cell in prediction_cells(cells):
        # the walkthrough runs test cells and the cells that require an exercise: never these
        assert required(cell.source) is None and not needs.get(cell.id), cell.id


@pytest.mark.parametrize("name", WITH_PREDICTIONS)
def test_a_students_predictions_survive_autograding(graded, name):
    course_dir, results = graded
    if name not in results:
        pytest.skip(f"{name} is not graded in this run (VAE_TEST_ASSIGNMENTS)")
    solution = {c.id: c for c in nbformat.read(course_dir / "solutions" / name / f"{name}.ipynb", as_version=4).cells}
    nb = nbformat.read(course_dir / "notebooks" / name / f"{name}.ipynb", as_version=4)
    written = {}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = re.sub(r"\s*### (BEGIN|END) SOLUTION", "", solution[cell.id].source)
        elif cell in prediction_cells([cell]):
            (value, shown), bound = planted(cell), variable(cell)
            cell.source = cell.source.replace(f"{bound} = None", f"{bound} = {value}")
            written[cell.id] = (bound, value, shown)
    assert written
    path = course_dir / f"{name}-predictions.ipynb"
    nbformat.write(nb, path)
    student = "predicting-student"
    course.submit(course_dir, student, name, path)
    grade = course.autograde(course_dir, name, student)
    assert grade.score == grade.max_score > 0, grade.problem  # the predictions cost no points

    autograded = nbformat.read(course_dir / "autograded" / student / name / f"{name}.ipynb", as_version=4)
    cells = {c.id: c for c in autograded.cells}
    printed = course.printed_text(autograded)
    for cell_id, (name_, value, shown) in written.items():
        assert f"{name_} = {value}" in cells[cell_id].source, f"autograding replaced {cell_id}"
        for show in show_cells(autograded.cells, name_):
            assert f"you predicted {shown}" in printed.get(show.id, ""), \
                f"{show.id} does not print the prediction:\n{printed.get(show.id)}"
            assert "measured" in printed[show.id]
