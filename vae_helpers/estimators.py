"""Gradients of an expectation from samples: the experiments and figures of notebook 02.

The quantity is the gradient of ``E_{z ~ N(mu, sigma^2)}[f(z)]`` with respect to ``mu``
(``sigma = exp(logvar / 2)``). An *estimator* returns one estimate per sample, a
tensor ``(n_samples,)``; their average is the Monte Carlo estimate and their spread
says how many samples that estimate needs.

- :func:`pathwise_gradient` differentiates ``f(reparameterize(mu, logvar))`` with
  autograd (the reparameterization trick), one sample per copy of ``mu``.
- :func:`summarize` and :func:`spread_of_average` measure a pile of estimates.
- :func:`sgd_on_mu` runs gradient descent on ``mu`` driven by any estimator.
- The ``plot_*`` functions draw the notebook's figures and return the Figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch

Function = Callable[[torch.Tensor], torch.Tensor]
Estimator = Callable[[torch.Tensor, int], torch.Tensor]


def pathwise_gradient(f: Function, mu: torch.Tensor, logvar: torch.Tensor, n_samples: int,
                      reparameterize: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Per-sample reparameterized estimates of d/dmu E[f(z)]: 0-dim mu, logvar -> (n_samples,).

    Each sample gets its own copy of ``mu``, so the gradient of ``sum_i f(z_i)`` with
    respect to the copies holds one estimate ``f'(z_i) * dz_i/dmu`` per sample.
    """
    mu_copies = mu.detach().expand(n_samples).clone().requires_grad_(True)
    logvar_copies = logvar.detach().expand(n_samples).clone()
    z = reparameterize(mu_copies, logvar_copies)
    (grad,) = torch.autograd.grad(f(z).sum(), mu_copies)
    return grad


@dataclass
class Summary:
    """Mean and spread of n per-sample estimates."""

    mean: float
    std: float
    n: int

    @property
    def variance(self) -> float:
        return self.std ** 2

    @property
    def stderr(self) -> float:
        """Standard error of the mean: how far the average of n estimates typically is from its expectation."""
        return self.std / math.sqrt(self.n)

    def __str__(self) -> str:
        return f"mean {self.mean:.3f} ± {self.stderr:.3f} (standard error), variance {self.variance:.2f}"


def summarize(estimates: torch.Tensor) -> Summary:
    """Mean, standard deviation and count of estimates (n,)."""
    values = estimates.detach().double()
    return Summary(float(values.mean()), float(values.std()), values.numel())


def spread_of_average(estimates: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """Standard deviation of the average of k estimates, for each k in ``sizes`` -> (len(sizes),).

    Measured, not computed from a formula: the estimates (n,) are cut into n // k
    disjoint groups of k and the spread of the group averages is taken.
    """
    values = estimates.detach().double()
    spreads = []
    for k in sizes:
        groups = values[: len(values) // k * k].reshape(-1, k)
        spreads.append(groups.mean(dim=1).std())
    return torch.stack(spreads)


def sgd_on_mu(estimator: Estimator, mu0: float, steps: int, lr: float, n_samples: int) -> torch.Tensor:
    """Gradient descent on mu, each step driven by the average of n_samples estimates -> (steps + 1,) path.

    ``estimator(mu, n_samples)`` returns per-sample estimates (n_samples,) of the gradient at mu.
    """
    mu = torch.tensor(float(mu0))
    path = [mu.clone()]
    for _ in range(steps):
        mu = mu - lr * estimator(mu, n_samples).detach().mean()
        path.append(mu.clone())
    return torch.stack(path)


# --- figures -------------------------------------------------------------------------------
def _normal_pdf(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def plot_frozen_noise(mu_range: tuple[float, float] = (-2.0, 2.0), sigma: float = 0.5, n_lines: int = 5,
                      seed: int = 0) -> plt.Figure:
    """z as a function of mu: a fresh sample for every mu (left) versus z = mu + sigma * eps with eps frozen (right)."""
    generator = torch.Generator().manual_seed(seed)
    mus = torch.linspace(*mu_range, 200)
    fresh = mus + sigma * torch.randn(len(mus), generator=generator)
    frozen = torch.randn(n_lines, generator=generator)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    axes[0].plot(mus.numpy(), fresh.numpy(), ".", ms=3, color="tab:red")
    axes[0].set_title("a fresh sample z ~ N(mu, sigma²) for each mu")
    for eps in frozen:
        axes[1].plot(mus.numpy(), (mus + sigma * eps).numpy(), label=f"ε = {float(eps):+.2f}")
    axes[1].set_title("z = mu + sigma · ε, with ε drawn once and frozen")
    axes[1].legend(fontsize=8, loc="upper left")
    for ax in axes:
        ax.set_xlabel("mu")
        ax.plot(mus.numpy(), mus.numpy(), "k--", lw=0.8)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("z")
    fig.tight_layout()
    return fig


def plot_samples_vs_density(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor,
                            title: str = "samples and the Gaussian they should follow") -> plt.Figure:
    """Histogram of each column of z (n, k) against the density of N(mu[j], sigma[j]^2)."""
    z = z.detach().double().cpu()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for j in range(z.shape[1]):
        m, s = float(mu[j]), float(sigma[j])
        color = f"C{j}"
        ax.hist(z[:, j].numpy(), bins=60, density=True, alpha=0.45, color=color,
                label=f"mu = {m:g}, sigma = {s:.2g}")
        grid = torch.linspace(m - 4 * s, m + 4 * s, 200, dtype=torch.float64)
        ax.plot(grid.numpy(), _normal_pdf(grid, m, s).numpy(), color=color, lw=1.5)
    ax.set_xlabel("z")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_estimates(estimates: dict[str, torch.Tensor], exact: float, quantile: float = 0.005,
                   title: str = "one-sample gradient estimates") -> plt.Figure:
    """Histograms of several estimators' per-sample estimates (n,) on shared bins, with the exact gradient.

    The bins span the central 1 - 2 * quantile of all estimates, so rare extreme values
    do not squash the picture (the means marked are of all estimates).
    """
    pooled = torch.cat([e.detach().double().flatten() for e in estimates.values()])
    low, high = (float(q) for q in torch.quantile(pooled[:1_000_000], torch.tensor([quantile, 1 - quantile],
                                                                                      dtype=torch.float64)))
    bins = torch.linspace(low, high, 81).numpy()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for j, (name, values) in enumerate(estimates.items()):
        values = values.detach().double()
        ax.hist(values.clamp(low, high).numpy(), bins=bins, density=True, alpha=0.5, color=f"C{j}",
                label=f"{name}: mean {float(values.mean()):.2f}, std {float(values.std()):.1f}")
    ax.axvline(exact, color="k", lw=1.5, label=f"exact gradient {exact:g}")
    ax.set_xlabel("estimate of d/dmu E[f(z)]  (values beyond the edges are piled into the edge bins)")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_spread(sizes: Sequence[int], spreads: dict[str, torch.Tensor],
                title: str = "spread of the averaged gradient estimate") -> plt.Figure:
    """Log-log plot of the measured std of a k-sample average against k, one line per estimator."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ks = torch.tensor(list(sizes), dtype=torch.float64)
    for j, (name, spread) in enumerate(spreads.items()):
        ax.loglog(ks.numpy(), spread.numpy(), "o-", color=f"C{j}", label=name)
        ax.loglog(ks.numpy(), (spread[0] * (ks[0] / ks).sqrt()).numpy(), ":", color=f"C{j}", lw=1)
    ax.set_xlabel("samples averaged, k")
    ax.set_ylabel("std of the k-sample estimate")
    ax.set_title(title + "\n(dotted: 1/√k from the first point)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_paths(paths: dict[str, torch.Tensor], target: float, ylabel: str = "mu",
               title: str = "gradient descent driven by noisy gradient estimates") -> plt.Figure:
    """Parameter value against step for several runs (steps + 1,), with the optimum as a dashed line."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for j, (name, path) in enumerate(paths.items()):
        ax.plot(path.detach().numpy(), color=f"C{j}", label=name, lw=1.2)
    ax.axhline(target, color="k", ls="--", lw=1, label="optimum")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_variance_ratio(mus: Sequence[float], measured: Sequence[float], theory: Sequence[float],
                        title: str = "how much noisier the score-function estimate is") -> plt.Figure:
    """Measured variance ratio (score function / pathwise) against mu, on a log scale, with the exact curve."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.semilogy(list(mus), list(theory), "-", color="0.5", label="exact")
    ax.semilogy(list(mus), list(measured), "o", color="C1", label="measured")
    ax.set_xlabel("mu  (sigma = 1)")
    ax.set_ylabel("variance ratio")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    return fig
