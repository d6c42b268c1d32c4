"""The checks of notebook 01 pass the reference answers and catch plausible mistakes."""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vae_helpers import checks
from vae_helpers.models import Autoencoder


def reference_loss(x_hat, x):
    return ((x - x_hat) ** 2).sum()


def loss_via_mse(x_hat, x):
    return F.mse_loss(x_hat, x, reduction="sum")


def loss_via_norms(x_hat, x):
    return torch.linalg.vector_norm(x_hat - x, dim=1).pow(2).sum()


CORRECT_LOSSES = [reference_loss, loss_via_mse, loss_via_norms]


# --- wrong losses -------------------------------------------------------------------------
def mse_default_mean(x_hat, x):
    return F.mse_loss(x_hat, x)


def batch_mean(x_hat, x):
    return ((x_hat - x) ** 2).sum(dim=1).mean()


def pixel_mean(x_hat, x):
    return ((x_hat - x) ** 2).mean(dim=1).sum()


def absolute_error(x_hat, x):
    return (x_hat - x).abs().sum()


def norm_not_squared(x_hat, x):
    return (x_hat - x).norm(dim=1).sum()


def half_squared_error(x_hat, x):
    return 0.5 * ((x_hat - x) ** 2).sum()


def per_image_vector(x_hat, x):
    return ((x_hat - x) ** 2).sum(dim=1)


def detached_loss(x_hat, x):
    return ((x_hat - x) ** 2).sum().detach()


def wrong_sign(x_hat, x):
    return -((x_hat - x) ** 2).sum()


# each wrong loss, and the symptom it must be reported with
WRONG_LOSSES = {
    mse_default_mean: "averaged over every element",
    batch_mean: "averaged over the batch",
    pixel_mean: "averaged over the pixels",
    absolute_error: "absolute differences",
    norm_not_squared: "norm of the error",
    half_squared_error: "half",
    per_image_vector: "single number",
    detached_loss: "autograd graph",
    wrong_sign: "squared error summed",
}


def run_loss_checks(fn):
    checks.check_reconstruction_loss_value(fn)
    checks.check_reconstruction_loss_properties(fn)


@pytest.mark.parametrize("fn", CORRECT_LOSSES, ids=lambda f: f.__name__)
def test_correct_losses_pass(fn, capsys):
    run_loss_checks(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG_LOSSES, ids=lambda f: f.__name__)
def test_wrong_losses_fail_with_their_symptom(fn):
    with pytest.raises(checks.CheckFailed, match=WRONG_LOSSES[fn]):
        run_loss_checks(fn)


# --- correct autoencoders -----------------------------------------------------------------
class SequentialAutoencoder(nn.Module):
    """The same network written with nn.Sequential and nn.Flatten."""

    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(input_dim, hidden_dim), nn.ReLU(),
                                     nn.Linear(hidden_dim, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(),
                                     nn.Linear(hidden_dim, input_dim), nn.Sigmoid())

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class FunctionalAutoencoder(nn.Module):
    """Weights as bare nn.Parameters, layers applied with F.linear, a tanh-based sigmoid."""

    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__()
        sizes = [(hidden_dim, input_dim), (latent_dim, hidden_dim), (hidden_dim, latent_dim), (input_dim, hidden_dim)]
        self.weights = nn.ParameterList(nn.Parameter(torch.randn(out, inp) / inp ** 0.5) for out, inp in sizes)
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(out)) for out, _ in sizes)

    def encode(self, x):
        h = torch.relu(F.linear(x.flatten(start_dim=1), self.weights[0], self.biases[0]))
        return F.linear(h, self.weights[1], self.biases[1])

    def decode(self, z):
        h = torch.relu(F.linear(z, self.weights[2], self.biases[2]))
        return 0.5 * (1 + torch.tanh(0.5 * F.linear(h, self.weights[3], self.biases[3])))

    def forward(self, x):
        return self.decode(self.encode(x))


CORRECT_MODELS = [Autoencoder, SequentialAutoencoder, FunctionalAutoencoder]


# --- wrong autoencoders -------------------------------------------------------------------
class NoSigmoid(Autoencoder):
    def decode(self, z):
        return self.decode_logits(z)


class NoFlatten(Autoencoder):
    def encode(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class IgnoresLatentDim(Autoencoder):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__(input_dim, hidden_dim, 8)


class ForwardSkipsBottleneck(Autoencoder):
    def forward(self, x):
        return torch.sigmoid(self.fc4(F.relu(self.fc1(x.reshape(-1, 784)))))


class NoisyForward(Autoencoder):
    def forward(self, x):
        return self.decode(self.encode(x) + torch.randn(x.shape[0], self.latent_dim))


class BatchMixing(Autoencoder):
    def encode(self, x):
        z = super().encode(x)
        return z - z.mean(dim=0)


class ConstantDecoder(Autoencoder):
    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(torch.zeros_like(z)))))


class UnusedLayer(Autoencoder):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__(input_dim, hidden_dim, latent_dim)
        self.fc_extra = nn.Linear(hidden_dim, hidden_dim)


class EncoderWithoutRelu(Autoencoder):
    """Leaves out the ReLU after fc1: the encoder is affine."""

    def encode(self, x):
        return self.fc2(self.fc1(x.reshape(-1, 784)))


class DecoderWithoutRelu(Autoencoder):
    """Leaves out the ReLU after fc3: the decoder is a sigmoid of an affine map."""

    def decode(self, z):
        return torch.sigmoid(self.fc4(self.fc3(z)))


class TanhHiddenLayer(Autoencoder):
    def encode(self, x):
        return self.fc2(torch.tanh(self.fc1(x.reshape(-1, 784))))


class ReluOnTheCode(Autoencoder):
    def encode(self, x):
        return F.relu(super().encode(x))


class ClampedOutput(Autoencoder):
    """Bounds the pixels by clamping instead of a sigmoid."""

    def decode(self, z):
        return self.decode_logits(z).clamp(0, 1)


class TanhRescaledOutput(Autoencoder):
    """Bounds the pixels with (tanh + 1) / 2, which is sigmoid(2u)."""

    def decode(self, z):
        return (torch.tanh(self.decode_logits(z)) + 1) / 2


class SequentialWithoutHiddenRelu(SequentialAutoencoder):
    """nn.Sequential layers (no names fc1..fc4) and no ReLU in the decoder."""

    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__(input_dim, hidden_dim, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden_dim),
                                     nn.Linear(hidden_dim, input_dim), nn.Sigmoid())


class FunctionalWithoutHiddenRelu(FunctionalAutoencoder):
    """Bare parameters (no nn.Linear to compare with) and an affine encoder."""

    def encode(self, x):
        h = F.linear(x.flatten(start_dim=1), self.weights[0], self.biases[0])
        return F.linear(h, self.weights[1], self.biases[1])


class NotImplemented_(nn.Module):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__()
        raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_MODELS = {
    NoSigmoid: "must lie in \\[0, 1\\]",
    NoFlatten: "shape",
    IgnoresLatentDim: r"expected \(5, 3\)",
    ForwardSkipsBottleneck: "decode\\(encode\\(x\\)\\)",
    NoisyForward: "deterministic",
    BatchMixing: "other images are in the batch",
    ConstantDecoder: "does not change when z changes",
    UnusedLayer: "No gradient reaches fc_extra",
    NotImplemented_: "not implemented yet",
    EncoderWithoutRelu: "encode\\(x\\) equals fc2\\(fc1\\(x\\)\\): there is no ReLU after fc1",
    DecoderWithoutRelu: "decode\\(z\\) equals sigmoid\\(fc4\\(fc3\\(z\\)\\)\\): there is no ReLU after fc3",
    TanhHiddenLayer: "applies tanh after fc1; the table applies ReLU there",
    ReluOnTheCode: "applies a ReLU after fc2: the code has no activation",
    ClampedOutput: "clamps the output of fc4 to \\[0, 1\\] where the table applies a sigmoid",
    TanhRescaledOutput: "bounds the output of fc4 with \\(tanh\\(u\\) \\+ 1\\) / 2",
    SequentialWithoutHiddenRelu: "no ReLU after decoder.0",
    FunctionalWithoutHiddenRelu: "encode\\(x\\) is an affine function of the image",
}


def run_model_checks(cls):
    checks.check_autoencoder_shapes(cls)
    checks.check_autoencoder_behaviour(cls)


@pytest.mark.parametrize("cls", CORRECT_MODELS, ids=lambda c: c.__name__)
def test_correct_autoencoders_pass(cls, capsys):
    run_model_checks(cls)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("cls", WRONG_MODELS, ids=lambda c: c.__name__)
def test_wrong_autoencoders_fail_with_their_symptom(cls):
    with pytest.raises(checks.CheckFailed, match=WRONG_MODELS[cls]):
        run_model_checks(cls)


# --- how checks behave as a whole ---------------------------------------------------------
