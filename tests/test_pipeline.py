"""The grading pipeline, end to end with nbgrader itself.

One session-scoped run releases every assignment in a scratch course directory
and autogrades three submissions of each: the solution notebook, the blank
student notebook, and (for 01) a partly solved one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from vae_helpers.grading import course

pytestmark = pytest.mark.slow  # runs notebooks in kernels: left out of `make quick`

ROOT = Path(__file__).resolve().parents[1]

NAMES = course.assignments(ROOT)
PARTIAL = "partial"


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_the_course_has_the_designed_assignments():
    assert NAMES[0] == "01_autoencoder"
    assert NAMES == sorted(NAMES)
    for name in NAMES:
        assert (ROOT / "notebooks" / name / f"{name}.ipynb").exists(), f"{name} has no student notebook"


@pytest.mark.parametrize("name", NAMES)
def test_solutions_earn_full_marks_and_blanks_zero(graded, name):
    _, results = graded
    result = results[name]
    assert result.solution.score == result.solution.max_score > 0, result.problems
    assert result.blank.score == 0, result.problems
    assert result.problems == []


@pytest.mark.parametrize("name", NAMES)
def test_committed_student_notebooks_are_what_nbgrader_generates(graded, name):
    course_dir, _ = graded
    generated = (course_dir / "notebooks" / name / f"{name}.ipynb").read_text()
    committed = (ROOT / "notebooks" / name / f"{name}.ipynb").read_text()
    assert committed == generated, f"notebooks/{name} is stale: run `make release` and commit the result"


def _region_lines(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside and len(line.strip()) > 12:
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("name", NAMES)
def test_student_notebooks_reveal_no_solutions_or_hidden_tests(name):
    student = (ROOT / "notebooks" / name / f"{name}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in student and "BEGIN HIDDEN TESTS" not in student
    secret = []
    for cell in _cells(ROOT / "solutions" / name / f"{name}.ipynb"):
        secret += _region_lines(cell.source, "### BEGIN SOLUTION", "### END SOLUTION")
        secret += _region_lines(cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    assert secret, "the solution notebook should contain solution and hidden-test regions"
    leaked = [line for line in secret if line in student]
    assert leaked == []


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_notebooks_are_committed_without_outputs(folder):
    for path in sorted((ROOT / folder).glob("*/*.ipynb")):
        for cell in _cells(path):
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs in cell {cell.get('id')}"


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_is_graded_with_points(name):
    cells = _cells(ROOT / "solutions" / name / f"{name}.ipynb")
    ids = [_nbgrader(c).get("grade_id") for c in cells if _nbgrader(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    tests = [c for c in cells if _nbgrader(c).get("grade")]
    assert tests and all(_nbgrader(c)["points"] > 0 and _nbgrader(c)["locked"] for c in tests)
    solution_positions = [i for i, c in enumerate(cells) if _nbgrader(c).get("solution")]
    for i in solution_positions:
        assert _nbgrader(cells[i + 1]).get("grade"), f"solution cell {cells[i].id} is not followed by a test cell"
    for cell in tests:
        assert "### BEGIN HIDDEN TESTS" in cell.source or "check_" in cell.source
    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_read_like_a_lecture(name):
    cells = _cells(ROOT / "solutions" / name / f"{name}.ipynb")
    assert "Learning goals" in cells[0].source
    assert "Big ideas" in cells[-1].source
    assert any("$$" in c.source for c in cells if c.cell_type == "markdown"), "math in LaTeX next to the code"


def test_an_error_in_one_exercise_costs_only_its_own_points(graded, one_exercise_solved):
    course_dir, _ = graded
    name = "01_autoencoder"
    course.submit(course_dir, PARTIAL, name, one_exercise_solved(name, "reconstruction-loss"))
    grade = course.autograde(course_dir, name, PARTIAL)
    assert grade.score == 4  # the loss's two test cells; the autoencoder's five points are lost
    autograded = _cells(course_dir / "autograded" / PARTIAL / name / f"{name}.ipynb")
    outputs = {c.id: c.outputs for c in autograded if c.cell_type == "code"}
    failure = json.dumps(outputs["test-autoencoder-shapes"])
    assert "CheckFailed" in failure and "Autoencoder(latent_dim=8) is not implemented yet" in failure


def test_course_cli_rejects_unknown_assignments_and_folders(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "vae_helpers.grading.course", "check", "--assignment", "99_nope"],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown assignment" in bad.stderr and "01_autoencoder" in bad.stderr
    elsewhere = subprocess.run([sys.executable, "-m", "vae_helpers.grading.course", "release", "--root", str(tmp_path)],
                               capture_output=True, text=True)
    assert elsewhere.returncode == 2 and "no solutions/ folder" in elsewhere.stderr


def test_autograde_target_grades_a_class_and_reports_what_nbgrader_drops(graded, tmp_path):
    course_dir, _ = graded
    name = "01_autoencoder"
    root = course.make_scratch_course(ROOT, tmp_path / "class")
    before = subprocess.run([sys.executable, "-m", "vae_helpers.grading.course", "autograde", "--root", str(root)],
                            capture_output=True, text=True)
    assert before.returncode == 1 and "No submissions" in before.stdout
    course.submit(root, "alice", name, course_dir / "notebooks" / name / f"{name}.ipynb")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ this is not a notebook")
    course.submit(root, "bob", name, broken)
    unreleased = subprocess.run([sys.executable, "-m", "vae_helpers.grading.course", "autograde", "--root", str(root)],
                                capture_output=True, text=True)
    assert unreleased.returncode == 1 and "make release" in unreleased.stdout
    course.release(root, [name])
    result = subprocess.run([sys.executable, "-m", "vae_helpers.grading.course", "autograde", "--root", str(root)],
                            capture_output=True, text=True)
    assert "alice/01_autoencoder: 0 / 9" in result.stdout
    assert "bob/01_autoencoder: nbgrader dropped this submission" in result.stdout
    assert "Graded 1 of 2 submission(s)" in result.stdout
    assert result.returncode == 1


def test_grading_runs_notebooks_on_the_embedded_data_unless_told_otherwise(monkeypatch, tmp_path):
    probe = tmp_path / "nbgrader.py"  # stands in for nbgrader: prints the data source it was given
    probe.write_text("import os; print(os.environ.get('VAE_DATA_SOURCE'))")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.delenv("VAE_DATA_SOURCE")
    assert course.nbgrader(tmp_path).stdout.strip() == "embedded"
    monkeypatch.setenv("VAE_DATA_SOURCE", "torchvision")
    assert course.nbgrader(tmp_path).stdout.strip() == "torchvision"


def test_execute_overrides_a_variable_where_it_is_set_and_runs_on_the_chosen_source(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os\nSEEDS = [\n    0,\n]  # the default\nfirst = SEEDS[-1]", id="setup"),
                nbformat.v4.new_code_cell("print(SEEDS, first, os.environ['VAE_DATA_SOURCE'])", id="show")]
    path = tmp_path / "toy.ipynb"
    nbformat.write(nb, path)
    executed, seconds = course.execute(path, "full", parameters={"SEEDS": "[0, 1, 2]"})
    assert course.printed_text(executed)["show"] == "[0, 1, 2] 2 torchvision\n", "used later in its own cell too"
    assert seconds > 0
    executed, _ = course.execute(path, "subset")
    assert course.printed_text(executed)["show"] == "[0] 0 embedded\n"
    assert "# the default" in nbformat.read(path, as_version=4).cells[0].source, "the file is untouched"
    with pytest.raises(ValueError, match="no code cell assigns STEPS"):
        course.with_parameters(nb, {"STEPS": "10"})
    with pytest.raises(SyntaxError):
        course.with_parameters(nb, {"SEEDS": "[0, 1"})
    with pytest.raises(ValueError, match="unknown data source"):
        course.execute(path, "mnist")
