"""How likely a VAE finds binary images: the ELBO and an importance-weighted estimate of log p(x).

For a VAE with prior p(z) = N(0, I), encoder q(z|x) = N(mu, diag(exp(logvar))) and a
Bernoulli decoder p(x|z) (pixel k is 1 with probability decode(z)_k):

- the **ELBO** ``E_q[log p(x|z)] - KL(q(z|x) || p(z))`` is a lower bound on log p(x);
- the **importance-weighted** estimate with K samples z_1..z_K ~ q(z|x),
  ``log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)``, is a tighter lower bound (in
  expectation) that rises towards log p(x) as K grows (Burda et al., 2016).

Both are only log-probabilities when the pixels are binary (0 or 1), hence
:func:`binarize`. All values are in nats, one per image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)


def binarize(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Binary images (N, 784): each pixel is 1 with probability equal to its grey level (fixed seed)."""
    g = torch.Generator(device=x.device).manual_seed(seed)
    return torch.bernoulli(x, generator=g)


def log_bernoulli(model: nn.Module, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log p(x|z) of binary images x (..., D) under the decoder at codes z (..., d) -> (...), broadcasting."""
    if hasattr(model, "decode_logits"):
        logits, x = torch.broadcast_tensors(model.decode_logits(z), x)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    probs = model.decode(z).clamp(1e-6, 1 - 1e-6)
    return (x * probs.log() + (1 - x) * (1 - probs).log()).sum(-1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over the last dimension -> (...)."""
    return -0.5 * ((z - mu) ** 2 / logvar.exp() + logvar + LOG_2PI).sum(-1)


def _draw(mu: torch.Tensor, logvar: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """k samples of q(z|x) for each row: (B, d) -> (k, B, d)."""
    eps = torch.randn((k, *mu.shape), generator=generator, device="cpu").to(mu.device)
    return mu + (0.5 * logvar).exp() * eps


@torch.no_grad()
def elbo(model: nn.Module, x: torch.Tensor, samples: int = 1, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """ELBO of each binary image x (N, D) -> (N,): Monte Carlo reconstruction term, closed-form KL."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for xb in x.split(batch_size):
        mu, logvar = model.encode(xb)
        recon = log_bernoulli(model, _draw(mu, logvar, samples, g), xb).mean(0)
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(-1)
        out.append(recon - kl)
    return torch.cat(out)


@torch.no_grad()
def log_importance_weights(model: nn.Module, x: torch.Tensor, k: int = 100, seed: int = 0,
                           batch_size: int = 100) -> torch.Tensor:
    """Log-weights log p(x, z_k) - log q(z_k|x) of k draws z_k ~ q(z|x) for each binary image x (N, D) -> (k, N).

    ``log p(x, z) = log p(x|z) + log N(z; 0, I)`` with the decoder's Bernoulli log-likelihood. The
    importance-weighted estimate of log p(x) is the log of their mean over the k draws
    (:func:`importance_weighted_log_likelihood`, or notebook 04's ``iw_bound``).
    """
    g = torch.Generator().manual_seed(seed)
    out = []
    for xb in x.split(batch_size):
        mu, logvar = model.encode(xb)
        z = _draw(mu, logvar, k, g)  # (k, B, d)
        out.append(log_bernoulli(model, z, xb) + log_normal(z, torch.zeros_like(z), torch.zeros_like(z))
                   - log_normal(z, mu, logvar))
    return torch.cat(out, dim=1)


def importance_weighted_log_likelihood(model: nn.Module, x: torch.Tensor, k: int = 100, seed: int = 0,
                                       batch_size: int = 100) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) for each binary image x (N, D) with k samples -> (N,)."""
    log_w = log_importance_weights(model, x, k=k, seed=seed, batch_size=batch_size)
    return torch.logsumexp(log_w, dim=0) - math.log(k)
