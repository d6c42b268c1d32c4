"""Every feedback message is consistent with the visible check's outcome.

A student reads the visible test cell's message and the hidden ones below it in the same
feedback page. A hidden message may not assume that the visible check passed ("although the
(5, 3) batch came out right") when, for the same answer, the visible check reported that batch
as wrong. Each answer of the library's wrong answers is given to the checks its exercise's test
cells call (the same calls nbgrader makes, in-process here), and every hidden message written
under a failed visible check is searched for words that claim an earlier case came out right.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings

import pytest

import answer_suites
from vae_helpers import checks
from vae_helpers.checks import CheckFailed

# Words by which a message says that something it did not test itself came out right.
CLAIMS_SUCCESS = re.compile(r"\balthough\b|came out (right|fine|correct)|\b(was|were) right\b|\bpassed\b|"
                            r"\bvisible (check|test)\b|otherwise (right|correct)", re.IGNORECASE)


def verdict(check_name: str, answer) -> str | None:
    """The failure message of ``check_name`` on ``answer``, or None when it passes (what it prints is dropped)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            getattr(checks, check_name)(answer)
        except CheckFailed as failure:
            return str(failure)
    return None


def wrong_answers():
    return [(e, a) for e in answer_suites.EXERCISES for a in e.wrong]


def test_the_detector_catches_the_message_that_contradicted_its_visible_check():
    """The 03 message before this test existed (a KL without its 1/2 got it under a failed visible check)."""
    old = ("kl_divergence gives wrong values for mu and logvar of shape (1, 4), although the (5, 3) batch "
           "came out right: [2.34] instead of [1.17].")
    assert CLAIMS_SUCCESS.search(old)
    assert not CLAIMS_SUCCESS.search("For mu and logvar of shape (1, 4), kl_divergence(mu, logvar) is "
                                     "exactly twice the KL.")


@pytest.mark.parametrize("exercise, answer", wrong_answers(),
                         ids=lambda v: getattr(v, "__name__", getattr(v, "label", str(v))))
def test_no_hidden_message_assumes_a_failed_visible_check_passed(exercise, answer):
    cells = answer_suites.checks_of(exercise)
    visible = {name: verdict(name, answer) for name, cell in cells.items() if cell in exercise.visible}
    if not any(visible.values()):
        return  # the visible check passed: a hidden message may build on it
    for name, cell in cells.items():
        if cell in exercise.visible:
            continue
        message = verdict(name, answer)
        if message is not None:
            claim = CLAIMS_SUCCESS.search(message)
            assert claim is None, (f"{name} says {claim.group(0)!r} for {answer.__name__}, whose visible check "
                                   f"failed with: {next(m for m in visible.values() if m)}\nhidden: {message}")


def test_the_kl_without_its_half_is_told_the_same_thing_by_both_checks():
    """The case of issue 27: visible and hidden checks both call it twice the KL."""
    import test_checks_kl_divergence as kl

    answer = kl.kl_missing_half
    visible, hidden = (verdict(name, answer) for name in ("check_kl_divergence_value", "check_kl_divergence_properties"))
    assert "twice the KL" in visible and "twice the KL" in hidden, (visible, hidden)
