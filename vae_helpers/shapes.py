"""A synthetic image set with known factors of variation, for measuring disentanglement.

Each image is one soft, grey-edged shape on a 28 x 28 canvas, so the course's
784-input models work on it unchanged. Four factors decide every image, each
taking a few evenly spaced values:

========  ==========================================  ======
factor    values                                      count
========  ==========================================  ======
shape     square, circle, triangle                    3
size      scale 2, 2.67, 3.33, 4 pixels               4
x         centre column 7, 9, ..., 21                 8
y         centre row 7, 9, ..., 21                    8
========  ==========================================  ======

A pixel at offset (u, v) from the centre, in units of the size, has brightness
exp(-n(u, v)^2 / 2), where n is the shape's own "radius": max(|u|, |v|) for the
square, the Euclidean length for the circle, the largest distance across an edge
for the triangle. A circle is therefore a Gaussian blob, the others are blobs of
their shape. The soft edges matter: moving a shape by one step changes the image
smoothly, which is what gives small, briefly trained VAEs a chance to find the
factors (on crisp, binary shapes they hardly do).

:func:`render` draws images from factor indices (one vectorised tensor expression
for the whole batch); :func:`make_shapes` samples factor combinations with a seed
and renders them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .data import IMAGE_SIDE

SHAPE_NAMES = ("square", "circle", "triangle")
SIZES = (2.0, 8 / 3, 10 / 3, 4.0)
POSITIONS = tuple(float(p) for p in range(7, 22, 2))
FACTOR_NAMES = ("shape", "size", "x", "y")
FACTOR_SIZES = (len(SHAPE_NAMES), len(SIZES), len(POSITIONS), len(POSITIONS))
TRIANGLE_INRADIUS = 0.75  # an equilateral triangle, apex up, of about the square's area at n = 1.5


@dataclass
class Shapes:
    """Images ``x`` (N, 784) float32 in [0, 1] and their factors (N, 4) int64.

    ``factors[i, k]`` is the index of image i's value of factor ``names[k]``,
    in ``range(sizes[k])``.
    """

    x: torch.Tensor
    factors: torch.Tensor
    names: tuple[str, ...] = FACTOR_NAMES
    sizes: tuple[int, ...] = FACTOR_SIZES

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:
        factors = ", ".join(f"{n} ({s})" for n, s in zip(self.names, self.sizes))
        return f"Shapes({len(self):,} images of 28x28; factors: {factors})"


def render(factors: torch.Tensor) -> torch.Tensor:
    """Draw the images of factor indices (N, 4) (shape, size, x, y) -> (N, 784) float32 in [0, 1]."""
    factors = torch.as_tensor(factors, dtype=torch.long)
    if factors.dim() != 2 or factors.shape[1] != len(FACTOR_NAMES):
        raise ValueError(f"factors must be (N, {len(FACTOR_NAMES)}), got shape {tuple(factors.shape)}")
    for k, (name, size) in enumerate(zip(FACTOR_NAMES, FACTOR_SIZES)):
        if len(factors) and not (0 <= int(factors[:, k].min()) and int(factors[:, k].max()) < size):
            raise ValueError(f"factor {name!r} must be in range({size})")
    shape = factors[:, 0].reshape(-1, 1, 1)
    scale = torch.tensor(SIZES)[factors[:, 1]].reshape(-1, 1, 1)
    cx = torch.tensor(POSITIONS)[factors[:, 2]].reshape(-1, 1, 1)
    cy = torch.tensor(POSITIONS)[factors[:, 3]].reshape(-1, 1, 1)

    pixel = torch.arange(IMAGE_SIDE, dtype=torch.float32)
    u = (pixel.reshape(1, 1, -1) - cx) / scale  # (N, 1, 28): across
    v = (pixel.reshape(1, -1, 1) - cy) / scale  # (N, 28, 1): down (image rows grow downwards)
    square = torch.maximum(u.abs(), v.abs())
    circle = torch.sqrt(u ** 2 + v ** 2)
    sin60 = math.sqrt(3) / 2  # the triangle's edges face down, up-right and up-left
    triangle = torch.maximum(v, torch.maximum(sin60 * u - v / 2, -sin60 * u - v / 2)) / TRIANGLE_INRADIUS
    radius = torch.where(shape == 0, square, torch.where(shape == 1, circle, triangle))
    return torch.exp(-radius ** 2 / 2).reshape(-1, IMAGE_SIDE * IMAGE_SIDE)


def all_factors() -> torch.Tensor:
    """Every combination of factor values once, (768, 4) int64, in lexicographic order."""
    grids = torch.meshgrid(*(torch.arange(s) for s in FACTOR_SIZES), indexing="ij")
    return torch.stack([g.reshape(-1) for g in grids], dim=1)


def make_shapes(n: int | None = None, seed: int = 0) -> Shapes:
    """``n`` images with factors drawn independently and uniformly (seeded), or every combination once if ``n`` is None."""
    if n is None:
        factors = all_factors()
    else:
        generator = torch.Generator().manual_seed(seed)
        factors = torch.stack([torch.randint(s, (n,), generator=generator) for s in FACTOR_SIZES], dim=1)
    return Shapes(render(factors), factors)
