"""vae_helpers.estimators: per-sample gradient estimates, their summaries, SGD, and the figures."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
import torch

from vae_helpers import estimators


def reparameterize(mu, logvar):
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def test_pathwise_gradient_gives_one_exact_slope_per_sample():
    torch.manual_seed(0)
    mu, logvar = torch.tensor(1.5), torch.tensor(-0.7)
    linear = estimators.pathwise_gradient(lambda z: 3 * z, mu, logvar, 50, reparameterize)
    assert linear.shape == (50,) and torch.allclose(linear, torch.full((50,), 3.0))
    square = estimators.pathwise_gradient(lambda z: z ** 2, mu, logvar, 100_000, reparameterize)
    sigma = math.exp(-0.35)
    assert abs(square.mean().item() - 2 * 1.5) < 5 * 2 * sigma / math.sqrt(100_000)
    assert abs(square.std().item() - 2 * sigma) < 0.02


def test_pathwise_gradient_leaves_the_callers_tensors_alone():
    mu = torch.tensor(0.3, requires_grad=True)
    logvar = torch.tensor(0.0, requires_grad=True)
    estimators.pathwise_gradient(lambda z: z ** 2, mu, logvar, 10, reparameterize)
    assert mu.grad is None and logvar.grad is None


def test_summarize():
    s = estimators.summarize(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert s.n == 4 and s.mean == pytest.approx(2.5)
    assert s.std == pytest.approx(math.sqrt(5 / 3)) and s.variance == pytest.approx(5 / 3)
    assert s.stderr == pytest.approx(math.sqrt(5 / 3) / 2)
    assert str(s).startswith("mean 2.500 ± 0.645")


def test_spread_of_average_falls_like_one_over_root_k():
    torch.manual_seed(0)
    values = 2 * torch.randn(400_000)
    sizes = [1, 4, 16, 64]
    spread = estimators.spread_of_average(values, sizes)
    assert spread.shape == (4,)
    expected = torch.tensor([2 / math.sqrt(k) for k in sizes], dtype=torch.float64)
    assert torch.allclose(spread, expected, rtol=0.05)
    assert torch.equal(estimators.spread_of_average(torch.ones(100), [1, 10]), torch.zeros(2, dtype=torch.float64))


def test_sgd_on_mu_with_the_exact_gradient_decays_geometrically():
    path = estimators.sgd_on_mu(lambda mu, k: 2 * mu.expand(k), mu0=3.0, steps=20, lr=0.05, n_samples=4)
    assert path.shape == (21,)
    assert torch.allclose(path, 3.0 * 0.9 ** torch.arange(21, dtype=torch.float32), rtol=1e-5)


def test_sgd_on_mu_averages_the_samples_of_a_step():
    calls = []

    def estimator(mu, n):
        calls.append(n)
        return torch.tensor([0.0, 2.0, 4.0])  # mean 2

    path = estimators.sgd_on_mu(estimator, mu0=1.0, steps=2, lr=0.5, n_samples=3)
    assert calls == [3, 3] and torch.allclose(path, torch.tensor([1.0, 0.0, -1.0]))


def test_figures():
    torch.manual_seed(0)
    figures = [
        estimators.plot_frozen_noise(),
        estimators.plot_samples_vs_density(torch.randn(1000, 2), torch.zeros(2), torch.ones(2)),
        estimators.plot_estimates({"a": torch.randn(1000), "b": 3 * torch.randn(1000)}, exact=0.0),
        estimators.plot_spread([1, 2, 4], {"a": torch.tensor([1.0, 0.7, 0.5])}),
        estimators.plot_paths({"a": torch.linspace(3, 0, 50)}, target=0.0),
        estimators.plot_variance_ratio([0.0, 1.0], [3.9, 7.4], [3.75, 7.5]),
    ]
    assert all(isinstance(f, plt.Figure) for f in figures)
    assert len(figures[0].axes) == 2 and len(figures[0].axes[1].lines) == 5 + 1
    plt.close("all")
