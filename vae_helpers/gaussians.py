"""Figures for notebook 03: a Gaussian q measured against the standard normal prior.

Each plotting function returns its matplotlib Figure. The KL is always
KL(q || p) with q = N(mu, sigma^2) per latent dimension and p = N(0, 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import PowerNorm

KLFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def normal_pdf(z: np.ndarray, mu: float = 0.0, sigma: float = 1.0) -> np.ndarray:
    """Density of N(mu, sigma^2) at the points z."""
    return np.exp(-0.5 * ((z - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def plot_against_prior(qs: Sequence[tuple[float, float]], labels: Sequence[str]) -> plt.Figure:
    """One panel per q = N(mu, sigma^2) in ``qs`` (pairs (mu, sigma)), drawn over the prior N(0, 1)."""
    z = np.linspace(-5, 5, 801)
    fig, axes = plt.subplots(1, len(qs), figsize=(3.2 * len(qs), 2.8), squeeze=False)
    for ax, (mu, sigma), label in zip(axes[0], qs, labels):
        ax.fill_between(z, normal_pdf(z), color="0.8", label="prior p = N(0, 1)")
        ax.plot(z, normal_pdf(z, mu, sigma), color="C3", lw=2, label="encoder's q")
        ax.set_title(f"q = N({mu:g}, {sigma:g}²)\n{label}", fontsize=10)
        ax.set_xlabel("z")
    axes[0, 0].set_ylabel("density")
    axes[0, 0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def kl_grid(kl_fn: KLFunction, mus: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """KL of the 1-D q = N(mu, sigma^2) to N(0, 1) on a grid: (len(sigmas), len(mus)).

    ``kl_fn(mu, logvar)`` takes (B, 1) tensors and returns (B,), like the notebook's ``kl_divergence``.
    """
    sigma, mu = torch.meshgrid(sigmas, mus, indexing="ij")
    with torch.no_grad():
        kl = kl_fn(mu.reshape(-1, 1), (2 * sigma.log()).reshape(-1, 1))
    return kl.reshape(sigma.shape).double()


def plot_kl_leash(kl_fn: KLFunction, mu_max: float = 3.0, sigma_min: float = 0.01,
                  sigma_max: float = 3.0) -> plt.Figure:
    """The KL of a 1-D q to the prior as a map over (mu, sigma), and its two slices through the prior.

    Left: KL(mu, sigma) with labelled contours (sigma on a log axis). Middle: mu = 0, KL against sigma
    with its two parts, sigma^2/2 - 1/2 (too wide) and -log sigma (too narrow). Right: sigma = 1,
    KL against mu next to mu^2/2.
    """
    mus = torch.linspace(-mu_max, mu_max, 241, dtype=torch.float64)
    sigmas = torch.logspace(math.log10(sigma_min), math.log10(sigma_max), 240, dtype=torch.float64)
    grid = kl_grid(kl_fn, mus.float(), sigmas.float()).numpy()
    m, s = mus.numpy(), sigmas.numpy()
    fig, (ax_map, ax_sigma, ax_mu) = plt.subplots(1, 3, figsize=(14, 4), gridspec_kw={"width_ratios": [1.25, 1, 1]})

    mesh = ax_map.pcolormesh(m, s, grid, shading="auto", cmap="magma_r",
                             norm=PowerNorm(gamma=0.5, vmin=0.0, vmax=float(grid.max())))
    contours = ax_map.contour(m, s, grid, levels=[0.1, 0.5, 1, 2, 4], colors="k", linewidths=0.8)
    ax_map.clabel(contours, fmt="%g", fontsize=8)
    ax_map.plot([0], [1], marker="*", color="C0", markersize=14, label="q = prior: KL = 0")
    ax_map.set(yscale="log", xlabel="mean μ", ylabel="standard deviation σ", title="KL(q || p) over (μ, σ)")
    ax_map.legend(loc="lower right", fontsize=8)
    fig.colorbar(mesh, ax=ax_map, label="KL (nats)")

    at_prior_mean = kl_grid(kl_fn, torch.zeros(1), sigmas.float())[:, 0].numpy()
    ax_sigma.plot(s, at_prior_mean, color="k", lw=2.5, label="KL at μ = 0")
    ax_sigma.plot(s, 0.5 * s ** 2 - 0.5, "--", color="C1", label="σ²/2 − 1/2: too wide")
    ax_sigma.plot(s, -np.log(s), "--", color="C0", label="−log σ: too sure")
    ax_sigma.set(xscale="log", ylim=(-1.5, 5.5), xlabel="standard deviation σ (log scale)", ylabel="nats",
                 title="collapsing to a point costs without bound")

    at_prior_width = kl_grid(kl_fn, mus.float(), torch.ones(1))[0].numpy()
    ax_mu.plot(m, at_prior_width, color="k", lw=2.5, label="KL at σ = 1")
    ax_mu.plot(m, 0.5 * m ** 2, "--", color="C2", label="μ²/2")
    ax_mu.set(xlabel="mean μ", ylabel="nats", title="straying from the origin costs μ²/2")
    for ax in (ax_sigma, ax_mu):
        ax.axhline(0, color="0.6", lw=0.8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_mc_convergence(ns: Sequence[int], estimates: torch.Tensor, exact: float, sd_one_draw: float) -> plt.Figure:
    """Monte Carlo KL estimates next to the closed form, and their error against the number of draws.

    ``estimates`` is (len(ns), R): R independent estimates for each number of draws n.
    Left: the estimates scattered around the closed form, with the band exact +- 2 s_f / sqrt(n),
    where s_f = ``sd_one_draw``. Right: the root-mean-square error on log-log axes beside s_f / sqrt(n).
    """
    n = np.asarray(ns, dtype=float)
    est = estimates.detach().double().cpu().numpy()
    rms = np.sqrt(((est - exact) ** 2).mean(axis=1))
    fig, (ax_est, ax_err) = plt.subplots(1, 2, figsize=(11, 3.8))

    jitter = np.exp(np.random.default_rng(0).uniform(-0.12, 0.12, est.shape))
    ax_est.scatter((n[:, None] * jitter).ravel(), est.ravel(), s=4, alpha=0.25, color="C0",
                   label="Monte Carlo estimates")
    ax_est.fill_between(n, exact - 2 * sd_one_draw / np.sqrt(n), exact + 2 * sd_one_draw / np.sqrt(n),
                        color="C1", alpha=0.2, label=r"closed form ± 2 $s_f/\sqrt{n}$")
    ax_est.axhline(exact, color="C3", lw=2, label=f"closed form = {exact:.3f}")
    ax_est.set(xscale="log", xlabel="number of draws n", ylabel="KL estimate (nats)",
               title="estimates against the closed form")
    ax_est.legend(fontsize=8)

    ax_err.loglog(n, rms, "o-", color="C0", label="RMS error of the estimates")
    ax_err.loglog(n, sd_one_draw / np.sqrt(n), "--", color="C1", label=r"$s_f/\sqrt{n}$")
    ax_err.set(xlabel="number of draws n", ylabel="RMS error (nats)", title="error shrinks like 1/√n")
    ax_err.grid(alpha=0.3, which="both")
    ax_err.legend(fontsize=8)
    fig.tight_layout()
    return fig
