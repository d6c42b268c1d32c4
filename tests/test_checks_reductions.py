"""The checks of notebook 05's effective_beta pass correct answers and catch plausible mistakes.

Right and wrong answers are top-level functions with the exercise's signature, so that they
can be planted into a notebook and graded by nbgrader as well.
"""

from __future__ import annotations

import pytest
import torch

from vae_helpers.checks._core import CheckFailed
from vae_helpers.checks.reductions import check_effective_beta_properties, check_effective_beta_value


# --- correct answers ------------------------------------------------------------------------------
def effective_beta_reference(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                             batch_reduction="sum", batch_size=128):
    recon_scale = 1 / n_pixels if recon_reduction == "mean" else 1
    kl_scale = 1 / latent_dim if kl_reduction == "mean" else 1
    return beta * kl_scale / recon_scale


def effective_beta_by_gradients(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                                batch_reduction="sum", batch_size=128):
    recon = torch.ones(batch_size, n_pixels, requires_grad=True)
    kl = torch.ones(batch_size, latent_dim, requires_grad=True)
    per_image = getattr(recon, recon_reduction)(dim=1) + beta * getattr(kl, kl_reduction)(dim=1)
    getattr(per_image, batch_reduction)().backward()
    return (kl.grad[0, 0] / recon.grad[0, 0]).item()


def effective_beta_table(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                         batch_reduction="sum", batch_size=128):
    pixels = {"sum": 1, "mean": n_pixels}[recon_reduction]
    dims = {"sum": 1, "mean": latent_dim}[kl_reduction]
    return torch.tensor(beta * pixels / dims)


CORRECT = [effective_beta_reference, effective_beta_by_gradients, effective_beta_table]


# --- wrong answers --------------------------------------------------------------------------------
def divides_where_the_mean_multiplies(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                                      batch_reduction="sum", batch_size=128):
    scale = beta
    if recon_reduction == "mean":
        scale /= n_pixels
    if kl_reduction == "mean":
        scale *= latent_dim
    return scale


def kl_mean_multiplies(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                       batch_reduction="sum", batch_size=128):
    scale = beta * (n_pixels if recon_reduction == "mean" else 1)
    return scale * latent_dim if kl_reduction == "mean" else scale


def batch_mean_divides(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                       batch_reduction="sum", batch_size=128):
    scale = effective_beta_reference(recon_reduction, kl_reduction, n_pixels, latent_dim, beta)
    return scale / batch_size if batch_reduction == "mean" else scale


def batch_mean_on_the_reconstruction_only(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                                          batch_reduction="sum", batch_size=128):
    scale = effective_beta_reference(recon_reduction, kl_reduction, n_pixels, latent_dim, beta)
    return scale * batch_size if batch_reduction == "mean" else scale


def ignores_the_kl_reduction(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                             batch_reduction="sum", batch_size=128):
    return beta * (n_pixels if recon_reduction == "mean" else 1)


def ignores_the_reconstruction_reduction(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                                         batch_reduction="sum", batch_size=128):
    return beta / (latent_dim if kl_reduction == "mean" else 1)


def ignores_beta(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                 batch_reduction="sum", batch_size=128):
    return effective_beta_reference(recon_reduction, kl_reduction, n_pixels, latent_dim)


def always_784_pixels(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                      batch_reduction="sum", batch_size=128):
    return effective_beta_reference(recon_reduction, kl_reduction, 784, latent_dim, beta)


def sizes_swapped(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                  batch_reduction="sum", batch_size=128):
    return effective_beta_reference(recon_reduction, kl_reduction, latent_dim, n_pixels, beta)


def integer_division(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                     batch_reduction="sum", batch_size=128):
    pixels = n_pixels if recon_reduction == "mean" else 1
    dims = latent_dim if kl_reduction == "mean" else 1
    return beta * (pixels // dims)


def returns_a_string(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                     batch_reduction="sum", batch_size=128):
    return f"{effective_beta_reference(recon_reduction, kl_reduction, n_pixels, latent_dim, beta):g}"


def not_implemented(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0,
                    batch_reduction="sum", batch_size=128):
    raise NotImplementedError("replace this line with your code")


# each wrong answer and a phrase its message must contain
WRONG = {
    divides_where_the_mean_multiplies: "you divided where the mean multiplies beta",
    kl_mean_multiplies: "you multiplied where the mean divides beta",
    batch_mean_divides: "The batch reduction affects both terms alike",
    batch_mean_on_the_reconstruction_only: "The batch reduction affects both terms alike",
    ignores_the_kl_reduction: "as if the KL were summed",
    ignores_the_reconstruction_reduction: "as if the reconstruction were summed",
    ignores_beta: "weight beta = 4 on the KL term is missing",
    always_784_pixels: "computed for 784 pixels",
    sizes_swapped: "the two sizes look swapped",
    integer_division: "integer division",
    returns_a_string: "should return one number",
    not_implemented: "is not implemented yet",
}


@pytest.mark.parametrize("fn", CORRECT, ids=lambda f: f.__name__)
def test_correct_answers_pass(fn, capsys):
    check_effective_beta_value(fn)
    check_effective_beta_properties(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG, ids=lambda f: f.__name__)
def test_wrong_answers_fail_the_visible_check_with_their_symptom(fn):
    with pytest.raises(CheckFailed) as failure:
        check_effective_beta_value(fn)
    assert WRONG[fn] in str(failure.value), str(failure.value)


@pytest.mark.parametrize("fn", WRONG, ids=lambda f: f.__name__)
def test_wrong_answers_fail_the_hidden_check_too(fn):
    with pytest.raises(CheckFailed):
        check_effective_beta_properties(fn)


def test_the_independent_computation_gives_the_known_betas():
    """The checks' gradient ratio reproduces the betas worked out by hand in the notebook."""
    from vae_helpers.checks.reductions import _true_beta

    assert _true_beta("sum", "sum", 784, 12, 1.0, "sum", 4) == pytest.approx(1.0)
    assert _true_beta("mean", "sum", 784, 12, 1.0, "sum", 4) == pytest.approx(784.0)
    assert _true_beta("sum", "mean", 784, 12, 1.0, "mean", 4) == pytest.approx(1 / 12)
    assert _true_beta("mean", "sum", 12288, 128, 0.00025, "mean", 144) == pytest.approx(3.072)


def test_a_wrong_value_the_diagnosis_does_not_know_still_fails_with_the_ratio():
    def off_by_two(recon_reduction, kl_reduction, n_pixels, latent_dim, beta=1.0, batch_reduction="sum",
                   batch_size=128):
        return 2 * effective_beta_reference(recon_reduction, kl_reduction, n_pixels, latent_dim, beta)

    with pytest.raises(CheckFailed, match="one nat of KL moves the loss 784 times as much"):
        check_effective_beta_value(off_by_two)
