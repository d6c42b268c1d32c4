"""The numbers that the executed solution of notebook 03 prints back the claims its text makes."""

from __future__ import annotations

import json
import math
import re

import nbformat
import pytest

from vae_helpers.grading import course

pytestmark = pytest.mark.slow  # runs notebooks in kernels: left out of `make quick`

NAME = "03_kl_divergence"


@pytest.fixture(scope="module")
def text(solution_outputs):
    return solution_outputs(NAME)


def numbers(pattern: str, output: str) -> list[float]:
    """Every number the groups of ``pattern`` capture in ``output``, in order."""
    found = re.findall(pattern, output)
    assert found, f"{pattern!r} not found in:\n{output}"
    return [float(x) for match in found for x in (match if isinstance(match, tuple) else (match,))]


def test_the_four_clouds_cost_what_the_closed_form_says(text):
    kls = numbers(r"\|\| N\(0, 1\) \) = (-?[\d.]+) nats", text["compare-qs"])
    prior, narrow, wide, shifted = kls
    assert prior == 0.0
    assert narrow == pytest.approx(0.5 * (0.04 - 1 - math.log(0.04)), abs=1e-3)
    assert wide == pytest.approx(0.5 * (6.25 - 1 - math.log(6.25)), abs=1e-3)
    assert shifted == pytest.approx(2.5 ** 2 / 2, abs=1e-3)


def test_kl_divergence_matches_torch_distributions_and_is_never_negative(text):
    (smallest,) = numbers(r"smallest value (-?[\d.]+)", text["kl-vs-torch"])
    (difference,) = numbers(r"over 1000 encodings: ([\d.e+-]+)", text["kl-vs-torch"])
    assert smallest >= 0
    assert difference < 1e-3  # float32 with variances up to e^8


def test_the_two_forces_cost_what_the_text_says(text):
    out = text["costs"]
    sure = numbers(r"sigma=[\d.]+: (-?[\d.]+)", out)
    straying = numbers(r"mu=\d+: (-?[\d.]+)", out)
    assert sure[0] == 0.0 and sure == sorted(sure) and sure[-1] > 6  # grows without bound as sigma -> 0
    assert sure[1] == pytest.approx(1.81, abs=0.005)  # "the first, from 1 to 0.1, costs 1.81"
    assert straying == [0.0, 0.5, 2.0, 8.0]  # mu^2 / 2
    (step,) = numbers(r"from sigma = 0.01 to 0.001, ten times narrower adds ([\d.]+) nats", out)
    assert step == pytest.approx(math.log(10), abs=2e-3)


def test_monte_carlo_agrees_with_the_closed_form_within_its_standard_error(text):
    out = text["agreement"]
    (exact,) = numbers(r"closed form: ([\d.]+) nats", out)
    estimate, stderr = numbers(r"n = 100000: ([\d.]+) \+- ([\d.]+)", out)
    (z,) = numbers(r"difference = ([+-][\d.]+) standard errors", out)
    assert abs(estimate - exact) <= 4 * stderr and abs(z) <= 4
    measured, formula = numbers(r"measured ([\d.]+), formula s_f = ([\d.]+)", out)
    assert measured == pytest.approx(formula, rel=0.03)


def test_the_error_shrinks_like_one_over_root_n(text):
    out = text["convergence"]
    rows = re.findall(r"n = +(\d+): RMS error ([\d.]+) +s_f / sqrt\(n\) = ([\d.]+)", out)
    assert len(rows) == 8
    for _, rms, law in rows:
        assert 0.75 < float(rms) / float(law) < 1.3  # 200 repeats: the RMS is known to about 5-10 %
    (slope,) = numbers(r"log\(n\): (-?[\d.]+)", out)
    assert -0.55 < slope < -0.45


def test_the_prediction_is_printed_beside_the_measured_error_at_100_draws(text):
    (law,) = numbers(r"n = +100: RMS error [\d.]+ +s_f / sqrt\(n\) = ([\d.]+)", text["convergence"])
    (sd,) = numbers(r"standard deviation of the estimate at n = 100: no prediction made \(it is still None\); "
                    r"measured ([\d.]+) nats\.", text["mc-error-prediction"])
    assert 0.75 < sd / law < 1.3  # s_f / sqrt(100), about 0.19 nats, measured over 200 repeats


@pytest.mark.parametrize("filled, unfinished_test", [("kl-divergence", "test-mc-basics"),
                                                     ("kl-monte-carlo", "test-kl-value")])
def test_each_exercise_earns_its_points_without_the_other(graded, one_exercise_solved, filled, unfinished_test):
    """The blank notebook with one exercise solved scores that exercise's 5 points, and only those."""
    course_dir, _ = graded
    student = f"only-{filled}"
    course.submit(course_dir, student, NAME, one_exercise_solved(NAME, filled))
    grade = course.autograde(course_dir, NAME, student)
    assert (grade.score, grade.max_score) == (5, 10)
    autograded = nbformat.read(course_dir / "autograded" / student / NAME / f"{NAME}.ipynb", 4)
    outputs = {c.id: json.dumps(c.outputs) for c in autograded.cells if c.cell_type == "code"}
    assert "is not implemented yet" in outputs[unfinished_test]
