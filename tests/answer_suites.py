"""The answer library: for every graded exercise, right answers and plausible wrong ones.

The answers themselves are top-level functions and classes in ``tests/test_checks_*.py``,
where the checks are also called on them directly. This module gathers them per
exercise and declares, for each wrong answer, exactly which graded test cells of its
exercise it must fail. :func:`plant` turns an answer into the source code a student
would have written in the exercise's solution cell, so the grading tests can run each
answer through nbgrader itself (``test_answer_suites.py``).
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

import test_checks_autoencoder as ae
import test_checks_beta_vae as beta
import test_checks_bounds as bounds
import test_checks_kl_divergence as kl
import test_checks_likelihoods as lik
import test_checks_reductions as red
import test_checks_reparameterization as rep
import test_checks_vae as vae

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: the solution cell ``cell`` of ``assignment`` defines ``name``.

    ``wrong`` maps each wrong answer to (the test cells it must fail, the symptom the
    first of them must name); every other test cell of the notebook must pass.
    """

    assignment: str
    cell: str
    name: str
    correct: tuple[Any, ...]
    wrong: dict[Any, tuple[tuple[str, ...], str]] = field(hash=False)

    @property
    def label(self) -> str:
        return f"{self.assignment[:2]} {self.name}"

    @property
    def tests(self) -> tuple[str, ...]:
        """Its graded test cells, in notebook order."""
        return test_cells(self.assignment)[self.cell]

    @property
    def visible(self) -> tuple[str, ...]:
        """Its test cells that students see (the others are hidden tests)."""
        return tuple(cell for cell in self.tests if cell in visible_cells(self.assignment))


def _wrong(symptoms: dict[Any, str], fails: dict[str, tuple[str, ...]]) -> dict[Any, tuple[tuple[str, ...], str]]:
    """Pair each wrong answer's symptom with the test cells it fails (``fails``: by answer name)."""
    unknown = set(fails) - {answer.__name__ for answer in symptoms}
    assert not unknown, f"fails declared for unknown answers {unknown}"
    return {answer: (fails[answer.__name__], symptom) for answer, symptom in symptoms.items()}


# The test cells of each exercise, in notebook order (short names used in the declarations below).
AE_SHAPES, AE_BEHAVIOUR = "test-autoencoder-shapes", "test-autoencoder-behaviour"
LOSS_VALUE, LOSS_PROPERTIES = "test-loss-value", "test-loss-properties"
REP_BASICS, REP_NOISE, REP_GRADIENTS = ("test-reparameterize-basics", "test-reparameterize-noise",
                                        "test-reparameterize-gradients")
SCORE_BASICS, SCORE_PROPERTIES = "test-score-function-basics", "test-score-function-properties"
KL_VALUE, KL_PROPERTIES = "test-kl-value", "test-kl-properties"
MC_BASICS, MC_STATISTICS = "test-mc-basics", "test-mc-statistics"
VAE_SHAPES, VAE_SAMPLING, VAE_BEHAVIOUR = "test-vae-shapes", "test-vae-sampling", "test-vae-behaviour"
BETA_VALUE, BETA_PROPERTIES = "test-beta-vae-loss-value", "test-beta-vae-loss-properties"
UNITS_VALUE, UNITS_THRESHOLD = "test-active-units-value", "test-active-units-threshold"
IW_VALUE, IW_PROPERTIES = "test-iw-bound-value", "test-iw-bound-properties"
EB_VALUE, EB_PROPERTIES = "test-effective-beta-value", "test-effective-beta-properties"
NLL_VALUE, NLL_PROPERTIES = "test-gaussian-nll-value", "test-gaussian-nll-properties"

# The test cells each wrong answer fails, by exercise and answer name. Every other test
# cell of its notebook must pass. The checks are also called on these answers directly in
# tests/test_checks_*.py, with the symptom each must report.
FAILS: dict[str, dict[str, tuple[str, ...]]] = {
    "ae_model": {
        "NoSigmoid": (AE_SHAPES, AE_BEHAVIOUR),
        "NoFlatten": (AE_SHAPES, AE_BEHAVIOUR),
        "IgnoresLatentDim": (AE_SHAPES,),
        "ForwardSkipsBottleneck": (AE_SHAPES, AE_BEHAVIOUR),
        "NoisyForward": (AE_SHAPES, AE_BEHAVIOUR),
        "BatchMixing": (AE_SHAPES, AE_BEHAVIOUR),
        "ConstantDecoder": (AE_SHAPES, AE_BEHAVIOUR),
        "UnusedLayer": (AE_SHAPES, AE_BEHAVIOUR),
        "NotImplemented_": (AE_SHAPES, AE_BEHAVIOUR),
        "EncoderWithoutRelu": (AE_SHAPES, AE_BEHAVIOUR),
        "DecoderWithoutRelu": (AE_SHAPES, AE_BEHAVIOUR),
        "TanhHiddenLayer": (AE_SHAPES, AE_BEHAVIOUR),
        "ReluOnTheCode": (AE_SHAPES, AE_BEHAVIOUR),
        "ClampedOutput": (AE_SHAPES, AE_BEHAVIOUR),
        "TanhRescaledOutput": (AE_SHAPES, AE_BEHAVIOUR),
        "SequentialWithoutHiddenRelu": (AE_SHAPES, AE_BEHAVIOUR),
        "FunctionalWithoutHiddenRelu": (AE_SHAPES, AE_BEHAVIOUR),
    },
    "ae_loss": {
        "mse_default_mean": (LOSS_VALUE, LOSS_PROPERTIES),
        "batch_mean": (LOSS_VALUE, LOSS_PROPERTIES),
        "pixel_mean": (LOSS_VALUE, LOSS_PROPERTIES),
        "absolute_error": (LOSS_VALUE, LOSS_PROPERTIES),
        "norm_not_squared": (LOSS_VALUE, LOSS_PROPERTIES),
        "half_squared_error": (LOSS_VALUE, LOSS_PROPERTIES),
        "per_image_vector": (LOSS_VALUE, LOSS_PROPERTIES),
        "detached_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "wrong_sign": (LOSS_VALUE, LOSS_PROPERTIES),
    },
    "rep": {
        "std_is_variance": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "std_is_logvar": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "std_sign_flipped": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "std_halved_variance": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "uniform_noise": (REP_BASICS, REP_NOISE),
        "centred_uniform_noise": (REP_BASICS, REP_NOISE),
        "laplace_noise": (REP_BASICS, REP_NOISE),
        "no_noise": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "noise_shared_by_the_batch": (REP_BASICS, REP_NOISE),
        "noise_shared_by_the_dimensions": (REP_BASICS, REP_NOISE),
        "one_noise_number": (REP_BASICS, REP_NOISE),
        "seeded_every_call": (REP_BASICS, REP_NOISE),
        "noise_drawn_once": (REP_BASICS, REP_NOISE),
        "detached_sample": (REP_BASICS, REP_GRADIENTS),
        "distribution_sample": (REP_BASICS, REP_GRADIENTS),
        "torch_normal": (REP_BASICS, REP_GRADIENTS),
        "std_detached": (REP_BASICS, REP_GRADIENTS),
        "mu_detached": (REP_BASICS, REP_GRADIENTS),
        "hard_coded_latent_dim": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "two_dimensional_only": (REP_BASICS, REP_GRADIENTS),
        "flattened": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "numpy_noise": (REP_BASICS, REP_GRADIENTS),
        "always_float32": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "changes_mu_in_place": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "not_implemented": (REP_BASICS, REP_NOISE, REP_GRADIENTS),
        "centred_noise": (REP_BASICS, REP_NOISE),
        "standardised_noise": (REP_BASICS, REP_NOISE),
        "normalised_noise": (REP_BASICS, REP_NOISE),
        "antithetic_noise": (REP_BASICS, REP_NOISE),
    },
    "score": {
        "score_without_f": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_not_divided": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_divided_by_sigma": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_minus_its_average": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_sign_flipped": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_std_is_variance": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_of_logvar": (SCORE_BASICS, SCORE_PROPERTIES),
        "pathwise_instead": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_through_the_sample": (SCORE_BASICS, SCORE_PROPERTIES),
        "surrogate_through_the_sample": (SCORE_BASICS, SCORE_PROPERTIES),
        "returns_the_mean": (SCORE_BASICS, SCORE_PROPERTIES),
        "averages_inner_samples": (SCORE_BASICS, SCORE_PROPERTIES),
        "seeded_score": (SCORE_BASICS, SCORE_PROPERTIES),
        "uniform_samples": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_not_implemented": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_with_a_baseline": (SCORE_BASICS, SCORE_PROPERTIES),
        "score_divided_by_n": (SCORE_BASICS, SCORE_PROPERTIES),
    },
    "kl": {
        "kl_summed_over_batch": (KL_VALUE, KL_PROPERTIES),
        "kl_averaged_over_dims": (KL_VALUE, KL_PROPERTIES),
        "kl_summed_over_wrong_axis": (KL_VALUE, KL_PROPERTIES),
        "kl_unsummed": (KL_VALUE, KL_PROPERTIES),
        "kl_plus_half": (KL_VALUE, KL_PROPERTIES),
        "kl_missing_half": (KL_VALUE, KL_PROPERTIES),
        "kl_without_the_factor": (KL_VALUE, KL_PROPERTIES),
        "kl_logvar_as_log_std": (KL_VALUE, KL_PROPERTIES),
        "kl_std_for_variance": (KL_VALUE, KL_PROPERTIES),
        "kl_logvar_as_std": (KL_VALUE, KL_PROPERTIES),
        "kl_forgets_the_one": (KL_VALUE, KL_PROPERTIES),
        "kl_missing_mu_squared": (KL_VALUE, KL_PROPERTIES),
        "kl_mu_not_squared": (KL_VALUE, KL_PROPERTIES),
        "kl_divided_by_batch": (KL_VALUE, KL_PROPERTIES),
        "kl_detached": (KL_VALUE, KL_PROPERTIES),
        "kl_via_numpy": (KL_VALUE, KL_PROPERTIES),
        "kl_no_gradient_to_mu": (KL_VALUE, KL_PROPERTIES),
        "kl_half_gradient_to_logvar": (KL_VALUE, KL_PROPERTIES),
        "kl_clamped_logvar": (KL_VALUE, KL_PROPERTIES),
        "kl_squares_mu_in_place": (KL_VALUE, KL_PROPERTIES),
        "kl_in_float64": (KL_VALUE, KL_PROPERTIES),
        "kl_batch_mixing": (KL_VALUE, KL_PROPERTIES),
        "kl_not_implemented": (KL_VALUE, KL_PROPERTIES),
        "kl_through_product_of_variances": (KL_VALUE, KL_PROPERTIES),
        "kl_through_product_of_stds": (KL_VALUE, KL_PROPERTIES),
    },
    "mc": {
        "mc_prior_samples": (MC_BASICS, MC_STATISTICS),
        "mc_sign_flipped": (MC_BASICS, MC_STATISTICS),
        "mc_averaged_over_dims": (MC_BASICS, MC_STATISTICS),
        "mc_summed_over_samples": (MC_BASICS, MC_STATISTICS),
        "mc_one_sided_constant": (MC_BASICS, MC_STATISTICS),
        "mc_q_without_its_width": (MC_BASICS, MC_STATISTICS),
        "mc_logvar_as_log_std": (MC_BASICS, MC_STATISTICS),
        "mc_ignores_n_samples": (MC_BASICS, MC_STATISTICS),
        "mc_fixed_number_of_draws": (MC_BASICS, MC_STATISTICS),
        "mc_noise_shared_by_the_dimensions": (MC_BASICS, MC_STATISTICS),
        "mc_one_draw_repeated": (MC_BASICS, MC_STATISTICS),
        "mc_closed_form": (MC_BASICS, MC_STATISTICS),
        "mc_fixed_seed": (MC_BASICS, MC_STATISTICS),
        "mc_shared_draws": (MC_BASICS, MC_STATISTICS),
        "mc_per_draw": (MC_BASICS, MC_STATISTICS),
        "mc_summed_over_batch": (MC_BASICS, MC_STATISTICS),
        "mc_unsummed": (MC_BASICS, MC_STATISTICS),
        "mc_biased_for_few_draws": (MC_BASICS, MC_STATISTICS),
        "mc_density_scale_is_variance": (MC_BASICS, MC_STATISTICS),
        "mc_in_float64": (MC_BASICS, MC_STATISTICS),
        "mc_not_implemented": (MC_BASICS, MC_STATISTICS),
    },
    "vae": {
        "SharedHead": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "SwappedHeads": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "StdInsteadOfLogvar": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "VarianceAsStd": (VAE_SAMPLING,),
        "NoNoise": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "NoiseWithoutGradient": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "SampleNotRsample": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "DetachedSample": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "UniformNoise": (VAE_SAMPLING,),
        "NoiseSharedAcrossBatch": (VAE_SAMPLING,),
        "NoiseSharedAcrossDims": (VAE_SAMPLING,),
        "FixedNoise": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "NoSigmoid": (VAE_SHAPES,),
        "ForwardReturnsZ": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "ForwardDecodesMu": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "ForwardIgnoresSigma": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "ForwardReturnsTwo": (VAE_SHAPES, VAE_SAMPLING, VAE_BEHAVIOUR),
        "ReluOnMu": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "SoftplusLogvar": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "BatchNormalisedMu": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "IgnoresLatentDim": (VAE_SHAPES, VAE_SAMPLING, VAE_BEHAVIOUR),
        "RenamedLayers": (VAE_SHAPES, VAE_SAMPLING, VAE_BEHAVIOUR),
        "WrongHiddenSize": (VAE_SHAPES,),
        "NoFlatten": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "UnusedLayer": (VAE_SAMPLING, VAE_BEHAVIOUR),
        "NotImplementedVAE": (VAE_SHAPES, VAE_SAMPLING, VAE_BEHAVIOUR),
        "EncoderWithoutReluVAE": (VAE_SHAPES,),
        "LeakyReluEncoderVAE": (VAE_SHAPES,),
        "DecoderWithoutReluVAE": (VAE_SHAPES,),
        "ClampedOutputVAE": (VAE_SHAPES,),
        "TanhRescaledOutputVAE": (VAE_SHAPES,),
    },
    "vae_loss": {
        "batch_mean_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "missing_kl_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "kl_wrong_sign_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "per_example_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "mse_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "bce_mean_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "bce_pixel_mean_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "kl_logvar_as_std_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "kl_missing_exp_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "kl_no_half_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "kl_batch_mean_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "kl_dim_mean_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "swapped_bce_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "detached_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "no_flatten_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "log_prob_only_on_ink_loss": (LOSS_VALUE, LOSS_PROPERTIES),
        "not_implemented_loss": (LOSS_VALUE, LOSS_PROPERTIES),
    },
    "nll": {
        "nll_without_constant": (NLL_VALUE, NLL_PROPERTIES),
        "nll_log_2pi_constant": (NLL_VALUE, NLL_PROPERTIES),
        "nll_log_sigma_as_sigma": (NLL_VALUE, NLL_PROPERTIES),
        "nll_log_sigma_as_log_variance": (NLL_VALUE, NLL_PROPERTIES),
        "nll_sigma_for_variance": (NLL_VALUE, NLL_PROPERTIES),
        "nll_missing_half": (NLL_VALUE, NLL_PROPERTIES),
        "nll_missing_log_sigma": (NLL_VALUE, NLL_PROPERTIES),
        "nll_averaged_over_pixels": (NLL_VALUE, NLL_PROPERTIES),
        "nll_batch_mean": (NLL_VALUE, NLL_PROPERTIES),
        "nll_per_pixel": (NLL_VALUE, NLL_PROPERTIES),
        "nll_log_likelihood": (NLL_VALUE, NLL_PROPERTIES),
        "nll_one_sigma_for_all": (NLL_VALUE, NLL_PROPERTIES),
        "nll_sigma_detached": (NLL_VALUE, NLL_PROPERTIES),
        "nll_not_implemented": (NLL_VALUE, NLL_PROPERTIES),
    },
    "eb": {
        "divides_where_the_mean_multiplies": (EB_VALUE, EB_PROPERTIES),
        "kl_mean_multiplies": (EB_VALUE, EB_PROPERTIES),
        "batch_mean_divides": (EB_VALUE, EB_PROPERTIES),
        "batch_mean_on_the_reconstruction_only": (EB_VALUE, EB_PROPERTIES),
        "ignores_the_kl_reduction": (EB_VALUE, EB_PROPERTIES),
        "ignores_the_reconstruction_reduction": (EB_VALUE, EB_PROPERTIES),
        "ignores_beta": (EB_VALUE, EB_PROPERTIES),
        "always_784_pixels": (EB_VALUE, EB_PROPERTIES),
        "sizes_swapped": (EB_VALUE, EB_PROPERTIES),
        "integer_division": (EB_VALUE, EB_PROPERTIES),
        "returns_a_string": (EB_VALUE, EB_PROPERTIES),
        "not_implemented": (EB_VALUE, EB_PROPERTIES),
    },
    "iw": {
        "mean_of_log_weights": (IW_VALUE, IW_PROPERTIES),
        "log_of_mean_without_shift": (IW_VALUE, IW_PROPERTIES),
        "missing_log_k": (IW_VALUE, IW_PROPERTIES),
        "minus_k": (IW_VALUE, IW_PROPERTIES),
        "summed_over_the_batch": (IW_VALUE, IW_PROPERTIES),
        "logsumexp_over_the_batch": (IW_VALUE, IW_PROPERTIES),
        "mean_of_the_weights": (IW_VALUE, IW_PROPERTIES),
        "largest_log_weight": (IW_VALUE, IW_PROPERTIES),
        "shift_not_added_back": (IW_VALUE, IW_PROPERTIES),
        "minus_log_batch_size": (IW_VALUE, IW_PROPERTIES),
        "shifted_in_place": (IW_VALUE, IW_PROPERTIES),
        "with_numpy": (IW_VALUE, IW_PROPERTIES),
        "not_implemented_bound": (IW_VALUE, IW_PROPERTIES),
    },
    "beta": {
        "beta_on_reconstruction": (BETA_VALUE, BETA_PROPERTIES),
        "beta_on_both": (BETA_VALUE, BETA_PROPERTIES),
        "beta_ignored": (BETA_VALUE, BETA_PROPERTIES),
        "batch_mean": (BETA_VALUE, BETA_PROPERTIES),
        "missing_kl": (BETA_VALUE, BETA_PROPERTIES),
        "kl_wrong_sign": (BETA_VALUE, BETA_PROPERTIES),
        "kl_std_for_variance": (BETA_VALUE, BETA_PROPERTIES),
        "kl_logvar_as_std": (BETA_VALUE, BETA_PROPERTIES),
        "mse_instead_of_bce": (BETA_VALUE, BETA_PROPERTIES),
        "bce_mean_reduction": (BETA_VALUE, BETA_PROPERTIES),
        "per_example_vector": (BETA_VALUE, BETA_PROPERTIES),
        "kl_mean_over_latents": (BETA_VALUE, BETA_PROPERTIES),
        "kl_without_half": (BETA_VALUE, BETA_PROPERTIES),
        "loss_as_float": (BETA_VALUE, BETA_PROPERTIES),
        "beta_squared": (BETA_VALUE, BETA_PROPERTIES),
        "not_implemented_loss": (BETA_VALUE, BETA_PROPERTIES),
        "detached_loss": (BETA_VALUE, BETA_PROPERTIES),
        "in_place_exp": (BETA_VALUE, BETA_PROPERTIES),
        "kl_counted_twice": (BETA_VALUE, BETA_PROPERTIES),
    },
    "units": {
        "variance_over_wrong_axis": (UNITS_VALUE, UNITS_THRESHOLD),
        "std_instead_of_variance": (UNITS_VALUE, UNITS_THRESHOLD),
        "counts_inactive": (UNITS_VALUE, UNITS_THRESHOLD),
        "mean_instead_of_variance": (UNITS_VALUE, UNITS_THRESHOLD),
        "second_moment": (UNITS_VALUE, UNITS_THRESHOLD),
        "float_fraction": (UNITS_VALUE, UNITS_THRESHOLD),
        "count_not_mask": (UNITS_VALUE, UNITS_THRESHOLD),
        "float_mask": (UNITS_VALUE, UNITS_THRESHOLD),
        "python_list": (UNITS_VALUE, UNITS_THRESHOLD),
        "variance_of_everything": (UNITS_VALUE, UNITS_THRESHOLD),
        "not_implemented_units": (UNITS_VALUE, UNITS_THRESHOLD),
        "hard_coded_threshold": (UNITS_VALUE, UNITS_THRESHOLD),
        "in_place_centring": (UNITS_VALUE, UNITS_THRESHOLD),
    },
}

EXERCISES: list[Exercise] = [
    Exercise("01_autoencoder", "autoencoder", "Autoencoder", tuple(ae.CORRECT_MODELS),
             _wrong(ae.WRONG_MODELS, FAILS["ae_model"])),
    Exercise("01_autoencoder", "reconstruction-loss", "reconstruction_loss", tuple(ae.CORRECT_LOSSES),
             _wrong(ae.WRONG_LOSSES, FAILS["ae_loss"])),
    Exercise("02_reparameterization", "reparameterize", "reparameterize", tuple(rep.CORRECT_REPARAMETERIZE),
             _wrong(rep.WRONG_REPARAMETERIZE, FAILS["rep"])),
    Exercise("02_reparameterization", "score-function", "score_function_gradient", tuple(rep.CORRECT_SCORE),
             _wrong({**rep.WRONG_SCORE, rep.score_with_a_baseline: "not that of the score-function estimator"},
                    FAILS["score"])),
    Exercise("03_kl_divergence", "kl-divergence", "kl_divergence", tuple(kl.CORRECT_CLOSED_FORMS),
             _wrong(kl.WRONG_CLOSED_FORMS, FAILS["kl"])),
    Exercise("03_kl_divergence", "kl-monte-carlo", "kl_monte_carlo", tuple(kl.CORRECT_MONTE_CARLO),
             _wrong(kl.WRONG_MONTE_CARLO, FAILS["mc"])),
    Exercise("04_vae", "vae", "VAE", tuple(vae.CORRECT_VAES), _wrong(vae.WRONG_VAES, FAILS["vae"])),
    Exercise("04_vae", "gaussian-nll", "gaussian_nll", tuple(lik.CORRECT_NLL), _wrong(lik.WRONG_NLL, FAILS["nll"])),
    Exercise("04_vae", "vae-loss", "vae_loss", tuple(vae.CORRECT_LOSSES), _wrong(vae.WRONG_LOSSES, FAILS["vae_loss"])),
    Exercise("04_vae", "iw-bound", "iw_bound", tuple(bounds.CORRECT), _wrong(bounds.WRONG, FAILS["iw"])),
    Exercise("05_beta_vae", "effective-beta", "effective_beta", tuple(red.CORRECT), _wrong(red.WRONG, FAILS["eb"])),
    Exercise("05_beta_vae", "beta-vae-loss", "beta_vae_loss", tuple(beta.CORRECT_LOSSES),
             _wrong(beta.WRONG_LOSSES, FAILS["beta"])),
    Exercise("05_beta_vae", "active-units", "active_units", tuple(beta.CORRECT_UNITS),
             _wrong(beta.WRONG_UNITS, FAILS["units"])),
]


def plant(answer: Any, name: str) -> str:
    """Source code that defines ``name`` as ``answer``, the way a student's solution cell would.

    The answer's own definition comes with every top-level helper of its module that it
    uses (functions, classes, constants, recursively) and an import for every imported
    name it uses; the last line binds the exercise's ``name`` to the answer.
    """
    module = sys.modules[answer.__module__]
    source = inspect.getsource(module)
    tree = ast.parse(source)
    definitions: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            definitions[node.name] = node
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            definitions[node.targets[0].id] = node
    needed: dict[str, ast.stmt] = {}
    imports: dict[str, str] = {}

    def visit(node: ast.stmt) -> None:
        for used in {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}:
            if used in needed or used in imports or used not in vars(module):
                continue
            if used in definitions:
                needed[used] = definitions[used]
                visit(definitions[used])
            else:
                imports[used] = _import_line(used, vars(module)[used])

    needed[answer.__name__] = definitions[answer.__name__]
    visit(definitions[answer.__name__])
    blocks = [imports[key] for key in sorted(imports)]
    blocks += ["\n\n" + ast.get_source_segment(source, node) for node in sorted(needed.values(), key=lambda n: n.lineno)]
    if answer.__name__ != name:
        blocks.append(f"\n\n{name} = {answer.__name__}")
    return "\n".join(blocks) + "\n"


def _import_line(name: str, value: Any) -> str:
    if isinstance(value, types.ModuleType):
        return f"import {value.__name__}" if value.__name__ == name else f"import {value.__name__} as {name}"
    if isinstance(value, (int, float, str, bool)):
        return f"{name} = {value!r}"
    return f"from {value.__module__} import {value.__name__} as {name}"


def student(exercise: Exercise, answer: Any) -> str:
    """The student id under which ``answer`` to ``exercise`` is graded."""
    return f"{exercise.cell}-{answer.__name__}"


def submissions() -> list[tuple[Exercise, Any, bool]]:
    """Every (exercise, answer, is_correct) of the library."""
    return [(e, a, True) for e in EXERCISES for a in e.correct] + \
           [(e, a, False) for e in EXERCISES for a in e.wrong]


def catch_rate_table(outcomes: dict[tuple[str, str], Any]) -> str:
    """A Markdown table: per exercise, how many wrong answers lost points, where, and whether right ones kept them.

    ``outcomes`` maps (assignment, student) to a ``grading_batch.Outcome``.
    """
    rows = ["| exercise | points | wrong answers | caught | caught by the visible test | right answers "
            "| full marks | points lost elsewhere |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for e in EXERCISES:
        own = e.tests
        wrong = [outcomes[e.assignment, student(e, a)] for a in e.wrong]
        right = [outcomes[e.assignment, student(e, a)] for a in e.correct]
        caught = sum(bool(set(o.lost()) & set(own)) for o in wrong)
        visible = sum(bool(set(o.lost()) & set(e.visible)) for o in wrong)
        full = sum(o.score is not None and not o.lost() for o in right)
        elsewhere = sum(points for o in wrong + right for cell, points in o.lost().items() if cell not in own)
        points = sum(r.max_score for cell, r in right[0].cells.items() if cell in own)
        rows.append(f"| {e.label} | {points:g} | {len(wrong)} | {caught} | {visible} | {len(right)} | {full} "
                    f"| {elsewhere:g} |")
    return "\n".join(rows)


@functools.lru_cache
def solution_cells(assignment: str) -> tuple:
    """The cells of ``assignment``'s solution notebook."""
    return tuple(nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4).cells)


@functools.lru_cache
def test_cells(assignment: str) -> dict[str, tuple[str, ...]]:
    """{solution cell id: the graded test cells after it, in order} in ``assignment``'s solution notebook."""
    found: dict[str, list[str]] = {}
    for cell in solution_cells(assignment):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            found[cell.id] = []
        elif meta.get("grade") and found:
            found[list(found)[-1]].append(cell.id)
    return {k: tuple(v) for k, v in found.items()}


@functools.lru_cache
def visible_cells(assignment: str) -> frozenset[str]:
    """The graded test cells of ``assignment`` that are visible to students."""
    return frozenset(c.id for c in solution_cells(assignment) if c.metadata.get("nbgrader", {}).get("grade")
                     and c.source.startswith("# Visible test"))


def checks_of(exercise: Exercise) -> dict[str, str]:
    """{check function name: the test cell that calls it} for ``exercise``."""
    sources = {c.id: c.source for c in solution_cells(exercise.assignment)}
    return {name: cell for cell in exercise.tests for name in re.findall(r"^(check_\w+)\(", sources[cell], re.M)}
