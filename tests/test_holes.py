"""Holes measured directly: distances to the nearest encoder cloud, and per-sample realism."""

from __future__ import annotations

import math

import pytest
import torch

from vae_helpers import metrics, sample_quality


def test_nearest_cloud_distance_against_a_direct_loop():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(37, 3, generator=g), torch.randn(37, 3, generator=g)
    z = 2 * torch.randn(11, 3, generator=g)
    direct = torch.stack([min(((zi - m) ** 2 / lv.exp()).sum().sqrt() for m, lv in zip(mu, logvar)) for zi in z])
    got = metrics.nearest_cloud_distance(z, mu, logvar, batch_size=5)
    assert got.shape == (11,) and torch.allclose(got, direct.float(), rtol=1e-5, atol=1e-5)


def test_nearest_cloud_distance_uses_each_clouds_own_width():
    mu = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    logvar = torch.tensor([[math.log(4.0)] * 2, [math.log(0.01)] * 2])  # sigma 2 at the origin, 0.1 at (3, 0)
    z = torch.tensor([[2.0, 0.0], [3.05, 0.0]])
    assert metrics.nearest_cloud_distance(z, mu, logvar).tolist() == pytest.approx([1.0, 0.5], abs=1e-5)


def test_draws_from_the_clouds_are_near_them():
    g = torch.Generator().manual_seed(1)
    mu, logvar = 5 * torch.randn(200, 8, generator=g), torch.full((200, 8), -3.0)
    z = mu + (0.5 * logvar).exp() * torch.randn(200, 8, generator=g)
    radius = metrics.cloud_radius(8)
    assert radius == pytest.approx(4.47, abs=0.03), "the 99 % quantile of a chi distribution with 8 dof"
    share_far = (metrics.nearest_cloud_distance(z, mu, logvar) > radius).float().mean().item()
    assert share_far < 0.05


def test_realistic_is_per_sample_precision():
    g = torch.Generator().manual_seed(2)
    reference, samples = torch.randn(300, 5, generator=g), torch.randn(200, 5, generator=g)
    samples[:50] += 10  # far from every reference point
    inside = sample_quality.realistic(reference, samples, chunk=64)
    assert inside.dtype == torch.bool and inside.shape == (200,)
    assert not inside[:50].any()
    precision, _ = sample_quality.precision_recall(reference, samples)
    assert inside.float().mean().item() == pytest.approx(precision)
