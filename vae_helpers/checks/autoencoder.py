"""Checks for notebook 01: ``Autoencoder`` and ``reconstruction_loss``."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ._core import build_model, call, check, close, expect_tensor, fail, fake_images

PIXELS = 784


@check
def check_autoencoder_shapes(Autoencoder: type) -> str:
    """encode: (B, 784) -> (B, latent_dim); decode and forward: -> (B, 784) in [0, 1]; and, on a small
    batch, the behaviour that :func:`check_autoencoder_behaviour` tests at another size."""
    for latent_dim in (8, 3):
        model = build_model(Autoencoder, "Autoencoder", latent_dim=latent_dim)
        x = fake_images(5)
        z = expect_tensor(call("encode(x)", model.encode, x), "encode(x) for x of shape (5, 784)",
                          (5, latent_dim))
        x_hat = expect_tensor(call("decode(z)", model.decode, z),
                              f"decode(z) for z of shape (5, {latent_dim})", (5, PIXELS))
        out = expect_tensor(call("forward(x)", model, x), "model(x) for x of shape (5, 784)", (5, PIXELS))
        for name, value in (("decode(z)", x_hat), ("model(x)", out)):
            if value.min() < 0 or value.max() > 1:
                fail(f"{name} has values in [{value.min():.3g}, {value.max():.3g}]; pixels must lie in "
                     f"[0, 1], like the images it reconstructs.")
    _expect_autoencoder_behaviour(model, fake_images(3, seed=5))
    return "Autoencoder has the right shapes and output range, and behaves like an autoencoder on a small batch"


@check
def check_autoencoder_behaviour(Autoencoder: type) -> str:
    """forward = decode(encode(x)), deterministic, per-image, image-shaped input, gradients everywhere."""
    model = build_model(Autoencoder, "Autoencoder", latent_dim=4)
    _expect_autoencoder_behaviour(model, fake_images(6, seed=1))
    return "Autoencoder behaves like an autoencoder"


def _expect_autoencoder_behaviour(model: nn.Module, x: torch.Tensor) -> None:
    """Fail unless ``model`` (in training mode) treats the batch ``x`` (B, 784) like an autoencoder."""
    batch = len(x)
    model.train()
    out = call("forward(x)", model, x)
    expect_tensor(out, "model(x)", (batch, PIXELS))
    if not close(out, call("forward(x)", model, x)):
        fail("Two calls of model(x) on the same x gave different outputs: an autoencoder is "
             "deterministic (no noise, no dropout).")
    if not close(out, call("decode(encode(x))", lambda: model.decode(model.encode(x)))):
        fail("model(x) differs from decode(encode(x)): forward should encode, then decode.")
    alone = call("forward(x[:1])", model, x[:1])
    if not close(alone, out[:1], atol=1e-5):
        fail("The reconstruction of an image changes when other images are in the batch: each image "
             "must be encoded and decoded on its own.")
    shaped = f"model(x) for x of shape ({batch}, 1, 28, 28)"
    as_images = call(shaped, model, x.reshape(batch, 1, 28, 28))
    expect_tensor(as_images, shaped, (batch, PIXELS))
    if not close(as_images, out):
        fail("model(x) gives different results for images shaped (B, 1, 28, 28) and (B, 784).")
    z = model.encode(x)
    if close(model.decode(z), model.decode(z + 3.0), atol=1e-6):
        fail("decode(z) does not change when z changes: the decoder must use the code.")
    if close(model.encode(x), model.encode(fake_images(batch, seed=2)), atol=1e-6):
        fail("encode(x) gives the same code for different images: the encoder must use the input.")
    model.zero_grad()
    ((model(x) - x) ** 2).sum().backward()
    frozen = [name for name, p in model.named_parameters()
              if p.requires_grad and (p.grad is None or not bool(p.grad.abs().sum() > 0))]
    if frozen:
        fail(f"No gradient reaches {', '.join(frozen)}: every layer should take part in encode or decode.")


def _loss(reconstruction_loss: Callable, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The student's loss of (x_hat, x), which must be a single-number tensor."""
    loss = expect_tensor(call("reconstruction_loss(x_hat, x)", reconstruction_loss, x_hat, x),
                         "reconstruction_loss(x_hat, x)", shape=None, dtype=None)
    if loss.dim() != 0:
        fail(f"reconstruction_loss should return a single number (a 0-dim tensor), got shape "
             f"{tuple(loss.shape)}: reduce over pixels and over the batch.")
    return loss


def _expect_graph(loss: torch.Tensor) -> None:
    """Fail unless ``loss``, computed from an x_hat that requires grad, is part of the autograd graph."""
    if not loss.requires_grad:
        fail("reconstruction_loss is cut off from the autograd graph (did it use .detach(), .item() "
             "or numpy?): training needs its gradient.")


def _expected_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return ((x_hat.double() - x.double()) ** 2).sum()


@check
def check_reconstruction_loss_value(reconstruction_loss: Callable) -> str:
    """A scalar: squared error summed over pixels and over the batch."""
    g = torch.Generator().manual_seed(3)
    x_hat, x = torch.rand(4, PIXELS, generator=g), torch.rand(4, PIXELS, generator=g)
    loss = _loss(reconstruction_loss, x_hat.requires_grad_(True), x)
    expected = _expected_loss(x_hat, x)
    if close(loss, expected):
        _expect_graph(loss)
        return "reconstruction_loss has the right value and a gradient"
    ratio = float(loss.detach().double() / expected)
    hints = {
        1 / 4: "it looks averaged over the batch; the course's losses are summed over the batch",
        1 / PIXELS: "it looks averaged over the pixels instead of summed",
        1 / (4 * PIXELS): "it looks averaged over every element (like F.mse_loss's default)",
        0.5: "it is half the expected value",
        2.0: "it is twice the expected value",
    }
    for r, hint in hints.items():
        if abs(ratio - r) < 1e-3 * r:
            fail(f"reconstruction_loss is {ratio:.4g} times the squared error summed over pixels and batch: {hint}.")
    if close(loss, (x_hat - x).abs().sum()):
        fail("reconstruction_loss matches the sum of absolute differences: the loss squares the errors.")
    if close(loss, (x_hat - x).norm()) or close(loss, (x_hat - x).norm(dim=1).sum()):
        fail("reconstruction_loss matches a norm of the error, not its square.")
    fail(f"reconstruction_loss gave {float(loss):.4f} on a test batch of 4 images; the squared error "
         f"summed over pixels and batch is {float(expected):.4f}.")


@check
def check_reconstruction_loss_properties(reconstruction_loss: Callable) -> str:
    """Zero for a perfect reconstruction, additive over the batch, correct gradient."""
    g = torch.Generator().manual_seed(4)
    x = torch.rand(3, PIXELS, generator=g)
    zero = _loss(reconstruction_loss, x.clone(), x)
    if not close(zero, torch.tensor(0.0)):
        fail(f"reconstruction_loss(x, x) is {float(zero):.4g}; a perfect reconstruction must cost 0.")
    x_hat = torch.rand(3, PIXELS, generator=g)
    parts = sum(float(_loss(reconstruction_loss, x_hat[i:i + 1], x[i:i + 1])) for i in range(3))
    whole = float(_loss(reconstruction_loss, x_hat, x))
    if abs(whole - parts) > 1e-3 * max(1.0, abs(parts)):
        fail(f"The loss of a batch ({whole:.4f}) is not the sum of the losses of its images "
             f"({parts:.4f}): the loss must add up over the batch.")
    x_hat = x_hat.clone().requires_grad_(True)
    loss = _loss(reconstruction_loss, x_hat, x)
    _expect_graph(loss)
    call("loss.backward()", loss.backward)
    if x_hat.grad is None or not close(x_hat.grad, 2 * (x_hat.detach() - x)):
        fail("The gradient of reconstruction_loss with respect to x_hat is wrong; for a squared error "
             "it is proportional to (x_hat - x) with the factor from the square.")
    return "reconstruction_loss behaves like a summed squared error"
