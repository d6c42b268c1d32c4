"""A latent-variable model where everything is known: the linear-Gaussian model of notebook 04, section 2.5.

    z ~ N(0, 1),        x | z ~ N(a z, s^2)          (one latent number, one observed number)

Its marginal and its posterior are Gaussian, in closed form:

    p(x)     = N(x; 0, a^2 + s^2),
    p(z | x) = N(z; a x / (a^2 + s^2), s^2 / (a^2 + s^2)).

For a Gaussian q(z | x) = N(mu, exp(logvar)) the ELBO and KL(q(z | x) || p(z | x)) are closed
forms too, so every estimate of the notebook can be set beside the truth. All values are in nats;
every function broadcasts: ``x``, ``mu``, ``logvar`` of one common shape (for example (B,)) give
that shape back. Computations run in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

LOG_2PI = math.log(2 * math.pi)


def log_normal(x: torch.Tensor, mean: torch.Tensor | float, var: torch.Tensor | float) -> torch.Tensor:
    """log N(x; mean, var) elementwise (broadcasting) -> the broadcast shape."""
    var = torch.as_tensor(var, dtype=torch.float64)
    return -0.5 * (LOG_2PI + var.log() + (x - mean) ** 2 / var)


def gaussian_kl(mu: torch.Tensor, var: torch.Tensor, mean: torch.Tensor, target_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, var) || N(mean, target_var)) elementwise -> the broadcast shape."""
    return 0.5 * ((target_var / var).log() + (var + (mu - mean) ** 2) / target_var - 1.0)


@dataclass(frozen=True)
class LinearGaussian:
    """The model z ~ N(0, 1), x | z ~ N(a z, s^2), with its exact marginal and posterior."""

    a: float = 1.0
    s: float = 0.3

    @property
    def marginal_var(self) -> float:
        """Var(x) = a^2 + s^2."""
        return self.a ** 2 + self.s ** 2

    def log_marginal(self, x: torch.Tensor) -> torch.Tensor:
        """The exact log p(x) = log N(x; 0, a^2 + s^2): x of any shape -> the same shape."""
        return log_normal(torch.as_tensor(x, dtype=torch.float64), 0.0, self.marginal_var)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact posterior p(z | x) = N(mean, var): x of any shape -> (mean, var) of that shape."""
        x = torch.as_tensor(x, dtype=torch.float64)
        return self.a * x / self.marginal_var, torch.full_like(x, self.s ** 2 / self.marginal_var)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x, z) = log N(z; 0, 1) + log N(x; a z, s^2), broadcasting x and z -> their common shape."""
        return log_normal(z, 0.0, 1.0) + log_normal(x, self.a * z, self.s ** 2)

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n draws of x from the model (z drawn and dropped): -> (n,) float64."""
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, generator=g, dtype=torch.float64)
        return self.a * z + self.s * torch.randn(n, generator=g, dtype=torch.float64)

    def elbo(self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """The exact ELBO of q(z | x) = N(mu, exp(logvar)): E_q[log p(x | z)] - KL(q || p(z)), broadcasting.

        E_q[log N(x; a z, s^2)] = log N(x; a mu, s^2) - a^2 var / (2 s^2), and the KL to N(0, 1) is
        notebook 03's closed form.
        """
        var = logvar.exp()
        expected_log_lik = log_normal(x, self.a * mu, self.s ** 2) - self.a ** 2 * var / (2 * self.s ** 2)
        return expected_log_lik - gaussian_kl(mu, var, torch.zeros_like(mu), torch.ones_like(mu))

    def kl_to_posterior(self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(q(z | x) || p(z | x)) for q = N(mu, exp(logvar)), exactly, broadcasting."""
        mean, var = self.posterior(x)
        return gaussian_kl(mu, logvar.exp(), mean, var)

    def log_weights(self, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, k: int,
                    seed: int = 0) -> torch.Tensor:
        """log p(x, z_k) - log q(z_k | x) for k draws z_k ~ q = N(mu, exp(logvar)): x, mu, logvar (B,) -> (k, B)."""
        g = torch.Generator().manual_seed(seed)
        z = mu + (0.5 * logvar).exp() * torch.randn((k, *mu.shape), generator=g, dtype=torch.float64)
        return self.log_joint(x, z) - log_normal(z, mu, logvar.exp())


class TanhEncoder(nn.Module):
    """An amortized encoder too simple for the job: q(z | x) = N(w tanh(x) + b, exp(c)), one (w, b, c) for every x.

    Its mean follows a tanh of x, which flattens out where the exact posterior mean
    a x / (a^2 + s^2) keeps rising as a straight line, so no setting of (w, b, c) is right for
    every x. x (B,) -> (mu, logvar), each (B,) float64.
    """

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
        self.b = nn.Parameter(torch.tensor(0.0, dtype=torch.float64))
        self.c = nn.Parameter(torch.tensor(0.0, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,) -> (mu, logvar), each (B,)."""
        return self.w * torch.tanh(x) + self.b, self.c * torch.ones_like(x)


def fit_encoder(model: LinearGaussian, x: torch.Tensor, steps: int = 300, lr: float = 0.05) -> TanhEncoder:
    """A TanhEncoder fitted by Adam to maximise the mean exact ELBO over the data x (N,)."""
    encoder = TanhEncoder()
    optimizer = torch.optim.Adam(encoder.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = -model.elbo(x, *encoder(x)).mean()
        loss.backward()
        optimizer.step()
    return encoder


def fit_one_point(model: LinearGaussian, x: torch.Tensor, mu: float, logvar: float, steps: int = 300,
                  lr: float = 0.05) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
    """Optimise a free (mu, logvar) for the one data point x by Adam on its exact ELBO, from (mu, logvar).

    Returns the final mu and logvar (0-dim tensors) and the ELBO gap log p(x) - ELBO after every step.
    """
    mu_t = torch.tensor(float(mu), dtype=torch.float64, requires_grad=True)
    logvar_t = torch.tensor(float(logvar), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([mu_t, logvar_t], lr=lr)
    log_px, gaps = model.log_marginal(x), []
    for _ in range(steps):
        optimizer.zero_grad()
        elbo = model.elbo(x, mu_t, logvar_t)
        (-elbo).backward()
        optimizer.step()
        gaps.append(float(log_px - model.elbo(x, mu_t, logvar_t).detach()))
    return mu_t.detach(), logvar_t.detach(), gaps
