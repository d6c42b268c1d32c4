"""Checks for notebook 04's ``iw_bound``: the importance-weighted bound from log-weights.

The exercise: given log-weights ``log_w`` of shape (K, B), K samples z_k ~ q(z|x) for each of
B examples, ``log_w[k, b] = log p(x_b, z_k) - log q(z_k | x_b)``, return for each example

    log (1/K) sum_k exp(log_w[k, b])  =  logsumexp_k(log_w[k, b]) - log K,      shape (B,).

The checks compare with their own float64 computation (a max-shifted log-sum-exp), try
log-weights near -1000 and +1000 (where exponentiating first overflows), and use the
linear-Gaussian model of :mod:`vae_helpers.toy`, whose log p(x) and posterior are exact.
When a result is wrong, they look for the mistake it matches and name its symptom.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import toy
from ._core import call, check, close, expect_tensor, fail

_Z = 5.0  # statistical bounds are this many standard errors wide


# --- independent computations (float64) ---------------------------------------------------------
def _bound(log_w: torch.Tensor) -> torch.Tensor:
    """log-mean-exp over dimension 0, shifted by the largest log-weight: (K, B) -> (B,), float64."""
    log_w = log_w.detach().double()
    top = log_w.max(dim=0).values
    return top + (log_w - top).exp().sum(0).log() - math.log(len(log_w))


def _weights(log_w: torch.Tensor) -> torch.Tensor:
    """The normalised weights exp(log_w) / sum_k exp(log_w), per example: the bound's gradient, (K, B)."""
    log_w = log_w.detach().double()
    shifted = (log_w - log_w.max(dim=0).values).exp()
    return shifted / shifted.sum(0)


def _log_weights(k: int, batch: int, seed: int, scale: float = 2.0, centre: float = -3.0) -> torch.Tensor:
    """Random log-weights (k, batch), float32, from a fixed seed."""
    g = torch.Generator().manual_seed(seed)
    return centre + scale * torch.randn(k, batch, generator=g)


def _fmt(values: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values.detach().double().flatten().tolist()) + "]"


def _diagnose(out: torch.Tensor, log_w: torch.Tensor) -> str | None:
    """The symptom of the mistake that ``out`` (B,) matches for log-weights ``log_w`` (K, B), if any."""
    w = log_w.detach().double()
    k, batch = w.shape
    lse = _bound(w) + math.log(k)
    known = [
        (w.mean(0), "looks like the mean of the log-weights, the ELBO estimate, for every K: the average over "
                    "the K samples belongs inside the logarithm, log((1/K) sum_k exp(log_w[k]))"),
        (lse, f"is too large by log K = {math.log(k):.4g} for every example: it is the log of the sum of the "
              f"weights, and the minus log K that turns the sum into an average is missing (so it grows with K)"),
        (lse - k, f"subtracts K = {k} where the average over K samples needs log K = {math.log(k):.4g}"),
        (lse - math.log(batch), f"subtracts log B = {math.log(batch):.4g}, the log of the number of examples, "
                                f"where the average over the K = {k} samples of each example needs log K"),
        (w.exp().mean(0), "looks like the mean of the weights exp(log_w) themselves: the bound is the "
                          "logarithm of that mean"),
        (w.max(0).values, "equals the largest log-weight of each example: the log-sum-exp keeps the maximum "
                          "and adds the log of the sum of exp(log_w - maximum)"),
        (lse - math.log(k) - w.max(0).values, "is the bound of the shifted log-weights: the largest log-weight, "
                                  "subtracted before exponentiating, was not added back"),
    ]
    for value, symptom in known:
        if close(out, value, rtol=1e-4, atol=1e-4):
            return symptom
    return None


def _per_example(out: object, what: str, log_w: torch.Tensor) -> torch.Tensor:
    """Fail unless ``out`` is a finite tensor with one value per example, shape (B,), of log_w's dtype."""
    k, batch = log_w.shape
    shapes = f"log_w of shape ({k}, {batch}) ({k} samples for each of {batch} examples)"
    if isinstance(out, torch.Tensor) and tuple(out.shape) != (batch,):
        shape = tuple(out.shape)
        if shape == ():
            fail(f"{what} returned a single number for {shapes}; expected one bound per example, shape "
                 f"({batch},). It looks summed or averaged over the batch.")
        if shape == (k,):
            fail(f"{what} returned shape {shape} for {shapes}: one value per sample. The log-sum-exp runs "
                 f"over dimension 0, the K samples of each example, and leaves one bound per example, shape "
                 f"({batch},).")
        if shape in ((k, batch), (1, batch)):
            fail(f"{what} returned shape {shape} for {shapes}; expected shape ({batch},): reduce over the "
                 f"K samples (dimension 0) without keeping that dimension.")
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (batch,) and not bool(torch.isfinite(out.detach()).all()):
        fail(f"{what} contains NaN or infinite values for {shapes} with log-weights between "
             f"{float(log_w.min()):.4g} and {float(log_w.max()):.4g}: it overflows. exp(log_w) is inf (or 0) in "
             f"floating point for log-weights like +-1000; subtract each example's largest log-weight before "
             f"exponentiating and add it back after the logarithm.")
    return expect_tensor(out, what, (batch,), dtype=log_w.dtype)


def _call(iw_bound: Callable, log_w: torch.Tensor, requires_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The student's bound for a copy of ``log_w`` (and that copy); fails if it changed its input in place."""
    k, batch = log_w.shape
    given = log_w.clone().requires_grad_(requires_grad)
    out = _per_example(call(f"iw_bound(log_w) for log_w of shape ({k}, {batch})", iw_bound, given),
                       "iw_bound(log_w)", log_w)
    if not torch.equal(given.detach(), log_w):
        fail("iw_bound changed its input log_w in place; the log-weights must stay as they were (subtract the "
             "maximum into a new tensor).")
    return out, given


def _expect_value(iw_bound: Callable, log_w: torch.Tensor, context: str) -> torch.Tensor:
    """Fail unless the bound of ``log_w`` is right, naming the mistake it matches."""
    out, _ = _call(iw_bound, log_w)
    expected = _bound(log_w)
    if close(out, expected, rtol=1e-5, atol=1e-4):
        return out
    symptom = _diagnose(out, log_w)
    if symptom:
        fail(f"{context}, iw_bound(log_w) {symptom}.")
    i = int((out.detach().double() - expected).abs().argmax())
    fail(f"{context}, iw_bound(log_w) is wrong for example {i}: its log-weights {_fmt(log_w[:, i])} give the "
         f"bound {float(expected[i]):.4f}, iw_bound returned {float(out[i]):.4f}.")


def _expect_k_equal_one(iw_bound: Callable) -> None:
    log_w = _log_weights(1, 4, seed=2)
    out, _ = _call(iw_bound, log_w)
    if not close(out, log_w[0], rtol=1e-5, atol=1e-5):
        fail(f"With K = 1 sample the bound is that sample's log-weight itself (the one-sample ELBO estimate): "
             f"for log_w = {_fmt(log_w)} iw_bound gave {_fmt(out)}.")


def _expect_stable(iw_bound: Callable, centre: float) -> None:
    """Fail unless the bound is right for log-weights near ``centre`` (like -1000 or +1000)."""
    log_w = _log_weights(5, 3, seed=3, scale=1.0, centre=centre)
    out, _ = _call(iw_bound, log_w)
    expected = _bound(log_w)
    if not close(out, expected, rtol=1e-6, atol=1e-3):
        i = int((out.detach().double() - expected).abs().argmax())
        fail(f"iw_bound is right for moderate log-weights but not near {centre:g}: for {_fmt(log_w[:, i])} it "
             f"gave {float(out[i]):.6g}, the bound is {float(expected[i]):.6g}. Exponentiate only after "
             f"subtracting the largest log-weight of each example.")


def _expect_gradient(iw_bound: Callable, log_w: torch.Tensor) -> None:
    """Fail unless d(sum of weighted bounds) / d log_w is each example's normalised weights times its factor."""
    out, given = _call(iw_bound, log_w, requires_grad=True)
    if not out.requires_grad:
        fail("The output of iw_bound is cut off from the autograd graph (was it detached, or computed with "
             ".item() or NumPy?): training with this bound (the IWAE objective) needs its gradient.")
    factors = torch.linspace(0.5, 2.0, log_w.shape[1])  # different per example, so a mix-up of examples shows
    call("backward through iw_bound", (out * factors).sum().backward)
    expected = _weights(log_w) * factors.double()
    if given.grad is None or not close(given.grad, expected, rtol=1e-3, atol=1e-5):
        grad = given.grad if given.grad is not None else torch.zeros_like(log_w)
        fail(f"The gradient of iw_bound with respect to log_w is wrong: for one example's log-weights "
             f"{_fmt(log_w[:, 0])} it is {_fmt(grad[:, 0] / factors[0])}, but the bound's slope is the "
             f"normalised weights {_fmt(expected[:, 0] / factors[0].double())}.")


@check
def check_iw_bound_value(iw_bound: Callable) -> str:
    """One bound per example with the right values and gradient, the log-weight itself at K = 1, finite and
    right for log-weights near -1000 and +1000, input untouched."""
    log_w = _log_weights(4, 3, seed=1)
    _expect_value(iw_bound, log_w, "For log_w of shape (4, 3) (K = 4 samples of 3 examples)")
    _expect_k_equal_one(iw_bound)
    for centre in (-1000.0, 1000.0):
        _expect_stable(iw_bound, centre)
    _expect_gradient(iw_bound, log_w)
    return "iw_bound gives the importance-weighted bound of each example, stable for large log-weights"


def _toy_log_weights(proposal: str, k: int, repeats: int, seed: int) -> tuple[torch.Tensor, float, float]:
    """log-weights (k, repeats) of one data point of the toy model, its exact log p(x) and the proposal's ELBO.

    ``proposal`` is ``"posterior"`` (the exact p(z|x)) or ``"poor"`` (too wide and off-centre). Each column is
    an independent repeat of the same data point, so the mean over columns estimates the bound's expectation.
    """
    model = toy.LinearGaussian()
    x = torch.full((repeats,), 1.5, dtype=torch.float64)
    mean, var = model.posterior(x)
    if proposal == "posterior":
        mu, logvar = mean, var.log()
    else:
        mu, logvar = mean - 0.6, (4 * var).log()
    log_w = model.log_weights(x, mu, logvar, k, seed=seed).float()
    return log_w, float(model.log_marginal(x[0])), float(model.elbo(x, mu, logvar)[0])


def _expect_exact_with_the_posterior(iw_bound: Callable) -> None:
    for k in (1, 10, 100):
        log_w, log_px, _ = _toy_log_weights("posterior", k, 3, seed=k)
        out, _ = _call(iw_bound, log_w)
        if not close(out, torch.full((3,), log_px), rtol=1e-5, atol=1e-4):
            fail(f"On the linear-Gaussian model with the exact posterior p(z|x) as proposal, every weight equals "
                 f"p(x), so the bound equals log p(x) = {log_px:.4f} for every K. With K = {k}, iw_bound gave "
                 f"{_fmt(out)}.")


def _expect_rising_towards_log_px(iw_bound: Callable) -> None:
    """With a poor proposal: at K = 1 the ELBO, below log p(x) for all K, and not decreasing in K on average."""
    repeats, means = 400, {}
    for k in (1, 10, 100):
        log_w, log_px, elbo = _toy_log_weights("poor", k, repeats, seed=10 + k)
        out, _ = _call(iw_bound, log_w)
        out = out.detach().double()
        mean, stderr = float(out.mean()), float(out.std()) / math.sqrt(repeats)
        means[k] = (mean, stderr)
        if mean > log_px + _Z * stderr + 1e-3:
            fail(f"On the linear-Gaussian model with a poor proposal, the bound averaged over {repeats} repeats "
                 f"with K = {k} is {mean:.4f} +- {stderr:.4f}, above the exact log p(x) = {log_px:.4f}: a lower "
                 f"bound cannot exceed log p(x) in expectation.")
        if k == 1 and abs(mean - elbo) > _Z * stderr + 1e-3:
            fail(f"With K = 1 the bound's expectation is the ELBO, {elbo:.4f} on the linear-Gaussian model with "
                 f"a poor proposal; iw_bound averaged {mean:.4f} +- {stderr:.4f} over {repeats} repeats.")
    for small, large in ((1, 10), (10, 100)):
        (m_small, se_small), (m_large, se_large) = means[small], means[large]
        if m_large < m_small - _Z * math.hypot(se_small, se_large):
            fail(f"On the linear-Gaussian model with a poor proposal, the bound averaged over {repeats} repeats "
                 f"decreases from K = {small} ({m_small:.4f}) to K = {large} ({m_large:.4f}): in expectation it "
                 f"never decreases as K grows.")


@check
def check_iw_bound_properties(iw_bound: Callable) -> str:
    """Right for other shapes and float64, per example, stable when examples differ by thousands of nats,
    equal to log p(x) with the exact posterior as proposal, and with a poor proposal: the ELBO at K = 1,
    below log p(x), not decreasing in K."""
    for k, batch in ((1, 1), (7, 5), (1000, 2), (3, 8)):
        _expect_value(iw_bound, _log_weights(k, batch, seed=k + batch), f"For log_w of shape ({k}, {batch})")
    log_w = _log_weights(6, 4, seed=5).double()
    _expect_value(iw_bound, log_w, "For float64 log_w of shape (6, 4)")
    alone, _ = _call(iw_bound, log_w[:, 1:2])
    together, _ = _call(iw_bound, log_w)
    if not close(alone, together[1:2], rtol=1e-6, atol=1e-6):
        fail("The bound of an example changes when other examples are in the batch: each example's bound "
             "depends on its own column of log-weights only.")
    spread = torch.stack([_log_weights(4, 1, seed=6, scale=1.0, centre=c)[:, 0] for c in (-2000.0, 0.0, 1500.0)], 1)
    _expect_value(iw_bound, spread, "For three examples whose log-weights lie near -2000, 0 and +1500")
    _expect_k_equal_one(iw_bound)
    _expect_gradient(iw_bound, _log_weights(5, 4, seed=7))
    _expect_exact_with_the_posterior(iw_bound)
    _expect_rising_towards_log_px(iw_bound)
    return "iw_bound behaves like the importance-weighted bound: exact with the posterior, rising in K"
