"""Tests for vae_helpers.samplers: each sampler draws from the distribution it names."""

from __future__ import annotations

import pytest
import torch

from vae_helpers import samplers


@pytest.fixture(scope="module")
def codes() -> torch.Tensor:
    """4,000 codes (4000, 3) from two well-separated, correlated clusters, far from the origin."""
    g = torch.Generator().manual_seed(0)
    mix = torch.tensor([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [0.0, 0.0, 0.3]])
    left = torch.randn(2000, 3, generator=g) @ mix + torch.tensor([10.0, 0.0, 0.0])
    right = torch.randn(2000, 3, generator=g) @ mix + torch.tensor([30.0, 5.0, 0.0])
    return torch.cat([left, right])


def test_standard_normal_is_seeded_and_standard():
    z = samplers.standard_normal(20000, 4, seed=3)
    assert z.shape == (20000, 4)
    assert torch.equal(z, samplers.standard_normal(20000, 4, seed=3))
    assert not torch.equal(z, samplers.standard_normal(20000, 4, seed=4))
    assert z.mean(dim=0).abs().max() < 0.05 and (z.std(dim=0) - 1).abs().max() < 0.05


def test_fitted_gaussian_matches_mean_and_full_covariance(codes):
    z = samplers.fitted_gaussian(codes, 20000, seed=1)
    assert z.shape == (20000, 3) and z.dtype == torch.float32
    assert torch.allclose(z.mean(dim=0), codes.mean(dim=0), atol=0.3)
    assert torch.allclose(torch.cov(z.T), torch.cov(codes.T), rtol=0.08, atol=0.3)
    # one Gaussian over two clusters puts mass in the empty middle; the codes have none there
    middle = lambda points: ((points[:, 0] - 20).abs() < 3).float().mean()  # noqa: E731
    assert middle(z) > 0.1 and middle(codes) < 0.01


def test_fitted_mixture_finds_the_clusters_and_shuffles(codes):
    z = samplers.fitted_mixture(codes, 4000, components=2, seed=0)
    assert z.shape == (4000, 3)
    left = z[:, 0] < 20
    assert 0.45 < left.float().mean() < 0.55, "both clusters, in proportion"
    assert left[:2000].float().mean() > 0.4 and left[2000:].float().mean() > 0.4, "draws are not grouped"
    assert ((z[:, 0] - 20).abs() < 3).float().mean() < 0.01, "no mass in the empty middle"
    assert torch.equal(z, samplers.fitted_mixture(codes, 4000, components=2, seed=0))


def test_uniform_in_box_stays_in_and_fills_the_box():
    codes = torch.randn(100, 3) * torch.tensor([1.0, 5.0, 0.1]) + torch.tensor([0.0, 10.0, -3.0])
    low, high = codes.min(dim=0).values, codes.max(dim=0).values
    n = 4000
    samples = samplers.uniform_in_box(codes, n, seed=3)
    assert samples.shape == (n, 3)
    assert (samples >= low).all() and (samples <= high).all()
    width = high - low
    assert ((samples.min(dim=0).values - low) < 0.01 * width).all()
    assert ((high - samples.max(dim=0).values) < 0.01 * width).all()
    # uniform: the mean is the centre within 5 standard errors (width / sqrt(12 n))
    se = width / (12 * n) ** 0.5
    assert ((samples.mean(dim=0) - (low + high) / 2).abs() < 5 * se).all()


def test_uniform_in_box_is_reproducible():
    codes = torch.randn(20, 4)
    torch.manual_seed(5)
    a = samplers.uniform_in_box(codes, 30, seed=1)
    torch.manual_seed(6)  # the global RNG does not matter
    b = samplers.uniform_in_box(codes, 30, seed=1)
    assert torch.equal(a, b)
    assert not torch.equal(a, samplers.uniform_in_box(codes, 30, seed=2))


def test_aggregate_posterior_draws_from_the_clouds():
    mu = torch.tensor([[-20.0, 0.0], [20.0, 0.0]])
    logvar = torch.log(torch.tensor([[0.01, 0.01], [4.0, 4.0]]))
    z = samplers.aggregate_posterior(mu, logvar, 20000, seed=0)
    left, right = z[z[:, 0] < 0], z[z[:, 0] >= 0]
    assert 0.45 < len(left) / len(z) < 0.55
    assert (left.std(dim=0) - 0.1).abs().max() < 0.01, "narrow cloud around (-20, 0)"
    assert (right.std(dim=0) - 2.0).abs().max() < 0.1, "wide cloud around (20, 0)"
    assert torch.equal(z, samplers.aggregate_posterior(mu, logvar, 20000, seed=0))


def test_pairs_have_different_labels_and_midpoints_are_halfway():
    labels = torch.tensor([0, 0, 0, 1, 2])
    pairs = samplers.different_label_pairs(labels, 500, seed=0)
    assert pairs.shape == (500, 2)
    assert (labels[pairs[:, 0]] != labels[pairs[:, 1]]).all()
    codes = torch.arange(10.0).reshape(5, 2)
    mid = samplers.midpoints(codes, torch.tensor([[0, 4], [1, 3]]))
    assert torch.equal(mid, torch.tensor([[4.0, 5.0], [4.0, 5.0]]))


def test_aggregate_kl_is_zero_on_the_prior_and_obeys_the_surgery_bound():
    from vae_helpers.metrics import aggregate_kl

    on_prior = aggregate_kl(torch.zeros(500, 3), torch.zeros(500, 3), n=4000)
    assert on_prior["mean_kl"] == pytest.approx(0.0, abs=1e-9)
    assert abs(on_prior["estimate"]) < 0.01 and on_prior["bound"] < 0
    # 64 narrow, disjoint clouds on a grid: q(z) is nothing like N(0, I), and I(x; z) = log 64
    # exactly, so the bound is tight (up to the Monte Carlo error of drawing which clouds)
    grid = torch.stack(torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij"), dim=-1).reshape(64, 2)
    far = aggregate_kl(3 * grid - 10.5, torch.full((64, 2), -4.0), n=8000)
    assert far["bound"] > 10 and far["estimate"] == pytest.approx(far["bound"], rel=0.05)
    # clouds that overlap into one wide blob: the bound is loose, the estimate stays non-negative
    wide = aggregate_kl(0.5 * torch.randn(200, 2, generator=torch.Generator().manual_seed(0)),
                        torch.zeros(200, 2), n=4000)
    assert wide["bound"] < 0 < wide["estimate"] < 0.5


def test_aggregate_kl_estimate_matches_a_single_gaussian():
    """One cloud N(m, s^2 I) has a closed-form KL to the prior; the Monte Carlo estimate must find it."""
    from vae_helpers.losses import gaussian_kl
    from vae_helpers.metrics import aggregate_kl

    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, -1.0]])
    result = aggregate_kl(mu, logvar, n=20000, seed=1)
    exact = gaussian_kl(mu, logvar).item()
    assert result["mean_kl"] == pytest.approx(exact, rel=1e-6) and result["bound"] == pytest.approx(exact)
    assert result["estimate"] == pytest.approx(exact, abs=0.05)


def test_over_seeds_averages_each_row_and_gives_the_spread_between_seeds():
    from vae_helpers.sample_quality import over_seeds

    runs = [{"a": dict(kid=k, kid_std=0.5, precision=p, recall=0.5), "b": dict(kid=1.0, kid_std=0.0, precision=1.0,
                                                                              recall=1.0)}
            for k, p in ((0.1, 0.2), (0.3, 0.4), (0.2, 0.9))]
    combined = over_seeds(runs)
    assert list(combined) == ["a", "b"]
    assert combined["a"]["kid"] == pytest.approx(0.2) and combined["a"]["kid_std"] == pytest.approx(0.1)
    assert combined["a"]["precision"] == pytest.approx(0.5) and combined["a"]["recall_std"] == pytest.approx(0.0)
    assert combined["b"] == dict(kid=1.0, kid_std=0.0, precision=1.0, precision_std=0.0, recall=1.0, recall_std=0.0)
    assert over_seeds(runs[:1])["a"]["kid_std"] == 0.0
    with pytest.raises(ValueError, match="same rows"):
        over_seeds([runs[0], {"a": runs[0]["a"]}])
