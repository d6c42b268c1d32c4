"""Figures used across the notebooks. Each function returns its matplotlib Figure."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import torch

from .data import IMAGE_SIDE
from .metrics import pca_2d
from .training import History


def _as_images(images: torch.Tensor) -> torch.Tensor:
    """(N, 784) or (N, 1, 28, 28) -> (N, 28, 28) on the CPU, detached."""
    return images.detach().float().cpu().reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def image_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> torch.Tensor:
    """Tile images (N, 784) into one (H, W) array, ``nrow`` images per row."""
    imgs = _as_images(images)
    n = len(imgs)
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    side = IMAGE_SIDE + pad
    grid = torch.full((rows * side + pad, nrow * side + pad), 0.25)  # light grey frames
    blank = torch.zeros(IMAGE_SIDE, IMAGE_SIDE)  # unused slots stay white
    for k in range(rows * nrow):
        r, c = divmod(k, nrow)
        grid[pad + r * side: pad + r * side + IMAGE_SIDE, pad + c * side: pad + c * side + IMAGE_SIDE] = \
            imgs[k] if k < n else blank
    return grid


def show_images(images: torch.Tensor, nrow: int | None = None, title: str | None = None,
                scale: float = 0.6) -> plt.Figure:
    """Show images (N, 784) as one grid with ``nrow`` images per row."""
    grid = image_grid(images, nrow)
    fig, ax = plt.subplots(figsize=(scale * grid.shape[1] / 10, scale * grid.shape[0] / 10))
    ax.imshow(grid.numpy(), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return fig


def show_reconstructions(x: torch.Tensor, x_hat: torch.Tensor, title: str = "originals (top) and reconstructions (bottom)") -> plt.Figure:
    """Originals (N, 784) above their reconstructions (N, 784)."""
    return show_images(torch.cat([_as_images(x), _as_images(x_hat)]), nrow=len(x), title=title)


def show_strip(images: torch.Tensor, labels: Sequence[str] | None = None, title: str | None = None) -> plt.Figure:
    """One row of images (steps, 784), e.g. an interpolation, with an optional caption under each."""
    imgs = _as_images(images)
    fig, axes = plt.subplots(1, len(imgs), figsize=(0.9 * len(imgs), 1.3 if labels else 1.0), squeeze=False)
    for k, (ax, img) in enumerate(zip(axes[0], imgs)):
        ax.imshow(img.numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        if labels:
            ax.set_xlabel(labels[k], fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def show_rows(rows: dict[str, torch.Tensor], title: str | None = None, scale: float = 0.45) -> plt.Figure:
    """Image rows (n_k, 784), one per entry, labelled with its key; shorter rows end in blank slots."""
    width = max(len(images) for images in rows.values())
    padded = [torch.cat([images.detach().cpu().float().reshape(len(images), -1),
                         torch.zeros(width - len(images), IMAGE_SIDE * IMAGE_SIDE)]) for images in rows.values()]
    fig = show_images(torch.cat(padded), nrow=width, title=title, scale=scale)
    ax = fig.axes[0]
    ax.set_axis_on()
    ax.set_xticks([])
    side = IMAGE_SIDE + 2
    ax.set_yticks([2 + side * (row + 0.5) for row in range(len(rows))], list(rows))
    return fig


def plot_history(history: History, terms: Sequence[str] | None = None, title: str = "training") -> plt.Figure:
    """Per-image train (solid) and test (dashed) curves of each loss term over optimizer steps."""
    terms = list(terms or history.train[0].keys())
    fig, axes = plt.subplots(1, len(terms), figsize=(4.5 * len(terms), 3.2), squeeze=False)
    for ax, term in zip(axes[0], terms):
        ax.plot(history.steps, [e[term] for e in history.train], label="train")
        if history.test:
            ax.plot(history.steps, [e[term] for e in history.test], "--", label="test")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(f"{term} per image")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_latent_scatter(codes: torch.Tensor, labels: torch.Tensor, title: str = "latent codes",
                        extra: torch.Tensor | None = None, extra_label: str = "random points") -> plt.Figure:
    """Scatter codes (N, d), coloured by digit label (N,); projected with PCA when d > 2.

    ``extra`` (M, d) points, e.g. random latent samples, are drawn as black crosses
    in the same projection.
    """
    codes = codes.detach().float().cpu()
    both = codes if extra is None else torch.cat([codes, extra.detach().float().cpu()])
    xy = pca_2d(both).numpy()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    points = ax.scatter(xy[: len(codes), 0], xy[: len(codes), 1], c=labels.cpu().numpy(), cmap="tab10",
                        s=4, alpha=0.7, vmin=-0.5, vmax=9.5)
    if extra is not None:
        ax.scatter(xy[len(codes):, 0], xy[len(codes):, 1], c="black", marker="x", s=12, label=extra_label)
        ax.legend(loc="upper right")
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    axis_name = "PC" if codes.shape[1] > 2 else "z"
    ax.set_xlabel(f"{axis_name} 1")
    ax.set_ylabel(f"{axis_name} 2")
    ax.set_title(title)
    return fig


def plot_histograms(samples: dict[str, torch.Tensor], xlabel: str, title: str | None = None) -> plt.Figure:
    """Overlaid histograms of several 1-D samples, one per dict entry."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name, values in samples.items():
        ax.hist(values.detach().cpu().numpy(), bins=40, alpha=0.55, density=True, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def plot_manifold(decode: Callable[[torch.Tensor], torch.Tensor], low: Sequence[float], high: Sequence[float], n: int = 15,
                  title: str = "decoded 2-D latent grid") -> plt.Figure:
    """Decode an n x n grid spanning [low, high] of a 2-D latent space and tile the images.

    ``decode`` maps codes (n*n, 2) -> images (n*n, 784). The top-left image is at
    (low[0], high[1]), so the picture is oriented like a scatter plot of the codes.
    """
    xs = torch.linspace(float(low[0]), float(high[0]), n)
    ys = torch.linspace(float(high[1]), float(low[1]), n)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(-1, 2)
    with torch.no_grad():
        images = decode(grid)
    fig = show_images(images, nrow=n, title=title, scale=0.3)
    ax = fig.axes[0]
    ax.set_axis_on()
    side = IMAGE_SIDE + 2
    ax.set_xticks([2 + side * 0.5, 2 + side * (n - 0.5)], [f"z1={float(low[0]):.1f}", f"z1={float(high[0]):.1f}"])
    ax.set_yticks([2 + side * 0.5, 2 + side * (n - 0.5)], [f"z2={float(high[1]):.1f}", f"z2={float(low[1]):.1f}"])
    return fig


def plot_traversal(decode: Callable[[torch.Tensor], torch.Tensor], z0: torch.Tensor,
                   dims: Sequence[int] | None = None, span: float = 3.0, steps: int = 9,
                   title: str = "latent traversal") -> plt.Figure:
    """Turn one latent knob at a time: row k decodes z0 with dimension dims[k] swept over [-span, span].

    ``decode`` maps codes (n, d) -> images (n, 784); ``z0`` (d,) is the starting code
    (its other coordinates stay fixed). Rows are labelled with their dimension.
    """
    z0 = z0.detach().reshape(-1)
    dims = list(range(len(z0))) if dims is None else list(dims)
    values = torch.linspace(-span, span, steps, device=z0.device)
    codes = z0.repeat(len(dims) * steps, 1)
    for row, dim in enumerate(dims):
        codes[row * steps:(row + 1) * steps, dim] = values
    with torch.no_grad():
        images = decode(codes)
    fig = show_images(images, nrow=steps, title=title, scale=0.4)
    ax = fig.axes[0]
    ax.set_axis_on()
    side = IMAGE_SIDE + 2
    ax.set_yticks([2 + side * (row + 0.5) for row in range(len(dims))], [f"z{d}" for d in dims])
    ax.set_xticks([2 + side * 0.5, 2 + side * (steps - 0.5)], [f"{-span:g}", f"{span:g}"])
    return fig
