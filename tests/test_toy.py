"""vae_helpers.toy: the linear-Gaussian model's closed forms agree with numerical integration over z."""

from __future__ import annotations

import math

import pytest
import torch

from vae_helpers import toy

MODELS = [toy.LinearGaussian(), toy.LinearGaussian(a=2.0, s=0.5), toy.LinearGaussian(a=0.5, s=1.5)]
Z = torch.linspace(-12, 12, 48_001, dtype=torch.float64)  # a grid fine enough for the trapezoid rule


def integrate(values: torch.Tensor) -> torch.Tensor:
    """The trapezoid rule over the grid Z along the last dimension."""
    return torch.trapezoid(values, Z, dim=-1)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_log_marginal_is_the_integral_of_the_joint(model):
    x = torch.tensor([-3.0, -0.4, 0.0, 1.7, 4.0], dtype=torch.float64)
    joint = model.log_joint(x[:, None], Z).exp()  # (5, grid)
    assert torch.allclose(model.log_marginal(x), integrate(joint).log(), atol=1e-8)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_posterior_is_the_normalised_joint(model):
    x = torch.tensor([-2.5, 0.3, 3.0], dtype=torch.float64)
    density = (model.log_joint(x[:, None], Z) - model.log_marginal(x)[:, None]).exp()
    assert torch.allclose(integrate(density), torch.ones(3, dtype=torch.float64), atol=1e-8)
    mean, var = model.posterior(x)
    assert torch.allclose(integrate(Z * density), mean, atol=1e-8)
    assert torch.allclose(integrate((Z - mean[:, None]) ** 2 * density), var, atol=1e-8)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_elbo_and_kl_to_the_posterior_by_quadrature(model):
    x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    mu = torch.tensor([0.3, -0.2, 1.1], dtype=torch.float64)
    logvar = torch.tensor([-1.0, 0.4, -2.5], dtype=torch.float64)
    log_q = toy.log_normal(Z, mu[:, None], logvar.exp()[:, None])
    q = log_q.exp()
    elbo = integrate(q * (model.log_joint(x[:, None], Z) - log_q))
    assert torch.allclose(model.elbo(x, mu, logvar), elbo, atol=1e-7)
    log_post = model.log_joint(x[:, None], Z) - model.log_marginal(x)[:, None]
    kl = integrate(q * (log_q - log_post))
    assert torch.allclose(model.kl_to_posterior(x, mu, logvar), kl, atol=1e-7)
    # the identity of notebook 04, section 2.2: log p(x) = ELBO + KL(q || p(z|x))
    assert torch.allclose(model.log_marginal(x), model.elbo(x, mu, logvar) + model.kl_to_posterior(x, mu, logvar),
                          atol=1e-12)


def test_the_exact_posterior_has_zero_gap_and_constant_log_weights():
    model = toy.LinearGaussian()
    x = torch.tensor([2.0, -0.7], dtype=torch.float64)
    mean, var = model.posterior(x)
    assert torch.allclose(model.elbo(x, mean, var.log()), model.log_marginal(x), atol=1e-12)
    log_w = model.log_weights(x, mean, var.log(), k=50, seed=3)
    assert log_w.shape == (50, 2)
    assert torch.allclose(log_w, model.log_marginal(x).expand(50, 2), atol=1e-10)


def test_log_weights_average_to_the_elbo_and_their_mean_exp_to_p_x():
    model = toy.LinearGaussian()
    x, mu, logvar = (torch.tensor([v], dtype=torch.float64) for v in (1.5, 0.9, math.log(0.2)))
    log_w = model.log_weights(x, mu, logvar, k=200_000, seed=0)[:, 0]
    se = float(log_w.std()) / math.sqrt(len(log_w))
    assert abs(float(log_w.mean() - model.elbo(x, mu, logvar))) < 5 * se
    w = (log_w - model.log_marginal(x)).exp()  # importance weights over p(x): mean 1
    assert abs(float(w.mean()) - 1) < 5 * float(w.std()) / math.sqrt(len(w))


def test_sample_has_the_marginal_variance():
    model = toy.LinearGaussian()
    x = model.sample(100_000, seed=1)
    assert x.shape == (100_000,) and x.dtype == torch.float64
    assert abs(float(x.var()) / model.marginal_var - 1) < 0.02 and abs(float(x.mean())) < 0.02


def test_the_tanh_encoder_cannot_fit_every_x_and_one_point_optimisation_closes_the_gap():
    model = toy.LinearGaussian()
    data = model.sample(1000, seed=0)
    encoder = toy.fit_encoder(model, data)
    with torch.no_grad():
        gaps = model.log_marginal(data) - model.elbo(data, *encoder(data))
        x = torch.tensor([2.0], dtype=torch.float64)
        mu, logvar = encoder(x)
        gap = float(model.log_marginal(x) - model.elbo(x, mu, logvar))
    assert bool((gaps > 0).all()) and 0.1 < float(gaps.mean()) < 1.0
    longer = toy.fit_encoder(model, data, steps=1000)  # the text: training longer changes nothing
    with torch.no_grad():
        longer_gaps = model.log_marginal(data) - model.elbo(data, *longer(data))
    assert abs(float(longer_gaps.mean() - gaps.mean())) < 1e-4
    assert gap > 1.0, "an x in the tail gets a poor cloud from the shared encoder"
    _, _, trace = toy.fit_one_point(model, x[0], float(mu[0]), float(logvar[0]), steps=300)
    assert trace[-1] < 1e-3 and trace[-1] < trace[0]
