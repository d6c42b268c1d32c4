"""The numbers the executed 02_reparameterization solution prints back the claims its text makes."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow  # runs notebooks in kernels: left out of `make quick`

NAME = "02_reparameterization"


@pytest.fixture(scope="module")
def text(solution_outputs):
    return solution_outputs(NAME)


def _floats(pattern: str, text: str) -> list[float]:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return [float(g) for g in match.groups()]


def test_the_problem_is_shown_as_torch_actually_behaves(text):
    assert "requires_grad = False, grad_fn = None" in text["sample-no-grad"]
    assert "backward() fails: element 0 of tensors does not require grad" in text["sample-no-grad"]
    assert "grad_fn = NormalBackward" in text["torch-normal"]
    assert "mu.grad = 0.0, logvar.grad = 0.0" in text["torch-normal"]


def test_samples_have_the_asked_mean_and_spread(text):
    means = [float(v) for v in re.search(r"sample means: \[(.*?)\]", text["samples"]).group(1).split(",")]
    stds = [float(v) for v in re.search(r"sample stds:  \[(.*?)\]", text["samples"]).group(1).split(",")]
    assert means == pytest.approx([-3.0, 0.0, 2.5], abs=0.03)
    assert stds == pytest.approx([0.368, 1.0, 1.649], rel=0.02)


def test_averaged_reparameterized_gradients_are_exact(text):
    dmu, dlogvar = _floats(r"df/dmu = ([\d.]+) \(exact 2\), df/dlogvar = ([\d.]+) \(exact 1\)", text["grads"])
    assert dmu == pytest.approx(2.0, abs=0.03) and dlogvar == pytest.approx(1.0, abs=0.03)


def test_both_estimators_are_unbiased_and_the_pathwise_one_far_less_noisy(text):
    out = text["compare"]
    for name in ("pathwise", "score function"):
        (z,) = _floats(rf"{name}: .*standard error = ([+-][\d.]+)", out)
        assert abs(z) < 4, f"{name} mean is {z} standard errors from the exact gradient"
    (ratio,) = _floats(r"score function / pathwise: ([\d.]+)", out)
    assert 18 < ratio < 26  # exact 21.75
    (negative,) = _floats(r"below 0 although the gradient is \+4: (\d+)%", out)
    assert 40 <= negative <= 60  # "about half"


def test_spread_table_and_sample_cost(text):
    (samples,) = _floats(r"needs about (\d+) samples to be as precise as ONE pathwise sample", text["spread"])
    assert 18 <= samples <= 26
    rows = re.findall(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)$", text["spread"], flags=re.M)
    assert len(rows) == 10 and all(float(b) > 3 * float(a) for _, a, b in rows)


def test_variance_ratio_follows_the_exact_curve(text):
    rows = re.findall(r"mu = ([\d.]+): variance ratio measured\s+([\d.]+), exact\s+([\d.]+)", text["ratio-vs-mu"])
    assert len(rows) == 6
    measured = [float(m) for _, m, _ in rows]
    for _, m, e in rows:
        assert float(m) == pytest.approx(float(e), rel=0.15)
    assert measured == sorted(measured) and measured[0] > 3 and measured[-1] > 100


def test_a_baseline_narrows_the_gap_without_closing_it(text):
    rows = re.findall(r"mu = ([\d.]+): variance ratio measured\s+([\d.]+), exact\s+[\d.]+;\s+with the baseline "
                      r"measured\s+([\d.]+), exact\s+([\d.]+)", text["ratio-vs-mu"])
    assert len(rows) == 6
    for mu, plain, baseline, exact in rows:
        assert float(exact) == pytest.approx(2 * float(mu) ** 2 + 2.5)
        assert float(baseline) == pytest.approx(float(exact), rel=0.15)
        assert 1 < float(baseline) < float(plain)  # narrower, never below the pathwise estimator here
    (mu0, plain0, base0, _), (mu4, plain4, base4, _) = rows[0], rows[-1]
    assert float(mu0) == 0 and float(mu4) == 4
    assert 2.0 < float(base0) < 3.2 and 3.2 < float(plain0) < 4.5  # "gains little (3.75 to 2.5)"
    assert 28 < float(base4) < 42 and float(plain4) > 100  # "from about 124 to about 35"


def test_the_prediction_is_printed_beside_the_measured_ratio(text):
    (first,) = _floats(r"mu = 0.0: variance ratio measured\s+([\d.]+)", text["ratio-vs-mu"])
    (shown,) = _floats(r"variance ratio at mu = 0: no prediction made \(it is still None\); measured ([\d.]+)\.",
                       text["ratio-prediction"])
    assert shown == pytest.approx(first, abs=0.06)


def test_noisier_gradients_keep_sgd_farther_from_the_optimum(text):
    out = text["sgd"]
    (exact,) = _floats(r"exact gradient: .*steps 500-2000: ([\d.]+)", out)
    (times,) = _floats(r"score function / pathwise: ([\d.]+) times farther", out)
    assert exact < 0.01
    assert 1.8 < times < 2.3  # "about twice", "about 2", close to sqrt(3.75) = 1.9, the ratio at the optimum


@pytest.mark.parametrize("grade_id, points", [("reparameterize", 6), ("score-function", 5)])
def test_each_exercise_earns_its_points_without_the_other(graded, one_exercise_solved, grade_id, points):
    from vae_helpers.grading import course

    course_dir, _ = graded
    student = f"only-{grade_id}"
    course.submit(course_dir, student, NAME, one_exercise_solved(NAME, grade_id))
    assert course.autograde(course_dir, NAME, student).score == points
