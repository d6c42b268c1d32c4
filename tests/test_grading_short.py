"""Grading pays for grading: the demonstration cells run shorter while autograding, the scores do not change.

The quick tests hold the budget table (vae_helpers/grading/preprocessors.py) to the solution
notebooks: every entry names a locked, ungraded cell and a value it really lowers. The slow test
grades one student's whole submission (the five solution notebooks) and one wrong answer per
notebook the way `make autograde WORKERS=2` does, with the demonstrations shortened, and compares
every test cell's points with the full-length grading of the same notebooks; the feedback must say
what ran shorter. How long that takes is a figure of `make bench` (benchmarks/bench_grading.py).
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shutil

import nbformat
import pytest

import answer_suites
import grading_batch
from vae_helpers.grading import course, preprocessors, sandbox
from vae_helpers.grading.preprocessors import SHORTER, ShortenDemos, shorten

STUDENT = "whole-submission"


def solution(root, name: str) -> nbformat.NotebookNode:
    return nbformat.read(root / "solutions" / name / f"{name}.ipynb", as_version=4)


def test_shorten_rewrites_assignments_tuple_assignments_and_keywords():
    source = ("STEPS = 800  # optimizer steps\n"
              "A, N, B = [1, 2], 1000, 3\n"
              "fit(model,\n    data, steps=STEPS, desc='x')\n"
              "fit(model, data, steps=1500)\n")
    shortened, changes = shorten(source, {"STEPS": 50, "N": 100, "steps": 10})
    assert "STEPS = 50" in shortened and "A, N, B = [1, 2], 100, 3" in shortened
    assert "fit(model, data, steps=10)" in shortened and "steps=10, desc='x'" in shortened
    assert changes == ["STEPS 800 -> 50", "N 1000 -> 100", "steps STEPS -> 10", "steps 1500 -> 10"]
    assert shortened.count("# shorter while grading") == 4
    ast.parse(shortened)


def test_shorten_refuses_a_name_it_cannot_find():
    with pytest.raises(ValueError, match="'SEEDS'"):
        shorten("STEPS = 800\n", {"SEEDS": [0]})


@pytest.mark.parametrize("name", sorted(SHORTER))
def test_every_budget_names_a_locked_demonstration_cell_and_lowers_it(root, name):
    cells = {c.id: c for c in solution(root, name).cells}
    for cell_id, budgets in SHORTER[name].items():
        cell = cells[cell_id]
        meta = cell.metadata["nbgrader"]
        assert cell.cell_type == "code" and meta["locked"] and not meta["grade"] and not meta["solution"], cell_id
        tree = ast.parse(cell.source)
        for key, value in budgets.items():
            released = [ast.literal_eval(node) for node in preprocessors._value_nodes(tree, key)]
            assert released, f"{name}/{cell_id}: no {key} to shorten"
            for old in released:
                smaller = len(value) < len(old) if isinstance(value, list) else value < old
                assert smaller, f"{name}/{cell_id}: {key} {old!r} -> {value!r} is not shorter"


def test_the_preprocessor_opens_the_notebook_with_a_note_and_can_be_turned_off(root):
    nb, _ = ShortenDemos()(solution(root, "04_vae"), {"nbgrader": {"assignment": "04_vae"}})
    note = nb.cells[0]
    assert note.cell_type == "markdown" and note.id == preprocessors.NOTE_ID
    for cell_id in SHORTER["04_vae"]:
        assert f"`{cell_id}`" in note.source
    assert "STEPS 800 → 50" in note.source
    train = next(c for c in nb.cells if c.id == "train")
    line = next(line for line in train.source.splitlines() if line.startswith("STEPS ="))
    assert line.startswith("STEPS = 50  #") and line.endswith("# shorter while grading (see the note at the top)")

    untouched = solution(root, "04_vae")
    nb, _ = ShortenDemos(enabled=False)(solution(root, "04_vae"), {"nbgrader": {"assignment": "04_vae"}})
    assert [c.source for c in nb.cells] == [c.source for c in untouched.cells]
    nb, _ = ShortenDemos()(solution(root, "02_reparameterization"), {"nbgrader": {"assignment": "02_reparameterization"}})
    assert nb.cells[0].id != preprocessors.NOTE_ID  # nothing shortened, nothing said


@pytest.mark.slow
def test_a_whole_submission_graded_short_scores_as_graded_in_full(graded, released, tmp_path):
    """The five solutions: the same points in every test cell, no failing demonstration, a note in the
    feedback; one wrong answer per notebook loses exactly its declared points."""
    full_course, _ = graded
    course_dir = tmp_path / "class"
    shutil.copytree(released, course_dir)
    names = course.assignments(course_dir)
    wrong = {}
    for name in names:
        nb = solution(course_dir, name)
        course.submit(course_dir, STUDENT, name, course_dir / "solutions" / name / f"{name}.ipynb")
        # the last exercise: the demonstrations that need only the earlier ones run (shortened) with it
        exercise = [e for e in answer_suites.EXERCISES if e.assignment == name][-1]
        answer = next(iter(exercise.wrong))
        wrong[name] = exercise.wrong[answer][0]
        planted = grading_batch.with_cell(nb, exercise.cell, answer_suites.plant(answer, exercise.name))
        target = course_dir / "submitted" / "wrong" / name
        target.mkdir(parents=True)
        nbformat.write(planted, target / f"{name}.ipynb")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        ok = course.autograde_class(course_dir, workers=2, sandbox=sandbox.unavailable() is None)
    assert ok, printed.getvalue()
    assert "Demonstration cells: shortened while grading" in printed.getvalue()

    for name in names:
        short = grading_batch.read_outcome(course_dir, name, STUDENT)
        full = grading_batch.read_outcome(full_course, name, course.SOLUTION)
        assert {c: r.score for c, r in short.cells.items()} == {c: r.score for c, r in full.cells.items()}, name
        assert short.score == short_max(short), name
        assert course.error_cells(short.notebook) == [], f"{name}: a shortened demonstration failed"
        mistaken = grading_batch.read_outcome(course_dir, name, "wrong")
        assert set(mistaken.lost()) == set(wrong[name]), name

    for name in names:
        run = course.nbgrader(course_dir, "generate_feedback", name, "--student", STUDENT, "--force")
        assert run.returncode == 0, run.stdout + run.stderr
        html = (course_dir / "feedback" / STUDENT / name / f"{name}.html").read_text()
        said = "Graded with shorter demonstrations" in html
        assert said == (name in SHORTER), name
        for cell_id, budgets in SHORTER.get(name, {}).items():
            for key, value in budgets.items():
                assert re.search(rf"{re.escape(key)} [^|<]+ → {re.escape(repr(value))}", html), (name, cell_id, key)


def short_max(outcome) -> float:
    return sum(r.max_score for r in outcome.cells.values())


def test_docs_grading_shows_the_budgets_the_course_uses(root):
    """docs/grading.md's table of shortened cells: every cell of SHORTER, with its grading values."""
    text = (root / "docs" / "grading.md").read_text()
    table = dict(((f"{n}", c), v) for n, c, v in re.findall(r"^\| (\d\d) \| `([\w-]+)` \| .* \| (.+) \|$", text, re.M))
    expected = {(name[:2], cell): ", ".join(f"`{v!r}`" if isinstance(v, list) else f"{v!r}" for v in budgets.values())
                for name, cells in SHORTER.items() for cell, budgets in cells.items()}
    assert table == expected
