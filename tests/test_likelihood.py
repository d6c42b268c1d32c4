"""Tests for vae_helpers.likelihood against log p(x) computed exactly by quadrature.

With a 1-dimensional latent space, log p(x) = log of the integral of p(x|z) N(z; 0, 1) dz can be
computed on a fine grid, so the ELBO and the importance-weighted estimate can be checked
against the truth, not just against each other.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from vae_helpers import likelihood
from vae_helpers.models import VAE


@pytest.fixture(scope="module")
def tiny():
    """A random VAE with 6 pixels and a 1-D latent space, and 8 binary images."""
    torch.manual_seed(0)
    model = VAE(input_dim=6, hidden_dim=16, latent_dim=1).double().eval()
    with torch.no_grad():
        model.fc4.weight.mul_(6.0)  # a decoder that depends strongly on z: a peaked posterior
        model.fc3.weight.mul_(3.0)
    x = likelihood.binarize(torch.rand(8, 6, generator=torch.Generator().manual_seed(1)).double(), seed=2)
    return model, x


def exact_log_likelihood(model, x):
    """log p(x) by the trapezoid rule over z in [-10, 10]."""
    z = torch.linspace(-10, 10, 20001, dtype=torch.float64).unsqueeze(1)  # (G, 1)
    with torch.no_grad():
        log_joint = likelihood.log_bernoulli(model, z.unsqueeze(1), x) + Normal(0.0, 1.0).log_prob(z)  # (G, N)
    dz = z[1, 0] - z[0, 0]
    return torch.logsumexp(log_joint, dim=0) + math.log(dz)


def test_binarize_gives_repeatable_binary_pixels_with_the_grey_levels_as_probabilities():
    x = torch.full((200, 784), 0.3)
    b = likelihood.binarize(x, seed=0)
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    assert abs(b.mean().item() - 0.3) < 0.01
    assert torch.equal(b, likelihood.binarize(x, seed=0)) and not torch.equal(b, likelihood.binarize(x, seed=1))


def test_log_normal_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    z, mu, logvar = (torch.randn(5, 3, generator=g) for _ in range(3))
    expected = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    assert torch.allclose(likelihood.log_normal(z, mu, logvar), expected, atol=1e-5)


def test_log_bernoulli_from_logits_and_from_probabilities_agree(tiny):
    model, x = tiny

    class ProbabilitiesOnly(torch.nn.Module):  # a student's VAE has decode but no decode_logits
        def decode(self, z):
            return model.decode(z)

    z = torch.randn(4, 8, 1, dtype=torch.float64)
    with torch.no_grad():
        a = likelihood.log_bernoulli(model, z, x)
        b = likelihood.log_bernoulli(ProbabilitiesOnly(), z, x)
    assert a.shape == (4, 8) and torch.allclose(a, b, atol=1e-4)


def test_the_importance_weighted_estimate_converges_to_the_exact_log_likelihood(tiny):
    model, x = tiny
    exact = exact_log_likelihood(model, x)
    estimate = likelihood.importance_weighted_log_likelihood(model, x, k=20000, seed=0)
    assert estimate.shape == (8,)
    assert torch.allclose(estimate, exact, atol=0.02)


def test_the_bounds_are_ordered_elbo_then_importance_weighted_then_log_likelihood(tiny):
    model, x = tiny
    exact = exact_log_likelihood(model, x)
    elbo = likelihood.elbo(model, x, samples=20000, seed=0)
    # each image many times, to average over the estimates' noise (which shrinks as k grows)
    iw = [likelihood.importance_weighted_log_likelihood(model, x.repeat(repeats, 1), k=k, seed=1,
                                                        batch_size=4000).mean()
          for k, repeats in ((1, 2000), (10, 300), (100, 50))]
    assert (elbo < exact).all(), "the ELBO is a lower bound"
    assert abs(iw[0] - elbo.mean()) < 0.1, "with one sample the estimate is the ELBO on average"
    assert iw[0] < iw[1] < iw[2] < exact.mean() + 0.02
    assert (exact - elbo).mean() > 0.1, "the test model's encoder is not the exact posterior"


def test_elbo_matches_its_definition_and_is_seeded(tiny):
    model, x = tiny
    with torch.no_grad():
        mu, logvar = model.encode(x)
        g = torch.Generator().manual_seed(3)
        z = mu + (0.5 * logvar).exp() * torch.randn((50, *mu.shape), generator=g).double()
        recon = likelihood.log_bernoulli(model, z, x).mean(0)
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(-1)
    assert torch.allclose(likelihood.elbo(model, x, samples=50, seed=3), recon - kl, atol=1e-6)
    assert torch.equal(likelihood.elbo(model, x, samples=5, seed=4), likelihood.elbo(model, x, samples=5, seed=4))


def test_batching_does_not_change_the_answer(tiny):
    model, x = tiny
    whole = likelihood.importance_weighted_log_likelihood(model, x, k=50, seed=5, batch_size=100)
    again = likelihood.importance_weighted_log_likelihood(model, x, k=50, seed=5, batch_size=100)
    assert torch.equal(whole, again)
    chunked = likelihood.elbo(model, x, samples=1, seed=0, batch_size=3)
    assert chunked.shape == (8,) and torch.isfinite(chunked).all()


def test_log_importance_weights_are_what_the_estimate_averages(tiny):
    model, x = tiny
    log_w = likelihood.log_importance_weights(model, x, k=40, seed=6, batch_size=3)
    assert log_w.shape == (40, 8)
    assert torch.allclose(torch.logsumexp(log_w, dim=0) - math.log(40),
                          likelihood.importance_weighted_log_likelihood(model, x, k=40, seed=6, batch_size=3))
    with torch.no_grad():  # the weights of the first image, computed from their definition
        mu, logvar = model.encode(x[:1])
        z = mu + (0.5 * logvar).exp() * torch.randn(40, 1, 1, generator=torch.Generator().manual_seed(6)).double()
        q = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
        expected = likelihood.log_bernoulli(model, z, x[:1]) + Normal(0.0, 1.0).log_prob(z).sum(-1) - q
    first = likelihood.log_importance_weights(model, x[:1], k=40, seed=6)  # the same draws as above
    assert torch.allclose(first, expected, atol=1e-10)
