"""Tests for the reference models (vae_helpers.models) and losses (vae_helpers.losses)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from vae_helpers.losses import (autoencoder_terms, bce, bce_with_logits, beta_elbo_terms, free_bits_kl,
                                gaussian_kl, squared_error)
from vae_helpers.models import VAE, Autoencoder


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


def hand_bce(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    p, x = p.double(), x.double()
    return -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum()


def hand_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per example, through torch.distributions."""
    q = Normal(mu.double(), torch.exp(0.5 * logvar.double()))
    p = Normal(torch.zeros_like(mu, dtype=torch.float64), torch.ones_like(mu, dtype=torch.float64))
    return kl_divergence(q, p).sum(dim=-1)


# --- models ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 784), (5, 1, 28, 28)])
def test_autoencoder_shapes(shape):
    model = Autoencoder(latent_dim=3)
    x = torch.rand(shape)
    z = model.encode(x)
    assert z.shape == (5, 3)
    assert model.decode(z).shape == (5, 784)
    x_hat = model(x)
    assert x_hat.shape == (5, 784)
    assert ((x_hat > 0) & (x_hat < 1)).all()


def test_autoencoder_accepts_images_and_flat_rows_alike():
    model = Autoencoder(hidden_dim=16, latent_dim=2)
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(model(x), model(x.reshape(4, 784)))


def test_autoencoder_layers_and_defaults():
    model = Autoencoder()
    assert model.latent_dim == 8
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes["fc1.weight"] == (400, 784)
    assert shapes["fc2.weight"] == (8, 400)
    assert shapes["fc3.weight"] == (400, 8)
    assert shapes["fc4.weight"] == (784, 400)


def test_autoencoder_forward_is_the_mlp_by_hand():
    model = Autoencoder(hidden_dim=16, latent_dim=2)
    x = torch.rand(3, 784)
    m = model
    h = torch.relu(x @ m.fc1.weight.T + m.fc1.bias)
    z = h @ m.fc2.weight.T + m.fc2.bias
    out = torch.sigmoid(torch.relu(z @ m.fc3.weight.T + m.fc3.bias) @ m.fc4.weight.T + m.fc4.bias)
    torch.testing.assert_close(model.encode(x), z)
    torch.testing.assert_close(model(x), out)


@pytest.mark.parametrize("model_cls", [Autoencoder, VAE])
def test_decode_is_sigmoid_of_decode_logits(model_cls):
    model = model_cls(latent_dim=4)
    z = torch.randn(6, 4) * 3
    logits = model.decode_logits(z)
    assert logits.shape == (6, 784)
    torch.testing.assert_close(model.decode(z), 1 / (1 + torch.exp(-logits)))
    assert logits.min() < 0 < logits.max()  # genuinely logits, not already probabilities


@pytest.mark.parametrize("latent_dim", [2, 8, 20])
def test_vae_layers(latent_dim):
    model = VAE(latent_dim=latent_dim)
    assert model.latent_dim == latent_dim
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {
        "fc1.weight": (400, 784), "fc1.bias": (400,),
        "fc_mu.weight": (latent_dim, 400), "fc_mu.bias": (latent_dim,),
        "fc_logvar.weight": (latent_dim, 400), "fc_logvar.bias": (latent_dim,),
        "fc3.weight": (400, latent_dim), "fc3.bias": (400,),
        "fc4.weight": (784, 400), "fc4.bias": (784,),
    }


@pytest.mark.parametrize("shape", [(7, 784), (7, 1, 28, 28)])
def test_vae_shapes(shape):
    model = VAE(latent_dim=5)
    x = torch.rand(shape)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (7, 5)
    recon, mu2, logvar2 = model(x)
    assert recon.shape == (7, 784)
    assert ((recon > 0) & (recon < 1)).all()
    torch.testing.assert_close(mu2, mu)
    torch.testing.assert_close(logvar2, logvar)


def test_vae_encode_by_hand():
    model = VAE(hidden_dim=400, latent_dim=3)
    x = torch.rand(2, 784)
    h = torch.relu(x @ model.fc1.weight.T + model.fc1.bias)
    mu, logvar = model.encode(x)
    torch.testing.assert_close(mu, h @ model.fc_mu.weight.T + model.fc_mu.bias)
    torch.testing.assert_close(logvar, h @ model.fc_logvar.weight.T + model.fc_logvar.bias)


def test_vae_forward_decodes_a_sample_near_mu():
    model = VAE(latent_dim=3)
    x = torch.rand(4, 784)
    with torch.no_grad():
        model.fc_logvar.bias.fill_(-30.0)  # sigma ~ 3e-7: the sample is mu
        model.fc_logvar.weight.zero_()
        recon, mu, _ = model(x)
    torch.testing.assert_close(recon, model.decode(mu))


# --- reparameterize -------------------------------------------------------------------------------


def test_reparameterize_statistics():
    n = 20_000
    mu = torch.tensor([-1.0, 0.5, 2.0, 0.0])
    logvar = torch.tensor([0.0, -1.0, 1.5, -4.0])
    sigma = torch.exp(0.5 * logvar)
    z = VAE.reparameterize(mu.expand(n, 4), logvar.expand(n, 4))
    assert z.shape == (n, 4)
    mean_se = sigma / math.sqrt(n)
    std_se = sigma / math.sqrt(2 * (n - 1))
    assert ((z.mean(dim=0) - mu).abs() < 5 * mean_se).all(), (z.mean(dim=0), mu)
    assert ((z.std(dim=0) - sigma).abs() < 5 * std_se).all(), (z.std(dim=0), sigma)
    # and roughly Gaussian: about 68 % within one sigma (binomial standard error ~0.0033)
    within = ((z - mu).abs() < sigma).float().mean(dim=0)
    assert ((within - 0.6827).abs() < 5 * math.sqrt(0.6827 * 0.3173 / n)).all(), within


def test_reparameterize_draws_fresh_noise():
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    assert not torch.equal(VAE.reparameterize(mu, logvar), VAE.reparameterize(mu, logvar))


def test_reparameterize_gradients():
    mu = torch.randn(6, 3, requires_grad=True)
    logvar = torch.randn(6, 3, requires_grad=True)
    z = VAE.reparameterize(mu, logvar)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, (z.detach() - mu.detach()) / 2)


# --- losses ---------------------------------------------------------------------------------------


def test_squared_error_by_hand():
    x = torch.rand(4, 1, 28, 28)
    x_hat = torch.rand(4, 784)
    expected = sum(((x_hat[i].double() - x[i].double().flatten()) ** 2).sum() for i in range(4))
    out = squared_error(x_hat, x)
    assert out.dim() == 0
    assert out.item() == pytest.approx(expected.item(), rel=1e-5)
    assert squared_error(x_hat, x_hat).item() == 0.0


def test_bce_by_hand():
    p = torch.rand(5, 784) * 0.98 + 0.01
    x = torch.rand(5, 784)
    out = bce(p, x)
    assert out.dim() == 0
    assert out.item() == pytest.approx(hand_bce(p, x).item(), rel=1e-5)
    # images may come as (B, 1, 28, 28)
    assert bce(p, x.reshape(5, 1, 28, 28)).item() == pytest.approx(out.item(), rel=1e-6)


def test_bce_is_summed_over_the_batch():
    p = torch.rand(6, 784) * 0.98 + 0.01
    x = (torch.rand(6, 784) > 0.5).float()
    total = bce(p, x)
    parts = bce(p[:2], x[:2]) + bce(p[2:], x[2:])
    assert total.item() == pytest.approx(parts.item(), rel=1e-5)


def test_bce_with_logits_matches_bce_of_sigmoid():
    logits = torch.randn(5, 784) * 3
    x = torch.rand(5, 1, 28, 28)
    out = bce_with_logits(logits, x)
    assert out.dim() == 0
    assert out.item() == pytest.approx(bce(torch.sigmoid(logits), x).item(), rel=1e-5)
    assert out.item() == pytest.approx(hand_bce(torch.sigmoid(logits.double()), x.reshape(5, 784)).item(), rel=1e-5)


def test_bce_with_logits_is_stable_for_extreme_logits():
    logits = torch.full((1, 784), -200.0)
    x = torch.ones(1, 784)
    # -log(sigmoid(-200)) = 200 + log(1 + e^-200) = 200 per pixel
    assert bce_with_logits(logits, x).item() == pytest.approx(200.0 * 784, rel=1e-6)


@pytest.mark.parametrize("shape", [(5, 3), (2, 8), (1, 1)])
def test_gaussian_kl_matches_torch_distributions(shape):
    mu = torch.randn(shape) * 2
    logvar = torch.randn(shape)
    out = gaussian_kl(mu, logvar)
    assert out.shape == shape[:1]
    torch.testing.assert_close(out.double(), hand_kl(mu, logvar), rtol=1e-5, atol=1e-5)


def test_gaussian_kl_zero_at_the_prior_and_non_negative():
    torch.testing.assert_close(gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3)), torch.zeros(4))
    mu = torch.randn(1000, 6) * 3
    logvar = torch.randn(1000, 6) * 3
    kl = gaussian_kl(mu, logvar)
    assert (kl >= 0).all()
    assert (kl > 0).all()  # only exactly zero at the prior


def test_free_bits_kl_floors_each_dimensions_batch_average():
    """B * sum_j max(lambda, mean_b KL_bj), against torch.distributions, on dimensions above and below the floor."""
    mu = torch.tensor([[2.0, 0.1, 0.0], [1.0, -0.1, 0.05]])
    logvar = torch.tensor([[0.0, 0.0, -0.01], [-1.0, 0.0, 0.0]])
    per_dimension = torch.stack([hand_kl(mu[:, j:j + 1], logvar[:, j:j + 1]) for j in range(3)], dim=1).mean(0)
    assert per_dimension[0] > 0.5 > per_dimension[1] and per_dimension[2] < 0.5  # one above, two below
    out = free_bits_kl(mu, logvar, free_nats=0.5)
    assert out.dim() == 0
    assert out.item() == pytest.approx(2 * (per_dimension[0].item() + 0.5 + 0.5), rel=1e-5)


def test_free_bits_kl_without_a_floor_is_the_summed_kl():
    mu, logvar = torch.randn(7, 4), torch.randn(7, 4)
    assert free_bits_kl(mu, logvar, 0.0).item() == pytest.approx(gaussian_kl(mu, logvar).sum().item(), rel=1e-5)


def test_free_bits_kl_has_no_gradient_below_the_floor():
    """A dimension whose batch-average KL is under the floor gets no gradient; one above it gets the KL's."""
    mu = torch.tensor([[3.0, 0.1], [2.0, 0.0]], requires_grad=True)
    logvar = torch.zeros(2, 2, requires_grad=True)
    free_bits_kl(mu, logvar, free_nats=1.0).backward()
    assert torch.all(mu.grad[:, 1] == 0) and torch.all(logvar.grad[:, 1] == 0)
    torch.testing.assert_close(mu.grad[:, 0], mu.detach()[:, 0])  # d/dmu of (B * mean_b mu^2 / 2) = mu


# --- composite loss terms -------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [1.0, 0.25, 4.0, 0.0])
def test_beta_elbo_terms_against_independent_computation(beta):
    model = VAE(hidden_dim=32, latent_dim=4)
    with torch.no_grad():  # move q(z|x) well away from the prior so the KL term is not negligible
        model.fc_mu.bias.copy_(torch.tensor([2.0, -3.0, 1.0, 0.5]))
        model.fc_logvar.bias.fill_(-1.0)
    x = (torch.rand(6, 784) > 0.6).float()

    torch.manual_seed(123)
    terms = beta_elbo_terms(model, x, beta=beta)

    torch.manual_seed(123)  # the same noise, drawn by hand
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = model.decode_logits(z).double()
    recon = -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits)).sum()
    kl = hand_kl(mu, logvar).sum()

    assert set(terms) == {"loss", "recon", "kl"}
    assert all(t.dim() == 0 for t in terms.values())
    assert terms["recon"].item() == pytest.approx(recon.item(), rel=1e-5)
    assert terms["kl"].item() == pytest.approx(kl.item(), rel=1e-5)
    assert terms["loss"].item() == pytest.approx((recon + beta * kl).item(), rel=1e-5)
    assert kl.item() > 20
    assert (terms["loss"] - terms["recon"]).item() == pytest.approx(beta * kl.item(), rel=1e-3, abs=1e-2)
    # the seed's formulation: BCE of the decoded probabilities plus beta * KL
    seed_bce = F.binary_cross_entropy(model.decode(z), x, reduction="sum")
    assert terms["recon"].item() == pytest.approx(seed_bce.item(), rel=1e-4)


def test_beta_elbo_terms_gradients_match_the_hand_computation():
    model = VAE(hidden_dim=16, latent_dim=3)
    with torch.no_grad():
        model.fc_mu.bias.fill_(1.5)
    x = torch.rand(4, 784)
    beta = 2.5

    torch.manual_seed(7)
    model.zero_grad()
    beta_elbo_terms(model, x, beta=beta)["loss"].backward()
    got = {name: p.grad.clone() for name, p in model.named_parameters()}

    torch.manual_seed(7)
    model.zero_grad()
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    p = torch.sigmoid(model.decode_logits(z))
    recon = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum()
    kl = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).sum()
    (recon + beta * kl).backward()
    for name, param in model.named_parameters():
        torch.testing.assert_close(got[name], param.grad, rtol=1e-4, atol=1e-4, msg=name)


def test_beta_elbo_terms_backpropagates_into_every_layer():
    model = VAE(hidden_dim=16, latent_dim=2)
    beta_elbo_terms(model, torch.rand(3, 784))["loss"].backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_autoencoder_terms_by_hand():
    model = Autoencoder(hidden_dim=16, latent_dim=2)
    x = torch.rand(4, 784)
    terms = autoencoder_terms(model, x)
    assert set(terms) == {"loss"}
    expected = ((model(x).double() - x.double()) ** 2).sum()
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-5)
