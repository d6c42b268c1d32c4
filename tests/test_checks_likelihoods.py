"""The checks of notebook 04's ``gaussian_nll`` pass correct answers and catch plausible mistakes by their symptom.

Every answer is a top-level function with the exercise's exact signature, so that its
source can be planted into a notebook and graded by nbgrader as well.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from vae_helpers.checks import CheckFailed
from vae_helpers.checks.likelihoods import check_gaussian_nll_properties, check_gaussian_nll_value

LOG_2PI = math.log(2 * math.pi)


def run_checks(fn):
    check_gaussian_nll_value(fn)
    check_gaussian_nll_properties(fn)


# --- correct answers --------------------------------------------------------------------------------
def nll_reference(x, x_hat, log_sigma):
    return (0.5 * ((x - x_hat) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * LOG_2PI).sum(dim=-1)


def nll_torch_distributions(x, x_hat, log_sigma):
    return -Normal(x_hat, log_sigma.exp()).log_prob(x).sum(dim=-1)


def nll_from_log_variance(x, x_hat, log_sigma):
    logvar = 2 * log_sigma
    per_pixel = 0.5 * (LOG_2PI + logvar + (x - x_hat).pow(2) * torch.exp(-logvar))
    return per_pixel.sum(dim=1)


def nll_expanded_normaliser(x, x_hat, log_sigma):
    variance = torch.exp(log_sigma) ** 2
    squared = ((x - x_hat) ** 2 / (2 * variance)).sum(dim=1)
    normaliser = (log_sigma + 0.5 * math.log(2 * math.pi)).expand_as(x).sum(dim=1)
    return squared + normaliser


CORRECT_NLL = [nll_reference, nll_torch_distributions, nll_from_log_variance, nll_expanded_normaliser]


# --- wrong answers ----------------------------------------------------------------------------------
def nll_without_constant(x, x_hat, log_sigma):
    return (0.5 * ((x - x_hat) / log_sigma.exp()) ** 2 + log_sigma).sum(dim=-1)


def nll_log_2pi_constant(x, x_hat, log_sigma):
    return (0.5 * ((x - x_hat) / log_sigma.exp()) ** 2 + log_sigma + LOG_2PI).sum(dim=-1)


def nll_log_sigma_as_sigma(x, x_hat, log_sigma):
    sigma = log_sigma
    return (0.5 * ((x - x_hat) / sigma) ** 2 + torch.log(sigma) + 0.5 * LOG_2PI).sum(dim=-1)


def nll_log_sigma_as_log_variance(x, x_hat, log_sigma):
    variance = log_sigma.exp()
    return (0.5 * (x - x_hat) ** 2 / variance + 0.5 * torch.log(variance) + 0.5 * LOG_2PI).sum(dim=-1)


def nll_sigma_for_variance(x, x_hat, log_sigma):
    sigma = log_sigma.exp()
    return ((x - x_hat) ** 2 / (2 * sigma) + log_sigma + 0.5 * LOG_2PI).sum(dim=-1)


def nll_missing_half(x, x_hat, log_sigma):
    return (((x - x_hat) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * LOG_2PI).sum(dim=-1)


def nll_missing_log_sigma(x, x_hat, log_sigma):
    return (0.5 * ((x - x_hat) / log_sigma.exp()) ** 2 + 0.5 * LOG_2PI).sum(dim=-1)


def nll_averaged_over_pixels(x, x_hat, log_sigma):
    return (0.5 * ((x - x_hat) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * LOG_2PI).mean(dim=-1)


def nll_batch_mean(x, x_hat, log_sigma):
    return (0.5 * ((x - x_hat) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * LOG_2PI).sum(dim=-1).mean()


def nll_per_pixel(x, x_hat, log_sigma):
    return 0.5 * ((x - x_hat) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * LOG_2PI


def nll_log_likelihood(x, x_hat, log_sigma):
    return Normal(x_hat, log_sigma.exp()).log_prob(x).sum(dim=-1)


def nll_one_sigma_for_all(x, x_hat, log_sigma):
    log_sigma = log_sigma.mean()
    return (0.5 * ((x - x_hat) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * LOG_2PI).sum(dim=-1)


def nll_sigma_detached(x, x_hat, log_sigma):
    sigma = log_sigma.detach().exp()
    return (0.5 * ((x - x_hat) / sigma) ** 2 + torch.log(sigma) + 0.5 * LOG_2PI).sum(dim=-1)


def nll_not_implemented(x, x_hat, log_sigma):
    raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_NLL = {
    nll_without_constant: "missing the 1/2 log\\(2 pi\\) constant",
    nll_log_2pi_constant: "constant is log\\(2 pi\\) per pixel",
    nll_log_sigma_as_sigma: "uses log_sigma as sigma itself",
    nll_log_sigma_as_log_variance: "treats log_sigma as the log-variance",
    nll_sigma_for_variance: r"divides the squared error by 2 sigma where 2 sigma\^2 \(twice the variance\)",
    nll_missing_half: "the 1/2 in front of the quadratic term is missing",
    nll_missing_log_sigma: "missing the log sigma term",
    nll_averaged_over_pixels: "averaged over the pixels instead of summed",
    nll_batch_mean: "reduced over the whole batch",
    nll_per_pixel: "one value per pixel",
    nll_log_likelihood: "log-likelihood, not its negative",
    nll_one_sigma_for_all: "uses one sigma for every pixel",
    nll_sigma_detached: "No gradient reaches log_sigma",
    nll_not_implemented: "not implemented yet",
}


@pytest.mark.parametrize("fn", CORRECT_NLL, ids=lambda f: f.__name__)
def test_correct_answers_pass(fn, capsys):
    run_checks(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG_NLL, ids=lambda f: f.__name__)
def test_wrong_answers_fail_the_visible_check_with_their_symptom(fn):
    with pytest.raises(CheckFailed, match=WRONG_NLL[fn]):
        check_gaussian_nll_value(fn)


@pytest.mark.parametrize("fn", WRONG_NLL, ids=lambda f: f.__name__)
def test_wrong_answers_fail_the_hidden_check_too(fn):
    with pytest.raises(CheckFailed):
        check_gaussian_nll_properties(fn)


def test_the_reference_is_independent_of_the_formula_it_checks():
    """The checks' reference is torch.distributions; the 1/2 log 2 pi constant is in it."""
    from vae_helpers.checks.likelihoods import _reference

    x, x_hat = torch.zeros(1, 4), torch.zeros(1, 4)
    assert _reference(x, x_hat, torch.tensor(0.0)).item() == pytest.approx(4 * 0.5 * LOG_2PI)
    # a squared error is the NLL of a Gaussian with sigma^2 = 1/2, up to a constant per pixel
    x_hat = torch.rand(1, 4)
    nll = _reference(x, x_hat, torch.tensor(0.5 * math.log(0.5))).item()
    assert nll - (x - x_hat).pow(2).sum().item() == pytest.approx(4 * 0.5 * math.log(math.pi))


def test_a_blank_or_broken_answer_is_reported_not_raised():
    def returns_none(x, x_hat, log_sigma):
        return None

    with pytest.raises(CheckFailed, match="should be a torch.Tensor"):
        check_gaussian_nll_value(returns_none)
