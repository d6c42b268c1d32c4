"""The checks of notebook 04 pass correct VAEs and losses and catch plausible mistakes."""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, Normal, kl_divergence

from vae_helpers.checks._core import CheckFailed
from vae_helpers.checks.vae import (check_vae_behaviour, check_vae_loss_properties, check_vae_loss_value,
                                    check_vae_sampling, check_vae_shapes)
from vae_helpers.models import VAE as ReferenceVAE


# --- correct VAEs ----------------------------------------------------------------------------------
class SeedVAE(nn.Module):
    """The seed's layout, with latent_dim as a parameter."""

    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc_mu = nn.Linear(400, latent_dim)
        self.fc_logvar = nn.Linear(400, latent_dim)
        self.fc3 = nn.Linear(latent_dim, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


class DistributionsVAE(SeedVAE):
    """Sampling with torch.distributions' reparameterized rsample, flattening with flatten(1)."""

    def encode(self, x):
        h = F.relu(self.fc1(x.flatten(1)))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu, logvar):
        return Normal(mu, logvar.mul(0.5).exp()).rsample()


class TrainingOnlySamplingVAE(SeedVAE):
    """pytorch/examples' older style: sample in training, use the mean in evaluation."""

    def reparameterize(self, mu, logvar):
        if self.training:
            std = logvar.div(2).exp()
            return torch.randn(std.shape).mul(std).add(mu)
        return mu


CORRECT_VAES = [ReferenceVAE, SeedVAE, DistributionsVAE, TrainingOnlySamplingVAE]


# --- wrong VAEs and the symptom each must be reported with --------------------------------------------
class SharedHead(SeedVAE):
    def encode(self, x):
        h = F.relu(self.fc1(x.reshape(-1, 784)))
        return self.fc_mu(h), self.fc_mu(h)


class SwappedHeads(SeedVAE):
    def encode(self, x):
        h = F.relu(self.fc1(x.reshape(-1, 784)))
        return self.fc_logvar(h), self.fc_mu(h)


class StdInsteadOfLogvar(SeedVAE):
    def reparameterize(self, mu, logvar):
        return mu + torch.randn_like(mu) * logvar


class VarianceAsStd(SeedVAE):
    def reparameterize(self, mu, logvar):
        return mu + torch.randn_like(mu) * torch.exp(logvar)


class NoNoise(SeedVAE):
    def reparameterize(self, mu, logvar):
        return mu


class NoiseWithoutGradient(SeedVAE):
    def reparameterize(self, mu, logvar):
        return torch.normal(mu, torch.exp(0.5 * logvar))


class SampleNotRsample(SeedVAE):
    def reparameterize(self, mu, logvar):
        return Normal(mu, torch.exp(0.5 * logvar)).sample()


class DetachedSample(SeedVAE):
    def reparameterize(self, mu, logvar):
        return (mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)).detach()


class UniformNoise(SeedVAE):
    def reparameterize(self, mu, logvar):
        return mu + torch.rand_like(mu) * torch.exp(0.5 * logvar)


class NoiseSharedAcrossBatch(SeedVAE):
    def reparameterize(self, mu, logvar):
        return mu + torch.randn(1, mu.shape[1]) * torch.exp(0.5 * logvar)


class NoiseSharedAcrossDims(SeedVAE):
    def reparameterize(self, mu, logvar):
        return mu + torch.randn(mu.shape[0], 1) * torch.exp(0.5 * logvar)


class FixedNoise(SeedVAE):
    def reparameterize(self, mu, logvar):
        generator = torch.Generator().manual_seed(0)
        return mu + torch.randn(mu.shape, generator=generator) * torch.exp(0.5 * logvar)


class NoSigmoid(SeedVAE):
    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))


class ForwardReturnsZ(SeedVAE):
    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), z, logvar


class ForwardDecodesMu(SeedVAE):
    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(mu), mu, logvar


class ForwardIgnoresSigma(SeedVAE):
    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(mu + torch.randn_like(mu)), mu, logvar


class ForwardReturnsTwo(SeedVAE):
    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), (mu, logvar)


class ReluOnMu(SeedVAE):
    def encode(self, x):
        h = F.relu(self.fc1(x.reshape(-1, 784)))
        return F.relu(self.fc_mu(h)), self.fc_logvar(h)


class SoftplusLogvar(SeedVAE):
    def encode(self, x):
        h = F.relu(self.fc1(x.reshape(-1, 784)))
        return self.fc_mu(h), F.softplus(self.fc_logvar(h))


class BatchNormalisedMu(SeedVAE):
    def encode(self, x):
        h = F.relu(self.fc1(x.reshape(-1, 784)))
        mu = self.fc_mu(h)
        return mu - mu.mean(dim=0), self.fc_logvar(h)


class IgnoresLatentDim(SeedVAE):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__(input_dim, hidden_dim, 8)


class RenamedLayers(nn.Module):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, latent_dim)
        self.fc22 = nn.Linear(400, latent_dim)
        self.fc3 = nn.Linear(latent_dim, 400)
        self.fc4 = nn.Linear(400, 784)


class WrongHiddenSize(SeedVAE):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__(input_dim, hidden_dim, latent_dim)
        self.fc1 = nn.Linear(784, 512)
        self.fc_mu = nn.Linear(512, latent_dim)
        self.fc_logvar = nn.Linear(512, latent_dim)


class NoFlatten(SeedVAE):
    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


class UnusedLayer(SeedVAE):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__(input_dim, hidden_dim, latent_dim)
        self.fc_extra = nn.Linear(400, 400)


class EncoderWithoutReluVAE(SeedVAE):
    """Leaves out the ReLU after fc1: mu and logvar are affine in the image."""

    def encode(self, x):
        h = self.fc1(x.reshape(-1, 784))
        return self.fc_mu(h), self.fc_logvar(h)


class LeakyReluEncoderVAE(SeedVAE):
    """Uses a leaky ReLU after fc1 where the table has a ReLU."""

    def encode(self, x):
        h = F.leaky_relu(self.fc1(x.reshape(-1, 784)), 0.1)
        return self.fc_mu(h), self.fc_logvar(h)


class DecoderWithoutReluVAE(SeedVAE):
    def decode(self, z):
        return torch.sigmoid(self.fc4(self.fc3(z)))


class ClampedOutputVAE(SeedVAE):
    """Bounds the pixels by clamping instead of a sigmoid."""

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z))).clamp(0, 1)


class TanhRescaledOutputVAE(SeedVAE):
    """Bounds the pixels with (tanh + 1) / 2, which is sigmoid(2u)."""

    def decode(self, z):
        return (torch.tanh(self.fc4(F.relu(self.fc3(z)))) + 1) / 2


class NotImplementedVAE(nn.Module):
    def __init__(self, input_dim=784, hidden_dim=400, latent_dim=8):
        super().__init__()
        raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_VAES = {
    SharedHead: "same tensor for mu and logvar",
    SwappedHeads: "Changing fc_logvar's weights changed mu",
    StdInsteadOfLogvar: "scales like logvar itself",
    VarianceAsStd: "scales like the variance",
    NoNoise: "returned mu itself",
    NoiseWithoutGradient: "No gradient reaches mu",
    SampleNotRsample: "cut off from the autograd graph",
    DetachedSample: "cut off from the autograd graph",
    UniformNoise: "not centred on mu",
    NoiseSharedAcrossBatch: "Every row of the batch got the same noise",
    NoiseSharedAcrossDims: "different latent dimensions is correlated",
    FixedNoise: "Two calls of reparameterize",
    NoSigmoid: r"must lie in \[0, 1\]",
    ForwardReturnsZ: "not the random sample z",
    ForwardDecodesMu: "same reconstruction twice in training mode",
    ForwardIgnoresSigma: "tiny variance",
    ForwardReturnsTwo: "should return three tensors",
    ReluOnMu: "mu is never negative",
    SoftplusLogvar: "logvar is never negative",
    BatchNormalisedMu: "other images are in the batch",
    IgnoresLatentDim: r"maps 400 -> 8 features; expected 400 -> 3",
    RenamedLayers: "no nn.Linear layer named fc_mu",
    WrongHiddenSize: "expected 784 -> 400",
    NoFlatten: r"\(\d+, 1, 28, 28\)",
    UnusedLayer: "No gradient reaches fc_extra",
    NotImplementedVAE: "not implemented yet",
    EncoderWithoutReluVAE: "where there is no ReLU after fc1",
    LeakyReluEncoderVAE: r"the table applies ReLU after fc1 and nothing else",
    DecoderWithoutReluVAE: r"decode\(z\) equals sigmoid\(fc4\(fc3\(z\)\)\): there is no ReLU after fc3",
    ClampedOutputVAE: r"clamps the output of fc4 to \[0, 1\] where the table applies a sigmoid",
    TanhRescaledOutputVAE: r"bounds the output of fc4 with \(tanh\(u\) \+ 1\) / 2",
}


def run_vae_checks(cls):
    check_vae_shapes(cls)
    check_vae_sampling(cls)
    check_vae_behaviour(cls)


@pytest.mark.parametrize("cls", CORRECT_VAES, ids=lambda c: c.__name__)
def test_correct_vaes_pass(cls, capsys):
    run_vae_checks(cls)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 3


@pytest.mark.parametrize("cls", WRONG_VAES, ids=lambda c: c.__name__)
def test_wrong_vaes_fail_with_their_symptom(cls):
    with pytest.raises(CheckFailed, match=WRONG_VAES[cls]):
        run_vae_checks(cls)


def test_the_visible_checks_alone_catch_the_sampling_mistakes():
    for cls in (StdInsteadOfLogvar, VarianceAsStd, NoNoise, NoiseWithoutGradient, DetachedSample, UniformNoise):
        with pytest.raises(CheckFailed):
            check_vae_sampling(cls)


def test_the_hidden_check_alone_catches_what_it_promises():
    for cls in (SharedHead, SwappedHeads, ForwardReturnsZ, ForwardDecodesMu, ForwardIgnoresSigma, ReluOnMu,
                SoftplusLogvar, BatchNormalisedMu, NoFlatten, UnusedLayer, DetachedSample):
        with pytest.raises(CheckFailed):
            check_vae_behaviour(cls)


# --- correct losses ----------------------------------------------------------------------------------
def seed_loss(recon_x, x, mu, logvar):
    recon_loss = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kl_loss = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return recon_loss + kl_loss


def distributions_loss(recon_x, x, mu, logvar):
    recon = -Bernoulli(probs=recon_x, validate_args=False).log_prob(x.reshape(len(recon_x), -1)).sum()
    kl = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum()
    return recon + kl


def handwritten_loss(recon_x, x, mu, logvar):
    x = x.flatten(1)
    recon = -(x * torch.log(recon_x) + (1 - x) * torch.log1p(-recon_x)).sum(dim=1)
    kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(dim=1)
    return (recon + kl).sum()


CORRECT_LOSSES = [seed_loss, distributions_loss, handwritten_loss]


# --- wrong losses -----------------------------------------------------------------------------------
def _kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def batch_mean_loss(recon_x, x, mu, logvar):
    return seed_loss(recon_x, x, mu, logvar) / len(recon_x)


def missing_kl_loss(recon_x, x, mu, logvar):
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="sum")


def kl_wrong_sign_loss(recon_x, x, mu, logvar):
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="sum") - _kl(mu, logvar)


def per_example_loss(recon_x, x, mu, logvar):
    recon = F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="none").sum(dim=1)
    return recon - 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def mse_loss(recon_x, x, mu, logvar):
    return F.mse_loss(recon_x, x.reshape(-1, 784), reduction="sum") + _kl(mu, logvar)


def bce_mean_loss(recon_x, x, mu, logvar):
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784)) + _kl(mu, logvar)


def bce_pixel_mean_loss(recon_x, x, mu, logvar):
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="none").mean(dim=1).sum() + _kl(mu, logvar)


def kl_logvar_as_std_loss(recon_x, x, mu, logvar):
    kl = -0.5 * torch.sum(1 + torch.log(logvar ** 2) - mu.pow(2) - logvar ** 2)
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="sum") + kl


def kl_missing_exp_loss(recon_x, x, mu, logvar):
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar)
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="sum") + kl


def kl_no_half_loss(recon_x, x, mu, logvar):
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="sum") + 2 * _kl(mu, logvar)


def kl_batch_mean_loss(recon_x, x, mu, logvar):
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="sum") + _kl(mu, logvar) / len(mu)


def kl_dim_mean_loss(recon_x, x, mu, logvar):
    kl = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp(), dim=1).sum()
    return F.binary_cross_entropy(recon_x, x.reshape(-1, 784), reduction="sum") + kl


def swapped_bce_loss(recon_x, x, mu, logvar):
    return F.binary_cross_entropy(x.reshape(-1, 784), recon_x, reduction="sum") + _kl(mu, logvar)


def detached_loss(recon_x, x, mu, logvar):
    return seed_loss(recon_x, x, mu, logvar).detach()


def no_flatten_loss(recon_x, x, mu, logvar):
    recon = -(x * torch.log(recon_x) + (1 - x) * torch.log(1 - recon_x)).sum()
    return recon + _kl(mu, logvar)


def log_prob_only_on_ink_loss(recon_x, x, mu, logvar):
    return -(x.reshape(-1, 784) * torch.log(recon_x)).sum() + _kl(mu, logvar)


def not_implemented_loss(recon_x, x, mu, logvar):
    raise NotImplementedError("Exercise: replace this line with your code.")


WRONG_LOSSES = {
    batch_mean_loss: "averaged over the batch",
    missing_kl_loss: "KL term is missing",
    kl_wrong_sign_loss: "KL term has the wrong sign",
    per_example_loss: "single number",
    mse_loss: "squared error",
    bce_mean_loss: "averaged over every pixel of the batch",
    bce_pixel_mean_loss: "averaged over the pixels",
    kl_logvar_as_std_loss: "treats logvar as the standard deviation",
    kl_missing_exp_loss: "uses logvar where it needs the variance",
    kl_no_half_loss: "factor 1/2",
    kl_batch_mean_loss: "KL term looks averaged over the batch",
    kl_dim_mean_loss: "averaged over the latent dimensions",
    swapped_bce_loss: "swaps the roles of recon_x and x",
    detached_loss: "autograd graph",
    no_flatten_loss: r"shaped \(B, 1, 28, 28\)",
    log_prob_only_on_ink_loss: "Reconstruction term: it is",
    not_implemented_loss: "not implemented yet",
}


def run_loss_checks(fn):
    check_vae_loss_value(fn)
    check_vae_loss_properties(fn)


@pytest.mark.parametrize("fn", CORRECT_LOSSES, ids=lambda f: f.__name__)
def test_correct_losses_pass(fn, capsys):
    run_loss_checks(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG_LOSSES, ids=lambda f: f.__name__)
def test_wrong_losses_fail_with_their_symptom(fn):
    with pytest.raises(CheckFailed, match=WRONG_LOSSES[fn]):
        run_loss_checks(fn)


def test_the_visible_loss_check_catches_a_batch_mean_and_a_missing_kl():
    for fn in (batch_mean_loss, missing_kl_loss, kl_wrong_sign_loss, mse_loss, bce_mean_loss):
        with pytest.raises(CheckFailed):
            check_vae_loss_value(fn)


# --- how the checks behave as a whole ------------------------------------------------------------------
def test_checks_do_not_change_the_students_model_weights():
    torch.manual_seed(0)

    class Recorder(SeedVAE):
        instances = []

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            Recorder.instances.append(self)

    check_vae_behaviour(Recorder)
    model = Recorder.instances[0]
    torch.manual_seed(1234)  # the seed the check builds its model with
    fresh = SeedVAE(latent_dim=4)
    for (name, p), q in zip(model.named_parameters(), fresh.parameters()):
        assert torch.equal(p, q), f"the check changed {name}"
