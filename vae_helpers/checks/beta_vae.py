"""Checks for notebook 05: ``beta_vae_loss`` and ``active_units``.

``beta_vae_loss(recon_x, x, mu, logvar, beta)`` is the binary cross-entropy of
the pixels summed over pixels and batch, plus beta times the closed-form
KL(N(mu, sigma^2) || N(0, I)) summed over latent dimensions and batch. The loss
is affine in beta, so its value at beta = 0 (the reconstruction part) and its
growth per unit of beta (the KL part) locate most mistakes on their own.

``active_units(mu, threshold=0.01)`` returns a boolean mask (d,) of the latent
dimensions whose posterior mean varies over the data by more than ``threshold``
(variance over the N inputs). Its checks do not use ``beta_vae_loss``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._core import _Tensor, call, check, close, expect_tensor, fail

PIXELS = 784


# --- beta_vae_loss ------------------------------------------------------------------------

def _loss_inputs(batch: int, latent: int, seed: int) -> tuple[torch.Tensor, ...]:
    """recon_x in (0.01, 0.99) and targets x in [0, 1] (B, 784); mu, logvar (B, latent)."""
    g = torch.Generator().manual_seed(seed)
    recon_x = 0.01 + 0.98 * torch.rand(batch, PIXELS, generator=g)
    x = torch.rand(batch, PIXELS, generator=g)
    mu = torch.randn(batch, latent, generator=g)
    logvar = 0.8 * torch.randn(batch, latent, generator=g)
    return recon_x, x, mu, logvar


def _bce(recon_x: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r, x = recon_x.double(), x.double()
    return -(x * r.log() + (1 - x) * (1 - r).log()).sum()


def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    mu, logvar = mu.double(), logvar.double()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum()


def _loss_value(beta_vae_loss: Callable, inputs: tuple[torch.Tensor, ...], beta: float) -> torch.Tensor:
    """The student's loss as a detached float64 scalar, after checking it is a finite 0-dim tensor."""
    batch = len(inputs[0])
    what = f"beta_vae_loss(recon_x, x, mu, logvar, beta={beta:g})"
    loss = expect_tensor(call(what, beta_vae_loss, *(t.clone() for t in inputs), beta), what,
                         shape=None, dtype=None)
    if loss.dim() != 0:
        fail(f"{what} returned a tensor of shape {tuple(loss.shape)} for a batch of {batch} images; it "
             f"should return a single number (a 0-dim tensor) that adds up the whole batch.")
    return loss.detach().double()


def _near(a: torch.Tensor | float, b: torch.Tensor | float) -> bool:
    return close(torch.as_tensor(a), torch.as_tensor(b), rtol=1e-4, atol=1e-3)


def _diagnose_loss(beta_vae_loss: Callable, batch: int, latent: int, seed: int) -> None:
    """Fail with the symptom unless the loss is BCE + beta * KL, both summed over the batch."""
    inputs = _loss_inputs(batch, latent, seed)
    recon_x, x, mu, logvar = inputs
    bce, kl = _bce(recon_x, x), _kl(mu, logvar)
    at = {beta: _loss_value(beta_vae_loss, inputs, beta) for beta in (0.0, 1.0, 3.0)}
    part_r, part_kl = at[0.0], at[1.0] - at[0.0]  # the loss at beta = 0, and its growth per unit of beta
    if not _near(at[3.0] - at[0.0], 3 * part_kl):
        fail(f"beta_vae_loss is not a straight line in beta (values {float(at[0.0]):.2f}, {float(at[1.0]):.2f}, "
             f"{float(at[3.0]):.2f} at beta = 0, 1, 3): beta should scale one term of the loss, linearly.")
    if _near(part_r, bce) and _near(part_kl, kl):
        return
    per_image = f"on a batch of {batch} images"
    if _near(part_kl, 0):
        if _near(part_r, bce + kl):
            fail(f"beta_vae_loss gives the same value for every beta ({float(part_r):.2f} {per_image}, the "
                 f"plain VAE loss): it ignores beta.")
        if _near(part_r, bce):
            fail(f"beta_vae_loss gives the same value for every beta and equals the reconstruction term alone "
                 f"({float(part_r):.2f} {per_image}): the KL term is missing.")
        fail("beta_vae_loss gives the same value for every beta: beta must weight the KL term.")
    if _near(part_r, 0) and _near(part_kl, bce + kl):
        fail("beta_vae_loss is proportional to beta (it is 0 at beta = 0): beta scales the reconstruction "
             "term too. In the beta-VAE objective beta weighs the KL term only.")
    if _near(part_r, kl) and _near(part_kl, bce):
        fail("beta_vae_loss equals the KL term at beta = 0 and grows by the reconstruction term per unit "
             "of beta: beta scales the wrong term.")
    if _near(part_r, bce / batch) and _near(part_kl, kl / batch):
        fail(f"beta_vae_loss is 1/{batch} of the expected value {per_image}: it looks averaged over the "
             f"batch; the course's losses are summed over the batch.")
    if _near(part_r, bce + kl) and _near(part_kl, kl):
        fail(f"At beta = 0 the loss is {float(part_r):.4g} {per_image}, the reconstruction term plus the KL term "
             f"({float(bce):.4g} + {float(kl):.4g}), and it grows by the KL per unit of beta: the KL is counted "
             f"twice, once on its own and once times beta (adding beta * KL to a loss that already holds the KL, "
             f"such as vae_loss, does this). The beta-VAE loss has one KL term, weighted by beta.")
    if not _near(part_r, bce):
        hints = [
            (bce / (batch * PIXELS), "averaged over every pixel of the batch (F.binary_cross_entropy's "
                                     "default reduction) instead of summed"),
            (bce / PIXELS, "averaged over the pixels instead of summed"),
            (bce / batch, "averaged over the batch instead of summed"),
            (-bce, "negative: a cross-entropy is never negative"),
            (((recon_x - x) ** 2).double().sum(), "the squared error, not the binary cross-entropy of the "
                                                  "pixels"),
            (((recon_x - x) ** 2).double().mean(), "the mean squared error, not the binary cross-entropy of "
                                                   "the pixels"),
        ]
        for value, hint in hints:
            if _near(part_r, value):
                fail(f"The reconstruction term (the loss at beta = 0) is {float(part_r):.4g} {per_image}: "
                     f"it looks {hint}.")
        fail(f"The reconstruction term (the loss at beta = 0) is {float(part_r):.4g} {per_image}; the binary "
             f"cross-entropy summed over pixels and batch is {float(bce):.4g}.")
    if _near(part_kl, -kl):
        fail("The loss falls as beta grows: the KL part is negative, but a KL divergence is never "
             "negative. Check its sign.")
    kl_hints = [
        (kl / batch, "averaged over the batch instead of summed"),
        (kl / latent, "averaged over the latent dimensions instead of summed"),
        (2 * kl, "twice the closed form (the factor 1/2 dropped, or the KL added twice)"),
        (kl / 2, "half the closed form: check the factor 1/2"),
    ]
    for value, hint in kl_hints:
        if _near(part_kl, value):
            fail(f"The KL part (how much the loss grows per unit of beta) is {float(part_kl):.4g} "
                 f"{per_image}: it looks {hint}.")
    unit_var = (recon_x, x, mu, torch.zeros_like(logvar))
    if _near(_loss_value(beta_vae_loss, unit_var, 1.0) - _loss_value(beta_vae_loss, unit_var, 0.0),
             _kl(mu, torch.zeros_like(logvar))):
        fail("The KL part is right when logvar = 0 (sigma = 1) but wrong for other log-variances: check how "
             "the variance sigma^2 is obtained from logvar = log sigma^2.")
    fail(f"The KL part (how much the loss grows per unit of beta) is {float(part_kl):.4g} {per_image}; the "
         f"closed-form KL(q || N(0, I)) summed over latent dimensions and batch is {float(kl):.4g}.")


def _expect_untouched_inputs_and_gradients(beta_vae_loss: Callable, inputs: tuple[torch.Tensor, ...],
                                           beta: float) -> None:
    """Fail if the loss changes its ``inputs`` (recon_x, x, mu, logvar) in place or has the wrong gradients."""
    originals = [t.clone() for t in inputs]
    call("beta_vae_loss(recon_x, x, mu, logvar, beta)", beta_vae_loss, *inputs, beta)
    if any(not torch.equal(a, b) for a, b in zip(inputs, originals)):
        fail("beta_vae_loss changed its input tensors (an in-place operation such as exp_ or +=): the "
             "model still needs them after the loss is computed.")

    recon_x, x, mu, logvar = (t.clone().requires_grad_(t is not inputs[1]) for t in inputs)
    loss = call("beta_vae_loss(recon_x, x, mu, logvar, beta)", beta_vae_loss, recon_x, x, mu, logvar, beta)
    if not isinstance(loss, _Tensor) or not loss.requires_grad:
        fail("beta_vae_loss is cut off from the autograd graph (did it use .detach(), .item() or numpy?): "
             "training needs its gradient.")
    call("loss.backward()", loss.backward)
    r, t, m, lv = recon_x.detach().double(), x.double(), mu.detach().double(), logvar.detach().double()
    expected = {
        "recon_x": (recon_x.grad, (r - t) / (r * (1 - r)), "the binary cross-entropy of the pixels"),
        "mu": (mu.grad, beta * m, "beta times the KL term"),
        "logvar": (logvar.grad, beta * 0.5 * (lv.exp() - 1), "beta times the KL term"),
    }
    for name, (grad, want, term) in expected.items():
        if grad is None or not close(grad, want, rtol=1e-3, atol=1e-4):
            fail(f"The gradient of beta_vae_loss with respect to {name} is wrong; {name} enters the loss only "
                 f"through {term}.")


@check
def check_beta_vae_loss_value(beta_vae_loss: Callable) -> str:
    """A scalar equal to BCE + beta * KL, both summed over the batch, for several beta; inputs untouched;
    the gradient of each term."""
    _diagnose_loss(beta_vae_loss, batch=4, latent=3, seed=0)
    _expect_untouched_inputs_and_gradients(beta_vae_loss, _loss_inputs(4, 3, seed=0), beta=3.0)
    return "beta_vae_loss has the right value for beta = 0, 1 and 3, and the right gradients"


@check
def check_beta_vae_loss_properties(beta_vae_loss: Callable) -> str:
    """Other shapes, additivity over the batch, untouched inputs, and the gradients of each term."""
    _diagnose_loss(beta_vae_loss, batch=7, latent=5, seed=1)
    _diagnose_loss(beta_vae_loss, batch=1, latent=1, seed=2)

    inputs = _loss_inputs(5, 4, seed=3)
    beta = 2.5
    whole = float(_loss_value(beta_vae_loss, inputs, beta))
    parts = sum(float(_loss_value(beta_vae_loss, tuple(t[i:i + 1] for t in inputs), beta)) for i in range(5))
    if abs(whole - parts) > 1e-4 * max(1.0, abs(parts)):
        fail(f"The loss of a batch ({whole:.4f}) is not the sum of the losses of its images ({parts:.4f}): "
             f"the loss must add up over the batch.")

    _expect_untouched_inputs_and_gradients(beta_vae_loss, inputs, beta)
    return "beta_vae_loss adds up over the batch and has the right gradients"


# --- active_units -------------------------------------------------------------------------

def _posterior_means(seed: int, n: int = 400) -> tuple[torch.Tensor, list[str]]:
    """Means (n, 6) with known spreads, and a description of each column for messages."""
    g = torch.Generator().manual_seed(seed)
    stds = torch.tensor([1.0, 0.3, 0.05, 0.002, 0.2, 0.03])
    offsets = torch.tensor([0.0, 0.5, 0.0, -2.0, 0.0, 3.0])
    mu = offsets + stds * torch.randn(n, 6, generator=g)
    described = [f"dimension {j} (posterior means around {float(o):g}, standard deviation {float(s):g})"
                 for j, (o, s) in enumerate(zip(offsets, stds))]
    return mu, described


def _expected_units(mu: torch.Tensor, threshold: float) -> list[torch.Tensor]:
    """The right masks: with the unbiased (1/(N-1)) and the plain (1/N) variance; both conventions pass."""
    mu = mu.detach().double()
    return [mu.var(dim=0) > threshold, mu.var(dim=0, unbiased=False) > threshold]


def _matches(mask: torch.Tensor, expected: list[torch.Tensor]) -> bool:
    return any(torch.equal(mask, e) for e in expected)


def _mask(active_units: Callable, mu: torch.Tensor, threshold: float | None) -> torch.Tensor:
    """The student's mask for mu (N, d), checked to be a boolean tensor of shape (d,)."""
    args = (mu.clone(),) if threshold is None else (mu.clone(), threshold)
    what = "active_units(mu)" if threshold is None else f"active_units(mu, threshold={threshold:g})"
    d = mu.shape[1]
    mask = call(what, active_units, *args)
    if not isinstance(mask, _Tensor):
        fail(f"{what} should return a torch.Tensor (a boolean mask with one entry per latent dimension), "
             f"got {type(mask).__name__}.")
    if mask.dim() == 0:
        fail(f"{what} returned a single number ({float(mask):g}) for mu of shape {tuple(mu.shape)}; it should "
             f"return a boolean mask of shape ({d},), one entry per latent dimension.")
    if tuple(mask.shape) != (d,):
        fail(f"{what} returned shape {tuple(mask.shape)} for mu of shape {tuple(mu.shape)} (N = {mu.shape[0]} "
             f"inputs, d = {d} dimensions); expected ({d},), one entry per latent dimension: the variance is "
             f"taken over the inputs.")
    if mask.dtype != torch.bool:
        fail(f"{what} returned dtype {mask.dtype}; expected torch.bool (True for an active dimension).")
    return mask.cpu()


def _compare_units(active_units: Callable, mu: torch.Tensor, described: list[str],
                   threshold: float | None) -> None:
    mask = _mask(active_units, mu, threshold)
    expected = _expected_units(mu, 0.01 if threshold is None else threshold)
    if _matches(mask, expected):
        return
    expected = expected[0]
    what = "active_units(mu)" if threshold is None else f"active_units(mu, threshold={threshold:g})"
    if torch.equal(mask, ~expected):
        fail(f"{what} marks exactly the inactive dimensions as active and the active ones as inactive.")
    wrong = int((mask != expected).nonzero()[0, 0])
    said = "active" if mask[wrong] else "inactive"
    variance = float(mu[:, wrong].double().var())
    fail(f"{what} marks {described[wrong]} as {said}; over these inputs its posterior mean has variance "
         f"{variance:.3g}, and a dimension is active when that variance exceeds the threshold "
         f"({0.01 if threshold is None else threshold:g}).")


def _expect_threshold_used(active_units: Callable, mu: torch.Tensor, described: list[str], threshold: float) -> None:
    """Fail unless active_units(mu, threshold) gives the mask for that threshold."""
    mask = _mask(active_units, mu, threshold)
    if torch.equal(mask, _mask(active_units, mu, None)) and not _matches(mask, _expected_units(mu, threshold)):
        fail(f"active_units(mu, threshold={threshold:g}) marks the same dimensions as the default "
             f"threshold 0.01: the threshold argument seems to be ignored.")
    _compare_units(active_units, mu, described, threshold)


def _expect_untouched(active_units: Callable, mu: torch.Tensor) -> None:
    given = mu.clone()
    call("active_units(mu)", active_units, given)
    if not torch.equal(given, mu):
        fail("active_units changed its input mu (an in-place operation such as sub_ or -=).")


@check
def check_active_units_value(active_units: Callable) -> str:
    """A boolean mask (d,): Var over the inputs of each posterior mean > threshold, at the default 0.01 and
    at 0.1; the input left unchanged."""
    mu, described = _posterior_means(seed=0)
    _compare_units(active_units, mu, described, threshold=None)
    _expect_threshold_used(active_units, mu, described, 0.1)
    _expect_untouched(active_units, mu)
    return "active_units finds the active dimensions, at the default threshold and at 0.1"


@check
def check_active_units_threshold(active_units: Callable) -> str:
    """Honours the threshold argument, other shapes, float64 input, inputs that require grad, untouched input."""
    mu, described = _posterior_means(seed=1, n=300)
    for threshold in (0.5, 1e-3, 1e-5):
        _expect_threshold_used(active_units, mu, described, threshold)
    _compare_units(active_units, mu.double(), described, 0.01)

    few, _ = _posterior_means(seed=2, n=3)  # fewer inputs than dimensions
    _compare_units(active_units, few, [f"dimension {j}" for j in range(6)], 0.01)
    g = torch.Generator().manual_seed(3)
    wide = torch.randn(50, 9, generator=g) * torch.logspace(-3, 0, 9)
    _compare_units(active_units, wide, [f"dimension {j}" for j in range(9)], 0.01)

    _expect_untouched(active_units, mu)
    mask = call("active_units(mu) for mu that requires grad", active_units, mu.clone().requires_grad_(True))
    if not isinstance(mask, _Tensor) or not _matches(mask.cpu(), _expected_units(mu, 0.01)):
        fail("active_units(mu) gives a different answer when mu requires grad (as the encoder's output does).")
    return "active_units honours the threshold and works for any number of inputs and dimensions"
