"""Cells that use an exercise stop with one line until the exercise passes its visible test.

A demonstration cell that trains or plots with the student's code starts with
``require(VAE=VAE, vae_loss=vae_loss)``. While an exercise it names still fails its
visible test, the cell stops there and shows one line naming the exercise to fix, in
place of a traceback from deep inside the demonstration that says nothing about the cause.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

from ._core import CheckFailed
from .autoencoder import check_autoencoder_shapes, check_reconstruction_loss_value
from .beta_vae import check_active_units_value, check_beta_vae_loss_value
from .bounds import check_iw_bound_value
from .kl_divergence import check_kl_divergence_value, check_kl_monte_carlo_basics
from .likelihoods import check_gaussian_nll_value
from .reductions import check_effective_beta_value
from .reparameterization import check_reparameterize_basics, check_score_function_basics
from .vae import check_vae_loss_value, check_vae_sampling, check_vae_shapes

# Each exercise's name in the notebooks, and the checks of its visible test cells.
VISIBLE_CHECKS: dict[str, tuple[Callable[[Any], None], ...]] = {
    "Autoencoder": (check_autoencoder_shapes,),
    "reconstruction_loss": (check_reconstruction_loss_value,),
    "reparameterize": (check_reparameterize_basics,),
    "score_function_gradient": (check_score_function_basics,),
    "kl_divergence": (check_kl_divergence_value,),
    "kl_monte_carlo": (check_kl_monte_carlo_basics,),
    "VAE": (check_vae_shapes, check_vae_sampling),
    "gaussian_nll": (check_gaussian_nll_value,),
    "vae_loss": (check_vae_loss_value,),
    "iw_bound": (check_iw_bound_value,),
    "effective_beta": (check_effective_beta_value,),
    "beta_vae_loss": (check_beta_vae_loss_value,),
    "active_units": (check_active_units_value,),
}


class ExerciseNotReady(Exception):
    """A cell needs an exercise that does not pass its visible test yet."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows in place of a traceback: the message alone, on one line."""
        return [f"\N{WARNING SIGN} {self}"]


def passes_visible_test(name: str, answer: Any) -> bool:
    """True when ``answer``, the notebook's ``name``, passes the checks of its visible test cells."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for check in VISIBLE_CHECKS[name]:
                check(answer)
    except CheckFailed:
        return False
    return True


def require(**exercises: Any) -> None:
    """Stop the cell, with one line, unless every exercise given as ``name=answer`` passes its visible test."""
    unknown = set(exercises) - set(VISIBLE_CHECKS)
    if unknown:
        raise ValueError(f"require() knows the exercises {', '.join(VISIBLE_CHECKS)}; got {', '.join(sorted(unknown))}")
    failing = [name for name, answer in exercises.items() if not passes_visible_test(name, answer)]
    if len(failing) == 1:
        raise ExerciseNotReady(f"This cell uses {failing[0]}, which does not pass its visible test yet: fix it "
                               f"above until its test cell shows \N{CHECK MARK}, then run this cell again.")
    if failing:
        raise ExerciseNotReady(f"This cell uses {' and '.join(failing)}, which do not pass their visible tests "
                               f"yet: fix them above until their test cells show \N{CHECK MARK}, then run this "
                               f"cell again.")
