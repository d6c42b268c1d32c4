"""require() lets a cell run once its exercises pass their visible tests, and stops it with one line before."""

from __future__ import annotations

import pytest
import torch

import test_checks_kl_divergence as kl
import test_checks_reparameterization as rep
from vae_helpers.checks import ExerciseNotReady, require
from vae_helpers.checks.ready import VISIBLE_CHECKS


def test_a_right_answer_lets_the_cell_run_quietly_and_leaves_the_random_state_alone(capsys):
    torch.manual_seed(0)
    state = torch.get_rng_state()
    require(reparameterize=rep.reparameterize_reference, kl_divergence=kl.CORRECT_CLOSED_FORMS[0])
    assert torch.equal(torch.get_rng_state(), state)
    assert capsys.readouterr().out == ""


def test_a_wrong_answer_stops_the_cell_with_one_line_naming_it():
    with pytest.raises(ExerciseNotReady) as stopped:
        require(reparameterize=rep.reparameterize_reference, kl_divergence=kl.kl_missing_half)
    message = str(stopped.value)
    assert "kl_divergence" in message and "reparameterize" not in message and "\n" not in message
    assert stopped.value._render_traceback_() == [f"\N{WARNING SIGN} {message}"]


def test_two_wrong_answers_are_both_named():
    with pytest.raises(ExerciseNotReady, match="reparameterize and kl_divergence, which do not pass"):
        require(reparameterize=rep.no_noise, kl_divergence=kl.kl_missing_half)


def test_an_unknown_exercise_is_refused():
    with pytest.raises(ValueError, match="knows the exercises"):
        require(reparametrise=rep.reparameterize_reference)


def test_require_runs_exactly_the_checks_of_each_exercises_visible_test_cells():
    import answer_suites

    assert set(VISIBLE_CHECKS) == {e.name for e in answer_suites.EXERCISES}
    for e in answer_suites.EXERCISES:
        visible = {name for name, cell in answer_suites.checks_of(e).items() if cell in e.visible}
        assert {check.__name__ for check in VISIBLE_CHECKS[e.name]} == visible, e.label
