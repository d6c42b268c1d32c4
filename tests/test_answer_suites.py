"""Every answer of the library, planted into its notebook and graded by nbgrader itself.

A wrong answer must lose exactly the points of the test cells declared for it, all in
its own exercise; a right answer must score full marks. The failing cells must tell the
student what went wrong without showing the solution. The measured catch rates are
printed at the end of the run and must match the table in docs/grading.md.
"""

from __future__ import annotations

import re

import pytest

import answer_suites
import conftest
from answer_suites import EXERCISES, student

pytestmark = pytest.mark.slow  # runs notebooks in kernels: left out of `make quick`

RIGHT = [(e, a) for e in EXERCISES for a in e.correct]
WRONG = [(e, a) for e in EXERCISES for a in e.wrong]


def ids(value):
    return value.label.replace(" ", "-") if isinstance(value, answer_suites.Exercise) else value.__name__


def test_the_library_has_enough_answers_for_every_exercise():
    for e in EXERCISES:
        assert len(e.correct) >= 3 and len(e.wrong) >= 6, e.label
        assert all(set(fails) <= set(e.tests) and fails for fails, _ in e.wrong.values()), e.label
    graded = {(name, cell) for name in {e.assignment for e in EXERCISES}
              for cell in answer_suites.test_cells(name)}
    assert graded == {(e.assignment, e.cell) for e in EXERCISES}, "an exercise of the course has no answer suite"


@pytest.mark.parametrize("assignment", sorted({e.assignment for e in EXERCISES}))
def test_the_lean_solution_scores_full_marks(suite_outcomes, assignment):
    outcome = suite_outcomes[assignment, "reference"]
    assert outcome.score is not None and outcome.lost() == {}, outcome.log[-2000:]


@pytest.mark.parametrize("exercise, answer", RIGHT, ids=ids)
def test_right_answers_score_full_marks(suite_outcomes, exercise, answer):
    outcome = suite_outcomes[exercise.assignment, student(exercise, answer)]
    assert outcome.score is not None, "nbgrader dropped the submission"
    assert outcome.lost() == {}, {cell: outcome.cells[cell].error for cell in outcome.lost()}


@pytest.mark.parametrize("exercise, answer", WRONG, ids=ids)
def test_wrong_answers_lose_exactly_their_declared_points(suite_outcomes, exercise, answer):
    outcome = suite_outcomes[exercise.assignment, student(exercise, answer)]
    assert outcome.score is not None, "nbgrader dropped the submission"
    fails, _ = exercise.wrong[answer]
    expected = {cell: outcome.cells[cell].max_score for cell in fails}
    assert outcome.lost() == expected, {cell: outcome.cells[cell].error for cell in outcome.lost()}


@pytest.mark.parametrize("exercise, answer", WRONG, ids=ids)
def test_wrong_answers_are_told_their_symptom(suite_outcomes, exercise, answer):
    outcome = suite_outcomes[exercise.assignment, student(exercise, answer)]
    fails, symptom = exercise.wrong[answer]
    for cell in fails:
        error = outcome.cells[cell].error
        assert error.startswith("CheckFailed: ") and len(error) > 40, (cell, error)
    first = outcome.cells[fails[0]].error
    assert re.search(symptom, first), (fails[0], first)


def _solution_lines(assignment: str) -> set[str]:
    """The code lines of ``assignment``'s solutions, as a student would type them."""
    lines = set()
    for cell in answer_suites.solution_cells(assignment):
        if cell.metadata.get("nbgrader", {}).get("solution"):
            body = cell.source.split("### BEGIN SOLUTION")[-1].split("### END SOLUTION")[0]
            lines |= {line.strip() for line in body.splitlines()
                      if len(line.strip()) >= 12 and not line.strip().startswith(("#", '"'))}
    return lines


ANSI = re.compile(r"\x1b\[[0-9;]*m")
CODE = ("def ", "import ", "**", ".sum(", ".var(", ".exp(", "torch.sum", "torch.exp", "exp(0.5", "randn",
        "log_prob", "reduction=")  # signs of code in a message


@pytest.mark.parametrize("assignment", sorted({e.assignment for e in EXERCISES}))
def test_feedback_never_shows_the_solution_or_the_checks_code(suite_outcomes, assignment):
    solution = _solution_lines(assignment)
    assert solution
    shown = 0
    for e in (e for e in EXERCISES if e.assignment == assignment):
        for answer in e.wrong:
            outcome = suite_outcomes[assignment, student(e, answer)]
            for cell in e.wrong[answer][0]:
                result = outcome.cells[cell]
                message = result.error
                leaked = [line for line in solution if line in message] + [code for code in CODE if code in message]
                assert not leaked, (answer.__name__, cell, leaked, message)
                text = ANSI.sub("", result.text)
                frames = re.findall(r"vae_helpers/checks/(\w+)\.py", text)
                assert not frames, (answer.__name__, cell, frames)
                shown += 1
    assert shown > 0


def test_catch_rate_table_is_in_the_grading_guide(suite_outcomes):
    table = answer_suites.catch_rate_table(suite_outcomes)
    conftest.REPORTS.append(table)
    guide = (answer_suites.ROOT / "docs" / "grading.md").read_text()
    assert table in guide, "docs/grading.md's catch-rate table is out of date; the measured one is:\n" + table


# In the full notebook, the demonstrations and training after the first exercise stop at their
# require() with the wrong answer; the second exercise's tests come after them and must still pass.
EXERCISE = {e.name: e for e in EXERCISES}
IN_FULL_NOTEBOOKS = [
    (EXERCISE["Autoencoder"], answer_suites.ae.NoSigmoid),
    (EXERCISE["reparameterize"], answer_suites.rep.std_is_variance),
    (EXERCISE["kl_divergence"], answer_suites.kl.kl_missing_half),
    (EXERCISE["VAE"], answer_suites.vae.NoNoise),
    (EXERCISE["beta_vae_loss"], answer_suites.beta.beta_on_reconstruction),
]


@pytest.fixture(scope="module")
def full_notebook_outcomes(released, tmp_path_factory):
    import grading_batch

    submissions = {}
    for exercise, answer in IN_FULL_NOTEBOOKS:
        solution = grading_batch.solution_notebook(released, exercise.assignment)
        submissions[exercise.assignment, student(exercise, answer)] = grading_batch.with_cell(
            solution, exercise.cell, answer_suites.plant(answer, exercise.name))
    return grading_batch.autograde_batch(released, tmp_path_factory.mktemp("full"), submissions)


@pytest.mark.parametrize("exercise, answer", IN_FULL_NOTEBOOKS, ids=ids)
def test_a_wrong_answer_in_the_full_notebook_costs_only_its_own_points(full_notebook_outcomes, exercise, answer):
    outcome = full_notebook_outcomes[exercise.assignment, student(exercise, answer)]
    assert outcome.score is not None, "nbgrader dropped the submission"
    fails, _ = exercise.wrong[answer]
    assert outcome.lost() == {cell: outcome.cells[cell].max_score for cell in fails}
