"""Reference losses. Convention: every loss is summed over the batch.

Summing (not averaging) over the batch keeps each loss an honest sum of
per-image terms; :func:`vae_helpers.training.fit` divides by the number of
images when it reports figures, so histories read "per image".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import IMAGE_PIXELS


def squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||x - x_hat||^2 summed over pixels and batch -> scalar."""
    return (x_hat - x.reshape(x_hat.shape)).pow(2).sum()


def bce(recon_x: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of pixel probabilities, summed over pixels and batch -> scalar."""
    return F.binary_cross_entropy(recon_x, x.reshape(-1, IMAGE_PIXELS), reduction="sum")


def bce_with_logits(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The same BCE computed from pre-sigmoid logits (fused and numerically stable) -> scalar."""
    return F.binary_cross_entropy_with_logits(logits, x.reshape(-1, IMAGE_PIXELS), reduction="sum")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per example: (B, d) -> (B,).

    Closed form: -1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2).
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)


def free_bits_kl(mu: torch.Tensor, logvar: torch.Tensor, free_nats: float) -> torch.Tensor:
    """The KL with a floor of ``free_nats`` per latent dimension ("free bits"), summed over the batch -> scalar.

    mu, logvar: (B, d). Each dimension's KL is averaged over the batch, raised to at least
    ``free_nats``, and the floored values are summed over dimensions and multiplied by B:
    B * sum_j max(free_nats, mean_b KL_bj) (Kingma et al., 2016, "Improved variational inference
    with inverse autoregressive flow"). Below the floor a dimension's KL has no gradient,
    so the first ``free_nats`` of each dimension cost nothing. ``free_nats = 0`` gives the plain
    summed KL.
    """
    per_dimension = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(dim=0)  # (d,): batch average
    return len(mu) * torch.clamp(per_dimension, min=free_nats).sum()


def beta_elbo_terms(model: torch.nn.Module, x: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
    """Loss terms of a :class:`~vae_helpers.models.VAE` on a batch x (B, 784).

    Returns ``{"loss": recon + beta * kl, "recon": BCE, "kl": KL}``, each summed
    over the batch. Uses the decoder's logits, so it computes
    ``BCE(sigmoid(logits)) + KL`` in one fused, stable kernel.
    """
    mu, logvar = model.encode(x)
    logits = model.decode_logits(model.reparameterize(mu, logvar))
    recon = bce_with_logits(logits, x)
    kl = gaussian_kl(mu, logvar).sum()
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def autoencoder_terms(model: torch.nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Squared-error loss of an autoencoder on a batch x (B, 784), summed over the batch."""
    loss = squared_error(model(x), x)
    return {"loss": loss}
