"""Checks for notebook 02: ``reparameterize`` and ``score_function_gradient``.

Both exercises return random numbers, so most checks are statistical: they draw
many samples and compare a statistic with its exact value, allowing
``Z_TOLERANCE`` standard errors computed from the sample size. A correct answer
strays that far with a probability of about one in two million per statistic,
whichever random numbers it draws (and the @check seed makes each verdict
reproducible); the mistakes the checks look for miss by tens of standard errors.
Gradients are compared exactly, with autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ._core import call, check, close, expect_tensor, fail

Z_TOLERANCE = 5.0  # how many standard errors a statistic may stray from its exact value

# Exact facts about the standard normal, used by the checks.
WITHIN_ONE_SD = math.erf(1 / math.sqrt(2))  # P(|eps| < 1) = 0.6827
WITHIN_TWO_SD = math.erf(2 / math.sqrt(2))  # P(|eps| < 2) = 0.9545
KURTOSIS = 3.0  # E[eps^4]
KURTOSIS_SD = math.sqrt(105.0 - 9.0)  # std of eps^4: sqrt(E[eps^8] - E[eps^4]^2)

_randn = torch.randn
_rand = torch.rand
_exp = torch.exp
_grad = torch.autograd.grad


# --- reparameterize ------------------------------------------------------------------------
def _describe(mu: torch.Tensor) -> str:
    return f"mu of shape {tuple(mu.shape)} and dtype {mu.dtype}"


def _draw(reparameterize: Callable, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The student's z for (mu, logvar), checked to be a finite tensor of mu's shape and dtype."""
    what = f"reparameterize(mu, logvar) for {_describe(mu)}"
    z = call(what, reparameterize, mu, logvar)
    return expect_tensor(z, what, tuple(mu.shape), mu.dtype)


def _inputs(rows: int, logvars: tuple[float, ...], dtype: torch.dtype = torch.float32,
            requires_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """mu (rows, k) of varied values and logvar (rows, k) whose column j is logvars[j]."""
    mu = 3 * _randn(rows, len(logvars), dtype=dtype)
    logvar = torch.tensor(logvars, dtype=dtype).expand(rows, -1).clone()
    return mu.requires_grad_(requires_grad), logvar.requires_grad_(requires_grad)


def _standardized(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(z - mu) / sigma in float64: standard normal noise if z was drawn correctly."""
    return (z.detach().double() - mu.detach().double()) / _exp(0.5 * logvar.detach().double())


def _expect_noise(z: torch.Tensor, mu: torch.Tensor) -> None:
    if close(z, mu, rtol=0, atol=0):
        fail("z equals mu exactly: the sample has no randomness in it.")


def _expect_independent(eps: torch.Tensor) -> None:
    """Noise eps (rows, k) uncorrelated between neighbouring rows and between neighbouring columns."""
    centred = eps - eps.mean()
    power = centred.pow(2).mean()
    if power < 1e-12:
        fail("Every element of z gets the same noise: z - mu, in units of sigma, is one number "
             "repeated over the whole tensor.")
    limit = Z_TOLERANCE / math.sqrt(eps.numel())
    for axis, where in ((0, "neighbouring examples of the batch"), (1, "neighbouring dimensions of an example")):
        a, b = centred.narrow(axis, 0, eps.shape[axis] - 1), centred.narrow(axis, 1, eps.shape[axis] - 1)
        corr = float((a * b).mean() / power)
        if abs(corr) > limit:
            fail(f"The noise is not independent across elements: (z - mu) / sigma has correlation "
                 f"{corr:.2f} between {where} (independent noise gives 0, give or take {limit:.3f}).")


def _expect_scale(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """Per logvar column of z (rows, k): z - mu has mean 0 and standard deviation exp(logvar / 2)."""
    rows = z.shape[0]
    diff = z.detach().double() - mu.detach().double()
    lv = logvar.detach().double()[0]
    sd = diff.std(dim=0)
    offset = diff.mean(dim=0) / sd.clamp_min(1e-300)  # in units of the spread it has
    worst = int(offset.abs().argmax())
    if offset.abs().max() > Z_TOLERANCE / math.sqrt(rows):
        fail(f"z is not centred on mu: for logvar = {float(lv[worst]):g}, z - mu averages "
             f"{float(offset[worst]):+.3f} of its standard deviation over {rows} samples (it should average 0, "
             f"give or take {Z_TOLERANCE / math.sqrt(rows):.3f}).")
    target = _exp(0.5 * lv)
    if ((sd / target - 1).abs() > Z_TOLERANCE / math.sqrt(2 * rows)).any():
        shown = ", ".join(f"{float(v):g}" for v in lv)
        message = (f"The spread of z around mu is wrong. For logvar = [{shown}], the standard deviation of "
                   f"z - mu is [{', '.join(f'{float(s):.3g}' for s in sd)}]; a Gaussian with variance "
                   f"exp(logvar) has standard deviation [{', '.join(f'{float(s):.3g}' for s in target)}].")
        lookalikes = {
            "exp(logvar), which is the variance, not the standard deviation": _exp(lv),
            "|logvar| itself": lv.abs(),
            "sqrt(|logvar|)": lv.abs().sqrt(),
            "exp(-logvar / 2), which shrinks as the variance grows": _exp(-0.5 * lv),
        }
        for name, values in lookalikes.items():
            if ((sd - values).abs() <= 0.05 * values + 1e-9).all():
                fail(message + f" It matches {name}.")
        if (sd.max() - sd.min()) < 0.05 * sd.mean():
            fail(message + " It does not change with logvar.")
        fail(message)


_ZERO_GRADIENT_HINT = " Section 1 showed a sampler that returns a graph but passes zero gradient."


def _expect_gradients(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """dz/dmu = 1 and dz/dlogvar = (z - mu) / 2, element by element (tested with a random vector)."""
    if not z.requires_grad:
        fail("z is not connected to mu and logvar in the autograd graph (z.requires_grad is False): "
             "backpropagation from z stops at the sample.")
    weights = _randn(z.shape, dtype=z.dtype)  # random weights: catches mixing across elements too
    # (a scalar output: passing grad_outputs would make torch import sympy, ~1 s, on first use)
    grad_mu, grad_logvar = _grad((z * weights).sum(), (mu, logvar), allow_unused=True)
    rtol, atol = (1e-9, 1e-9) if z.dtype == torch.float64 else (1e-4, 1e-5)
    for name, grad in (("mu", grad_mu), ("logvar", grad_logvar)):
        if grad is None or not bool(grad.abs().sum() > 0):
            fail(f"No gradient reaches {name} from z: the gradient of z with respect to {name} is "
                 f"{'missing' if grad is None else 'zero everywhere'}, so training could not change {name}."
                 + ("" if grad is None else _ZERO_GRADIENT_HINT))
    if not close(grad_mu, weights, rtol, atol):
        ratio = float((grad_mu.double() * weights.double()).sum() / weights.double().pow(2).sum())
        fail(f"dz/dmu is wrong: z should move one-for-one with mu (dz/dmu = 1 for every element), but the "
             f"gradient is {ratio:.3g} times that on average.")
    expected = weights.double() * (z.detach().double() - mu.detach().double()) / 2
    if not close(grad_logvar, expected, rtol, atol):
        ratio = float((grad_logvar.double() * expected).sum() / expected.pow(2).sum())
        fail(f"dz/dlogvar is wrong: for z = mu + sigma * eps with sigma = exp(logvar / 2) it equals "
             f"(z - mu) / 2 element by element, but the gradient is {ratio:.3g} times that on average.")


@check
def check_reparameterize_basics(reparameterize: Callable) -> str:
    """Shape (2-D and 1-D, as notebook 02 uses it) and dtype, Gaussian noise fresh on every call, centre and spread
    of z (also over many calls on tiny inputs), and gradients that reach mu and logvar."""
    for shape, dtype in (((5, 3), torch.float32), ((4, 2), torch.float64), ((6,), torch.float32)):
        mu, logvar = _randn(shape, dtype=dtype), _randn(shape, dtype=dtype)
        before = (mu.clone(), logvar.clone())
        z = _draw(reparameterize, mu, logvar)
        if not (torch.equal(mu, before[0]) and torch.equal(logvar, before[1])):
            fail("reparameterize changed mu or logvar in place: its inputs must stay as they were.")
        _expect_noise(z, mu)
    mu, logvar = _inputs(10_000, (-4.0, -2.0, 0.0, 2.0))
    _expect_good_noise(reparameterize, mu, logvar)
    _expect_tiny_inputs(reparameterize, torch.float32)
    mu, logvar = _inputs(8, (-1.0, 0.5), requires_grad=True)
    z = _draw(reparameterize, mu, logvar)
    if not z.requires_grad:
        fail("z is not connected to mu and logvar in the autograd graph (z.requires_grad is False): "
             "backpropagation from z stops at the sample.")
    grads = _grad(z.sum(), (mu, logvar), allow_unused=True)
    for name, grad in zip(("mu", "logvar"), grads):
        if grad is None or not bool(grad.abs().sum() > 0):
            fail(f"No gradient reaches {name} from z (it is {'missing' if grad is None else 'zero'}), "
                 f"so training could not change {name}." + ("" if grad is None else _ZERO_GRADIENT_HINT))
    return "reparameterize draws fresh Gaussian noise with the right shape, centre and spread, and lets gradients through"


@check
def check_reparameterize_noise(reparameterize: Callable) -> str:
    """The noise is standard normal, independent across elements, and fresh on every call (float64, 5 columns;
    and over many calls on a single code of 1 and of 2 dimensions)."""
    mu, logvar = _inputs(12_000, (-3.0, -1.0, 0.0, 1.0, 2.5), dtype=torch.float64)
    _expect_good_noise(reparameterize, mu, logvar)
    _expect_tiny_inputs(reparameterize, torch.float64)
    return "reparameterize draws independent standard normal noise, fresh on every call, for large and tiny inputs"


def _expect_good_noise(reparameterize: Callable, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """Fail unless z for (mu, logvar) (rows, k) is mu plus independent standard normal noise scaled by sigma,
    drawn anew on every call."""
    z = _draw(reparameterize, mu, logvar)
    _expect_noise(z, mu)
    eps = _standardized(z, mu, logvar)
    _expect_independent(eps)
    _expect_scale(z, mu, logvar)
    _expect_gaussian(eps)
    _expect_fresh(reparameterize, mu, logvar, z)


TINY_CALLS = 3000  # calls of reparameterize on each tiny input


def _expect_tiny_inputs(reparameterize: Callable, dtype: torch.dtype) -> None:
    """Fail unless, over many calls on a single code of 1 and of 2 dimensions, the noise of every element is
    standard normal, the two elements' noise is independent, and each call's noise is new."""
    for shape, logvars in (((1, 1), (0.7,)), ((1, 2), (-1.0, 1.5))):
        mu = torch.tensor([[0.5, -2.0][:shape[1]]], dtype=dtype)
        logvar = torch.tensor([logvars], dtype=dtype)
        eps = torch.stack([_standardized(_draw(reparameterize, mu, logvar), mu, logvar).flatten()
                           for _ in range(TINY_CALLS)])  # (calls, elements)
        setting = f"{TINY_CALLS} calls with {_describe(mu)}"
        if bool((eps == 0).all()):
            fail(f"Over {setting}, z always equals mu: the sample has no randomness in it (is the noise centred "
                 f"on its own mean, which for one element is the element itself?).")
        limit = Z_TOLERANCE / math.sqrt(TINY_CALLS)
        later = float((eps[1:] * eps[:-1]).mean() / eps.pow(2).mean())
        if abs(later) > limit or bool((eps[1:] == eps[:-1]).all()):
            fail(f"Over {setting}, the noise of one call predicts the next (correlation {later:.2f}): every call "
                 f"needs new noise.")
        for j in range(shape[1]):
            _expect_gaussian(eps[:, j], f"Over {setting}, the noise of element {j} is not Gaussian")
        if shape[1] == 2:
            a, b = eps[:, 0], eps[:, 1]
            for name, (u, v) in (("the noise", (a, b)), ("the squared noise", (a.pow(2), b.pow(2)))):
                corr = float(torch.corrcoef(torch.stack([u, v]))[0, 1])
                if abs(corr) > limit:
                    fail(f"Over {setting}, {name} of the two elements has correlation {corr:.2f} (independent "
                         f"noise: 0, give or take {limit:.2f}): each element needs its own draw, independent of "
                         f"the others, even when the tensor is this small.")


def _expect_gaussian(eps: torch.Tensor, what: str = "The noise is not Gaussian") -> None:
    """Fail unless the noise eps, (z - mu) / sigma, has the standard normal's mass within 1 and 2 and its 4th moment."""
    flat, n = eps.flatten(), eps.numel()
    inside1 = float((flat.abs() < 1).double().mean())
    inside2 = float((flat.abs() < 2).double().mean())
    kurtosis = float(flat.pow(4).mean())
    tol1 = Z_TOLERANCE * math.sqrt(WITHIN_ONE_SD * (1 - WITHIN_ONE_SD) / n)
    tol2 = Z_TOLERANCE * math.sqrt(WITHIN_TWO_SD * (1 - WITHIN_TWO_SD) / n)
    tol4 = Z_TOLERANCE * KURTOSIS_SD / math.sqrt(n)
    if (abs(inside1 - WITHIN_ONE_SD) > tol1 or abs(inside2 - WITHIN_TWO_SD) > tol2
            or abs(kurtosis - KURTOSIS) > tol4):
        fail(f"{what}: of (z - mu) / sigma, {inside1:.1%} lies within 1 and {inside2:.1%} "
             f"within 2 (a standard normal: {WITHIN_ONE_SD:.1%} and {WITHIN_TWO_SD:.1%}), and its fourth "
             f"moment is {kurtosis:.2f} (a standard normal: 3).")


def _expect_fresh(reparameterize: Callable, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor) -> None:
    """Fail unless a second call with the same (mu, logvar) draws new noise, uncorrelated with that of ``z``."""
    again = _draw(reparameterize, mu, logvar)
    if close(again, z, rtol=0, atol=0):
        fail("Two calls with the same mu and logvar returned the same z: the noise does not change "
             "from one call to the next.")
    corr = float((_standardized(again, mu, logvar) * _standardized(z, mu, logvar)).mean())
    if abs(corr) > Z_TOLERANCE / math.sqrt(z.numel()):
        fail(f"The noise of two calls with the same mu and logvar is correlated ({corr:.2f}): one call "
             f"predicts the next.")


@check
def check_reparameterize_gradients(reparameterize: Callable) -> str:
    """Exact gradients dz/dmu = 1 and dz/dlogvar = (z - mu) / 2 for several shapes and dtypes."""
    for shape, dtype in (((64, 8), torch.float32), ((10,), torch.float64), ((4, 3, 2), torch.float64)):
        mu = _randn(shape, dtype=dtype).requires_grad_(True)
        logvar = (2 * _rand(shape, dtype=dtype) - 1.5).requires_grad_(True)
        z = _draw(reparameterize, mu, logvar)
        _expect_noise(z, mu)
        _expect_gradients(z, mu, logvar)
    return "reparameterize gives dz/dmu = 1 and dz/dlogvar = (z - mu) / 2"


# --- score_function_gradient ---------------------------------------------------------------
def _square(z: torch.Tensor) -> torch.Tensor:
    return z ** 2


def _step(z: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype)


def _square_gradient(mu: float, sigma: float) -> tuple[float, float]:
    """d/dmu E[z^2] = 2 mu, and the variance of one score-function estimate z^2 (z - mu) / sigma^2."""
    return 2 * mu, mu ** 4 / sigma ** 2 + 14 * mu ** 2 + 15 * sigma ** 2


def _step_gradient(mu: float, sigma: float) -> float:
    """d/dmu P(z > 0) for z ~ N(mu, sigma^2): the normal density at mu / sigma, over sigma."""
    return math.exp(-0.5 * (mu / sigma) ** 2) / (math.sqrt(2 * math.pi) * sigma)


def _estimates(score_function_gradient: Callable, f: Callable, f_name: str, mu: float, logvar: float,
               n: int, requires_grad: bool = False) -> torch.Tensor:
    """The student's per-sample estimates (n,) in float64, checked for shape and finiteness."""
    what = f"score_function_gradient(f, mu, logvar, n_samples={n}) with {f_name}, mu = {mu:g}, logvar = {logvar:.3g}"
    mu_t = torch.tensor(mu, requires_grad=requires_grad)
    logvar_t = torch.tensor(logvar, requires_grad=requires_grad)
    out = call(what, score_function_gradient, f, mu_t, logvar_t, n)
    out = expect_tensor(out, what, dtype=None)
    if tuple(out.shape) != (n,):
        fail(f"{what} has shape {tuple(out.shape)}; expected ({n},): one gradient estimate per sample, "
             f"not a summary of them.")
    if not out.is_floating_point():
        fail(f"{what} has dtype {out.dtype}; expected floating-point estimates.")
    return out.detach().double()


def _zero(z: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(z)


def _ignores_f(score_function_gradient: Callable) -> bool:
    """True when the estimates for f(z) = 0 are not all 0: they do not scale with f's values."""
    return not bool((_estimates(score_function_gradient, _zero, "f(z) = 0", 1.0, 0.0, 1000) == 0).all())


def _expect_mean(values: torch.Tensor, exact: float, sd: float, setting: str, sigma: float = 1.0,
                 ignores_f: Callable[[], bool] | None = None) -> None:
    """The average of the estimates equals the exact gradient within Z_TOLERANCE standard errors.

    ``sd`` is the standard deviation of one correct estimate (or a bound on it). For f(z) = z²,
    whose gradient does not depend on sigma, pass ``sigma`` to name a factor of sigma in the error.
    ``ignores_f`` tells, when the average is near 0, whether the estimates fail to scale with f.
    """
    mean, stderr = float(values.mean()), sd / math.sqrt(len(values))
    if abs(mean - exact) <= Z_TOLERANCE * stderr:
        return
    message = (f"The estimates are biased: with {setting} their average over {len(values)} samples is "
               f"{mean:.3f}, but the exact gradient is {exact:.3f} (an unbiased estimator would be within "
               f"{Z_TOLERANCE * stderr:.3f} of it).")
    if bool((values == 0).all()):
        fail(message + " Every single estimate is exactly 0.")
    if abs(mean) <= Z_TOLERANCE * stderr:
        message += " The average is indistinguishable from 0"
        scale = float(values.std()) / sd
        n = len(values)
        if abs(scale * n - 1) < 0.2:
            fail(message + f", and the estimates are about 1/n_samples = 1/{n} of the expected size (their standard "
                           f"deviation is {float(values.std()):.3g} where one score-function estimate has {sd:.3g}): "
                           f"is each estimate divided by n_samples? Return each estimate whole; averaging them is "
                           f"left to the caller.")
        if ignores_f is not None and ignores_f():
            fail(message + ". With f(z) = 0 for every z the estimates are not all 0, so they do not scale with f's "
                           "values: each estimate is f(z) times the score (z - mu) / sigma².")
        fail(message + f", and the estimates have {scale:.2g} times the standard deviation of score-function "
                       f"estimates ({float(values.std()):.3g} where one estimate has {sd:.3g}).")
    ratio = mean / exact
    if abs(ratio + 1) < 0.1:
        fail(message + " The average has the wrong sign.")
    message += f" The average is {ratio:.3g} times the exact value"
    if sigma != 1.0:
        for power, name in ((2, "sigma²"), (1, "sigma"), (-1, "1 / sigma"), (-2, "1 / sigma²")):
            if abs(ratio / sigma ** power - 1) < 0.1:
                fail(message + f", close to {name} = {sigma ** power:g}: the estimates carry an extra factor of "
                               f"{name} (= {sigma ** power:g}). Compare the powers of sigma in your estimate with "
                               f"those of the score (z - mu) / sigma².")
    fail(message + ".")


@check
def check_score_function_basics(score_function_gradient: Callable) -> str:
    """One random estimate per sample, new samples on every call, unbiased for f(z) = z² at (mu, sigma) = (2, 1)
    and (1, 0.5), with the score-function estimator's variance."""
    small = _estimates(score_function_gradient, _square, "f(z) = z²", 2.0, 0.0, 10)
    if bool((small == small[0]).all()):
        value = "exactly 0" if float(small[0]) == 0 else "equal"
        fail(f"All 10 estimates are {value}: each sample should give its own, random, estimate.")
    _expect_fresh_samples(score_function_gradient, 2.0)
    mu, sigma = 2.0, 1.0
    exact, variance = _square_gradient(mu, sigma)
    values = _estimates(score_function_gradient, _square, "f(z) = z²", mu, 0.0, 100_000)
    _expect_mean(values, exact, math.sqrt(variance), "f(z) = z², mu = 2, sigma = 1",
                 ignores_f=lambda: _ignores_f(score_function_gradient))
    _expect_square_variance(values, mu, sigma)
    mu, sigma = 1.0, 0.5
    exact, variance = _square_gradient(mu, sigma)
    values = _estimates(score_function_gradient, _square, "f(z) = z²", mu, 2 * math.log(sigma), 100_000)
    _expect_mean(values, exact, math.sqrt(variance), f"f(z) = z², mu = {mu:g}, sigma = {sigma:g}", sigma,
                 ignores_f=lambda: _ignores_f(score_function_gradient))
    _expect_square_variance(values, mu, sigma)
    return "score_function_gradient gives fresh per-sample estimates, unbiased and with the score function's variance"


@check
def check_score_function_properties(score_function_gradient: Callable) -> str:
    """Unbiased for other mu and sigma and for a step function; fresh noise; the score function's variance."""
    n = 100_000
    _expect_fresh_samples(score_function_gradient, 0.5)
    for mu, sigma, grad_inputs in ((-1.5, 2.0, False), (0.5, 1.5, True)):
        exact, variance = _square_gradient(mu, sigma)
        values = _estimates(score_function_gradient, _square, "f(z) = z²", mu, 2 * math.log(sigma), n,
                            requires_grad=grad_inputs)
        _expect_mean(values, exact, math.sqrt(variance), f"f(z) = z², mu = {mu:g}, sigma = {sigma:g}", sigma,
                     ignores_f=lambda: _ignores_f(score_function_gradient))
    mu, sigma = 0.5, 0.5
    values = _estimates(score_function_gradient, _step, "the step function f(z) = 1 if z > 0 else 0",
                        mu, 2 * math.log(sigma), n, requires_grad=True)
    exact = _step_gradient(mu, sigma)
    # Variance of one estimate 1[z > 0] (z - mu) / sigma^2, bounded by E[eps^2] / sigma^2.
    _expect_mean(values, exact, 1 / sigma, f"the step function f(z) = 1 if z > 0 else 0 (its derivative is 0 "
                 f"wherever it exists), mu = {mu:g}, sigma = {sigma:g}")
    mu, sigma = -1.0, 1.0
    values = _estimates(score_function_gradient, _square, "f(z) = z²", mu, 0.0, n)
    _expect_square_variance(values, mu, sigma)
    return "score_function_gradient is unbiased, even for a step function, with the score function's variance"


def _expect_fresh_samples(score_function_gradient: Callable, mu: float) -> None:
    """Fail unless two calls with the same arguments (f(z) = z², sigma = 1) give different estimates."""
    first = _estimates(score_function_gradient, _square, "f(z) = z²", mu, 0.0, 1000)
    second = _estimates(score_function_gradient, _square, "f(z) = z²", mu, 0.0, 1000)
    if bool((first == second).all()):
        fail("Two calls with the same arguments returned the same estimates: the samples do not change "
             "from one call to the next.")


def _expect_square_variance(values: torch.Tensor, mu: float, sigma: float) -> None:
    """Fail unless the estimates for f(z) = z² at (mu, sigma) vary like one score-function estimate each."""
    n = len(values)
    _, variance = _square_gradient(mu, sigma)
    measured = float(values.var())
    spread = float(((values - values.mean()) ** 4).mean() - measured ** 2) ** 0.5 / math.sqrt(n)
    pathwise = 4 * sigma ** 2  # variance of the reparameterized estimate 2 z
    if measured > pathwise and abs(measured - variance) <= Z_TOLERANCE * spread:
        return
    message = (f"The spread of the estimates is not that of the score-function estimator: for f(z) = z², "
               f"mu = {mu:g}, sigma = {sigma:g} their variance is {measured:.2f}, but one score-function estimate "
               f"has variance {variance:g} (and the reparameterized one {pathwise:g}).")
    lookalikes = [(pathwise, "that of the reparameterized estimate 2z: this exercise asks for the score-function "
                             "estimator, which never differentiates f")]
    # f(z) - E[f] = 2 mu sigma eps + sigma² (eps² - 1), times eps / sigma: variance 12 mu² + 10 sigma² - (2 mu)²
    lookalikes.append((8 * mu ** 2 + 10 * sigma ** 2, "the estimator with a baseline (f minus its average): this "
                       "exercise asks for the plain estimator, without a baseline."))
    if sigma != 1.0:  # at sigma = 1 the variance and the standard deviation are the same
        lookalikes.append((_square_gradient(mu, sigma ** 2)[1], "what draws with standard deviation sigma² give: "
                           "is exp(logvar), the variance, used as the standard deviation?"))
    for value, name in lookalikes:
        if abs(measured - value) <= 0.05 * value:
            fail(f"{message} It matches {name}")
    fail(message)
