"""The checks of notebook 03 pass correct answers and catch plausible mistakes by their symptom.

Every answer is a top-level function with the exercise's exact signature, so that its
source can be planted into a notebook and graded by nbgrader as well.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal

from vae_helpers.checks import CheckFailed
from vae_helpers.checks.kl_divergence import (
    check_kl_divergence_properties,
    check_kl_divergence_value,
    check_kl_monte_carlo_basics,
    check_kl_monte_carlo_statistics,
)

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def run_closed_form_checks(fn):
    check_kl_divergence_value(fn)
    check_kl_divergence_properties(fn)


def run_monte_carlo_checks(fn):
    check_kl_monte_carlo_basics(fn)
    check_kl_monte_carlo_statistics(fn)


# --- correct closed forms -----------------------------------------------------------------------------
def kl_reference(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def kl_torch_distributions(mu, logvar):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(dim=-1)


def kl_independent(mu, logvar):
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    return torch.distributions.kl_divergence(q, p)


def kl_from_std(mu, logvar):
    std = torch.exp(0.5 * logvar)
    return 0.5 * (mu ** 2 + std ** 2 - 1).sum(-1) - torch.log(std).sum(-1)


def kl_in_place_on_a_temporary(mu, logvar):
    terms = mu * mu
    terms += logvar.exp()
    terms -= logvar + 1
    return 0.5 * terms.sum(1)


def kl_loop_over_dimensions(mu, logvar):
    total = torch.zeros(mu.shape[0])
    for j in range(mu.shape[1]):
        total = total + 0.5 * (mu[:, j] ** 2 + torch.exp(logvar[:, j]) - 1 - logvar[:, j])
    return total


CORRECT_CLOSED_FORMS = [kl_reference, kl_torch_distributions, kl_independent, kl_from_std,
                        kl_in_place_on_a_temporary, kl_loop_over_dimensions]


# --- wrong closed forms ---------------------------------------------------------------------------------
def kl_summed_over_batch(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def kl_averaged_over_dims(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).mean(dim=1)


def kl_summed_over_wrong_axis(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=0)


def kl_unsummed(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def kl_plus_half(mu, logvar):
    return 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def kl_missing_half(mu, logvar):
    return -(1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def kl_without_the_factor(mu, logvar):
    return (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def kl_logvar_as_log_std(mu, logvar):
    return -0.5 * (1 + 2 * logvar - mu.pow(2) - torch.exp(2 * logvar)).sum(dim=1)


def kl_std_for_variance(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - torch.sqrt(logvar.exp())).sum(dim=1)


def kl_logvar_as_std(mu, logvar):
    return -0.5 * (1 + torch.log(logvar ** 2) - mu.pow(2) - logvar ** 2).sum(dim=1)


def kl_forgets_the_one(mu, logvar):
    return -0.5 * (logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def kl_missing_mu_squared(mu, logvar):
    return -0.5 * (1 + logvar - logvar.exp()).sum(dim=1)


def kl_mu_not_squared(mu, logvar):
    return -0.5 * (1 + logvar - mu - logvar.exp()).sum(dim=1)


def kl_divided_by_batch(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1) / mu.shape[0]


def kl_detached(mu, logvar):
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).detach()


def kl_via_numpy(mu, logvar):
    mu, logvar = mu.detach().numpy(), logvar.detach().numpy()
    return -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum(axis=1)


def kl_no_gradient_to_mu(mu, logvar):
    return -0.5 * (1 + logvar - mu.detach().pow(2) - logvar.exp()).sum(dim=1)


def kl_half_gradient_to_logvar(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp().detach()).sum(dim=1)


def kl_clamped_logvar(mu, logvar):
    logvar = logvar.clamp(-4, 3)
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def kl_squares_mu_in_place(mu, logvar):
    return -0.5 * (1 + logvar - mu.pow_(2) - logvar.exp()).sum(dim=1)


def kl_in_float64(mu, logvar):
    mu, logvar = mu.double(), logvar.double()
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def kl_batch_mixing(mu, logvar):
    return -0.5 * (1 + logvar - (mu - mu.mean(0)).pow(2) - logvar.exp()).sum(dim=1)


def kl_through_product_of_variances(mu, logvar):
    """log(prod sigma²) instead of sum log sigma²: 0 or inf once there are many latent dimensions."""
    var = logvar.exp()
    return -0.5 * (mu.shape[1] + torch.log(torch.prod(var, dim=1)) - mu.pow(2).sum(dim=1) - var.sum(dim=1))


def kl_through_product_of_stds(mu, logvar):
    """-log(prod sigma) for the log-variance part: the same overflow, one square root later."""
    std = torch.exp(0.5 * logvar)
    return (0.5 * (mu.pow(2) + std.pow(2) - 1).sum(dim=1) - torch.log(torch.prod(std, dim=1)))


def kl_not_implemented(mu, logvar):
    raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_CLOSED_FORMS = {
    kl_summed_over_batch: "single number .* reduced over the whole batch",
    kl_averaged_over_dims: "averaged over the 3 latent dimensions",
    kl_summed_over_wrong_axis: "reduced over the examples",
    kl_unsummed: "one value per latent dimension",
    kl_plus_half: "minus the KL: it is negative",
    kl_missing_half: "twice the KL",
    kl_without_the_factor: "-2 times the KL: it is negative",
    kl_logvar_as_log_std: r"standard deviation \(not variance\)",
    kl_std_for_variance: "sigma appears where the variance",
    kl_logvar_as_std: r"at mu = logvar = 0 contains NaN or infinite values",
    kl_forgets_the_one: "must be 0",
    kl_missing_mu_squared: "does not depend on mu",
    kl_mu_not_squared: "gives wrong values",
    kl_divided_by_batch: "gives wrong values",
    kl_detached: "cut off from the autograd graph",
    kl_through_product_of_variances: "1,000 latent dimensions.*right when every variance is near 1.*product of "
                                     "variances, prod\\(sigma²\\)",
    kl_through_product_of_stds: "1,000 latent dimensions.*right when every variance is near 1.*product of "
                                "variances, prod\\(sigma²\\) \\(or of sigmas\\)",
    kl_via_numpy: "should be a torch.Tensor",
    kl_no_gradient_to_mu: "No gradient reaches mu",
    kl_half_gradient_to_logvar: "gradient of kl_divergence with respect to logvar is wrong",
    kl_clamped_logvar: "right for moderate inputs but wrong.*nothing should be clamped",
    kl_squares_mu_in_place: "changed its inputs",
    kl_in_float64: "dtype torch.float64",
    kl_batch_mixing: "gives wrong values",
    kl_not_implemented: "not implemented yet",
}


@pytest.mark.parametrize("fn", CORRECT_CLOSED_FORMS, ids=lambda f: f.__name__)
def test_correct_closed_forms_pass(fn, capsys):
    run_closed_form_checks(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG_CLOSED_FORMS, ids=lambda f: f.__name__)
def test_wrong_closed_forms_fail_with_their_symptom(fn):
    with pytest.raises(CheckFailed, match=WRONG_CLOSED_FORMS[fn]):
        run_closed_form_checks(fn)


def test_the_visible_check_alone_catches_the_reduction_and_formula_mistakes():
    for fn in (kl_summed_over_batch, kl_averaged_over_dims, kl_summed_over_wrong_axis, kl_unsummed,
               kl_plus_half, kl_missing_half, kl_logvar_as_log_std, kl_forgets_the_one, kl_missing_mu_squared):
        with pytest.raises(CheckFailed):
            check_kl_divergence_value(fn)


# --- correct Monte Carlo estimates ----------------------------------------------------------------------
def mc_reference(mu, logvar, n_samples):
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(n_samples, *mu.shape)
    z = mu + std * eps
    log_q = -0.5 * eps ** 2 - torch.log(std) - LOG_SQRT_2PI
    log_p = -0.5 * z ** 2 - LOG_SQRT_2PI
    return (log_q - log_p).sum(-1).mean(0)


def mc_torch_distributions(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.rsample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)


def mc_independent_sample(mu, logvar, n_samples):
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    z = q.sample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).mean(0)


def mc_constants_cancelled(mu, logvar, n_samples):
    z = mu + torch.exp(0.5 * logvar) * torch.randn(n_samples, *mu.shape)
    log_ratio = -0.5 * (z - mu) ** 2 / logvar.exp() - 0.5 * logvar + 0.5 * z ** 2
    return log_ratio.sum(-1).mean(0)


def mc_batch_first_loop(mu, logvar, n_samples):
    total = torch.zeros(mu.shape[0])
    for _ in range(n_samples):
        eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps
        total += (-0.5 * eps ** 2 - 0.5 * logvar + 0.5 * z ** 2).sum(1)
    return total / n_samples


CORRECT_MONTE_CARLO = [mc_reference, mc_torch_distributions, mc_independent_sample,
                       mc_constants_cancelled, mc_batch_first_loop]


# --- wrong Monte Carlo estimates ------------------------------------------------------------------------
def mc_prior_samples(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = p.sample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)


def mc_sign_flipped(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((n_samples,))
    return (p.log_prob(z) - q.log_prob(z)).sum(-1).mean(0)


def mc_averaged_over_dims(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).mean(-1).mean(0)


def mc_summed_over_samples(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).sum(-1).sum(0)


def mc_one_sided_constant(mu, logvar, n_samples):
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(n_samples, *mu.shape)
    z = mu + std * eps
    log_q = -0.5 * eps ** 2 - torch.log(std)
    log_p = -0.5 * z ** 2 - LOG_SQRT_2PI
    return (log_q - log_p).sum(-1).mean(0)


def mc_q_without_its_width(mu, logvar, n_samples):
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(n_samples, *mu.shape)
    z = mu + std * eps
    return (-0.5 * eps ** 2 + 0.5 * z ** 2).sum(-1).mean(0)


def mc_logvar_as_log_std(mu, logvar, n_samples):
    q = Normal(mu, logvar.exp())
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)


def mc_ignores_n_samples(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample()
    return (q.log_prob(z) - p.log_prob(z)).sum(-1)


def mc_fixed_number_of_draws(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((1000,))
    return (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)


def mc_closed_form(mu, logvar, n_samples):
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def mc_fixed_seed(mu, logvar, n_samples):
    torch.manual_seed(0)
    return mc_reference(mu, logvar, n_samples)


def mc_shared_draws(mu, logvar, n_samples):
    eps = torch.randn(n_samples, 1, mu.shape[1])
    z = mu + torch.exp(0.5 * logvar) * eps
    return (-0.5 * eps ** 2 - 0.5 * logvar + 0.5 * z ** 2).sum(-1).mean(0)


def mc_noise_shared_by_the_dimensions(mu, logvar, n_samples):
    """One standard-normal number per draw and example, shared by all the latent dimensions."""
    eps = torch.randn(n_samples, mu.shape[0], 1)
    z = mu + torch.exp(0.5 * logvar) * eps
    return (-0.5 * eps ** 2 - 0.5 * logvar + 0.5 * z ** 2).sum(-1).mean(0)


def mc_one_draw_repeated(mu, logvar, n_samples):
    """Draws one code and averages n_samples copies of it."""
    z = Normal(mu, torch.exp(0.5 * logvar)).sample().expand(n_samples, *mu.shape)
    log_ratio = Normal(mu, torch.exp(0.5 * logvar)).log_prob(z) - Normal(0.0, 1.0).log_prob(z)
    return log_ratio.sum(-1).mean(0)


def mc_per_draw(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).sum(-1)


def mc_summed_over_batch(mu, logvar, n_samples):
    return mc_reference(mu, logvar, n_samples).sum()


def mc_unsummed(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).mean(0)


def mc_biased_for_few_draws(mu, logvar, n_samples):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((n_samples,))
    return (q.log_prob(z) - p.log_prob(z)).sum(-1).sum(0) / (n_samples + 1)


def mc_density_scale_is_variance(mu, logvar, n_samples):
    z = Normal(mu, torch.exp(0.5 * logvar)).sample((n_samples,))
    q = Normal(mu, logvar.exp())
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)


def mc_in_float64(mu, logvar, n_samples):
    return mc_reference(mu.double(), logvar.double(), n_samples)


def mc_not_implemented(mu, logvar, n_samples):
    raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_MONTE_CARLO = {
    mc_prior_samples: "over draws z from the prior",
    mc_sign_flipped: "minus the KL, so they come out negative",
    mc_averaged_over_dims: "averaged over the 3 latent dimensions",
    mc_summed_over_samples: "n_samples = 2000 times the KL",
    mc_one_sided_constant: "normalising constants of log q and log p do not cancel",
    mc_q_without_its_width: "missing the part of its normalisation",
    mc_logvar_as_log_std: r"standard deviation \(not variance\)",
    mc_ignores_n_samples: "an honest average of 2000 draws.*about that of a single draw.*all the same",
    mc_fixed_number_of_draws: "either n_samples is not the number of draws that get averaged, or the draws are "
                              "not independent",
    mc_noise_shared_by_the_dimensions: "8 latent dimensions that all have.*the draws are not independent.*"
                                       "share one standard-normal number",
    mc_one_draw_repeated: "an honest average of 2000 draws.*about that of a single draw.*all the same",

    mc_closed_form: "exactly the same estimates",
    mc_fixed_seed: "exactly the same estimates",
    mc_shared_draws: "share their random draws",
    mc_per_draw: "one value per random draw",
    mc_summed_over_batch: "single number",
    mc_unsummed: "one value per latent dimension",
    mc_biased_for_few_draws: "n_samples=2 .*an honest average of 600 draws",
    mc_density_scale_is_variance: "an honest average of 2000 draws",
    mc_in_float64: "dtype torch.float64",
    mc_not_implemented: "not implemented yet",
}


@pytest.mark.parametrize("fn", CORRECT_MONTE_CARLO, ids=lambda f: f.__name__)
def test_correct_monte_carlo_estimates_pass(fn, capsys):
    run_monte_carlo_checks(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG_MONTE_CARLO, ids=lambda f: f.__name__)
def test_wrong_monte_carlo_estimates_fail_with_their_symptom(fn):
    with pytest.raises(CheckFailed, match=WRONG_MONTE_CARLO[fn]):
        run_monte_carlo_checks(fn)


@pytest.mark.parametrize("seed", range(5))
def test_correct_monte_carlo_passes_whatever_the_random_draws(seed, monkeypatch):
    """The confidence bounds are sized for the sample, not tuned to the check's own seed."""
    import vae_helpers.checks._core as core

    real_seed = core.torch.manual_seed
    monkeypatch.setattr(core, "replaced", lambda: [])  # the checks would refuse a replaced torch.manual_seed
    monkeypatch.setattr(core.torch, "manual_seed", lambda _: real_seed(1000 + seed))
    run_monte_carlo_checks(mc_reference)
    run_monte_carlo_checks(mc_torch_distributions)
    check_kl_divergence_properties(kl_reference)


# --- how the checks behave as a whole -----------------------------------------------------------------
def test_the_exercises_are_checked_independently():
    """A broken kl_divergence in the notebook cannot cost the Monte Carlo exercise its points."""
    import inspect

    from vae_helpers.checks import kl_divergence as module

    for check in (check_kl_monte_carlo_basics, check_kl_monte_carlo_statistics):
        assert list(inspect.signature(check).parameters) == ["kl_monte_carlo"]
    run_monte_carlo_checks(mc_reference)  # needs no closed form from the student
    assert "kl_divergence(" not in inspect.getsource(module._expect_unbiased)
