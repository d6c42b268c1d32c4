"""Images that are not digits, and blurred digits: the cases a digit yardstick must get right.

A measure of "does this look like a handwritten digit" is only trustworthy once it has
been checked on images whose answer we know. :func:`make_garbage` makes cheap
non-digits from real digits (pixel noise, soft blobs, blends of two different digits,
digits cut into shuffled patches), :func:`blur` softens digits the way a decoder does,
and :func:`calibration_sets` gathers named sets of both for such a check.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import IMAGE_PIXELS, IMAGE_SIDE

GARBAGE_KINDS = ("noise", "blobs", "blends", "patches")


def blur(images: torch.Tensor, sigma: torch.Tensor | float) -> torch.Tensor:
    """Gaussian blur of images (N, 784) with one width ``sigma`` (scalar or (N,)) per image -> (N, 784)."""
    n = len(images)
    sigma = torch.as_tensor(sigma, dtype=images.dtype).expand(n).clamp_min(1e-3)
    offsets = torch.arange(-3, 4, dtype=images.dtype)
    kernels = torch.exp(-0.5 * (offsets / sigma[:, None]) ** 2)
    kernels = kernels / kernels.sum(dim=1, keepdim=True)  # (N, 7): one separable kernel per image
    x = images.reshape(1, n, IMAGE_SIDE, IMAGE_SIDE)
    x = F.conv2d(x, kernels.reshape(n, 1, 1, 7), padding=(0, 3), groups=n)
    x = F.conv2d(x, kernels.reshape(n, 1, 7, 1), padding=(3, 0), groups=n)
    return x.reshape(n, IMAGE_PIXELS)


def make_garbage(kind: str, x: torch.Tensor, y: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """n synthetic non-digits (n, 784) of one kind, built from real digits x (N, 784) with labels y (N,).

    Kinds: ``"noise"`` (random speckle), ``"blobs"`` (one to four soft blobs),
    ``"blends"`` (a pixel average of two digits with different labels) and
    ``"patches"`` (a digit cut into 7x7 patches put back in random order).
    """
    g = generator
    if kind == "noise":
        density = 0.05 + 0.45 * torch.rand(n, 1, generator=g)
        return (torch.rand(n, IMAGE_PIXELS, generator=g) < density) * torch.rand(n, IMAGE_PIXELS, generator=g)
    if kind == "blobs":
        coords = torch.arange(IMAGE_SIDE, dtype=torch.float32)
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        images = torch.zeros(n, IMAGE_SIDE, IMAGE_SIDE)
        count = torch.randint(1, 5, (n,), generator=g)
        for k in range(4):
            centre = 4 + 20 * torch.rand(n, 2, 1, 1, generator=g)
            radius = 1.5 + 4.5 * torch.rand(n, 1, 1, generator=g)
            blob = torch.exp(-((yy - centre[:, 0]) ** 2 + (xx - centre[:, 1]) ** 2) / (2 * radius ** 2))
            images = torch.maximum(images, blob * (k < count).reshape(n, 1, 1))
        return images.reshape(n, IMAGE_PIXELS).clamp(0, 1)
    if kind == "blends":
        first = torch.randint(len(x), (n,), generator=g)
        second = torch.randint(len(x), (n,), generator=g)
        same = y[first] == y[second]
        while same.any():  # redraw partners with the same label
            second[same] = torch.randint(len(x), (int(same.sum()),), generator=g)
            same = y[first] == y[second]
        alpha = 0.35 + 0.3 * torch.rand(n, 1, generator=g)
        return alpha * x[first] + (1 - alpha) * x[second]
    if kind == "patches":
        images = x[torch.randint(len(x), (n,), generator=g)].reshape(n, 4, 7, 4, 7)
        tiles = images.permute(0, 1, 3, 2, 4).reshape(n, 16, 7, 7)
        order = torch.argsort(torch.rand(n, 16, generator=g), dim=1)
        tiles = tiles[torch.arange(n)[:, None], order]
        return tiles.reshape(n, 4, 4, 7, 7).permute(0, 1, 3, 2, 4).reshape(n, IMAGE_PIXELS)
    raise ValueError(f"unknown kind of garbage {kind!r}; choose one of {', '.join(GARBAGE_KINDS)}")


def calibration_sets(x: torch.Tensor, y: torch.Tensor, n: int = 500, seed: int = 1) -> dict[str, torch.Tensor]:
    """Named image sets to check a digit yardstick on, from held-out digits x (N, 784), labels y (N,).

    Real digits (sharp and blurred), non-digits of every kind of :func:`make_garbage`, and
    averages of four random digits. Each entry is (n, 784) (``n <= len(x)``).
    """
    g = torch.Generator().manual_seed(seed)
    pick = lambda: x[torch.randint(len(x), (n,), generator=g)]  # noqa: E731
    return {
        "real digits": x[:n],
        "blurred real digits": blur(x[:n], 1.0),
        "pixel noise": make_garbage("noise", x, y, n, g),
        "blobs": make_garbage("blobs", x, y, n, g),
        "blends of two digits": make_garbage("blends", x, y, n, g),
        "shuffled patches": make_garbage("patches", x, y, n, g),
        "averages of four digits": (pick() + pick() + pick() + pick()) / 4,
    }
