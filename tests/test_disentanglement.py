"""KL per dimension, active units and the mutual information gap on cases with known answers; the figures."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pytest
import torch

from vae_helpers import disentanglement as D
from vae_helpers.losses import gaussian_kl


def test_kl_per_dimension_adds_up_to_the_rate():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(50, 4, generator=g), torch.randn(50, 4, generator=g)
    per_dim = D.kl_per_dimension(mu, logvar)
    assert per_dim.shape == (4,)
    assert torch.allclose(per_dim.sum(), gaussian_kl(mu, logvar).mean())
    assert (per_dim >= 0).all()


def test_kl_per_dimension_is_zero_for_the_prior_and_known_for_a_shift():
    mu, logvar = torch.zeros(10, 3), torch.zeros(10, 3)
    mu[:, 1] = 2.0
    assert torch.allclose(D.kl_per_dimension(mu, logvar), torch.tensor([0.0, 2.0, 0.0]))


def test_active_units_thresholds_the_variance_of_the_means():
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(1000, 4, generator=g) * torch.tensor([1.0, 0.2, 0.05, 0.0]) + torch.tensor([0, 0, 5.0, 1.0])
    assert D.active_units(mu).tolist() == [True, True, False, False]
    assert D.active_units(mu, threshold=0.1).tolist() == [True, False, False, False]
    assert D.active_units(mu).dtype == torch.bool


def test_discretize_uses_equal_width_bins_over_each_column():
    values = torch.tensor([[0.0, 10.0], [0.5, 10.0], [1.0, 10.0]])
    codes = D.discretize(values, bins=4)
    assert codes[:, 0].tolist() == [0, 2, 3]
    assert codes[:, 1].tolist() == [0, 0, 0]  # a constant column falls into one bin
    assert codes.dtype == torch.int64


def _factors(n=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(4, (n,), generator=g), torch.randint(8, (n,), generator=g)], dim=1)


def test_a_perfectly_disentangled_code_scores_one():
    factors = _factors()
    noise = 0.01 * torch.randn(len(factors), generator=torch.Generator().manual_seed(1))
    # latent 0 <- factor 0, latent 1 knows nothing, latent 2 <- factor 1 (flipped and scaled)
    mu = torch.stack([factors[:, 0].float() + noise, noise, -0.3 * factors[:, 1].float()], dim=1)
    nmi = D.factor_mutual_information(mu, factors, bins=20)
    assert nmi.shape == (3, 2) and nmi.dtype == torch.float64
    assert nmi[0, 0] > 0.99 and nmi[2, 1] > 0.99
    assert nmi[1].max() < 0.02 and nmi[0, 1] < 0.02 and nmi[2, 0] < 0.02
    gap = D.mutual_information_gap(mu, factors, bins=20)
    assert gap.shape == (2,) and (gap > 0.97).all()


def test_an_entangled_code_scores_low():
    factors = _factors().float()
    a, b = factors[:, 0] / 3, factors[:, 1] / 7
    mu = torch.stack([a + b, a - b], dim=1)  # every latent mixes both factors
    assert D.mutual_information_gap(mu, factors.long()).mean() < 0.3
    duplicated = torch.stack([a, a, b], dim=1)  # factor 0 captured twice: no gap
    assert D.mutual_information_gap(duplicated, factors.long())[0] < 0.01


def test_mutual_information_is_in_nats_and_normalised_by_the_entropy():
    factors = torch.arange(8).repeat(100).unsqueeze(1)  # uniform over 8 values: H = log 8
    mu = factors.float() // 2  # knows the factor up to pairs: I = log 4
    nmi = D.factor_mutual_information(mu, factors, bins=4)
    assert math.isclose(float(nmi[0, 0]), math.log(4) / math.log(8), rel_tol=1e-6)


def test_scores_do_not_depend_on_the_order_or_scale_of_the_latents():
    factors = _factors()
    g = torch.Generator().manual_seed(2)
    mu = torch.cat([factors.float() + 0.1 * torch.randn(len(factors), 2, generator=g),
                    torch.randn(len(factors), 1, generator=g)], dim=1)
    shuffled = (mu[:, [2, 0, 1]] * torch.tensor([3.0, -0.5, 10.0])) + 7
    assert torch.allclose(D.mutual_information_gap(mu, factors), D.mutual_information_gap(shuffled, factors))


@pytest.mark.parametrize("make", [
    lambda: D.plot_rate_distortion([1, 2], [10.0, 5.0], [100.0, 120.0]),
    lambda: D.plot_mean_variance_and_kl({"a": (torch.rand(4) + 1e-3, torch.rand(4) + 1e-3)}),
    lambda: D.plot_kl_per_dimension({"a": torch.rand(5), "b": torch.rand(5)},
                                    active={"a": torch.rand(5) > 0.5, "b": torch.rand(5) > 0.5}),
    lambda: D.plot_kl_per_dimension({"a": torch.rand(5)}),
    lambda: D.plot_factor_mutual_information({"a": torch.rand(6, 4).double()}, ["s", "z", "x", "y"]),
    lambda: D.plot_scores_per_seed({"a": [0.1, 0.2, 0.3], "b": [0.5]}),
])
def test_figures_draw(make):
    fig = make()
    assert isinstance(fig, plt.Figure)
    plt.close(fig)


def test_scores_per_seed_draw_one_dot_per_run_and_the_mean():
    scores = {"β = 1": [0.05, 0.02, 0.08, 0.04, 0.06], "β = 8": [0.3, 0.1, 0.45, 0.2, 0.25]}
    fig = D.plot_scores_per_seed(scores, seeds=[3, 4, 5, 6, 7])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts if not t.get_text().startswith("mean")] == ["3", "4", "5", "6", "7"] * 2
    for column, (collection, values) in enumerate(zip(ax.collections[::2], scores.values())):
        dots = collection.get_offsets()
        assert len(dots) == len(values)
        assert sorted(dots[:, 1].tolist()) == sorted(values)
        assert (abs(dots[:, 0] - column) < 0.5).all(), "each label's dots sit in its own column"
    means = [c for c in ax.collections[1::2]]
    assert [float(m.get_segments()[0][0, 1]) for m in means] == pytest.approx([0.05, 0.26])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(scores)
    plt.close(fig)


def test_compare_over_seeds_against_a_hand_count():
    low, high = [0.05, 0.05, 0.07, 0.21, 0.05], [0.22, 0.17, 0.27, 0.26, 0.30]
    c = D.compare_over_seeds(low, high)
    assert c["pairs"] == 25 and c["wins"] == 24  # only 0.17 < 0.21 loses
    assert c["difference"] == pytest.approx(0.244 - 0.086)
    se = math.sqrt(statistics_var(low) / 5 + statistics_var(high) / 5)
    assert c["standard_error"] == pytest.approx(se)
    assert c["in_standard_errors"] == pytest.approx((0.244 - 0.086) / se)
    # within: |differences| of the 10 pairs in each setting (hand-counted: 0.68 and 0.62), averaged over 20
    assert c["within"] == pytest.approx((0.68 + 0.62) / 20)


def statistics_var(values):
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def test_compare_over_seeds_counts_ties_as_halves_and_sees_direction():
    c = D.compare_over_seeds([1.0, 2.0], [2.0, 0.0])
    assert c["pairs"] == 4 and c["wins"] == 1.5  # 2 > 1 wins, 2 = 2 ties, 0 loses twice
    assert c["difference"] == pytest.approx(-0.5) and c["in_standard_errors"] < 0
    assert c["within"] == pytest.approx(1.5)  # |1 - 2| and |2 - 0|


def test_compare_over_seeds_needs_two_seeds_each():
    with pytest.raises(ValueError, match="at least two"):
        D.compare_over_seeds([0.1], [0.2, 0.3])
