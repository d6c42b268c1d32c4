"""Tests for vae_helpers.metrics (latent-space numbers) and vae_helpers.plotting (figures)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless, before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_helpers.metrics import (empty_space_fraction, interpolate, nearest_distance,  # noqa: E402
                                 nearest_other_distance, path_step_ratio, pca_2d)
from vae_helpers.plotting import (image_grid, plot_histograms, plot_history, plot_latent_scatter, plot_traversal,  # noqa: E402
                                  plot_manifold, show_images, show_reconstructions, show_rows, show_strip)
from vae_helpers.training import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    torch.manual_seed(0)
    yield
    plt.close("all")


def top2_variance(x: np.ndarray) -> float:
    """Variance of the best 2-D linear projection, from the covariance eigenvalues (NumPy)."""
    eig = np.linalg.eigvalsh(np.cov(x, rowvar=False))
    return float(np.sort(eig)[-2:].sum())


# --- pca_2d ---------------------------------------------------------------------------------------


def planted(n: int = 500, d: int = 6, noise: float = 0.05):
    g = torch.Generator().manual_seed(1)
    latent = torch.randn(n, 2, generator=g) * torch.tensor([3.0, 2.0])
    basis, _ = torch.linalg.qr(torch.randn(d, 2, generator=g))
    codes = latent @ basis.T + noise * torch.randn(n, d, generator=g) + 5.0
    return codes, latent


def test_pca_2d_shape_and_centring():
    codes, _ = planted()
    xy = pca_2d(codes)
    assert xy.shape == (len(codes), 2)
    assert xy.mean(dim=0).abs().max() < 1e-4


def test_pca_2d_recovers_a_planted_plane():
    codes, latent = planted()
    xy = pca_2d(codes)
    captured = xy.double().var(dim=0).sum().item()
    total = codes.double().var(dim=0).sum().item()
    assert captured > 0.99 * total
    assert captured == pytest.approx(top2_variance(codes.numpy().astype(np.float64)), rel=1e-3)
    # the projection is the planted coordinates up to a rotation/reflection: a linear fit explains them
    design = torch.cat([xy.double(), torch.ones(len(xy), 1, dtype=torch.float64)], dim=1)
    target = latent.double()
    coef = torch.linalg.lstsq(design, target).solution
    residual = (design @ coef - target).pow(2).sum() / (target - target.mean(0)).pow(2).sum()
    assert residual < 1e-3


def test_pca_2d_finds_the_principal_plane_of_a_flat_spectrum():
    # no dominant plane: a randomized low-rank approximation drifts here; true PCA must not
    g = torch.Generator().manual_seed(2)
    rotation, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    codes = (torch.randn(2000, 8, generator=g) * torch.linspace(1.0, 0.5, 8)) @ rotation
    xy = pca_2d(codes).double()
    assert xy.var(dim=0).sum().item() == pytest.approx(top2_variance(codes.numpy().astype(np.float64)), rel=1e-3)
    assert xy.var(dim=0)[0] >= xy.var(dim=0)[1]  # first axis is the first principal component
    cov = torch.cov(xy.T)
    assert abs(cov[0, 1].item()) < 1e-3 * cov[0, 0].item()  # uncorrelated axes


def test_pca_2d_is_deterministic():
    codes, _ = planted(d=5)
    torch.manual_seed(1)
    first = pca_2d(codes)
    torch.manual_seed(2)
    torch.testing.assert_close(pca_2d(codes), first)


def test_pca_2d_of_2d_codes_only_centres():
    codes = torch.randn(50, 2) * 3 + torch.tensor([4.0, -1.0])
    torch.testing.assert_close(pca_2d(codes), codes - codes.mean(dim=0))


# --- nearest_distance and empty_space_fraction ----------------------------------------------------


def brute_nearest(points: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
    p, r = points.double().numpy(), reference.double().numpy()
    return np.array([np.sqrt(((r - row) ** 2).sum(axis=1)).min() for row in p])


def test_nearest_distance_matches_brute_force():
    points = torch.randn(57, 5) * 2
    reference = torch.randn(40, 5) * 2
    out = nearest_distance(points, reference, batch_size=8)  # several chunks, last one partial
    assert out.shape == (57,)
    np.testing.assert_allclose(out.double().numpy(), brute_nearest(points, reference), rtol=1e-4, atol=1e-4)


def test_nearest_distance_is_zero_for_reference_points():
    reference = torch.randn(30, 3)
    out = nearest_distance(reference[:10], reference)
    assert out.abs().max() < 1e-3


def test_nearest_other_distance_skips_each_code_itself():
    codes = torch.randn(45, 3)
    codes[44] = codes[3]  # a duplicate: its nearest other code is at distance 0
    c = codes.double().numpy()
    dist = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    out = nearest_other_distance(codes)
    np.testing.assert_allclose(out.double().numpy(), dist.min(axis=1), rtol=1e-4, atol=1e-4)
    assert out[3] < 1e-3 and out[44] < 1e-3 and out[:3].min() > 1e-3


def brute_empty_fraction(samples: torch.Tensor, codes: torch.Tensor, quantile: float) -> float:
    c = codes.double().numpy()
    dist = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    threshold = np.quantile(dist.min(axis=1), quantile)
    return float((brute_nearest(samples, codes) > threshold).mean())


def test_empty_space_fraction_extremes():
    codes = torch.randn(200, 2)
    assert empty_space_fraction(codes.clone(), codes) < 0.02
    assert empty_space_fraction(codes + 100.0, codes) == 1.0
    half = torch.cat([codes[:50], codes[:50] + 100.0])
    assert empty_space_fraction(half, codes) == pytest.approx(0.5)


@pytest.mark.parametrize("quantile", [0.5, 0.9, 0.99])
def test_empty_space_fraction_matches_brute_force(quantile):
    codes = torch.randn(150, 3)
    low, high = codes.min(dim=0).values, codes.max(dim=0).values
    samples = low + (high - low) * torch.rand(300, 3, generator=torch.Generator().manual_seed(4))  # the codes' box
    expected = brute_empty_fraction(samples, codes, quantile)
    assert 0.0 < expected < 1.0  # a non-trivial case
    assert empty_space_fraction(samples, codes, quantile=quantile) == pytest.approx(expected, abs=1 / 300 + 1e-9)


# --- interpolate and path_step_ratio --------------------------------------------------------------


def test_interpolate_endpoints_and_linearity():
    z0, z1 = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, 2.0, -0.5])
    path = interpolate(z0, z1, steps=6)
    assert path.shape == (6, 3)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)
    for k in range(6):
        torch.testing.assert_close(path[k], z0 + (k / 5) * (z1 - z0))
    steps = path[1:] - path[:-1]
    torch.testing.assert_close(steps, ((z1 - z0) / 5).expand(5, 3))


def test_interpolate_default_steps():
    path = interpolate(torch.zeros(2), torch.ones(2))
    assert path.shape == (11, 2)
    torch.testing.assert_close(path[:, 0], torch.arange(11) / 10)


def test_path_step_ratio_even_path_is_one():
    a, b = torch.rand(784), torch.rand(784)
    assert path_step_ratio(interpolate(a, b, steps=9)) == pytest.approx(1.0, rel=1e-4)


def test_path_step_ratio_detects_a_jump():
    direction = torch.rand(784)
    direction = direction / direction.norm()
    positions = [0.0, 1.0, 2.0, 3.0, 8.0]  # steps 1, 1, 1, 5
    images = torch.stack([p * direction for p in positions])
    lengths = np.diff(positions)
    assert path_step_ratio(images) == pytest.approx(lengths.max() / lengths.mean(), rel=1e-4)  # 2.5


# --- plotting -------------------------------------------------------------------------------------


def rendered(fig: Figure) -> np.ndarray:
    """The array shown by the (single) image of the figure's first axes."""
    return np.asarray(fig.axes[0].images[0].get_array())


def test_image_grid_layout():
    images = torch.rand(5, 784)
    grid = image_grid(images, nrow=3)
    assert grid.shape == (2 * 30 + 2, 3 * 30 + 2)
    for k in range(5):
        r, c = divmod(k, 3)
        tile = grid[2 + 30 * r: 2 + 30 * r + 28, 2 + 30 * c: 2 + 30 * c + 28]
        torch.testing.assert_close(tile, images[k].reshape(28, 28))
    assert (grid[2 + 30: 2 + 30 + 28, 2 + 60: 2 + 60 + 28] == 0).all()  # the empty sixth slot is blank
    assert (grid[:2] == 0.25).all() and (grid[:, :2] == 0.25).all()  # light grey frames


def test_image_grid_default_is_square_ish():
    assert image_grid(torch.rand(10, 1, 28, 28)).shape == (3 * 30 + 2, 4 * 30 + 2)  # ceil(sqrt(10)) = 4 per row


def test_show_images():
    images = torch.rand(6, 1, 28, 28)
    fig = show_images(images, nrow=3, title="six")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title() == "six"
    np.testing.assert_allclose(rendered(fig), image_grid(images, nrow=3).numpy())


def test_show_reconstructions_puts_originals_above_reconstructions():
    x, x_hat = torch.rand(4, 784), torch.rand(4, 784)
    fig = show_reconstructions(x, x_hat)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    shown = rendered(fig)
    assert shown.shape == (2 * 30 + 2, 4 * 30 + 2)
    np.testing.assert_allclose(shown[2:30, 2 + 30: 30 + 30], x[1].reshape(28, 28).numpy())
    np.testing.assert_allclose(shown[32:60, 2 + 30: 30 + 30], x_hat[1].reshape(28, 28).numpy())


@pytest.mark.parametrize("steps", [1, 5])
def test_show_strip(steps):
    images = torch.rand(steps, 784)
    labels = [f"t={k}" for k in range(steps)]
    fig = show_strip(images, labels=labels, title="strip")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == steps
    for k, ax in enumerate(fig.axes):
        assert ax.get_xlabel() == labels[k]
        np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), images[k].reshape(28, 28).numpy())


def test_show_strip_without_labels():
    fig = show_strip(torch.rand(3, 1, 28, 28))
    assert len(fig.axes) == 3
    assert all(ax.get_xlabel() == "" for ax in fig.axes)


def make_history() -> History:
    return History(train=[{"loss": 3.0, "kl": 1.0}, {"loss": 2.0, "kl": 0.5}, {"loss": 1.5, "kl": 0.4}],
                   test=[{"loss": 3.5, "kl": 1.1}, {"loss": 2.5, "kl": 0.6}, {"loss": 2.0, "kl": 0.5}],
                   steps=[50, 100, 150], seconds=[0.1, 0.1, 0.1])


def test_plot_history_one_panel_per_term():
    history = make_history()
    fig = plot_history(history)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    for ax, term in zip(fig.axes, ["loss", "kl"]):
        train_line, test_line = ax.get_lines()
        assert list(train_line.get_xdata()) == [50, 100, 150]
        assert ax.get_xlabel() == "optimizer step"
        assert list(train_line.get_ydata()) == [e[term] for e in history.train]
        assert list(test_line.get_ydata()) == [e[term] for e in history.test]
        assert term in ax.get_ylabel()


def test_plot_history_selected_terms_and_no_test():
    history = make_history()
    assert len(plot_history(history, terms=["kl"]).axes) == 1
    fig = plot_history(History(train=history.train, steps=history.steps, seconds=history.seconds))
    assert all(len(ax.get_lines()) == 1 for ax in fig.axes)


def test_plot_latent_scatter_2d_codes():
    codes = torch.randn(100, 2) + 3.0
    labels = torch.arange(100) % 10
    fig = plot_latent_scatter(codes, labels)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # the scatter and its colour bar
    ax = fig.axes[0]
    assert len(ax.collections) == 1
    np.testing.assert_allclose(ax.collections[0].get_offsets(), (codes - codes.mean(0)).numpy(), atol=1e-5)
    assert ax.get_xlabel() == "z 1"


def test_plot_latent_scatter_projects_codes_and_extra_points_together():
    codes, _ = planted(n=80, d=5)
    extra = torch.randn(20, 5)
    fig = plot_latent_scatter(codes, torch.arange(80) % 10, extra=extra)
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert len(ax.collections) == 2
    assert len(ax.collections[0].get_offsets()) == 80
    assert len(ax.collections[1].get_offsets()) == 20
    assert ax.get_legend() is not None
    assert ax.get_xlabel() == "PC 1"
    both = pca_2d(torch.cat([codes, extra]))
    np.testing.assert_allclose(ax.collections[1].get_offsets(), both[80:].numpy(), atol=1e-4)


def test_plot_histograms():
    fig = plot_histograms({"codes": torch.randn(200), "samples": torch.rand(200)}, xlabel="distance", title="h")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.containers) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["codes", "samples"]
    assert ax.get_xlabel() == "distance"


def test_plot_manifold_orientation():
    low, high, n = (-2.0, -1.0), (2.0, 3.0), 4
    seen = []

    def decode(z):
        assert z.shape == (n * n, 2)
        seen.append(z)
        images = torch.empty(len(z), 784)
        images[:, :392] = ((z[:, 0] - low[0]) / (high[0] - low[0])).unsqueeze(1)  # top half: z1
        images[:, 392:] = ((z[:, 1] - low[1]) / (high[1] - low[1])).unsqueeze(1)  # bottom half: z2
        return images

    fig = plot_manifold(decode, low, high, n=n)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    shown = rendered(fig)
    assert shown.shape == (n * 30 + 2, n * 30 + 2)

    def tile(r, c):  # (z1 fraction, z2 fraction) decoded into the tile in row r, column c
        top, left = 2 + 30 * r, 2 + 30 * c
        return shown[top, left], shown[top + 27, left + 27]

    assert tile(0, 0) == pytest.approx((0.0, 1.0))  # top-left is (low z1, high z2)
    assert tile(0, n - 1) == pytest.approx((1.0, 1.0))
    assert tile(n - 1, 0) == pytest.approx((0.0, 0.0))
    assert tile(n - 1, n - 1) == pytest.approx((1.0, 0.0))
    assert tile(1, 2) == pytest.approx((2 / 3, 2 / 3))
    # the grid spans [low, high] on both axes
    z = seen[0]
    assert z[:, 0].min() == pytest.approx(low[0]) and z[:, 0].max() == pytest.approx(high[0])
    assert z[:, 1].min() == pytest.approx(low[1]) and z[:, 1].max() == pytest.approx(high[1])


def test_plot_traversal_turns_one_dimension_per_row():
    z0 = torch.tensor([0.5, -0.25, 1.0])
    seen = []

    def decode(z):
        seen.append(z.clone())
        return torch.sigmoid(z[:, :1]).expand(len(z), 784)  # brightness follows z0 only

    fig = plot_traversal(decode, z0, dims=[0, 2], span=2.0, steps=5)
    codes = seen[0]
    assert codes.shape == (10, 3)
    assert torch.allclose(codes[:5, 0], torch.linspace(-2, 2, 5))  # row 0 sweeps z0 ...
    assert torch.allclose(codes[:5, 1:], z0[1:].expand(5, 2))     # ... and keeps the others
    assert torch.allclose(codes[5:, 2], torch.linspace(-2, 2, 5))
    assert torch.allclose(codes[5:, :2], z0[:2].expand(5, 2))
    shown = rendered(fig)
    assert shown.shape == (2 * 30 + 2, 5 * 30 + 2)
    row0 = [shown[2:30, 2 + 30 * k: 30 * (k + 1)].mean() for k in range(5)]
    assert all(a < b for a, b in zip(row0, row0[1:]))  # brighter as z0 grows
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["z0", "z2"]
    plt.close(fig)


def test_show_rows_labels_each_row():
    fig = show_rows({"first": torch.rand(4, 784), "second": torch.rand(2, 784)})
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["first", "second"]
    plt.close(fig)
