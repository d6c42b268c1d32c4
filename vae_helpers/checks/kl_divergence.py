"""Checks for notebook 03: ``kl_divergence`` (closed form) and ``kl_monte_carlo``.

Both exercises compute, for each example of a batch, the KL divergence

    KL( N(mu, diag(exp(logvar))) || N(0, I) ),   mu, logvar: (B, d)  ->  (B,)

``kl_divergence`` in closed form, ``kl_monte_carlo`` as an average over random
draws. The checks compare with their own float64 computations (never with the
student's other exercise), so a mistake in one exercise costs only its own points.
When a result is wrong, they look for the mistake it matches and name its symptom.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ._core import call, check, close, expect_tensor, fail

_Normal = torch.distributions.Normal
_kl_between = torch.distributions.kl_divergence
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_Z = 5.0  # confidence bounds are this many standard errors wide


# --- independent computations (float64) ---------------------------------------------------------
def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The closed form per example, (B, d) -> (B,), in float64."""
    mu, logvar = mu.detach().double(), logvar.detach().double()
    return 0.5 * (mu ** 2 + logvar.exp() - 1.0 - logvar).sum(-1)


def _kl_prior_to_q(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(0, I) || q) per example, (B,): what averaging over the prior's draws estimates (negated)."""
    mu, logvar = mu.detach().double(), logvar.detach().double()
    return 0.5 * (logvar + (1.0 + mu ** 2) / logvar.exp() - 1.0).sum(-1)


def _log_ratio_sd(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Standard deviation of log q(z) - log p(z) for one draw z ~ q, per example (B,).

    Per dimension, log q - log p = -log sigma + mu^2/2 + mu sigma eps + (sigma^2 - 1) eps^2 / 2
    with eps ~ N(0, 1), whose variance is mu^2 sigma^2 + (sigma^2 - 1)^2 / 2.
    """
    mu, var = mu.detach().double(), logvar.detach().double().exp()
    return (mu ** 2 * var + 0.5 * (var - 1.0) ** 2).sum(-1).sqrt()


def _log_ratio_sd_under_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Standard deviation of log q(z) - log p(z) for one draw z ~ N(0, I), per example (B,)."""
    mu, var = mu.detach().double(), logvar.detach().double().exp()
    return (mu ** 2 / var ** 2 + 0.5 * (1.0 - 1.0 / var) ** 2).sum(-1).sqrt()


def _torch_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The same KL from torch.distributions, per example (B,)."""
    mu, logvar = mu.detach().double(), logvar.detach().double()
    q = _Normal(mu, (0.5 * logvar).exp())
    p = _Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return _kl_between(q, p).sum(-1)


def _mc_kl(mu: torch.Tensor, logvar: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The checks' own Monte Carlo estimate per example and its standard error, each (B,)."""
    mu, logvar = mu.detach().double(), logvar.detach().double()
    std = (0.5 * logvar).exp()
    eps = torch.randn(n, *mu.shape, dtype=torch.float64)
    z = mu + std * eps
    log_ratio = (-0.5 * eps ** 2 - 0.5 * logvar + 0.5 * z ** 2).sum(-1)  # the 2*pi constants cancel
    return log_ratio.mean(0), log_ratio.std(0) / math.sqrt(n)


def _inputs(batch: int, dim: int, seed: int, mu_scale: float = 1.5,
            logvar_range: tuple[float, float] = (-2.5, 1.5)) -> tuple[torch.Tensor, torch.Tensor]:
    """Random mu, logvar of shape (batch, dim), float32, from a fixed seed."""
    g = torch.Generator().manual_seed(seed)
    mu = mu_scale * torch.randn(batch, dim, generator=g)
    low, high = logvar_range
    logvar = low + (high - low) * torch.rand(batch, dim, generator=g)
    return mu, logvar


def _fmt(values: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values.detach().double().flatten().tolist()) + "]"


def _per_example(out: object, what: str, mu: torch.Tensor) -> torch.Tensor:
    """Fail unless ``out`` is a finite float32 tensor with one value per example, shape (B,)."""
    batch, dim = mu.shape
    if isinstance(out, torch.Tensor) and tuple(out.shape) != (batch,):
        shape = tuple(out.shape)
        inputs = f"mu and logvar of shape ({batch}, {dim}) ({batch} examples, {dim} latent dimensions)"
        if shape == ():
            fail(f"{what} returned a single number for {inputs}; expected one KL per example, "
                 f"shape ({batch},). It looks reduced over the whole batch.")
        if shape == (batch, dim):
            fail(f"{what} returned shape {shape} for {inputs}: one value per latent dimension. "
                 f"Expected one KL per example, shape ({batch},), the total over the latent dimensions.")
        if shape == (dim,):
            fail(f"{what} returned shape {shape} for {inputs}: it looks reduced over the examples "
                 f"instead of over the latent dimensions. Expected shape ({batch},).")
        if len(shape) == 2 and shape[1] == batch:
            fail(f"{what} returned shape {shape} for {inputs}: one value per random draw and example. "
                 f"Expected one estimate per example, shape ({batch},).")
    return expect_tensor(out, what, (batch,))


# --- kl_divergence ---------------------------------------------------------------------------------
def _kl_with(mu: torch.Tensor, log_variance: torch.Tensor, variance: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu ** 2 + variance - 1.0 - log_variance).sum(-1)


def _diagnose_closed_form(out: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> str | None:
    """The symptom of the mistake that ``out`` matches, if any."""
    mu, logvar = mu.detach().double(), logvar.detach().double()
    kl, dim = _kl(mu, logvar), mu.shape[-1]
    known = [
        (-kl, "is exactly minus the KL: it is negative, and a KL divergence is never negative"),
        (-2 * kl, "is exactly -2 times the KL: it is negative, and a KL divergence is never negative"),
        (kl / dim, f"is exactly 1/{dim} of the KL: it looks averaged over the {dim} latent dimensions "
                   f"rather than summed"),
        (2 * kl, "is exactly twice the KL"),
        (kl / 2, "is exactly half the KL"),
        (kl + dim / 2, "is larger than the KL by exactly 1/2 per latent dimension"),
        (kl - dim / 2, "is smaller than the KL by exactly 1/2 per latent dimension"),
        (_kl(mu, 2 * logvar), "equals the KL of a Gaussian whose standard deviation (not variance) is "
                              "exp(logvar): logvar is read as the log of sigma rather than of sigma^2"),
        (_kl_with(mu, logvar, (0.5 * logvar).exp()), "matches a KL in which the standard deviation sigma "
                                                     "appears where the variance sigma^2 belongs"),
        (_kl(torch.zeros_like(mu), logvar), "does not depend on mu: moving the mean away from the prior's "
                                            "centre costs nothing"),
    ]
    for value, symptom in known:
        if close(out, value, rtol=1e-3, atol=1e-4):
            return symptom
    return None


def _kl_untouched(kl_divergence: Callable, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The student's KL per example (B,) for copies of mu, logvar (B, d); fails if it changed them in place."""
    mu_in, logvar_in = mu.clone(), logvar.clone()
    out = _per_example(call("kl_divergence(mu, logvar)", kl_divergence, mu_in, logvar_in),
                       "kl_divergence(mu, logvar)", mu)
    if not (torch.equal(mu_in, mu) and torch.equal(logvar_in, logvar)):
        fail("kl_divergence changed its inputs mu or logvar in place; the encoder's outputs must stay "
             "as they were.")
    return out


def _expect_wide_range(kl_divergence: Callable) -> None:
    """Fail unless the KL is right for log-variances from -6 to 4 (a trained encoder's sharp posteriors go below -4)."""
    mu, logvar = _inputs(6, 2, seed=12, mu_scale=2.0, logvar_range=(-6.0, 4.0))
    out = _per_example(call("kl_divergence(mu, logvar)", kl_divergence, mu, logvar), "kl_divergence(mu, logvar)", mu)
    expected = _kl(mu, logvar)
    if not close(out, expected, rtol=1e-4, atol=1e-4):
        i = int((out.detach().double() - expected).abs().argmax())
        fail(f"kl_divergence is right for moderate inputs but wrong for mu = {_fmt(mu[i])}, logvar = "
             f"{_fmt(logvar[i])}: it gave {float(out[i]):.4f}, the KL is {float(expected[i]):.4f}. The formula "
             f"holds for every logvar; nothing should be clamped or cut off.")


MANY_DIMS = 1000  # latent dimensions of the many-dimension check


def _expect_many_dimensions(kl_divergence: Callable) -> None:
    """Fail unless the KL is right for 1,000 latent dimensions whose variances are all small, all large, or
    all near 1: the product of so many small or large variances is 0 or inf in floating point."""
    g = torch.Generator().manual_seed(13)
    mu = torch.randn(3, MANY_DIMS, generator=g)
    ranges = ((-6.0, -3.0), (2.0, 4.0), (-0.02, 0.02))  # per example: log-variances drawn in this range
    logvar = torch.stack([low + (high - low) * torch.rand(MANY_DIMS, generator=g) for low, high in ranges])
    what = f"kl_divergence(mu, logvar) for mu, logvar of shape (3, {MANY_DIMS})"
    out = call(what, kl_divergence, mu, logvar)
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (3,) and out.is_floating_point():
        expected = _kl(mu, logvar)
        got = out.detach().double()
        wrong = ~(got - expected).abs().le(1e-4 * expected.abs() + 1e-3)
        if bool(wrong.any()):
            sums = logvar.double().sum(-1)
            if bool(wrong[:2].all()) and not bool(wrong[2]):
                fail(f"With {MANY_DIMS:,} latent dimensions kl_divergence gave {_fmt(got)} where the KL is "
                     f"{_fmt(expected)}: right when every variance is near 1, wrong when they are all small "
                     f"(from e^-6 to e^-3) or all large (from e^2 to e^4). The product of those variances is "
                     f"e^{float(sums[0]):.0f} and e^{float(sums[1]):.0f}, which is 0 and inf in floating point: "
                     f"is the KL written through a product of variances, prod(sigma²) (or of sigmas)? The log of a "
                     f"product is the sum of the logs, and logvar already is log sigma².")
            i = int((got - expected).abs().nan_to_num(float("inf")).argmax())
            fail(f"With {MANY_DIMS:,} latent dimensions (log-variances from {ranges[i][0]:g} to {ranges[i][1]:g}) "
                 f"kl_divergence gave {float(got[i]):.6g} where the KL is {float(expected[i]):.6g}.")
    _per_example(out, what, mu)


def _expect_kl_gradient(kl_divergence: Callable, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """Fail unless backpropagating a weighted sum of the KLs gives mu and the slope of logvar, per example."""
    mu, logvar = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    out = call("kl_divergence(mu, logvar)", kl_divergence, mu, logvar)
    if not out.requires_grad:
        fail("The output of kl_divergence is cut off from the autograd graph (was it detached, or "
             "computed with .item() or NumPy?): training needs its gradient.")
    weights = torch.linspace(0.5, 2.0, len(mu))  # different per example, so a mix-up of examples shows
    call("backward through kl_divergence", (out * weights).sum().backward)
    expected = {"mu": weights[:, None] * mu.detach(),
                "logvar": weights[:, None] * 0.5 * (logvar.detach().exp() - 1.0)}
    for name, tensor in (("mu", mu), ("logvar", logvar)):
        grad = tensor.grad
        if grad is None or not bool(grad.abs().sum() > 0):
            fail(f"No gradient reaches {name}: the KL depends on {name}, so its gradient cannot be zero.")
        if not close(grad, expected[name], rtol=1e-3, atol=1e-4):
            fail(f"The gradient of kl_divergence with respect to {name} is wrong: for {name} = "
                 f"{_fmt(tensor[0])} it is {_fmt(grad[0])}, but the KL's slope there is "
                 f"{_fmt(expected[name][0])}.")


@check
def check_kl_divergence_value(kl_divergence: Callable) -> str:
    """One KL per example, zero at the prior, the right values and gradient on a non-square batch, inputs untouched,
    and the right values for log-variances from -6 to 4 and for 1,000 latent dimensions."""
    mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    zero = _per_example(call("kl_divergence(mu, logvar)", kl_divergence, mu, logvar),
                        "kl_divergence(mu, logvar) at mu = logvar = 0", mu)
    if not close(zero, torch.zeros(4), atol=1e-5):
        fail(f"At mu = 0 and logvar = 0, q is the standard normal prior itself, so its KL must be 0; "
             f"kl_divergence gave {_fmt(zero)} for a batch of 4 examples with 3 latent dimensions.")

    mu, logvar = _inputs(5, 3, seed=11)
    out = _kl_untouched(kl_divergence, mu, logvar)
    expected = _kl(mu, logvar)
    if close(out, expected, rtol=1e-4, atol=1e-4):
        _expect_wide_range(kl_divergence)
        _expect_many_dimensions(kl_divergence)
        _expect_kl_gradient(kl_divergence, mu, logvar)
        return "kl_divergence gives the right KL for each example, and its gradient"
    symptom = _diagnose_closed_form(out, mu, logvar)
    if symptom:
        fail(f"On a batch of 5 examples with 3 latent dimensions, kl_divergence(mu, logvar) {symptom}.")
    i = int((out.detach().double() - expected).abs().argmax())
    fail(f"kl_divergence gives wrong values. For example {i} of a batch of 5 (mu = {_fmt(mu[i])}, "
         f"logvar = {_fmt(logvar[i])}) it returned {float(out[i]):.4f}; the KL is {float(expected[i]):.4f}.")


@check
def check_kl_divergence_properties(kl_divergence: Callable) -> str:
    """Per example for any shape, never negative, matches torch.distributions and a Monte Carlo
    estimate, right for 1,000 latent dimensions, leaves its inputs alone, and has the KL's gradient."""
    mu, logvar = _inputs(6, 3, seed=21)
    out = _kl_untouched(kl_divergence, mu, logvar)
    for batch, dim in ((1, 4), (7, 1), (2, 8)):
        small_mu, small_logvar = _inputs(batch, dim, seed=batch)
        small = _per_example(call("kl_divergence(mu, logvar)", kl_divergence, small_mu, small_logvar),
                             "kl_divergence(mu, logvar)", small_mu)
        if not close(small, _kl(small_mu, small_logvar), rtol=1e-4, atol=1e-4):
            # The visible check may have failed on its own batch: say nothing about it here.
            symptom = _diagnose_closed_form(small, small_mu, small_logvar)
            fail(f"For mu and logvar of shape ({batch}, {dim}), kl_divergence(mu, logvar) "
                 + (f"{symptom}." if symptom else
                    f"gives {_fmt(small)} instead of {_fmt(_kl(small_mu, small_logvar))}."))
    for i in (0, 4):
        alone = call("kl_divergence(mu[i:i+1], logvar[i:i+1])", kl_divergence, mu[i:i + 1], logvar[i:i + 1])
        if not close(alone.reshape(-1), out[i:i + 1], rtol=1e-4, atol=1e-5):
            fail("The KL of an example changes when other examples are in the batch: each example's KL "
                 "must depend on its own mu and logvar only.")
    halves = (call("kl_divergence", kl_divergence, mu[:, :2], logvar[:, :2])
              + call("kl_divergence", kl_divergence, mu[:, 2:], logvar[:, 2:]))
    if not close(halves, out, rtol=1e-4, atol=1e-4):
        fail("The KL of 3 latent dimensions is not the KL of the first 2 plus the KL of the third: for a "
             "diagonal Gaussian the KL adds up over independent latent dimensions.")

    mu, logvar = _inputs(200, 4, seed=22, mu_scale=2.5, logvar_range=(-6.0, 4.0))
    out = _per_example(call("kl_divergence(mu, logvar)", kl_divergence, mu, logvar),
                       "kl_divergence(mu, logvar)", mu)
    if bool((out < -1e-4).any()):
        i = int(out.argmin())
        fail(f"kl_divergence returned a negative value, {float(out[i]):.4g}, for mu = {_fmt(mu[i])}, "
             f"logvar = {_fmt(logvar[i])}; a KL divergence is never negative.")
    reference = _torch_kl(mu, logvar)
    if not close(out, reference, rtol=1e-4, atol=1e-3):
        i = int((out.detach().double() - reference).abs().argmax())
        fail(f"kl_divergence disagrees with torch.distributions.kl_divergence on a wide range of inputs: "
             f"for mu = {_fmt(mu[i])}, logvar = {_fmt(logvar[i])} it gave {float(out[i]):.4f}, "
             f"torch.distributions gives {float(reference[i]):.4f}.")

    mu, logvar = _inputs(4, 3, seed=23)
    out = call("kl_divergence(mu, logvar)", kl_divergence, mu, logvar).detach().double()
    estimate, stderr = _mc_kl(mu, logvar, 2500)
    z = (out - estimate).abs() / stderr
    if bool((z > _Z).any()):
        i = int(z.argmax())
        fail(f"kl_divergence disagrees with a Monte Carlo estimate of E_q[log q(z) - log p(z)] from "
             f"2500 draws: for example {i} it gave {float(out[i]):.4f}, the estimate is "
             f"{float(estimate[i]):.4f} +- {float(stderr[i]):.4f} ({float(z[i]):.0f} standard errors away).")

    _expect_many_dimensions(kl_divergence)
    _expect_kl_gradient(kl_divergence, *_inputs(5, 3, seed=24))
    return "kl_divergence behaves like the KL divergence, gradient included"


# --- kl_monte_carlo ----------------------------------------------------------------------------------
def _diagnose_monte_carlo(estimates: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, n: int) -> str | None:
    """The symptom of the mistake whose expectation ``estimates`` (B,) matches, if any.

    ``estimates`` is an average over ``n`` draws (per example), so each candidate is judged within
    its own confidence bound.
    """
    kl, sd, dim = _kl(mu, logvar), _log_ratio_sd(mu, logvar), mu.shape[-1]
    half_logvar = 0.5 * logvar.detach().double().sum(-1)
    known = [
        (-_kl_prior_to_q(mu, logvar), _log_ratio_sd_under_prior(mu, logvar),
         "match minus KL(p || q), the average of log q(z) - log p(z) over draws z from the prior N(0, I) "
         "rather than from q"),
        (-kl, sd, "are about minus the KL, so they come out negative: they average log p(z) - log q(z)"),
        (kl / dim, sd / dim, f"are about 1/{dim} of the KL: they look averaged over the {dim} latent "
                             f"dimensions rather than summed"),
        (n * kl, n * sd, f"are about n_samples = {n} times the KL: they grow with the number "
                                    f"of draws"),
        (kl + dim * _LOG_SQRT_2PI, sd, f"are too large by about log sqrt(2 pi) = {_LOG_SQRT_2PI:.3f} per "
                                       f"latent dimension: the normalising constants of log q and log p "
                                       f"do not cancel"),
        (kl - dim * _LOG_SQRT_2PI, sd, f"are too small by about log sqrt(2 pi) = {_LOG_SQRT_2PI:.3f} per "
                                       f"latent dimension: the normalising constants of log q and log p "
                                       f"do not cancel"),
        (kl + half_logvar, sd, "are off from the KL by 1/2 sum_j log sigma_j^2: the log-density of q is "
                               "missing the part of its normalisation that depends on sigma"),
        (kl - half_logvar, sd, "are off from the KL by -1/2 sum_j log sigma_j^2: the log-density of q has "
                               "the wrong normalisation for its width sigma"),
        (_kl(mu, 2 * logvar), _log_ratio_sd(mu, 2 * logvar),
         "match the KL of a Gaussian whose standard deviation (not variance) is exp(logvar): logvar is "
         "read as the log of sigma rather than of sigma^2"),
    ]
    est = estimates.detach().double()
    for mean, spread, symptom in known:
        bound = _Z * spread / math.sqrt(n) + 1e-3 * (1 + mean.abs())
        if bool(((est - mean).abs() <= bound).all()):
            return symptom
    return None


def _estimate(kl_monte_carlo: Callable, mu: torch.Tensor, logvar: torch.Tensor, n: int) -> torch.Tensor:
    what = f"kl_monte_carlo(mu, logvar, n_samples={n})"
    mu_in, logvar_in = mu.clone(), logvar.clone()
    out = _per_example(call(what, kl_monte_carlo, mu_in, logvar_in, n), what, mu)
    if not (torch.equal(mu_in, mu) and torch.equal(logvar_in, logvar)):
        fail("kl_monte_carlo changed its inputs mu or logvar in place; the encoder's outputs must stay "
             "as they were.")
    return out.detach().double()


_SAME_DRAWS = "are the n_samples draws all the same (or is only one drawn)?"
_SINGLE_DRAW = "it varies as much as a single draw: " + _SAME_DRAWS


def _expect_unbiased(estimates: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, n: int,
                     context: str, again: Callable[[], torch.Tensor] | None = None) -> None:
    """Fail unless each example's estimate (an average of n draws) is within the confidence bound of the KL.

    ``again`` repeats the call; when given, a failure says whether the estimates vary from call to call
    like a single draw rather than like an average of n draws.
    """
    kl, stderr = _kl(mu, logvar), _log_ratio_sd(mu, logvar) / math.sqrt(n)
    z = (estimates - kl).abs() / stderr
    if not bool((z > _Z).any()):
        return
    symptom = _diagnose_monte_carlo(estimates, mu, logvar, n)
    if symptom:
        fail(f"{context}, the estimates {symptom}.")
    i = int(z.argmax())
    message = (f"{context}, the estimate for example {i} (mu = {_fmt(mu[i])}, logvar = {_fmt(logvar[i])}) is "
               f"{float(estimates[i]):.4f}, but the KL is {float(kl[i]):.4f}: an honest average of {n} draws "
               f"lands within +-{_Z * float(stderr[i]):.4f} ({_Z:.0f} standard errors) of it.")
    if again is not None:
        calls = 30
        spread = torch.stack([again() for _ in range(calls)]).std(0)
        single = spread / _log_ratio_sd(mu, logvar)
        if bool(((single > 0.6) & (single < 1.6)).all()):
            message += (f" Over {calls} calls the estimate for example {i} varies with standard deviation "
                        f"{float(spread[i]):.4f}, about that of a single draw ({float(_log_ratio_sd(mu, logvar)[i]):.4f}), "
                        f"where an average of {n} draws varies by {float(stderr[i]):.4f}: {_SAME_DRAWS}")
    fail(message)


def _expect_fresh_per_example(kl_monte_carlo: Callable, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """Fail unless two examples with the same mu, logvar (1, d) get different estimates."""
    twins = _estimate(kl_monte_carlo, mu.expand(2, -1).clone(), logvar.expand(2, -1).clone(), 10)
    if twins[0] == twins[1]:
        fail("Two examples with the same mu and logvar got exactly the same estimate: the examples of a "
             "batch share their random draws.")


_NOT_INDEPENDENT = ("either n_samples is not the number of draws that get averaged, or the draws are not "
                    "independent (every draw, example and latent dimension needs its own standard-normal number)")


def _expect_averages_of_n_draws(kl_monte_carlo: Callable, mu: torch.Tensor, logvar: torch.Tensor,
                                calls: int = 300) -> None:
    """Over ``calls`` calls: unbiased with n_samples=2, and a spread that shrinks like 1/sqrt(n_samples)."""
    theory = _log_ratio_sd(mu, logvar)
    for n in (2, 50):
        runs = torch.stack([_estimate(kl_monte_carlo, mu, logvar, n) for _ in range(calls)])
        if n == 2:
            _expect_unbiased(runs.mean(0), mu, logvar, n * calls,
                             f"Averaged over {calls} calls with n_samples=2 ({n * calls} draws in all)")
        spread = runs.std(0)
        expected = theory / math.sqrt(n)
        ratio = spread / expected
        if bool((ratio < 0.5).any()) or bool((ratio > 2.0).any()):
            i = int(ratio.log().abs().argmax())
            single = 0.7 < float(spread[i] / theory[i]) < 1.4
            cause = _SINGLE_DRAW if single else _NOT_INDEPENDENT + "."
            fail(f"With n_samples={n}, the estimates for example {i} vary from call to call with standard "
                 f"deviation {float(spread[i]):.4f}, but an average of {n} independent draws from q "
                 f"varies with standard deviation {float(expected[i]):.4f} (one draw's {float(theory[i]):.4f} "
                 f"over sqrt({n})): {cause}")


SAME_DIMS = 8  # latent dimensions of the independence check, all with the same mu and logvar


def _expect_independent_dimensions(kl_monte_carlo: Callable, calls: int = 200, n: int = 10) -> None:
    """Fail unless, for 8 identical latent dimensions, the spread over calls is that of independent draws.

    If the dimensions shared one standard-normal number, the 8 log-ratios would add up in step and the
    spread would be sqrt(8) times too large.
    """
    mu = torch.tensor([[0.5] * SAME_DIMS, [-1.0] * SAME_DIMS])
    logvar = torch.tensor([[-1.0] * SAME_DIMS, [0.5] * SAME_DIMS])
    runs = torch.stack([_estimate(kl_monte_carlo, mu, logvar, n) for _ in range(calls)])
    spread, expected = runs.std(0), _log_ratio_sd(mu, logvar) / math.sqrt(n)
    ratio = spread / expected
    if bool((ratio < 0.5).any()) or bool((ratio > 2.0).any()):
        i = int(ratio.log().abs().argmax())
        shared = (f" That is about sqrt({SAME_DIMS}) = {math.sqrt(SAME_DIMS):.2f} times too large, what "
                  f"draws give when the {SAME_DIMS} latent dimensions share one standard-normal number."
                  if 2.3 < float(ratio[i]) < 3.5 else "")
        fail(f"For {SAME_DIMS} latent dimensions that all have mu = {float(mu[i, 0]):g} and logvar = "
             f"{float(logvar[i, 0]):g}, with n_samples={n}, the estimates vary from call to call with standard "
             f"deviation {float(spread[i]):.4f}, but an average of {n} independent draws from q varies with "
             f"standard deviation {float(expected[i]):.4f}: {_NOT_INDEPENDENT}.{shared}")


@check
def check_kl_monte_carlo_basics(kl_monte_carlo: Callable) -> str:
    """One estimate per example, random from call to call and from example to example, close to the closed
    form for many draws, unbiased for 2 draws, with a spread that shrinks like 1/sqrt(n_samples) and
    independent draws for each latent dimension."""
    mu, logvar = _inputs(5, 3, seed=31, mu_scale=1.0, logvar_range=(-2.0, 1.0))
    n = 2000  # (5, 3) x 2000 draws stays under the size at which torch starts extra threads
    first = _estimate(kl_monte_carlo, mu, logvar, n)
    second = _estimate(kl_monte_carlo, mu, logvar, n)
    if torch.equal(first, second):
        fail("Two calls of kl_monte_carlo with the same mu and logvar gave exactly the same estimates; "
             "an average over random draws varies from one call to the next.")
    _expect_unbiased(first, mu, logvar, n, f"With n_samples={n} on a batch of 5 examples with 3 latent "
                                           f"dimensions", again=lambda: _estimate(kl_monte_carlo, mu, logvar, n))
    _expect_fresh_per_example(kl_monte_carlo, mu[:1], logvar[:1])
    _expect_averages_of_n_draws(kl_monte_carlo, mu[:3, :2], logvar[:3, :2])
    _expect_independent_dimensions(kl_monte_carlo)
    return "kl_monte_carlo gives one estimate per example, close to the KL"


@check
def check_kl_monte_carlo_statistics(kl_monte_carlo: Callable) -> str:
    """Fresh draws for every example and latent dimension, unbiased even for few draws, spread shrinking
    like 1/sqrt(n), and draws from q (tested where q is far from the prior)."""
    for batch, dim in ((1, 4), (6, 2)):
        mu, logvar = _inputs(batch, dim, seed=40 + batch)
        _estimate(kl_monte_carlo, mu, logvar, 1)

    _expect_fresh_per_example(kl_monte_carlo, torch.tensor([[0.5, -1.0, 0.2]]), torch.tensor([[0.3, -0.7, 0.0]]))
    _expect_averages_of_n_draws(kl_monte_carlo, torch.tensor([[0.5, -1.0], [1.5, 0.3], [-0.2, 2.0]]),
                                torch.tensor([[-1.5, 0.8], [-0.5, -2.0], [1.0, 0.5]]))
    _expect_independent_dimensions(kl_monte_carlo)

    mu, logvar = torch.tensor([[3.0, -2.0, 0.0]]), torch.tensor([[-3.0, -2.0, -4.0]])
    _expect_unbiased(_estimate(kl_monte_carlo, mu, logvar, 1000), mu, logvar, 1000,
                     "For a narrow q far from the prior (mu = [3, -2, 0], logvar = [-3, -2, -4]) with "
                     "n_samples=1000")
    return "kl_monte_carlo is an unbiased average of n_samples draws from q"
