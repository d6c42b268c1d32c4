"""Checks for notebook 04's ``gaussian_nll``: the negative log-likelihood of a Gaussian decoder.

The exercise computes, for each example of a batch,

    -log N(x; x_hat, sigma^2 I) = sum_k [ (x_k - x_hat_k)^2 / (2 sigma_k^2) + log sigma_k + 1/2 log(2 pi) ]

with ``x``, ``x_hat`` of shape (B, D) and ``log_sigma`` a tensor that broadcasts against them:
0-dimensional (one sigma for every pixel), (D,) (one per pixel) or (B, D). It returns (B,).
The checks compare with ``torch.distributions.Normal`` in float64 (an independent computation),
and when a value is off they split it into its two parts, the normaliser (the value at
x_hat = x) and the quadratic part (the rest), to name the slip.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ._core import call, check, close, expect_tensor, fail

_Normal = torch.distributions.Normal
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _reference(x: torch.Tensor, x_hat: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """-log N(x; x_hat, exp(log_sigma)^2) summed over the last axis, float64: (B, D) -> (B,)."""
    x, x_hat, log_sigma = (t.detach().double() for t in (x, x_hat, log_sigma))
    scale = log_sigma.exp().expand_as(x)
    return -_Normal(x_hat, scale).log_prob(x).sum(-1)


def _inputs(batch: int, dim: int, seed: int, log_sigma_shape: tuple[int, ...],
            low: float, high: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x, x_hat (batch, dim) in [0, 1] and log_sigma of the given shape uniform in [low, high]; float32."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, dim, generator=g)
    x_hat = torch.rand(batch, dim, generator=g)
    log_sigma = low + (high - low) * torch.rand(log_sigma_shape, generator=g)
    return x, x_hat, log_sigma


def _fmt(values: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values.detach().double().flatten().tolist()) + "]"


def _describe(log_sigma: torch.Tensor) -> str:
    if log_sigma.dim() == 0:
        return f"one log_sigma = {float(log_sigma):.2f} for every pixel (a 0-dim tensor)"
    return f"log_sigma of shape {tuple(log_sigma.shape)}"


def _per_example(out: object, x: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """Fail unless ``out`` is a finite tensor of shape (B,) and the dtype of x."""
    batch, dim = x.shape
    what = f"gaussian_nll(x, x_hat, log_sigma) for x, x_hat of shape ({batch}, {dim}) and {_describe(log_sigma)}"
    if isinstance(out, torch.Tensor) and tuple(out.shape) != (batch,):
        shape = tuple(out.shape)
        if shape == ():
            fail(f"{what} returned a single number; expected one negative log-likelihood per example, "
                 f"shape ({batch},). It looks reduced over the whole batch.")
        if shape == (batch, dim):
            fail(f"{what} returned one value per pixel, shape {shape}; expected one value per example, "
                 f"shape ({batch},): sum over the pixels.")
        if shape == (dim,):
            fail(f"{what} returned shape {shape}: it looks reduced over the examples instead of over the "
                 f"pixels. Expected shape ({batch},).")
    if isinstance(out, torch.Tensor) and out.dtype == x.dtype and not bool(torch.isfinite(out.detach()).all()) \
            and bool((log_sigma < 0).any()):
        fail(f"{what} contains NaN or infinite values where log_sigma is negative. log_sigma is the log of "
             f"the standard deviation and may be any real number: it looks used as sigma itself "
             f"(sigma = exp(log_sigma)).")
    return expect_tensor(out, what, (batch,), dtype=x.dtype)


def _nll(x: torch.Tensor, x_hat: torch.Tensor, variance: torch.Tensor, normaliser: torch.Tensor,
         quadratic_factor: float = 0.5) -> torch.Tensor:
    """A Gaussian-shaped NLL with a given variance and per-pixel normaliser, float64 -> (B,)."""
    err = (x.double() - x_hat.double()) ** 2
    return (quadratic_factor * err / variance + normaliser).expand_as(err).sum(-1)


def _known_mistakes(x: torch.Tensor, x_hat: torch.Tensor, log_sigma: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """(what the slip computes (B,), its symptom), for the slips students make with this formula."""
    ls = log_sigma.detach().double()
    var, dim = (2 * ls).exp(), x.shape[-1]
    ref = _reference(x, x_hat, log_sigma)
    found = [
        (ref - dim * HALF_LOG_2PI, "it is missing the 1/2 log(2 pi) constant of the Gaussian density "
                                   "(each pixel adds 1/2 log(2 pi) = 0.919 nats)"),
        (ref + dim * HALF_LOG_2PI, "its constant is log(2 pi) per pixel; the Gaussian density has 1/2 log(2 pi)"),
        (-ref, "it is the log-likelihood, not its negative: check the sign"),
        (ref / dim, f"it is 1/{dim} of the expected value: it looks averaged over the pixels instead of summed"),
        (_nll(x, x_hat, var, torch.tensor(HALF_LOG_2PI, dtype=torch.float64)),
         "it is missing the log sigma term of the normaliser (each pixel adds log sigma: a wider Gaussian "
         "spreads its density thinner)"),
        (_nll(x, x_hat, var, 2 * ls + HALF_LOG_2PI),
         "its normaliser has log sigma^2 where log sigma belongs (the density's 1/sigma gives log sigma)"),
        (_nll(x, x_hat, var, ls + HALF_LOG_2PI, quadratic_factor=1.0),
         "it divides the squared error by sigma^2 instead of 2 sigma^2: the 1/2 in front of the "
         "quadratic term is missing"),
        (_nll(x, x_hat, ls.exp(), ls + HALF_LOG_2PI),
         "it divides the squared error by 2 sigma where 2 sigma^2 (twice the variance) belongs"),
        (_nll(x, x_hat, ls.exp(), 0.5 * ls + HALF_LOG_2PI),
         "it treats log_sigma as the log-variance log sigma^2 (the variance where sigma was given); "
         "here log_sigma is log sigma, so sigma = exp(log_sigma) and the variance is exp(2 log_sigma)"),
    ]
    if ls.dim() > 0:
        one = ls.mean()
        found.append((_nll(x, x_hat, (2 * one).exp(), one + HALF_LOG_2PI),
                      "it uses one sigma for every pixel (the mean of log_sigma), where each pixel has its own: "
                      "let log_sigma broadcast against x"))
    if bool((ls > 0).all()):
        found.append((_nll(x, x_hat, ls ** 2, ls.log() + HALF_LOG_2PI),
                      "it uses log_sigma as sigma itself (sigma where log sigma was given); "
                      "sigma = exp(log_sigma)"))
    return found


def _diagnose(out: torch.Tensor, x: torch.Tensor, x_hat: torch.Tensor, log_sigma: torch.Tensor,
              gaussian_nll: Callable) -> str:
    """The symptom of what ``out`` computes, or the two parts it gets wrong."""
    for value, symptom in _known_mistakes(x, x_hat, log_sigma):
        if close(out, value, rtol=1e-4, atol=1e-3):
            return symptom
    ls = log_sigma.detach().double()
    at_mean = _per_example(call("gaussian_nll(x, x, log_sigma)", gaussian_nll, x.clone(), x.clone(),
                                log_sigma.clone()), x, log_sigma)
    expected_normaliser = (ls + HALF_LOG_2PI).expand(x.shape).sum(-1)
    problems = []
    if not close(at_mean, expected_normaliser, rtol=1e-4, atol=1e-3):
        problems.append(f"at x_hat = x (no error) it gives {_fmt(at_mean)}, where the normaliser "
                        f"sum_k (log sigma_k + 1/2 log 2 pi) is {_fmt(expected_normaliser)}")
    quadratic = out.detach().double() - at_mean.detach().double()
    expected_quadratic = (((x.double() - x_hat.double()) ** 2) / (2 * (2 * ls).exp())).sum(-1)
    if not close(quadratic, expected_quadratic, rtol=1e-4, atol=1e-3):
        problems.append(f"the part that grows with the error is {_fmt(quadratic)}, where "
                        f"sum_k (x_k - x_hat_k)^2 / (2 sigma_k^2) is {_fmt(expected_quadratic)}")
    return "; ".join(problems) or "its two parts are right on their own but do not add up"


def _expect_value(gaussian_nll: Callable, x: torch.Tensor, x_hat: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """Call on copies, check shape and value against the reference; return the output."""
    out = _per_example(call("gaussian_nll(x, x_hat, log_sigma)", gaussian_nll, x.clone(), x_hat.clone(),
                            log_sigma.clone()), x, log_sigma)
    expected = _reference(x, x_hat, log_sigma)
    if not close(out, expected, rtol=1e-4, atol=1e-3):
        fail(f"For x, x_hat of shape {tuple(x.shape)} and {_describe(log_sigma)}, gaussian_nll gave "
             f"{_fmt(out)}, where -log N(x; x_hat, sigma^2 I) summed over the pixels is {_fmt(expected)}: "
             f"{_diagnose(out, x, x_hat, log_sigma, gaussian_nll)}.")
    return out


def _expect_gradients(gaussian_nll: Callable, x: torch.Tensor, x_hat: torch.Tensor, log_sigma: torch.Tensor) -> None:
    """The gradients of the summed output with respect to x_hat and log_sigma, against the formula."""
    x_hat = x_hat.clone().requires_grad_(True)
    log_sigma = log_sigma.clone().requires_grad_(True)
    out = call("gaussian_nll(x, x_hat, log_sigma)", gaussian_nll, x.clone(), x_hat, log_sigma)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        fail("gaussian_nll's result is cut off from the autograd graph (did it use .detach(), .item(), float() "
             "or numpy?): training a decoder, and learning sigma, needs its gradient.")
    out.sum().backward()
    if x_hat.grad is None:
        fail("No gradient reaches x_hat: the decoder could not learn from this loss.")
    if log_sigma.grad is None:
        fail("No gradient reaches log_sigma: a learned sigma needs it. Compute sigma from log_sigma with torch "
             "operations, without .detach() or float().")
    var = (2 * log_sigma.detach().double()).exp()
    err = x.double() - x_hat.detach().double()
    grad_x_hat = (-err / var).expand_as(err)
    per_pixel = (1.0 - err ** 2 / var).expand_as(err)
    grad_log_sigma = per_pixel.sum_to_size(log_sigma.shape) if log_sigma.dim() else per_pixel.sum()
    if not close(x_hat.grad, grad_x_hat, rtol=1e-4, atol=1e-4):
        fail("The gradient with respect to x_hat is not (x_hat - x) / sigma^2: check the quadratic term.")
    if not close(log_sigma.grad, grad_log_sigma, rtol=1e-4, atol=1e-3):
        fail(f"The gradient with respect to log_sigma is {_fmt(log_sigma.grad)}, where the formula gives "
             f"{_fmt(grad_log_sigma)} (each pixel contributes 1 - (x - x_hat)^2 / sigma^2): the value is right, "
             f"so some part of the computation does not let the gradient through as written.")


def _expect_inputs_unchanged(gaussian_nll: Callable, x: torch.Tensor, x_hat: torch.Tensor,
                             log_sigma: torch.Tensor) -> None:
    copies = (x.clone(), x_hat.clone(), log_sigma.clone())
    call("gaussian_nll(x, x_hat, log_sigma)", gaussian_nll, *copies)
    for name, before, after in zip(("x", "x_hat", "log_sigma"), (x, x_hat, log_sigma), copies):
        if not torch.equal(before, after):
            fail(f"gaussian_nll changed its input {name} in place: compute with new tensors instead.")


@check
def check_gaussian_nll_value(gaussian_nll: Callable) -> str:
    """One sigma for all pixels, then one per pixel (including negative log sigma); the gradients; inputs kept."""
    x, x_hat, log_sigma = _inputs(3, 6, seed=0, log_sigma_shape=(), low=0.3, high=0.5)
    _expect_value(gaussian_nll, x, x_hat, log_sigma)
    x, x_hat, log_sigma = _inputs(3, 6, seed=1, log_sigma_shape=(), low=-1.5, high=-1.0)
    _expect_value(gaussian_nll, x, x_hat, log_sigma)
    x, x_hat, log_sigma = _inputs(4, 5, seed=2, log_sigma_shape=(5,), low=-2.0, high=1.0)
    _expect_value(gaussian_nll, x, x_hat, log_sigma)
    _expect_gradients(gaussian_nll, x, x_hat, log_sigma)
    _expect_gradients(gaussian_nll, *_inputs(3, 4, seed=3, log_sigma_shape=(), low=-1.0, high=0.5))
    _expect_inputs_unchanged(gaussian_nll, x, x_hat, log_sigma)
    return "gaussian_nll has the right values and gradients, for one sigma and for one per pixel"


@check
def check_gaussian_nll_properties(gaussian_nll: Callable) -> str:
    """Other sizes and seeds, log_sigma of shape (B, D), float64 in and out, one example at a time."""
    for batch, dim, seed, shape, low, high in ((5, 784, 10, (), -3.0, -2.0), (2, 9, 11, (9,), -4.0, 2.0),
                                               (3, 7, 12, (3, 7), -2.0, 1.5), (1, 3, 13, (), 0.2, 0.6)):
        x, x_hat, log_sigma = _inputs(batch, dim, seed, shape, low, high)
        whole = _expect_value(gaussian_nll, x, x_hat, log_sigma)
        _expect_gradients(gaussian_nll, x, x_hat, log_sigma)
        _expect_inputs_unchanged(gaussian_nll, x, x_hat, log_sigma)
    x, x_hat, log_sigma = _inputs(4, 6, 14, (), -1.0, 0.0)
    whole = _expect_value(gaussian_nll, x, x_hat, log_sigma)
    for i in range(4):
        alone = _per_example(call("gaussian_nll on one example", gaussian_nll, x[i:i + 1].clone(),
                                  x_hat[i:i + 1].clone(), log_sigma.clone()), x[i:i + 1], log_sigma)
        if not close(alone[0], whole[i], rtol=1e-5, atol=1e-4):
            fail(f"Example {i} gets {float(whole[i]):.4f} in a batch of 4 but {float(alone[0]):.4f} on its own: "
                 f"each example's negative log-likelihood must depend on that example only.")
    x, x_hat, log_sigma = (t.double() for t in _inputs(2, 5, 15, (5,), -1.0, 1.0))
    _expect_value(gaussian_nll, x, x_hat, log_sigma)
    return "gaussian_nll holds for other sizes, log_sigma shapes and dtypes"
