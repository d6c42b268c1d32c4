"""The line that sets a student's prediction beside the measurement."""

from vae_helpers.predictions import verdict


def test_blank_prediction_says_so():
    assert verdict(None, 4.0, "ratio") == "ratio: no prediction made (it is still None); measured 4."


def test_numbers_are_compared_by_factor():
    assert "off by a factor of 2" in verdict(2.0, 4.0, "ratio")
    assert "off by a factor of 2" in verdict(8, 4.0, "ratio")
    assert "within 10 %" in verdict(4.1, 4.0, "ratio")


def test_choices_are_compared_as_words():
    assert verdict("Beta", "beta", "which differs more").endswith("(right).")
    assert verdict("seeds", "beta", "which differs more").endswith("(not what happened).")


def test_anything_else_is_printed_as_it_is():
    line = verdict([1, 2], 3, "units", unit="dims")
    assert "you predicted [1, 2] dims, measured 3 dims." in line
