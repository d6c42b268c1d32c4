"""Checks for notebook 05's first exercise: ``effective_beta``.

``effective_beta(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
batch_reduction="sum", batch_size=128)`` describes a VAE loss by how it reduces its terms:

- the reconstruction term of one image over its ``n_pixels`` pixels (``"sum"`` or ``"mean"``),
- the KL term of one image over its ``latent_dim`` dimensions (``"sum"`` or ``"mean"``),
- the per-image loss ``recon + beta * kl`` over the ``batch_size`` images (``"sum"`` or ``"mean"``),

and returns the beta of the summed loss (sum over pixels, dimensions and images) with the same
minimiser: the weight the loss really puts on one nat of KL against one nat of reconstruction.

The checks compute that weight independently, as a ratio of gradients: build the loss the
arguments describe with torch's own reductions on a (batch, pixels) table of reconstruction
terms and a (batch, dimensions) table of KL terms, and divide the gradient with respect to one
KL entry by the gradient with respect to one reconstruction entry.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch

from ._core import _Tensor, call, check, fail

REDUCTIONS = ("sum", "mean")


def _reduce(table: torch.Tensor, how: str, dim: int) -> torch.Tensor:
    return table.sum(dim=dim) if how == "sum" else table.mean(dim=dim)


def _true_beta(recon: str, kl: str, n_pixels: int, latent_dim: int, beta: float, batch: str,
               batch_size: int) -> float:
    """The weight of one nat of KL against one nat of reconstruction in the loss these arguments describe."""
    bce = torch.rand(batch_size, n_pixels, dtype=torch.float64, requires_grad=True)
    kl_terms = torch.rand(batch_size, latent_dim, dtype=torch.float64, requires_grad=True)
    per_image = _reduce(bce, recon, dim=1) + beta * _reduce(kl_terms, kl, dim=1)  # (batch_size,)
    _reduce(per_image, batch, dim=0).backward()
    return float(kl_terms.grad[0, 0] / bce.grad[0, 0])


def _describe(recon: str, kl: str, n_pixels: int, latent_dim: int, beta: float, batch: str, batch_size: int) -> str:
    return (f"effective_beta({recon!r}, {kl!r}, {n_pixels}, {latent_dim}, beta={beta:g}) for a batch {batch} "
            f"over {batch_size} images")


def _value(effective_beta: Callable, recon: str, kl: str, n_pixels: int, latent_dim: int, beta: float = 1.0,
           batch: str = "sum", batch_size: int = 128) -> float:
    """The student's answer as a float, after checking it is one real number."""
    what = _describe(recon, kl, n_pixels, latent_dim, beta, batch, batch_size)
    out: Any = call(what, effective_beta, recon, kl, n_pixels, latent_dim, beta=beta, batch_reduction=batch,
                    batch_size=batch_size)
    if isinstance(out, _Tensor):
        if out.numel() != 1:
            fail(f"{what} returned a tensor of shape {tuple(out.shape)}; it should return one number.")
        out = out.item()
    if isinstance(out, bool) or not isinstance(out, numbers.Real):
        fail(f"{what} should return one number (a float), the beta of the equivalent summed loss; got "
             f"{type(out).__name__}.")
    return float(out)


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-5 * max(abs(a), abs(b)) + 1e-12


def _expect(effective_beta: Callable, recon: str, kl: str, n_pixels: int, latent_dim: int, beta: float = 1.0,
            batch: str = "sum", batch_size: int = 128) -> None:
    """Fail with the symptom unless the student's answer matches the gradient ratio for these arguments."""
    got = _value(effective_beta, recon, kl, n_pixels, latent_dim, beta, batch, batch_size)
    want = _true_beta(recon, kl, n_pixels, latent_dim, beta, batch, batch_size)
    if _near(got, want):
        return
    what = _describe(recon, kl, n_pixels, latent_dim, beta, batch, batch_size)
    said = f"{what} returned {got:.6g}"
    if recon == "mean" and _near(got, want / n_pixels ** 2):
        fail(f"{said}: you divided where the mean multiplies beta. Averaging the reconstruction over "
             f"{n_pixels} pixels makes that term {n_pixels} times smaller, so next to it the KL weighs "
             f"{n_pixels} times more, not less.")
    if kl == "mean" and _near(got, want * latent_dim ** 2):
        fail(f"{said}: you multiplied where the mean divides beta. Averaging the KL over {latent_dim} latent "
             f"dimensions makes the KL term {latent_dim} times smaller, so it weighs {latent_dim} times less.")
    if _near(got, want * batch_size) or _near(got, want / batch_size):
        fail(f"{said}: it changes with the batch. The batch reduction affects both terms alike: a mean over "
             f"{batch_size} images divides the reconstruction and the KL by the same {batch_size}, which rescales "
             f"the whole loss (like a smaller learning rate) and leaves their balance, beta, where it was.")
    if beta != 1 and _near(got, want / beta):
        fail(f"{said}: the loss's own weight beta = {beta:g} on the KL term is missing; the effective beta "
             f"is proportional to it.")
    if n_pixels != latent_dim and _near(got, _true_beta(recon, kl, latent_dim, n_pixels, beta, batch, batch_size)):
        fail(f"{said}: the two sizes look swapped. The pixel count belongs to the reconstruction term and the "
             f"number of latent dimensions to the KL term.")
    if recon == "mean" and _near(got, want / n_pixels):
        fail(f"{said}, as if the reconstruction were summed: a mean over {n_pixels} pixels changes the balance "
             f"between the two terms too.")
    if kl == "mean" and _near(got, want * latent_dim):
        fail(f"{said}, as if the KL were summed: a mean over {latent_dim} latent dimensions changes the balance "
             f"between the two terms too.")
    if recon == "mean" and n_pixels != 784 and _near(got, want * 784 / n_pixels):
        fail(f"{said}: it looks computed for 784 pixels; use n_pixels, the size of the images this loss sees.")
    if abs(got - round(got)) < 1e-12 and not _near(want, round(want)):
        fail(f"{said}, a whole number, but this loss's effective beta is a fraction: is the result rounded, or "
             f"computed with integer division (//)?")
    fail(f"{said}. In this loss one nat of KL moves the loss {want:.6g} times as much as one nat of "
         f"reconstruction, and that ratio is the beta of the equivalent summed loss.")


@check
def check_effective_beta_value(effective_beta: Callable) -> str:
    """The four reductions at 784 pixels and 12 dimensions, a beta other than 1, other sizes, a batch mean."""
    for recon, kl in (("mean", "sum"), ("sum", "mean"), ("mean", "mean"), ("sum", "sum")):
        _expect(effective_beta, recon, kl, 784, 12)
    _expect(effective_beta, "mean", "sum", 784, 12, beta=4.0)
    _expect(effective_beta, "sum", "mean", 784, 12, beta=4.0)
    _expect(effective_beta, "mean", "sum", 3072, 5)
    _expect(effective_beta, "mean", "mean", 3072, 5, beta=2.0)
    _expect(effective_beta, "sum", "sum", 784, 12, batch="mean", batch_size=128)
    _expect(effective_beta, "mean", "sum", 784, 12, batch="mean", batch_size=128)
    return "effective_beta gives the beta of each reduction, at 784 pixels and at other sizes, with a batch mean too"


@check
def check_effective_beta_properties(effective_beta: Callable) -> str:
    """Many sizes, betas and batch sizes; the batch reduction never changes beta; proportional to beta."""
    sizes = [(1, 1), (10, 3), (784, 2), (784, 64), (3072, 5), (12288, 128), (50, 50)]
    for n_pixels, latent_dim in sizes:
        for recon in REDUCTIONS:
            for kl in REDUCTIONS:
                _expect(effective_beta, recon, kl, n_pixels, latent_dim, beta=0.5)
    for batch_size in (1, 7, 64, 256):
        for batch in REDUCTIONS:
            _expect(effective_beta, "mean", "mean", 784, 8, beta=3.0, batch=batch, batch_size=batch_size)
            _expect(effective_beta, "sum", "mean", 100, 16, batch=batch, batch_size=batch_size)
    # a mean over the pixels with a small KL weight, as in popular code: 64 x 64 colour images, 128 dimensions
    _expect(effective_beta, "mean", "sum", 12288, 128, beta=0.00025, batch="mean", batch_size=144)
    # small and zero betas: 1/784 on a summed loss, the same on a per-pixel mean (it undoes the mean), none at all
    _expect(effective_beta, "sum", "sum", 784, 12, beta=1 / 784)
    _expect(effective_beta, "mean", "sum", 784, 12, beta=1 / 784)
    _expect(effective_beta, "mean", "sum", 784, 12, beta=0.0)
    for beta in (0.1, 8.0, 250.0):
        _expect(effective_beta, "sum", "mean", 784, 32, beta=beta)
    return "effective_beta holds for every size, beta and batch size tried, and the batch reduction leaves it alone"
