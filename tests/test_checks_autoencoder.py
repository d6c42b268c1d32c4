"""The checks of notebook 01 pass the reference answers and catch plausible mistakes."""

from __future__ import annotations

import os
import traceback
import warnings

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


# --- wrong losses and the symptom each must be reported with --------------------------
WRONG_LOSSES = {
    "mse default (mean over all)": (lambda x_hat, x: F.mse_loss(x_hat, x), "averaged over every element"),
    "batch mean": (lambda x_hat, x: ((x_hat - x) ** 2).sum(dim=1).mean(), "averaged over the batch"),
    "pixel mean": (lambda x_hat, x: ((x_hat - x) ** 2).mean(dim=1).sum(), "averaged over the pixels"),
    "absolute error": (lambda x_hat, x: (x_hat - x).abs().sum(), "absolute differences"),
    "norm, not squared": (lambda x_hat, x: (x_hat - x).norm(dim=1).sum(), "norm of the error"),
    "half": (lambda x_hat, x: 0.5 * ((x_hat - x) ** 2).sum(), "half"),
    "per-image vector": (lambda x_hat, x: ((x_hat - x) ** 2).sum(dim=1), "single number"),
    "detached": (lambda x_hat, x: ((x_hat - x) ** 2).sum().detach(), "autograd graph"),
    "wrong sign": (lambda x_hat, x: -((x_hat - x) ** 2).sum(), "squared error summed"),
}


def run_loss_checks(fn):
    checks.check_reconstruction_loss_value(fn)
    checks.check_reconstruction_loss_properties(fn)


@pytest.mark.parametrize("fn", [reference_loss, loss_via_mse, loss_via_norms])
def test_correct_losses_pass(fn, capsys):
    run_loss_checks(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("name", WRONG_LOSSES)
def test_wrong_losses_fail_with_their_symptom(name):
    fn, symptom = WRONG_LOSSES[name]
    with pytest.raises(checks.CheckFailed, match=symptom):
        run_loss_checks(fn)


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
}


def run_model_checks(cls):
    checks.check_autoencoder_shapes(cls)
    checks.check_autoencoder_behaviour(cls)


def test_reference_autoencoder_passes(capsys):
    run_model_checks(Autoencoder)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("cls", WRONG_MODELS, ids=lambda c: c.__name__)
def test_wrong_autoencoders_fail_with_their_symptom(cls):
    with pytest.raises(checks.CheckFailed, match=WRONG_MODELS[cls]):
        run_model_checks(cls)


# --- how checks behave as a whole ---------------------------------------------------------
def test_checks_are_quiet_on_stderr_and_return_nothing(capsys):
    def warning_loss(x_hat, x):
        warnings.warn("a student's warning")
        import sys
        print("debug print to stderr", file=sys.stderr)
        return ((x - x_hat) ** 2).sum()

    assert checks.check_reconstruction_loss_value(warning_loss) is None
    captured = capsys.readouterr()
    assert captured.err == "" and "\N{CHECK MARK}" in captured.out


def test_checks_leave_the_notebooks_random_state_alone():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    checks.check_autoencoder_behaviour(Autoencoder)
    assert torch.equal(torch.rand(3), expected)


def test_checks_run_on_one_thread_and_restore_the_notebooks_setting():
    seen = []

    def loss_that_records_threads(x_hat, x):
        seen.append(torch.get_num_threads())
        return reference_loss(x_hat, x)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        checks.check_reconstruction_loss_value(loss_that_records_threads)
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 2
        with pytest.raises(checks.CheckFailed):
            checks.check_reconstruction_loss_value(WRONG_LOSSES["half"][0])
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_checks_run_with_gradients_even_if_the_notebook_disabled_them():
    torch.set_grad_enabled(False)
    try:
        checks.check_reconstruction_loss_properties(reference_loss)
    finally:
        torch.set_grad_enabled(True)


def test_failure_messages_do_not_contain_solution_code():
    for fn, _ in WRONG_LOSSES.values():
        with pytest.raises(checks.CheckFailed) as info:
            run_loss_checks(fn)
        message = str(info.value)
        assert "**" not in message and ".sum()" not in message and "def " not in message


def test_failures_hide_the_checks_internals_but_keep_the_students_own_error():
    with pytest.raises(checks.CheckFailed) as info:
        checks.check_reconstruction_loss_value(WRONG_LOSSES["batch mean"][0])
    frames = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(info.value.__traceback__)]
    assert not any(name.endswith(os.path.join("checks", "autoencoder.py")) for name in frames)

    def crashing_loss(x_hat, x):
        return x_hat @ x  # shapes (4, 784) @ (4, 784) do not multiply

    with pytest.raises(checks.CheckFailed, match="raised RuntimeError") as info:
        checks.check_reconstruction_loss_value(crashing_loss)
    cause = info.value.__cause__
    assert isinstance(cause, RuntimeError)
    assert any(frame.f_code.co_name == "crashing_loss" for frame, _ in traceback.walk_tb(cause.__traceback__))
