"""The checks of notebook 04's ``iw_bound`` pass correct answers and catch plausible mistakes by their symptom.

Every answer is a top-level function with the exercise's exact signature, so that its
source can be planted into a notebook and graded by nbgrader as well. ``log_w`` has shape
(K, B): K samples for each of B examples; the bound has shape (B,).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_helpers.checks import CheckFailed
from vae_helpers.checks.bounds import check_iw_bound_properties, check_iw_bound_value


def run_checks(fn):
    check_iw_bound_value(fn)
    check_iw_bound_properties(fn)


# --- right answers ----------------------------------------------------------------------------------
def torch_logsumexp(log_w):
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def manual_max_shift(log_w):
    top = log_w.max(dim=0).values
    return top + torch.log(torch.exp(log_w - top).sum(dim=0)) - math.log(len(log_w))


def shift_inside_the_log(log_w):
    """The average taken inside: logsumexp of log_w - log K."""
    k = torch.tensor(float(log_w.shape[0]), dtype=log_w.dtype)
    return torch.logsumexp(log_w - torch.log(k), dim=0)


def keepdim_max_shift(log_w):
    top = torch.amax(log_w, dim=0, keepdim=True)
    mean_weight = torch.mean(torch.exp(log_w - top), dim=0)
    return top.squeeze(0) + torch.log(mean_weight)


CORRECT = [torch_logsumexp, manual_max_shift, shift_inside_the_log, keepdim_max_shift]


# --- wrong answers ----------------------------------------------------------------------------------
def mean_of_log_weights(log_w):
    return log_w.mean(dim=0)


def log_of_mean_without_shift(log_w):
    return torch.log(torch.exp(log_w).mean(dim=0))


def missing_log_k(log_w):
    return torch.logsumexp(log_w, dim=0)


def minus_k(log_w):
    return torch.logsumexp(log_w, dim=0) - log_w.shape[0]


def summed_over_the_batch(log_w):
    return (torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])).sum()


def logsumexp_over_the_batch(log_w):
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def mean_of_the_weights(log_w):
    return torch.exp(log_w).mean(dim=0)


def largest_log_weight(log_w):
    return log_w.max(dim=0).values


def shift_not_added_back(log_w):
    top = log_w.max(dim=0).values
    return torch.log(torch.exp(log_w - top).sum(dim=0)) - math.log(len(log_w))


def minus_log_batch_size(log_w):
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[1])


def shifted_in_place(log_w):
    top = log_w.max(dim=0).values
    log_w -= top
    return top + torch.log(torch.exp(log_w).mean(dim=0))


def with_numpy(log_w):
    w = log_w.detach().numpy()
    top = w.max(axis=0)
    return torch.from_numpy(top + np.log(np.exp(w - top).mean(axis=0)))


def not_implemented_bound(log_w):
    raise NotImplementedError("Exercise: replace this line with your code.")


WRONG = {
    mean_of_log_weights: "looks like the mean of the log-weights, the ELBO",
    log_of_mean_without_shift: "overflows",
    missing_log_k: "minus log K that turns the sum into an average is missing",
    minus_k: "subtracts K = 4 where the average over K samples needs log K",
    summed_over_the_batch: "single number",
    logsumexp_over_the_batch: r"returned shape \(4,\).*one value per sample",
    mean_of_the_weights: "mean of the weights exp\\(log_w\\) themselves",
    largest_log_weight: "equals the largest log-weight",
    shift_not_added_back: "was not added back",
    minus_log_batch_size: "subtracts log B",
    shifted_in_place: "changed its input log_w in place",
    with_numpy: "cut off from the autograd graph",
    not_implemented_bound: "not implemented yet",
}


@pytest.mark.parametrize("fn", CORRECT, ids=lambda f: f.__name__)
def test_correct_bounds_pass(fn, capsys):
    run_checks(fn)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 2


@pytest.mark.parametrize("fn", WRONG, ids=lambda f: f.__name__)
def test_wrong_bounds_fail_with_their_symptom(fn):
    with pytest.raises(CheckFailed, match=WRONG[fn]):
        run_checks(fn)


@pytest.mark.parametrize("fn", WRONG, ids=lambda f: f.__name__)
def test_the_visible_check_alone_catches_every_wrong_answer(fn):
    with pytest.raises(CheckFailed, match=WRONG[fn]):
        check_iw_bound_value(fn)


def test_the_hidden_check_alone_catches_a_bound_that_is_wrong_only_beyond_the_visible_shapes():
    def only_for_small_k(log_w):  # right for K <= 5, the mean of the log-weights for larger K
        return torch_logsumexp(log_w) if log_w.shape[0] <= 5 else log_w.mean(0)

    check_iw_bound_value(only_for_small_k)
    with pytest.raises(CheckFailed, match="looks like the mean of the log-weights"):
        check_iw_bound_properties(only_for_small_k)


def test_the_hidden_check_catches_a_bound_that_falls_with_k():
    def falls_with_k(log_w):  # the right bound minus a penalty that grows with K
        return torch_logsumexp(log_w) - 0.5 * math.log(log_w.shape[0]) * (log_w.shape[0] > 5)

    with pytest.raises(CheckFailed):
        check_iw_bound_properties(falls_with_k)


def test_the_hidden_check_uses_the_toy_models_exact_log_px():
    def posterior_blind(log_w):  # right except when every weight is the same
        equal = bool((log_w == log_w[:1]).all())
        return torch_logsumexp(log_w) + (1.0 if equal and log_w.shape[0] > 1 else 0.0)

    with pytest.raises(CheckFailed, match="exact posterior p\\(z\\|x\\) as proposal"):
        check_iw_bound_properties(posterior_blind)


@pytest.mark.parametrize("offset", range(1, 6))
def test_a_correct_bound_passes_whatever_the_checks_seed(offset, monkeypatch):
    """The statistical part of the hidden check holds for other random draws than its own."""
    from vae_helpers.checks import bounds

    original = bounds._toy_log_weights
    monkeypatch.setattr(bounds, "_toy_log_weights",
                        lambda proposal, k, repeats, seed: original(proposal, k, repeats, seed + 1000 * offset))
    bounds._expect_rising_towards_log_px(torch_logsumexp)
