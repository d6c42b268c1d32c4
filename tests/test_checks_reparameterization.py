"""The checks of notebook 02 pass correct answers and catch plausible mistakes.

Every answer below is a top-level function with the exercise's signature, so it can
also be planted into a notebook and graded by nbgrader.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from vae_helpers.checks._core import CheckFailed
from vae_helpers.checks.reparameterization import (
    check_reparameterize_basics,
    check_reparameterize_gradients,
    check_reparameterize_noise,
    check_score_function_basics,
    check_score_function_properties,
)

REPARAMETERIZE_CHECKS = (check_reparameterize_basics, check_reparameterize_noise, check_reparameterize_gradients)
SCORE_CHECKS = (check_score_function_basics, check_score_function_properties)


def run_all(checks, fn):
    for check in checks:
        check(fn)


# --- reparameterize: correct answers ---------------------------------------------------------
def reparameterize_reference(mu, logvar):
    std = torch.exp(0.5 * logvar)
    eps = torch.randn_like(std)
    return mu + eps * std


def reparameterize_distributions(mu, logvar):
    return Normal(mu, logvar.exp().sqrt()).rsample()


def reparameterize_in_place(mu, logvar):
    eps = torch.randn(mu.shape, dtype=mu.dtype)
    return eps.mul_(logvar.mul(0.5).exp()).add_(mu)


def reparameterize_addcmul(mu, logvar):
    return torch.addcmul(mu, torch.randn_like(mu), torch.exp(logvar / 2))


CORRECT_REPARAMETERIZE = [reparameterize_reference, reparameterize_distributions, reparameterize_in_place,
                          reparameterize_addcmul]


# --- reparameterize: wrong answers ------------------------------------------------------------
def std_is_variance(mu, logvar):
    return mu + torch.randn_like(mu) * torch.exp(logvar)


def std_is_logvar(mu, logvar):
    return mu + torch.randn_like(mu) * logvar


def std_sign_flipped(mu, logvar):
    return mu + torch.randn_like(mu) * torch.exp(-0.5 * logvar)


def std_halved_variance(mu, logvar):
    return mu + torch.randn_like(mu) * 0.5 * torch.exp(logvar)


def uniform_noise(mu, logvar):
    return mu + torch.rand_like(mu) * torch.exp(0.5 * logvar)


def centred_uniform_noise(mu, logvar):
    eps = (2 * torch.rand_like(mu) - 1) * math.sqrt(3)  # mean 0, variance 1, but not Gaussian
    return mu + eps * torch.exp(0.5 * logvar)


def laplace_noise(mu, logvar):
    eps = torch.distributions.Laplace(0.0, 1 / math.sqrt(2)).sample(mu.shape).to(mu.dtype)
    return mu + eps * torch.exp(0.5 * logvar)


def no_noise(mu, logvar):
    return mu


def noise_shared_by_the_batch(mu, logvar):
    eps = torch.randn(mu.shape[-1], dtype=mu.dtype)
    return mu + eps * torch.exp(0.5 * logvar)


def noise_shared_by_the_dimensions(mu, logvar):
    eps = torch.randn(*mu.shape[:-1], 1, dtype=mu.dtype)
    return mu + eps * torch.exp(0.5 * logvar)


def one_noise_number(mu, logvar):
    return mu + torch.randn(1, dtype=mu.dtype) * torch.exp(0.5 * logvar)


def seeded_every_call(mu, logvar):
    torch.manual_seed(0)
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


_FROZEN = {}


def noise_drawn_once(mu, logvar):
    key = (tuple(mu.shape), mu.dtype)
    if key not in _FROZEN:
        _FROZEN[key] = torch.randn_like(mu)
    return mu + _FROZEN[key] * torch.exp(0.5 * logvar)


def detached_sample(mu, logvar):
    return (mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)).detach()


def distribution_sample(mu, logvar):
    return Normal(mu, torch.exp(0.5 * logvar)).sample()


def torch_normal(mu, logvar):
    return torch.normal(mu, torch.exp(0.5 * logvar))


def std_detached(mu, logvar):
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar).detach()


def mu_detached(mu, logvar):
    return mu.detach() + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def hard_coded_latent_dim(mu, logvar):
    return mu + torch.randn(mu.shape[0], 8) * torch.exp(0.5 * logvar)


def two_dimensional_only(mu, logvar):
    return mu + torch.randn(mu.size(0), mu.size(1), dtype=mu.dtype) * torch.exp(0.5 * logvar)


def flattened(mu, logvar):
    return (mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)).reshape(-1)


def numpy_noise(mu, logvar):
    eps = torch.from_numpy(np.random.standard_normal(tuple(mu.shape)))
    return mu + eps * torch.exp(0.5 * logvar)


def always_float32(mu, logvar):
    return (mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)).float()


def changes_mu_in_place(mu, logvar):
    return mu.add_(torch.randn_like(mu) * torch.exp(0.5 * logvar))


def centred_noise(mu, logvar):
    """Centres the noise on its own mean: on a single element that leaves nothing."""
    eps = torch.randn_like(mu)
    return mu + (eps - eps.mean()) * torch.exp(0.5 * logvar)


def standardised_noise(mu, logvar):
    """Rescales the noise to mean 0 and spread 1 over the tensor: two elements always get -0.71 and +0.71."""
    eps = torch.randn_like(mu)
    eps = (eps - eps.mean()) / eps.std(unbiased=False).clamp_min(1e-12)
    return mu + eps * torch.exp(0.5 * logvar)


def normalised_noise(mu, logvar):
    """Scales the noise to a norm of sqrt(numel): one element is always +-1, two lie on a circle."""
    eps = torch.randn_like(mu)
    return mu + eps * math.sqrt(eps.numel()) / eps.norm() * torch.exp(0.5 * logvar)


def antithetic_noise(mu, logvar):
    """Pairs every draw with its mirror image (antithetic noise): the second half of the elements is minus the first."""
    half = torch.randn((mu.numel() + 1) // 2, dtype=mu.dtype)
    eps = torch.cat([half, -half])[:mu.numel()].reshape(mu.shape)
    return mu + eps * torch.exp(0.5 * logvar)


def not_implemented(mu, logvar):
    raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_REPARAMETERIZE = {
    std_is_variance: "matches exp\\(logvar\\), which is the variance",
    std_is_logvar: "matches \\|logvar\\| itself",
    std_sign_flipped: "shrinks as the variance grows",
    std_halved_variance: "spread of z around mu is wrong",
    uniform_noise: "not centred on mu",
    centred_uniform_noise: "not Gaussian",
    laplace_noise: "not Gaussian",
    no_noise: "no randomness",
    noise_shared_by_the_batch: "correlation 1.00 between neighbouring examples",
    noise_shared_by_the_dimensions: "correlation 1.00 between neighbouring dimensions",
    one_noise_number: "Every element of z gets the same noise",
    seeded_every_call: "Two calls with the same mu and logvar returned the same z",
    noise_drawn_once: "Two calls with the same mu and logvar returned the same z",
    detached_sample: "not connected to mu and logvar",
    distribution_sample: "not connected to mu and logvar",
    torch_normal: "No gradient reaches mu from z \\(it is zero\\).*Section 1 showed a sampler",
    std_detached: "No gradient reaches logvar from z \\(it is missing\\)",
    mu_detached: "No gradient reaches mu from z \\(it is missing\\)",
    hard_coded_latent_dim: "raised RuntimeError",
    two_dimensional_only: "shape \\(6,\\).*raised IndexError",
    flattened: "has shape \\(15,\\); expected \\(5, 3\\)",
    numpy_noise: "dtype torch.float64; expected torch.float32",
    always_float32: "dtype torch.float32; expected torch.float64",
    changes_mu_in_place: "changed mu or logvar in place",
    not_implemented: "not implemented yet",
    centred_noise: "calls with mu of shape \\(1, 1\\).*z always equals mu",
    standardised_noise: "calls with mu of shape \\(1, 1\\).*z always equals mu",
    normalised_noise: "calls with mu of shape \\(1, 1\\).*element 0 is not Gaussian",
    antithetic_noise: "calls with mu of shape \\(1, 2\\).*the noise of the two elements has correlation -1.00",
}


@pytest.mark.parametrize("fn", CORRECT_REPARAMETERIZE, ids=lambda f: f.__name__)
def test_correct_reparameterize_passes(fn, capsys):
    run_all(REPARAMETERIZE_CHECKS, fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == len(REPARAMETERIZE_CHECKS)


@pytest.mark.parametrize("fn", WRONG_REPARAMETERIZE, ids=lambda f: f.__name__)
def test_wrong_reparameterize_fails_with_its_symptom(fn):
    with pytest.raises(CheckFailed, match=WRONG_REPARAMETERIZE[fn]):
        run_all(REPARAMETERIZE_CHECKS, fn)


# Each hidden check catches the mistakes it is about on its own, even if the visible one passed.
HIDDEN_REPARAMETERIZE = [
    (check_reparameterize_noise, centred_uniform_noise, "not Gaussian"),
    (check_reparameterize_noise, noise_shared_by_the_batch, "neighbouring examples"),
    (check_reparameterize_noise, std_is_variance, "matches exp\\(logvar\\)"),
    (check_reparameterize_gradients, std_is_variance, "dz/dlogvar is wrong.*2 times"),
    (check_reparameterize_gradients, std_detached, "No gradient reaches logvar"),
    (check_reparameterize_gradients, torch_normal, "No gradient reaches mu from z: .*zero everywhere"),
    (check_reparameterize_gradients, distribution_sample, "z.requires_grad is False"),
    (check_reparameterize_gradients, two_dimensional_only, "raised IndexError"),
    (check_reparameterize_gradients, always_float32, "expected torch.float64"),
]


@pytest.mark.parametrize("check, fn, symptom", HIDDEN_REPARAMETERIZE,
                         ids=lambda v: getattr(v, "__name__", "symptom"))
def test_each_reparameterize_check_catches_its_mistakes(check, fn, symptom):
    with pytest.raises(CheckFailed, match=symptom):
        check(fn)


def test_the_visible_check_catches_what_the_hidden_noise_check_catches():
    for fn in (centred_uniform_noise, laplace_noise, seeded_every_call, noise_drawn_once, two_dimensional_only):
        with pytest.raises(CheckFailed):
            check_reparameterize_basics(fn)


# --- score_function_gradient: correct answers -------------------------------------------------
def score_reference(f, mu, logvar, n_samples):
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    return f(z) * (z - mu) / sigma ** 2


def score_with_distributions(f, mu, logvar, n_samples):
    """Per-sample autograd of log q(z) with the samples held fixed."""
    mu_copies = mu.detach().expand(n_samples).clone().requires_grad_(True)
    q = Normal(mu_copies, torch.exp(0.5 * logvar.detach()))
    z = q.sample()
    (score,) = torch.autograd.grad(q.log_prob(z).sum(), mu_copies)
    return f(z) * score


def score_with_torch_func(f, mu, logvar, n_samples):
    logvar = logvar.detach()

    def log_density(m, z):
        return -0.5 * (z - m) ** 2 * torch.exp(-logvar) - 0.5 * logvar

    z = Normal(mu.detach(), torch.exp(0.5 * logvar)).sample((n_samples,))
    score = torch.func.vmap(torch.func.grad(log_density), in_dims=(None, 0))(mu.detach(), z)
    return f(z) * score


def score_via_logvar(f, mu, logvar, n_samples):
    with torch.no_grad():
        z = torch.normal(mu.expand(n_samples), torch.exp(0.5 * logvar).expand(n_samples))
        return f(z) * (z - mu) * torch.exp(-logvar)


CORRECT_SCORE = [score_reference, score_with_distributions, score_with_torch_func, score_via_logvar]


# --- score_function_gradient: wrong answers ---------------------------------------------------
def score_without_f(f, mu, logvar, n_samples):
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    return (z - mu) / sigma ** 2


def score_not_divided(f, mu, logvar, n_samples):
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    return f(z) * (z - mu)


def score_divided_by_sigma(f, mu, logvar, n_samples):
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    return f(z) * (z - mu) / sigma


def score_sign_flipped(f, mu, logvar, n_samples):
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    return f(z) * (mu - z) / sigma ** 2


def score_std_is_variance(f, mu, logvar, n_samples):
    sigma = torch.exp(logvar)
    z = mu + sigma * torch.randn(n_samples)
    return f(z) * (z - mu) / sigma ** 2


def score_of_logvar(f, mu, logvar, n_samples):
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    return f(z) * 0.5 * (((z - mu) / sigma) ** 2 - 1)


def pathwise_instead(f, mu, logvar, n_samples):
    mu_copies = mu.detach().expand(n_samples).clone().requires_grad_(True)
    z = mu_copies + torch.exp(0.5 * logvar.detach()) * torch.randn(n_samples)
    (grad,) = torch.autograd.grad(f(z).sum(), mu_copies)
    return grad


def score_through_the_sample(f, mu, logvar, n_samples):
    """Differentiates log q(z) while z itself moves with mu."""
    mu_copies = mu.detach().expand(n_samples).clone().requires_grad_(True)
    q = Normal(mu_copies, torch.exp(0.5 * logvar.detach()))
    z = q.rsample()
    (score,) = torch.autograd.grad(q.log_prob(z).sum(), mu_copies)
    return f(z).detach() * score


def surrogate_through_the_sample(f, mu, logvar, n_samples):
    """Differentiates f(z) log q(z) with z = rsample(): neither factor is held fixed."""
    mu_copies = mu.detach().expand(n_samples).clone().requires_grad_(True)
    q = Normal(mu_copies, torch.exp(0.5 * logvar.detach()))
    z = q.rsample()
    (grad,) = torch.autograd.grad((f(z) * q.log_prob(z)).sum(), mu_copies)
    return grad


def returns_the_mean(f, mu, logvar, n_samples):
    return score_reference(f, mu, logvar, n_samples).mean()


def averages_inner_samples(f, mu, logvar, n_samples):
    return score_reference(f, mu, logvar, 10 * n_samples).reshape(n_samples, 10).mean(dim=1)


def seeded_score(f, mu, logvar, n_samples):
    torch.manual_seed(0)
    return score_reference(f, mu, logvar, n_samples)


def uniform_samples(f, mu, logvar, n_samples):
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.rand(n_samples)
    return f(z) * (z - mu) / sigma ** 2


def score_divided_by_n(f, mu, logvar, n_samples):
    """Divides every estimate by n_samples, as if preparing their average."""
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    return f(z) * (z - mu) / sigma ** 2 / n_samples


def score_minus_its_average(f, mu, logvar, n_samples):
    """Subtracts the average of f over the samples: a baseline, not the plain estimator."""
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    values = f(z)
    return (values - values.mean()) * (z - mu) / sigma ** 2


def score_not_implemented(f, mu, logvar, n_samples):
    raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_SCORE = {
    score_without_f: "biased.*indistinguishable from 0. With f\\(z\\) = 0 for every z the estimates are not all 0",
    score_not_divided: "biased.*mu = 1, sigma = 0.5.*close to sigma² = 0.25",
    score_divided_by_sigma: "biased.*mu = 1, sigma = 0.5.*close to sigma = 0.5: the estimates carry an extra "
                            "factor of sigma",
    score_minus_its_average: "variance is 4\\d.\\d\\d, but one score-function estimate has variance 87.*matches the "
                             "estimator with a baseline",
    score_sign_flipped: "wrong sign",
    score_std_is_variance: "sigma = 0.5 their variance.*standard deviation sigma²",
    score_of_logvar: "biased.*mu = 2, sigma = 1",
    pathwise_instead: "matches that of the reparameterized estimate 2z",
    score_through_the_sample: "All 10 estimates are exactly 0",
    surrogate_through_the_sample: "biased",
    returns_the_mean: "expected \\(10,\\): one gradient estimate per sample",
    averages_inner_samples: "variance is 8.\\d\\d, but one score-function estimate has variance 87",
    seeded_score: "Two calls with the same arguments returned the same estimates",
    uniform_samples: "biased",
    score_not_implemented: "not implemented yet",
    score_divided_by_n: "indistinguishable from 0, and the estimates are about 1/n_samples = 1/100000 of the "
                        "expected size.*divided by n_samples",
}


@pytest.mark.parametrize("fn", CORRECT_SCORE, ids=lambda f: f.__name__)
def test_correct_score_function_passes(fn, capsys):
    run_all(SCORE_CHECKS, fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == len(SCORE_CHECKS)


@pytest.mark.parametrize("fn", WRONG_SCORE, ids=lambda f: f.__name__)
def test_wrong_score_function_fails_with_its_symptom(fn):
    with pytest.raises(CheckFailed, match=WRONG_SCORE[fn]):
        run_all(SCORE_CHECKS, fn)


def score_with_a_baseline(f, mu, logvar, n_samples):
    """Unbiased and less noisy, but not the plain score-function estimator the exercise asks for."""
    sigma = torch.exp(0.5 * logvar)
    z = mu + sigma * torch.randn(n_samples)
    return (f(z) - f(mu)) * (z - mu) / sigma ** 2


def test_a_variance_reduced_estimator_is_told_apart_by_its_spread():
    for check in SCORE_CHECKS:  # unbiased, so only the spread gives it away, in the visible check too
        with pytest.raises(CheckFailed, match="spread of the estimates is not that of the score-function estimator"):
            check(score_with_a_baseline)


# --- how the checks behave as a whole ---------------------------------------------------------
ALL = [(check, reparameterize_reference) for check in REPARAMETERIZE_CHECKS] + \
      [(check, score_reference) for check in SCORE_CHECKS]
