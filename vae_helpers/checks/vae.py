"""Checks for notebook 04: the ``VAE`` class and ``vae_loss``."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from ._core import build_model, call, check, close, expect_tensor, fail, fake_images
from .autoencoder import expect_table_decoder

PIXELS = 784
HIDDEN = 400
_log = torch.log
_exp = torch.exp
_tanh = torch.tanh
_sigmoid = torch.sigmoid


def _check_layers(model: nn.Module, latent_dim: int, built: str) -> None:
    """The five linear layers of the exercise's table, by name and size."""
    sizes = {"fc1": (PIXELS, HIDDEN), "fc_mu": (HIDDEN, latent_dim), "fc_logvar": (HIDDEN, latent_dim),
             "fc3": (latent_dim, HIDDEN), "fc4": (HIDDEN, PIXELS)}
    for name, (n_in, n_out) in sizes.items():
        layer = getattr(model, name, None)
        if not isinstance(layer, nn.Linear):
            fail(f"{built} has no nn.Linear layer named {name}: the exercise asks for the layers "
                 f"fc1, fc_mu, fc_logvar, fc3 and fc4.")
        if (layer.in_features, layer.out_features) != (n_in, n_out):
            fail(f"{built}.{name} maps {layer.in_features} -> {layer.out_features} features; "
                 f"expected {n_in} -> {n_out}.")


def _expect_table_activations(model: nn.Module, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                              latent_dim: int) -> None:
    """Fail when the hidden layers of ``model`` have no or another non-linearity than the table's ReLU, or its
    output is bounded otherwise than by a sigmoid; ``mu``, ``logvar``: its encode(x) for images ``x`` (B, 784)."""
    with torch.no_grad():
        hidden = model.fc1(x)
        slips = ((hidden, "there is no ReLU after fc1, so the encoder's hidden layer is affine and fc1 collapses into "
                          "the heads fc_mu and fc_logvar"),
                 (_tanh(hidden), "it applies tanh after fc1"), (_sigmoid(hidden), "it applies a sigmoid after fc1"))
        for h, slip in slips:
            if close(mu, model.fc_mu(h), atol=1e-5) and close(logvar, model.fc_logvar(h), atol=1e-5):
                fail(f"encode(x) computes mu = fc_mu(h) and logvar = fc_logvar(h) from a hidden layer h where {slip}. "
                     f"The table applies ReLU after fc1.")
        _expect_relu_hidden_layer(model, x, hidden, latent_dim)
    z = 3 * torch.randn(len(x), latent_dim, generator=torch.Generator().manual_seed(6))
    expect_table_decoder(model.decode, {"fc3": ("fc3", model.fc3), "fc4": ("fc4", model.fc4)}, z)


def _expect_relu_hidden_layer(model: nn.Module, x: torch.Tensor, hidden: torch.Tensor, latent_dim: int) -> None:
    """Fail unless the encoder's hidden layer is relu(fc1(x)): on a copy of ``model`` whose heads both read off the
    first ``latent_dim`` hidden units, mu must move across the batch as those units of relu(fc1(x)) do (comparing
    deviations from the batch mean leaves the mistakes made in the heads to the sampling and behaviour checks)."""
    probe = copy.deepcopy(model)
    for head in (probe.fc_mu, probe.fc_logvar):
        head.weight.zero_()
        head.weight[:, :latent_dim].copy_(torch.eye(latent_dim))
        head.bias.zero_()
    mu = _pair(call("encode(x)", probe.encode, x), "encode(x)", (len(x), latent_dim))[0]
    units = torch.relu(hidden[:, :latent_dim])
    if not close(mu - mu.mean(dim=0), units - units.mean(dim=0), atol=1e-5):
        fail("encode(x) does not compute its hidden layer as relu(fc1(x)) from your own fc1: "
             "the table applies ReLU after fc1 and nothing else.")


def _pair(value: object, what: str, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        fail(f"{what} should return two tensors (mu, logvar), got {type(value).__name__}.")
    return (expect_tensor(value[0], f"mu from {what}", shape),
            expect_tensor(value[1], f"logvar from {what}", shape))


def _triple(value: object, what: str, batch: int, latent_dim: int) -> tuple[torch.Tensor, ...]:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        fail(f"{what} should return three tensors (recon_x, mu, logvar), got {type(value).__name__}"
             f"{' of length ' + str(len(value)) if isinstance(value, (tuple, list)) else ''}.")
    return (expect_tensor(value[0], f"recon_x from {what}", (batch, PIXELS)),
            expect_tensor(value[1], f"mu from {what}", (batch, latent_dim)),
            expect_tensor(value[2], f"logvar from {what}", (batch, latent_dim)))


def _in_unit_range(value: torch.Tensor, what: str) -> None:
    if value.min() < 0 or value.max() > 1:
        fail(f"{what} has values in [{value.min():.3g}, {value.max():.3g}]; pixels must lie in [0, 1], "
             f"like the images it reconstructs.")


@check
def check_vae_shapes(VAE: type) -> str:
    """The table's layers; encode, reparameterize, decode and forward give the right shapes; pixels in [0, 1];
    encode and decode compute what the table says from those layers (ReLU after fc1 and fc3, sigmoid after fc4)."""
    for kwargs, latent_dim in (({}, 8), ({"latent_dim": 3}, 3)):
        built = f"VAE({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        model = build_model(VAE, "VAE", **kwargs)
        _check_layers(model, latent_dim, built)
        model.train()
        x = fake_images(5)
        mu, logvar = _pair(call("encode(x)", model.encode, x), f"{built}.encode(x) for x of shape (5, 784)",
                           (5, latent_dim))
        z = expect_tensor(call("reparameterize(mu, logvar)", model.reparameterize, mu, logvar),
                          f"reparameterize(mu, logvar) for mu, logvar of shape (5, {latent_dim})", (5, latent_dim))
        x_hat = expect_tensor(call("decode(z)", model.decode, z),
                              f"decode(z) for z of shape (5, {latent_dim})", (5, PIXELS))
        _in_unit_range(x_hat, "decode(z)")
        recon, _, _ = _triple(call("forward(x)", model, x), f"{built}(x) for x of shape (5, 784)", 5, latent_dim)
        _in_unit_range(recon, "recon_x from model(x)")
        _expect_table_activations(model, x, mu, logvar, latent_dim)
    return "VAE has the layers, shapes, activations and output range of the table"


@check
def check_vae_sampling(VAE: type) -> str:
    """reparameterize draws z = mu + sigma * eps with fresh standard normal eps, and gradients reach mu and logvar;
    then, on a small batch, the behaviour that :func:`check_vae_behaviour` tests at another size."""
    model = build_model(VAE, "VAE", latent_dim=4)
    model.train()
    g = torch.Generator().manual_seed(11)
    n, d = 4000, 4
    mu = (2 * torch.randn(n, d, generator=g)).requires_grad_(True)
    logvar = (-3 + 5 * torch.rand(n, d, generator=g)).requires_grad_(True)  # sigma from 0.22 to 2.7
    z = expect_tensor(call("reparameterize(mu, logvar)", model.reparameterize, mu, logvar),
                      f"reparameterize(mu, logvar) for mu, logvar of shape ({n}, {d})", (n, d))
    mu_, logvar_, z_ = mu.detach(), logvar.detach(), z.detach()
    if close(z_, mu_, atol=1e-6):
        fail("reparameterize(mu, logvar) returned mu itself: in training the code must be a random "
             "sample around mu.")
    again = call("reparameterize(mu, logvar)", model.reparameterize, mu, logvar)
    if close(again, z_, atol=1e-6):
        fail("Two calls of reparameterize(mu, logvar) gave the same z: every call must draw fresh noise.")
    sigma = _exp(0.5 * logvar_)
    eps = (z_ - mu_) / sigma
    if bool((eps.std(dim=0) < 1e-3).any()):
        fail("Every row of the batch got the same noise: each example needs its own sample.")
    corr = torch.corrcoef(eps.T) - torch.eye(d)
    if float(corr.abs().max()) > 0.1:
        fail("The noise of different latent dimensions is correlated: each coordinate of z needs its own, "
             "independent noise.")
    if abs(float(eps.mean())) > 5 / math.sqrt(n * d) + 0.02:
        fail(f"The samples are not centred on mu: (z - mu) / sigma has mean {float(eps.mean()):.3f} over "
             f"{n * d} samples, where it should be close to 0 (is the noise standard normal?).")
    low, high = logvar_ < -1.5, logvar_ > 1
    spread_low, spread_high = float(eps[low].std()), float(eps[high].std())
    if not (0.9 < spread_low < 1.1 and 0.9 < spread_high < 1.1):
        def scales_like(scale: torch.Tensor) -> bool:
            ratio = (z_ - mu_) / scale
            return all(0.9 < float(ratio[group].std()) < 1.1 for group in (low, high))

        if scales_like(logvar_.abs()):
            symptom = "z - mu scales like logvar itself, but logvar is the log of the variance"
        elif scales_like(_exp(logvar_)):
            symptom = "z - mu scales like the variance exp(logvar), not like the standard deviation"
        else:
            symptom = ("the spread of z - mu does not follow sigma = exp(logvar / 2), or the noise is not "
                       "standard normal")
        fail(f"The spread of the samples is wrong: (z - mu) / sigma has standard deviation {spread_low:.2f} "
             f"where logvar < -1.5 and {spread_high:.2f} where logvar > 1 (both should be 1): {symptom}.")
    tails = float((eps.abs() > 1.96).float().mean())
    if not 0.035 < tails < 0.065:
        fail(f"{tails:.1%} of the samples are more than 1.96 sigma from mu, where a normal distribution "
             f"puts 5%: the noise is not standard normal.")
    if not z.requires_grad:
        fail("The sample z is cut off from the autograd graph: no gradient can reach mu or logvar through it.")
    call("z.sum().backward()", z.sum().backward)
    if mu.grad is None or not bool(mu.grad.abs().sum() > 0):
        fail("No gradient reaches mu through the sample: the noise must be drawn so that autograd can "
             "follow z back to mu and logvar (a sampler such as .sample() or torch.normal blocks it).")
    if not close(mu.grad, torch.ones_like(mu_), atol=1e-4):
        fail("The gradient of z with respect to mu is not 1: z should be mu shifted by scaled noise.")
    if logvar.grad is None or not bool(logvar.grad.abs().sum() > 0):
        fail("No gradient reaches logvar through the sample: sigma must be computed from logvar inside "
             "the autograd graph (a sampler such as .sample() or torch.normal blocks it).")
    if not close(logvar.grad, 0.5 * (z_ - mu_), rtol=1e-3, atol=1e-4):
        fail("The gradient of z with respect to logvar does not match a reparameterized sample "
             "z = mu + sigma * eps with sigma = exp(logvar / 2).")
    _expect_vae_behaviour(model, fake_images(16, seed=3), latent_dim=4)
    return "reparameterize draws a reparameterized sample from N(mu, sigma^2), and on a small batch the VAE " \
           "encodes, samples and decodes like a VAE"


@check
def check_vae_behaviour(VAE: type) -> str:
    """Separate encoder heads, a stochastic forward that decodes a sample, image input, gradients everywhere."""
    model = build_model(VAE, "VAE", latent_dim=4)
    _expect_vae_behaviour(model, fake_images(64, seed=1), latent_dim=4)
    return "VAE encodes, samples and decodes like a VAE"


def _expect_vae_behaviour(model: nn.Module, x: torch.Tensor, latent_dim: int) -> None:
    """Fail unless ``model`` (built with ``latent_dim``, put in training mode) treats the batch ``x`` (B, 784)
    like a VAE."""
    model.train()
    batch = len(x)
    mu, logvar = _pair(call("encode(x)", model.encode, x), f"encode(x) for x of shape ({batch}, 784)",
                       (batch, latent_dim))
    if not bool((mu < 0).any()):
        fail(f"mu is never negative ({batch} images, {latent_dim} dims): the means must be free to take any "
             f"real value.")
    if not bool((logvar < 0).any()):
        fail(f"logvar is never negative ({batch} images, {latent_dim} dims): a log-variance must be free to go "
             f"below 0, or the encoder can never be more certain than the prior.")
    if close(mu, logvar, atol=1e-6):
        fail("encode(x) returns the same tensor for mu and logvar: they come from two separate heads.")

    with torch.no_grad():
        saved = {name: p.clone() for name, p in model.named_parameters()}
        model.fc_logvar.weight.add_(0.5)
        mu2, logvar2 = call("encode(x)", model.encode, x)
        model.fc_logvar.weight.copy_(saved["fc_logvar.weight"])
        model.fc_mu.weight.add_(0.5)
        mu3, logvar3 = call("encode(x)", model.encode, x)
        model.fc_mu.weight.copy_(saved["fc_mu.weight"])
    if not close(mu2, mu, atol=1e-5):
        fail("Changing fc_logvar's weights changed mu: mu must be computed by fc_mu alone.")
    if close(logvar2, logvar, atol=1e-5):
        fail("Changing fc_logvar's weights did not change logvar: logvar must be computed by fc_logvar.")
    if not close(logvar3, logvar, atol=1e-5):
        fail("Changing fc_mu's weights changed logvar: logvar must be computed by fc_logvar alone.")
    if close(mu3, mu, atol=1e-5):
        fail("Changing fc_mu's weights did not change mu: mu must be computed by fc_mu.")

    first = _triple(call("forward(x)", model, x), "model(x)", batch, latent_dim)
    second = _triple(call("forward(x)", model, x), "model(x)", batch, latent_dim)
    if not (close(first[1], mu, atol=1e-5) and close(first[2], logvar, atol=1e-5)):
        if not close(first[1], second[1], atol=1e-6):
            fail("The second output of model(x) changes from call to call: forward should return the mu "
                 "and logvar of encode(x), not the random sample z.")
        fail("model(x) should return (recon_x, mu, logvar) with the mu and logvar that encode(x) gives.")
    if close(first[0], second[0], atol=1e-6):
        fail("model(x) gave the same reconstruction twice in training mode: forward must decode a random "
             "sample z drawn around mu, not mu itself.")
    if close(call("decode(z)", model.decode, mu), call("decode(z)", model.decode, mu + 3.0), atol=1e-6):
        fail("decode(z) does not change when z changes: the decoder must use the code.")

    with torch.no_grad():  # a tiny variance: the sample is mu, so forward must give decode(mu)
        bias, weight = model.fc_logvar.bias.clone(), model.fc_logvar.weight.clone()
        model.fc_logvar.bias.fill_(-30.0)
        model.fc_logvar.weight.zero_()
        certain = call("forward(x)", model, x)[0]
        model.fc_logvar.bias.copy_(bias)
        model.fc_logvar.weight.copy_(weight)
        expected = model.decode(mu)
    if not close(certain, expected, atol=1e-4):
        fail("With a tiny variance (logvar = -30) model(x) should reconstruct decode(mu), but it gave "
             "something else: forward should encode, sample z with reparameterize, and decode z.")

    shaped = f"model(x) for x of shape ({batch}, 1, 28, 28)"
    images = _triple(call(shaped, model, x.reshape(batch, 1, 28, 28)), shaped, batch, latent_dim)
    if not close(images[1], mu, atol=1e-5):
        fail("model(x) gives different mu for images shaped (B, 1, 28, 28) and (B, 784): flatten the "
             "images first.")
    alone = _pair(call("encode(x[:1])", model.encode, x[:1]), "encode(x[:1])", (1, latent_dim))
    if not close(alone[0], mu[:1], atol=1e-5):
        fail("The mu of an image changes when other images are in the batch: each image must be encoded "
             "on its own.")

    model.zero_grad()
    recon, mu, logvar = call("forward(x)", model, x)
    _bce(recon, x).sum().backward()
    if model.fc_logvar.weight.grad is None or not bool(model.fc_logvar.weight.grad.abs().sum() > 0):
        fail("The reconstruction error sends no gradient to fc_logvar: the decoded sample must depend on "
             "logvar through autograd (sample with reparameterize, without .detach() or a non-differentiable "
             "sampler).")
    model.zero_grad()
    recon, mu, logvar = call("forward(x)", model, x)
    loss = _bce(recon, x).sum() + _kl(mu, logvar).sum()
    loss.backward()
    frozen = [name for name, p in model.named_parameters()
              if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))]
    if frozen:
        fail(f"No gradient reaches {', '.join(frozen)}: every layer should take part in encode or decode.")


# --- vae_loss -----------------------------------------------------------------------------------
def _kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form KL(N(mu, exp(logvar)) || N(0, I)) per example -> (B,)."""
    return -0.5 * (1 + logvar - mu ** 2 - _exp(logvar)).sum(dim=1)


def _bce(recon_x: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy per example -> (B,)."""
    return -(x * _log(recon_x) + (1 - x) * _log(1 - recon_x)).sum(dim=1)


def _loss_inputs(batch: int = 4, latent_dim: int = 3, seed: int = 5) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    recon_x = 0.05 + 0.9 * torch.rand(batch, PIXELS, generator=g)
    x = torch.rand(batch, PIXELS, generator=g)
    mu = torch.randn(batch, latent_dim, generator=g)
    logvar = 0.8 * torch.randn(batch, latent_dim, generator=g)
    return recon_x, x, mu, logvar


def _scalar(vae_loss: Callable, *args: torch.Tensor, what: str = "vae_loss(recon_x, x, mu, logvar)") -> torch.Tensor:
    loss = expect_tensor(call(what, vae_loss, *args), what, shape=None, dtype=None)
    if loss.dim() != 0:
        fail(f"vae_loss should return a single number (a 0-dim tensor), got shape {tuple(loss.shape)}: "
             f"sum the loss over the batch as well.")
    return loss


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _matches(value: float, target: float, scale: float = 0.0) -> bool:
    """value == target up to float32 rounding (``scale``: the size of the sums value was derived from)."""
    return abs(value - target) <= 1e-4 * max(1.0, abs(target)) + 1e-5 * scale


def _diagnose_recon(value: float, recon_x: torch.Tensor, x: torch.Tensor) -> str:
    batch = len(x)
    expected = float(_bce(recon_x.double(), x.double()).sum())
    hints = [
        (expected / batch, "it looks averaged over the batch; the course's losses are summed over the batch"),
        (expected / PIXELS, "it looks averaged over the pixels instead of summed"),
        (expected / (batch * PIXELS), "it looks averaged over every pixel of the batch (the default "
                                      "reduction of F.binary_cross_entropy)"),
        (-expected, "it has the wrong sign: a cross-entropy is positive"),
        (float(((recon_x.double() - x.double()) ** 2).sum()), "it matches a squared error, but the VAE here "
                                                              "uses the binary cross-entropy"),
        (float(_bce(x.double(), recon_x.double()).sum()), "it swaps the roles of recon_x and x: x is the target"),
    ]
    for target, hint in hints:
        if _matches(value, target):
            return hint
    return f"it is {value:.4f} where the binary cross-entropy summed over pixels and batch is {expected:.4f}"


def _known_kl_mistake(value: float, mu: torch.Tensor, logvar: torch.Tensor, scale: float = 0.0) -> str | None:
    """The hint for a KL term equal to ``value`` when it matches a common mistake, else None."""
    batch, latent_dim = mu.shape
    mu, logvar = mu.double(), logvar.double()
    expected = float(_kl(mu, logvar).sum())
    hints = [
        (0.0, "the loss does not change when mu and logvar move away from the prior: the KL term is missing"),
        (-expected, "the KL term has the wrong sign: a KL divergence is never negative"),
        (expected / batch, "the KL term looks averaged over the batch; sum it over the batch"),
        (expected / latent_dim, "the KL term looks averaged over the latent dimensions; sum it over them"),
        (2 * expected, "the KL term is twice the closed form (check the factor 1/2)"),
        (0.5 * expected, "the KL term is half the closed form"),
        (float(-0.5 * (1 + logvar - mu ** 2 - logvar).sum()), "the KL term uses logvar where it needs the "
                                                               "variance sigma^2 = exp(logvar)"),
        (float(-0.5 * (1 + _log(logvar ** 2) - mu ** 2 - logvar ** 2).sum()),
         "the KL term treats logvar as the standard deviation; logvar is the log of the variance"),
    ]
    for target, hint in hints:
        if _matches(value, target, scale):
            return hint
    return None


def _expect_image_shaped_x(vae_loss: Callable, value: float, recon_x: torch.Tensor, x: torch.Tensor,
                           mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """Fail unless the loss ``value`` for x (B, 784) is also the loss for x shaped (B, 1, 28, 28)."""
    images = float(_scalar(vae_loss, recon_x, x.reshape(len(x), 1, 28, 28), mu, logvar,
                           what="vae_loss(recon_x, x, mu, logvar) for x shaped (B, 1, 28, 28)"))
    if abs(images - value) > 1e-4 * max(1.0, abs(value)):
        fail("vae_loss gives a different value when x is shaped (B, 1, 28, 28) instead of (B, 784): "
             "flatten x first.")


def _expect_loss_gradients(vae_loss: Callable, recon_x: torch.Tensor, x: torch.Tensor, mu: torch.Tensor,
                           logvar: torch.Tensor) -> None:
    """Fail unless the gradients of the loss with respect to recon_x, mu and logvar are those of BCE + KL."""
    recon_x, mu, logvar = (t.clone().requires_grad_(True) for t in (recon_x, mu, logvar))
    loss = _scalar(vae_loss, recon_x, x, mu, logvar)
    if not loss.requires_grad:
        fail("vae_loss is cut off from the autograd graph (did it use .detach(), .item() or numpy?): "
             "training needs its gradient.")
    call("loss.backward()", loss.backward)
    r, m, lv = (t.detach().double().requires_grad_(True) for t in (recon_x, mu, logvar))
    (_bce(r, x.double()).sum() + _kl(m, lv).sum()).backward()
    for name, mine, ref in (("recon_x", recon_x, r), ("mu", mu, m), ("logvar", logvar, lv)):
        if mine.grad is None or not close(mine.grad, ref.grad, rtol=1e-3, atol=1e-4):
            fail(f"The gradient of vae_loss with respect to {name} is wrong.")


@check
def check_vae_loss_value(vae_loss: Callable) -> str:
    """A scalar: BCE summed over pixels and batch plus the closed-form KL summed over latent dims and batch;
    the same for image-shaped x; and the gradients of that sum."""
    recon_x, x, mu, logvar = _loss_inputs()
    loss = _scalar(vae_loss, recon_x, x, mu, logvar)
    expected_bce = _bce(recon_x.double(), x.double()).sum()
    expected = expected_bce + _kl(mu.double(), logvar.double()).sum()
    if close(loss, expected):
        _expect_image_shaped_x(vae_loss, float(loss), recon_x, x, mu, logvar)
        _expect_loss_gradients(vae_loss, recon_x, x, mu, logvar)
        return "vae_loss has the right value and gradients, for flat and image-shaped x"
    if _matches(float(loss), float(expected) / len(x)):
        fail(f"vae_loss is {float(loss):.4f}, 1/{len(x)} of the expected value on a batch of {len(x)}: "
             f"it looks averaged over the batch; the course's losses are summed over the batch.")
    expected_kl = float(_kl(mu.double(), logvar.double()).sum())
    kl_if_recon_right = float(loss) - float(expected_bce)
    kl_hint = _known_kl_mistake(kl_if_recon_right, mu, logvar, scale=float(expected_bce))
    if kl_hint is not None:  # the reconstruction term is right and the KL term is a known mistake
        problems = [kl_hint]
    else:
        # Split the loss into its two terms: with mu = 0 and logvar = 0 the KL term vanishes.
        recon_part = _scalar(vae_loss, recon_x, x, torch.zeros_like(mu), torch.zeros_like(logvar),
                             what="vae_loss(recon_x, x, mu, logvar) for mu = 0 and logvar = 0 (a code on the prior)")
        recon_part = float(recon_part)
        kl_part = float(loss) - recon_part
        problems = []
        if not _matches(recon_part, float(expected_bce)):
            problems.append("reconstruction term: " + _diagnose_recon(recon_part, recon_x, x))
        if not _matches(kl_part, expected_kl, scale=float(expected_bce)):
            problems.append(_known_kl_mistake(kl_part, mu, logvar, scale=float(expected_bce)) or
                            f"the KL part (how much the loss grows when mu and logvar move from the prior's "
                            f"0, 0 to the test values) is {kl_part:.4f}, where the closed-form KL summed over "
                            f"latent dims and batch is {expected_kl:.4f}")
        if not problems:
            problems.append("the two terms are right on their own but do not add up")
    fail(f"vae_loss gave {float(loss):.4f} on a test batch of {len(x)} images, where the binary cross-entropy "
         f"plus KL is {float(expected):.4f}. " + _sentence("; ".join(problems)))


@check
def check_vae_loss_properties(vae_loss: Callable) -> str:
    """Additive over the batch, image-shaped x, binary pixels, the right gradients."""
    recon_x, x, mu, logvar = _loss_inputs(batch=3, latent_dim=5, seed=6)
    whole = float(_scalar(vae_loss, recon_x, x, mu, logvar))
    parts = sum(float(_scalar(vae_loss, recon_x[i:i + 1], x[i:i + 1], mu[i:i + 1], logvar[i:i + 1]))
                for i in range(3))
    if abs(whole - parts) > 1e-3 * max(1.0, abs(parts)):
        fail(f"The loss of a batch ({whole:.4f}) is not the sum of the losses of its images ({parts:.4f}): "
             f"the loss must add up over the batch.")
    _expect_image_shaped_x(vae_loss, whole, recon_x, x, mu, logvar)
    binary = (x > 0.5).float()
    sharp = torch.where(binary > 0, 0.999, 0.001)
    value = float(_scalar(vae_loss, sharp, binary, torch.zeros_like(mu), torch.zeros_like(logvar)))
    if not _matches(value, float(_bce(sharp.double(), binary.double()).sum())):
        fail(f"On binary pixels with a confident, correct reconstruction the loss should be small "
             f"({float(_bce(sharp.double(), binary.double()).sum()):.3f}), got {value:.3f}.")

    _expect_loss_gradients(vae_loss, recon_x, x, mu, logvar)
    return "vae_loss adds up over the batch and has the right gradients"
