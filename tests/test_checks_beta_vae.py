"""The checks of notebook 05 pass correct answers and catch plausible mistakes.

Right and wrong answers are top-level functions with the exercises' signatures, so
that they can be planted into a notebook and graded by nbgrader as well.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from vae_helpers.checks._core import CheckFailed
from vae_helpers.checks.beta_vae import (
    check_active_units_threshold,
    check_active_units_value,
    check_beta_vae_loss_properties,
    check_beta_vae_loss_value,
)


# --- correct beta_vae_loss ----------------------------------------------------------------
def beta_vae_loss_reference(recon_x, x, mu, logvar, beta):
    recon = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return recon + beta * kl


def beta_vae_loss_distributions(recon_x, x, mu, logvar, beta):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    recon = -torch.distributions.Bernoulli(probs=recon_x, validate_args=False).log_prob(x).sum()
    return recon + beta * kl_divergence(q, p).sum()


def beta_vae_loss_by_hand(recon_x, x, mu, logvar, beta):
    recon = -(x * torch.log(recon_x) + (1 - x) * torch.log1p(-recon_x)).sum(dim=1)
    kl = 0.5 * (mu ** 2 + torch.exp(logvar) - logvar - 1).sum(dim=1)
    return (recon + beta * kl).sum()


def beta_vae_loss_logits(recon_x, x, mu, logvar, beta):
    logits = torch.logit(recon_x)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum()
    sigma2 = logvar.exp()
    kl = torch.sum(sigma2 + mu * mu - 1.0 - logvar) / 2
    return recon + kl * beta


CORRECT_LOSSES = [beta_vae_loss_reference, beta_vae_loss_distributions, beta_vae_loss_by_hand,
                  beta_vae_loss_logits]


# --- wrong beta_vae_loss ------------------------------------------------------------------
def _bce(recon_x, x):
    return F.binary_cross_entropy(recon_x, x, reduction="sum")


def _kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def beta_on_reconstruction(recon_x, x, mu, logvar, beta):
    return beta * _bce(recon_x, x) + _kl(mu, logvar)


def beta_on_both(recon_x, x, mu, logvar, beta):
    return beta * (_bce(recon_x, x) + _kl(mu, logvar))


def beta_ignored(recon_x, x, mu, logvar, beta):
    return _bce(recon_x, x) + _kl(mu, logvar)


def batch_mean(recon_x, x, mu, logvar, beta):
    return (_bce(recon_x, x) + beta * _kl(mu, logvar)) / x.shape[0]


def missing_kl(recon_x, x, mu, logvar, beta):
    return _bce(recon_x, x)


def kl_wrong_sign(recon_x, x, mu, logvar, beta):
    return _bce(recon_x, x) + beta * 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def kl_std_for_variance(recon_x, x, mu, logvar, beta):
    std = torch.exp(0.5 * logvar)
    return _bce(recon_x, x) + beta * -0.5 * torch.sum(1 + logvar - mu.pow(2) - std)


def kl_logvar_as_std(recon_x, x, mu, logvar, beta):
    sigma = logvar
    return _bce(recon_x, x) + beta * -0.5 * torch.sum(1 + torch.log(sigma ** 2) - mu.pow(2) - sigma ** 2)


def mse_instead_of_bce(recon_x, x, mu, logvar, beta):
    return F.mse_loss(recon_x, x, reduction="sum") + beta * _kl(mu, logvar)


def bce_mean_reduction(recon_x, x, mu, logvar, beta):
    return F.binary_cross_entropy(recon_x, x) + beta * _kl(mu, logvar)


def per_example_vector(recon_x, x, mu, logvar, beta):
    recon = F.binary_cross_entropy(recon_x, x, reduction="none").sum(dim=1)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
    return recon + beta * kl


def kl_mean_over_latents(recon_x, x, mu, logvar, beta):
    return _bce(recon_x, x) + beta * -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp(), dim=1).sum()


def kl_without_half(recon_x, x, mu, logvar, beta):
    return _bce(recon_x, x) + beta * -torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def detached_loss(recon_x, x, mu, logvar, beta):
    return (_bce(recon_x, x) + beta * _kl(mu, logvar)).detach()


def loss_as_float(recon_x, x, mu, logvar, beta):
    return (_bce(recon_x, x) + beta * _kl(mu, logvar)).item()


def in_place_exp(recon_x, x, mu, logvar, beta):
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2)) + 0.5 * logvar.exp_().sum()
    return _bce(recon_x, x) + beta * kl


def beta_squared(recon_x, x, mu, logvar, beta):
    return _bce(recon_x, x) + beta ** 2 * _kl(mu, logvar)


def kl_counted_twice(recon_x, x, mu, logvar, beta):
    """Adds beta * KL to the plain VAE loss, which already holds the KL."""
    vae_loss = _bce(recon_x, x) + _kl(mu, logvar)
    return vae_loss + beta * _kl(mu, logvar)


def not_implemented_loss(recon_x, x, mu, logvar, beta):
    raise NotImplementedError("Exercise: replace this line with your code.")


# each wrong loss, and the symptom the visible check must name
WRONG_LOSSES = {
    beta_on_reconstruction: "scales the wrong term",
    beta_on_both: "proportional to beta",
    beta_ignored: "ignores beta",
    batch_mean: "averaged over the batch",
    missing_kl: "KL term is missing",
    kl_wrong_sign: "KL part is negative",
    kl_std_for_variance: "right when logvar = 0",
    kl_logvar_as_std: "(NaN|right when logvar = 0)",
    mse_instead_of_bce: "squared error",
    bce_mean_reduction: "averaged over every pixel",
    per_example_vector: "single number",
    kl_mean_over_latents: "averaged over the latent dimensions",
    kl_without_half: "factor 1/2",
    loss_as_float: "should be a torch.Tensor",
    beta_squared: "straight line in beta",
    not_implemented_loss: "not implemented yet",
    detached_loss: "autograd graph",
    in_place_exp: "changed its input",
    kl_counted_twice: "the reconstruction term plus the KL term.*the KL is counted twice",
}


@pytest.mark.parametrize("fn", CORRECT_LOSSES, ids=lambda f: f.__name__)
def test_correct_losses_pass(fn, capsys):
    check_beta_vae_loss_value(fn)
    check_beta_vae_loss_properties(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG_LOSSES, ids=lambda f: f.__name__)
def test_wrong_losses_fail_the_visible_check_with_their_symptom(fn):
    with pytest.raises(CheckFailed, match=WRONG_LOSSES[fn]):
        check_beta_vae_loss_value(fn)


@pytest.mark.parametrize("fn", WRONG_LOSSES, ids=lambda f: f.__name__)
def test_wrong_losses_fail_the_hidden_check_too(fn):
    with pytest.raises(CheckFailed, match=WRONG_LOSSES[fn]):
        check_beta_vae_loss_properties(fn)


def test_wrong_gradients_are_caught():
    def straight_through(recon_x, x, mu, logvar, beta):  # right value, gradient cut from recon_x
        return _bce(recon_x.detach(), x) + beta * _kl(mu, logvar) + 0 * recon_x.sum()

    with pytest.raises(CheckFailed, match="gradient of beta_vae_loss with respect to recon_x"):
        check_beta_vae_loss_properties(straight_through)


# --- correct active_units -----------------------------------------------------------------
def active_units_reference(mu, threshold=0.01):
    return mu.var(dim=0) > threshold


def active_units_biased(mu, threshold=0.01):
    return ((mu - mu.mean(dim=0)) ** 2).mean(dim=0) > threshold


def active_units_cov(mu, threshold=0.01):
    return torch.cov(mu.T).reshape(mu.shape[1], mu.shape[1]).diagonal().gt(threshold)


def active_units_numpy(mu, threshold=0.01):
    return torch.from_numpy(np.var(mu.detach().cpu().numpy(), axis=0) > threshold)


CORRECT_UNITS = [active_units_reference, active_units_biased, active_units_cov, active_units_numpy]


# --- wrong active_units -------------------------------------------------------------------
def variance_over_wrong_axis(mu, threshold=0.01):
    return mu.var(dim=1) > threshold


def std_instead_of_variance(mu, threshold=0.01):
    return mu.std(dim=0) > threshold


def counts_inactive(mu, threshold=0.01):
    return mu.var(dim=0) < threshold


def mean_instead_of_variance(mu, threshold=0.01):
    return mu.mean(dim=0) > threshold


def second_moment(mu, threshold=0.01):
    return mu.pow(2).mean(dim=0) > threshold


def hard_coded_threshold(mu, threshold=0.01):
    return mu.var(dim=0) > 0.01


def float_fraction(mu, threshold=0.01):
    return (mu.var(dim=0) > threshold).float().mean()


def count_not_mask(mu, threshold=0.01):
    return (mu.var(dim=0) > threshold).sum()


def float_mask(mu, threshold=0.01):
    return (mu.var(dim=0) > threshold).float()


def python_list(mu, threshold=0.01):
    return [bool(v > threshold) for v in mu.var(dim=0)]


def variance_of_everything(mu, threshold=0.01):
    return mu.var() > threshold


def in_place_centring(mu, threshold=0.01):
    mu -= mu.mean(dim=0)
    return mu.pow(2).mean(dim=0) > threshold


def not_implemented_units(mu, threshold=0.01):
    raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_UNITS = {
    variance_over_wrong_axis: r"expected \(6,\)",
    std_instead_of_variance: "as active; over these inputs its posterior mean has variance",
    counts_inactive: "exactly the inactive dimensions",
    mean_instead_of_variance: "posterior means around",
    second_moment: "posterior means around -2",
    float_fraction: "single number",
    count_not_mask: "single number",
    float_mask: "torch.bool",
    python_list: "should return a torch.Tensor",
    variance_of_everything: "single number",
    not_implemented_units: "not implemented yet",
    hard_coded_threshold: "threshold argument seems to be ignored",
    in_place_centring: "changed its input",
}


@pytest.mark.parametrize("fn", CORRECT_UNITS, ids=lambda f: f.__name__)
def test_correct_active_units_pass(fn, capsys):
    check_active_units_value(fn)
    check_active_units_threshold(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG_UNITS, ids=lambda f: f.__name__)
def test_wrong_active_units_fail_the_visible_check(fn):
    with pytest.raises(CheckFailed, match=WRONG_UNITS[fn]):
        check_active_units_value(fn)


@pytest.mark.parametrize("fn", WRONG_UNITS, ids=lambda f: f.__name__)
def test_wrong_active_units_fail_the_hidden_check(fn):
    with pytest.raises(CheckFailed, match=WRONG_UNITS[fn]):
        check_active_units_threshold(fn)


# --- how the checks behave as a whole -----------------------------------------------------
ALL_CHECKS = [check_beta_vae_loss_value, check_beta_vae_loss_properties,
              check_active_units_value, check_active_units_threshold]
