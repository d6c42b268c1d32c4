"""Tests for vae_helpers.gaussians: the KL grid behind the leash figure and the figures of notebook 03."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # headless, before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_helpers.gaussians import (kl_grid, normal_pdf, plot_against_prior, plot_kl_leash,  # noqa: E402
                                   plot_mc_convergence)
from vae_helpers.losses import gaussian_kl  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_normal_pdf_is_a_normalised_gaussian_density():
    z = np.linspace(-12, 14, 20001)
    density = normal_pdf(z, mu=1.0, sigma=2.0)
    assert np.trapezoid(density, z) == pytest.approx(1.0, abs=1e-6)
    assert np.trapezoid(z * density, z) == pytest.approx(1.0, abs=1e-5)
    assert density.max() == pytest.approx(1 / (2.0 * math.sqrt(2 * math.pi)), rel=1e-6)


def test_kl_grid_rows_are_sigmas_and_columns_are_means():
    mus, sigmas = torch.tensor([-1.0, 0.0, 2.0]), torch.tensor([0.5, 1.0])
    grid = kl_grid(gaussian_kl, mus, sigmas)
    assert grid.shape == (2, 3)
    for i, sigma in enumerate(sigmas.tolist()):
        for j, mu in enumerate(mus.tolist()):
            expected = 0.5 * (mu ** 2 + sigma ** 2 - 1 - math.log(sigma ** 2))
            assert grid[i, j].item() == pytest.approx(expected, abs=1e-5)
    assert grid[1, 1].item() == pytest.approx(0.0, abs=1e-7)


def test_kl_grid_passes_one_latent_dimension_and_no_gradient():
    seen = {}

    def spy(mu, logvar):
        seen.update(shape=tuple(mu.shape), grad=torch.is_grad_enabled())
        return gaussian_kl(mu, logvar)

    kl_grid(spy, torch.linspace(-1, 1, 4), torch.linspace(0.5, 2, 5))
    assert seen == {"shape": (20, 1), "grad": False}


def test_plot_against_prior_draws_one_panel_per_cloud():
    fig = plot_against_prior([(0.0, 1.0), (2.0, 0.5)], ["a", "b"])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    assert "N(2, 0.5²)" in fig.axes[1].get_title() and "b" in fig.axes[1].get_title()


def test_plot_kl_leash_shows_the_map_and_the_two_slices_of_the_given_function():
    fig = plot_kl_leash(gaussian_kl, sigma_min=0.05)
    assert isinstance(fig, Figure)
    ax_map, ax_sigma, ax_mu, _colorbar = fig.axes  # the colorbar gets an axes of its own, last
    assert ax_map.get_yscale() == "log" and ax_sigma.get_xscale() == "log"
    sigma, kl = ax_sigma.lines[0].get_data()
    assert sigma.min() == pytest.approx(0.05, rel=1e-4)
    np.testing.assert_allclose(kl, 0.5 * (sigma ** 2 - 1) - np.log(sigma), atol=1e-5)
    mu, kl = ax_mu.lines[0].get_data()
    np.testing.assert_allclose(kl, 0.5 * mu ** 2, atol=1e-5)


def test_plot_kl_leash_uses_the_students_function():
    fig = plot_kl_leash(lambda mu, logvar: 2 * gaussian_kl(mu, logvar))
    mu, kl = fig.axes[2].lines[0].get_data()
    np.testing.assert_allclose(kl, mu ** 2, atol=1e-5)


def test_plot_mc_convergence_plots_the_rms_error_and_the_law():
    ns = [1, 10, 100]
    g = torch.Generator().manual_seed(0)
    estimates = 3.0 + torch.randn(3, 500, generator=g) / torch.tensor(ns, dtype=torch.float32).sqrt()[:, None]
    fig = plot_mc_convergence(ns, estimates, exact=3.0, sd_one_draw=1.0)
    assert isinstance(fig, Figure)
    _, ax_err = fig.axes
    n, rms = ax_err.lines[0].get_data()
    np.testing.assert_array_equal(n, ns)
    np.testing.assert_allclose(rms, 1 / np.sqrt(ns), rtol=0.1)
    np.testing.assert_allclose(ax_err.lines[1].get_data()[1], 1 / np.sqrt(ns))
