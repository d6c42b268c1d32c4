"""Checks for notebook 01: ``Autoencoder`` and ``reconstruction_loss``."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ._core import build_model, call, check, close, expect_tensor, fail, fake_images

PIXELS = 784
HIDDEN = 400
_relu, _sigmoid, _tanh = F.relu, torch.sigmoid, torch.tanh


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
    _expect_table_architecture(model, x)


# --- the architecture of the exercise's table ---------------------------------------------------
def table_layers(model: nn.Module, sizes: dict[str, tuple[int, int]]) -> dict[str, tuple[str, nn.Linear]] | None:
    """The model's nn.Linear layers for the table's roles ``sizes`` ({role: (in, out)}), as {role: (the model's
    name for it, layer)}: the layers named like the roles if there are such, else the one nn.Linear of each
    role's size; None when the layers cannot be told apart this way (the checks then test behaviour only)."""
    modules = dict(model.named_modules())
    if all(isinstance(modules.get(role), nn.Linear) for role in sizes):
        found = {role: (role, modules[role]) for role in sizes}
    else:
        linears = [(name, m) for name, m in modules.items() if isinstance(m, nn.Linear)]
        found = {}
        for role, size in sizes.items():
            fitting = [(name, m) for name, m in linears if (m.in_features, m.out_features) == size]
            if len(fitting) != 1:
                return None
            found[role] = fitting[0]
    if any((layer.in_features, layer.out_features) != sizes[role] for role, (_, layer) in found.items()):
        return None
    return found


def expect_table_decoder(decode: Callable, layers: dict[str, tuple[str, nn.Linear]], z: torch.Tensor) -> None:
    """Fail unless decode(z) is sigmoid(fc4(relu(fc3(z)))) computed with the model's own layers ``layers``
    (roles "fc3" and "fc4"), naming the layer where it differs from the table."""
    (name3, fc3), (name4, fc4) = layers["fc3"], layers["fc4"]
    out = call("decode(z)", decode, z).detach()
    with torch.no_grad():
        hidden = fc3(z)
        logits = fc4(_relu(hidden))
        if close(out, _sigmoid(logits), atol=1e-5):
            return
        slips = [
            (_sigmoid(fc4(hidden)), f"decode(z) equals sigmoid({name4}({name3}(z))): there is no ReLU after "
                                    f"{name3}, so the decoder's hidden layer is affine and the two linear layers "
                                    f"collapse into one. The table applies ReLU after {name3}."),
            (_sigmoid(fc4(_tanh(hidden))), f"decode(z) applies tanh after {name3}; the table applies ReLU there."),
            (_sigmoid(fc4(_sigmoid(hidden))), f"decode(z) applies a sigmoid after {name3}; the table applies ReLU "
                                              f"there (the sigmoid belongs after {name4} only)."),
            (logits.clamp(0, 1), f"decode(z) clamps the output of {name4} to [0, 1] where the table applies a "
                                 f"sigmoid: clamped pixels get no gradient, so they cannot learn."),
            ((_tanh(logits) + 1) / 2, f"decode(z) bounds the output of {name4} with (tanh(u) + 1) / 2, which is "
                                      f"sigmoid(2u), not the sigmoid(u) of the table."),
        ]
    for value, message in slips:
        if close(out, value, atol=1e-5):
            fail(message)
    difference = float((out.double() - _sigmoid(logits).double()).abs().max())
    fail(f"decode(z) differs from sigmoid({name4}(relu({name3}(z)))) computed with your own layers (by up to "
         f"{difference:.3g}): the table's decoder is {name3}, then ReLU, then {name4}, then a sigmoid, and "
         f"nothing else.")


def expect_hidden_non_linearity(encode: Callable, x: torch.Tensor, what: str) -> None:
    """Fail if ``encode`` (images (B, 784) -> codes) is affine in its input ``x``: its hidden layer then has no
    non-linearity. ``what`` names the code in the message."""
    other = x.flip(0)
    halfway = call("encode(x)", encode, (x + other) / 2).detach().double()
    ends = (call("encode(x)", encode, x).detach().double() + call("encode(x)", encode, other).detach().double()) / 2
    if close(halfway, ends, rtol=1e-4, atol=1e-5):
        fail(f"{what} is an affine function of the image: the code of the average of two images is the average "
             f"of their codes. The encoder's hidden layer needs its ReLU (the table applies ReLU after the first "
             f"layer), or the two linear layers collapse into one.")


def _expect_table_architecture(model: nn.Module, x: torch.Tensor) -> None:
    """Fail unless the autoencoder ``model`` computes what the exercise's table says, from its own layers:
    encode = fc2(relu(fc1(x))), decode = sigmoid(fc4(relu(fc3(z)))); naming the layer where it differs."""
    flat = x.reshape(len(x), -1)
    codes = call("encode(x)", model.encode, flat).detach()
    latent_dim = codes.shape[1]
    z = 3 * torch.randn(len(x), latent_dim, generator=torch.Generator().manual_seed(6))
    layers = table_layers(model, {"fc1": (PIXELS, HIDDEN), "fc2": (HIDDEN, latent_dim),
                                  "fc3": (latent_dim, HIDDEN), "fc4": (HIDDEN, PIXELS)})
    if layers is None:  # layers we cannot identify (bare parameters, say): test the behaviour the table implies
        expect_hidden_non_linearity(model.encode, flat, "encode(x)")
        decoded = call("decode(z)", model.decode, z).detach().double().clamp(1e-12, 1 - 1e-12)
        logits = (decoded / (1 - decoded)).log()
        half = call("decode(z)", model.decode, (z + z.flip(0)) / 2).detach().double().clamp(1e-12, 1 - 1e-12)
        if close((half / (1 - half)).log(), (logits + logits.flip(0)) / 2, rtol=1e-3, atol=1e-4):
            fail("decode(z) is a sigmoid of an affine function of z: the decoder's hidden layer needs its ReLU "
                 "(the table applies ReLU after the decoder's first layer).")
        return
    (name1, fc1), (name2, fc2) = layers["fc1"], layers["fc2"]
    with torch.no_grad():
        hidden = fc1(flat)
        expected = fc2(_relu(hidden))
    if not close(codes, expected, atol=1e-5):
        slips = [
            (fc2(hidden), f"encode(x) equals {name2}({name1}(x)): there is no ReLU after {name1}, so the encoder's "
                          f"hidden layer is affine and the two linear layers collapse into one. The table applies "
                          f"ReLU after {name1}."),
            (fc2(_tanh(hidden)), f"encode(x) applies tanh after {name1}; the table applies ReLU there."),
            (fc2(_sigmoid(hidden)), f"encode(x) applies a sigmoid after {name1}; the table applies ReLU there."),
            (_relu(expected), f"encode(x) applies a ReLU after {name2}: the code has no activation in the table, "
                              f"so that it can take any real value, negative ones too."),
            (_sigmoid(expected), f"encode(x) applies a sigmoid after {name2}: the code has no activation in the "
                                 f"table, so that it can take any real value."),
            (_tanh(expected), f"encode(x) applies tanh after {name2}: the code has no activation in the table, so "
                              f"that it can take any real value."),
        ]
        for value, message in slips:
            if close(codes, value.detach(), atol=1e-5):
                fail(message)
        difference = float((codes.double() - expected.double()).abs().max())
        fail(f"encode(x) differs from {name2}(relu({name1}(x))) computed with your own layers (by up to "
             f"{difference:.3g}): the table's encoder is {name1}, then ReLU, then {name2}, and nothing else.")
    expect_table_decoder(model.decode, layers, z)


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
