"""The numbers the executed 04_vae solution prints support what its text says, with margins,
on the embedded subset and on the full MNIST.

Run while authoring with ``VAE_TEST_ASSIGNMENTS=04_vae``.
"""

from __future__ import annotations

import math
import re

import pytest

from conftest import SOURCES
from test_notebook_01 import quality_table

pytestmark = pytest.mark.slow  # runs notebooks in kernels: left out of `make quick`

NAME = "04_vae"
NUM = r"([-+]?\d+\.\d+)"


def numbers(pattern: str, text: str) -> list[float]:
    """The numbers captured by ``pattern`` (one match expected), percentages as fractions."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return [float(g[:-1]) / 100 if g.endswith("%") else float(g) for g in match.groups()]


@pytest.fixture(scope="module", params=SOURCES)
def text(request, executed):
    return executed(NAME, request.param)


def test_training_reaches_the_expected_losses(text):
    loss, recon, kl = numbers(rf"test loss {NUM}, recon {NUM}, kl {NUM}", text["train"])
    assert 110 < loss < 135 and abs(loss - recon - kl) < 0.05
    assert 12 < kl < 18, "the text: the KL term levels off around 15 nats"
    assert 100 < recon < 120, "the reconstruction term ends near 110 nats"
    widths = [float(w) for w in re.search(r"dimension.*?: (.*)", text["recon"]).group(1).split(", ")]
    assert len(widths) == 8 and all(0.1 < w < 0.3 for w in widths), "every dimension in use, clouds ~1/5 wide"
    passes = numbers(rf"{NUM} passes over the data", text["train"])[0]
    assert passes == 25.0 or passes < 2, "the text: 25 passes over the subset's 4,000 digits, under 2 over 60,000"
    loss_2d, _, kl_2d = numbers(rf"test loss {NUM}, recon {NUM}, kl {NUM}", text["vae2d"])
    assert loss_2d > loss and kl_2d < kl


def test_the_yardstick_is_checked_on_known_images(text):
    out = text["yardstick"]
    assert numbers(r"labels (\d+\.\d%) of our test digits", out)[0] > 0.98, "about 99 %"
    rows = quality_table(out)
    real, blurred = rows["real test digits (the yardstick)"], rows["blurred real test digits"]
    blends, blobs, noise = (rows[name] for name in ("blends of two different digits", "blobs", "pixel noise"))
    assert abs(real["kid"]) < 0.03 and real["precision"] > 0.8 and real["recall"] > 0.8
    assert 0.01 < blurred["kid"] < 0.08 and blurred["precision"] > 0.7, "blur costs a little"
    assert blends["precision"] < 0.5 and blends["kid"] > 3 * blurred["kid"], "blends cost much more"
    assert blends["recall"] > 0.8, "recall's blind spot"
    for garbage in (blobs, noise):
        assert garbage["precision"] < 0.15 and garbage["kid"] > 10 * blurred["kid"]


@pytest.fixture(scope="module")
def table(text):
    rows = quality_table(text["claim-samples"])
    assert "seed 0, KID ± its spread over subsets" in text["claim-samples"], "one seed, as the text says"
    return rows


def test_vae_reconstructions_are_blurrier_than_the_autoencoders(table):
    assert table["VAE: reconstructions"]["kid"] > table["AE: reconstructions"]["kid"]


def test_claim_1_random_points_of_the_autoencoder(table):
    blind, recon = table["AE: z ~ N(0, I)"], table["AE: reconstructions"]
    assert blind["precision"] < 0.2 and blind["kid"] > 5 * recon["kid"], "garbage"
    for name in ("AE: uniform in the box", "AE: one fitted Gaussian"):
        assert table[name]["precision"] < 0.5, "fewer than half realistic"


def test_claim_1_prior_samples_hold_only_partly(table):
    prior, recon = table["VAE: prior z ~ N(0, I)"], table["VAE: reconstructions"]
    blind = table["AE: z ~ N(0, I)"]
    assert prior["precision"] > 2 * blind["precision"] and prior["kid"] < blind["kid"] / 3, \
        "far better than the autoencoder sampled blindly"
    assert 0.25 < prior["precision"] < 0.45, "about a third are realistic"
    assert prior["precision"] < max(table["AE: uniform in the box"]["precision"],
                                    table["AE: one fitted Gaussian"]["precision"]) + 0.08, \
        "no better than the autoencoder's box or one Gaussian"
    assert prior["kid"] > 1.7 * recon["kid"], "a KID about twice that of the reconstructions or more"


def test_claim_1_the_aggregate_posterior_and_a_fitted_mixture_do_better(table):
    prior, recon = table["VAE: prior z ~ N(0, I)"], table["VAE: reconstructions"]
    posterior, mixture = table["VAE: aggregate posterior"], table["AE: fitted 10-Gaussian mixture"]
    assert abs(posterior["precision"] - recon["precision"]) < 0.06 and posterior["kid"] < recon["kid"] + 0.03, \
        "codes from the encoder's clouds decode as well as reconstructions"
    assert mixture["precision"] > prior["precision"] + 0.2 and mixture["kid"] < prior["kid"] - 0.04, \
        "a mixture fitted to the autoencoder's codes samples much better than the VAE's prior"


def test_claim_2_midpoints_are_poor_for_both_models(table):
    ae, vae = table["AE: path midpoints"], table["VAE: path midpoints"]
    assert ae["precision"] < 0.5 and vae["precision"] < 0.5, "fewer than half realistic"
    assert vae["kid"] < ae["kid"], "the VAE's midpoints have a lower KID"
    assert abs(vae["precision"] - ae["precision"]) < 0.08, "but about the same precision"


def test_claim_3_aggregate_posterior_near_but_not_equal_to_the_prior(text):
    out = text["claim-prior"]
    vae_part, ae_part = out.split("autoencoder codes")
    means = [float(m) for m in re.search(r"mean\s+:(.*)", vae_part).group(1).split()]
    variances = [float(v) for v in re.search(r"variance :(.*)", vae_part).group(1).split()]
    assert len(means) == len(variances) == 8
    assert all(abs(m) < 0.5 for m in means), "centred near 0"
    assert all(0.9 < v < 2.5 for v in variances) and sum(variances) / 8 > 1.1, "variances of order 1, above 1"
    ae_variances = [float(v) for v in re.search(r"variance :(.*)", ae_part).group(1).split()]
    assert all(v > 5 for v in ae_variances), "the autoencoder's codes live on an arbitrary, large scale"
    mean_kl, log_n, bound, estimate = numbers(
        rf"average KL term {NUM} nats, log N = {NUM} nats: KL\(q\(z\) \|\| p\(z\)\) >= {NUM} nats "
        rf"\(Monte Carlo estimate {NUM}\)", out)
    assert 12 < mean_kl < 20 and log_n in (8.3, 11.0), "about 15 nats, log 4,000 or log 60,000"
    assert bound > 2, "the KL term exceeds log N by a few nats"
    assert (5 < bound < 9) if log_n == 8.3 else (2 < bound < 6), "about 7 on the subset, about 4 on the full MNIST"
    assert estimate > bound - 0.5 and abs(estimate - bound) < 1.5, \
        "the Monte Carlo estimate is within about a nat of the bound: I(x; z) is close to log N"


def test_the_toy_model_checks_the_identity_of_the_elbo(text):
    out = text["toy-encoder"]
    log_px = numbers(rf"exact log p\(x\) = {NUM} nats", out)[0]
    assert abs(log_px - (-0.5 * (math.log(2 * math.pi * 1.09) + 4 / 1.09))) < 1e-4, "log N(2; 0, a^2 + s^2)"
    post_mean, post_sd = numbers(rf"exact posterior p\(z\|x\): mean {NUM}, sd {NUM}", out)
    q_mean, q_sd = numbers(rf"encoder's q\(z\|x\):\s+mean {NUM}, sd {NUM}", out)
    assert q_sd == post_sd and q_mean < post_mean - 0.3, "the right width, too close to the origin"
    gap, kl = numbers(rf"log p\(x\) - ELBO = {NUM}, KL\(q\(z\|x\) \|\| p\(z\|x\)\) = {NUM}", out)
    assert gap == kl, "the two sides of the identity agree to every printed digit"
    assert round(gap, 2) == 1.33, "the text: 1.33 nats at this x"
    mean_gap = numbers(rf"averaged over its 1,000 training points: {NUM} nats", out)[0]
    assert round(mean_gap, 2) == 0.38 and gap > 3 * mean_gap, "several times the 0.38 nats on average"


def test_the_importance_weighted_bound_rises_to_log_px_on_the_toy_model(text):
    out = text["toy-iw"]
    rows = {int(k): (float(m), float(se), float(sd)) for k, m, se, sd in
            re.findall(rf"K =\s+(\d+): importance-weighted bound {NUM} ± {NUM} \(one estimate's sd {NUM}\)", out)}
    assert sorted(rows) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    elbo, log_px, exact = numbers(rf"ELBO {NUM}, exact log p\(x\) {NUM}; with the exact posterior as proposal, "
                                  rf"K = 1000: {NUM}", out)
    mean_1, se_1, _ = rows[1]
    assert abs(mean_1 - elbo) < 3 * se_1, "at K = 1 the estimates average the ELBO within three standard errors"
    ks = sorted(rows)
    for small, large in zip(ks, ks[1:]):
        (m_s, se_s, sd_s), (m_l, se_l, sd_l) = rows[small], rows[large]
        assert m_l > m_s - 3 * math.hypot(se_s, se_l), "climbs, up to the noise of 1,000 estimates"
        assert sd_l < sd_s, "each estimate gets less noisy"
        assert m_l < log_px + 3 * se_l, "a lower bound in expectation"
    assert rows[1000][0] - rows[1][0] > 1.0, "climbs steeply at first"
    assert abs(rows[1000][0] - log_px) < 0.05, "within a few hundredths of a nat of log p(x) at K = 1000"
    assert abs(rows[1000][0] - rows[500][0]) < 3 * math.hypot(rows[500][1], rows[1000][1]), \
        "the last step is smaller than the noise of 1,000 estimates"
    assert abs(exact - log_px) < 1e-3, "with the exact posterior as proposal the bound is log p(x)"


def test_optimising_one_cloud_closes_the_gap(text):
    out = text["toy-one-point"]
    before, after = numbers(rf"encoder's cloud: {NUM} nats; after 300 Adam steps on this x alone: ([-\d.e+]+) nats", out)
    assert round(before, 2) == 1.33 and after < 1e-6, "the gap falls to zero (to rounding)"
    q_mean, q_sd, mean, sd = numbers(rf"optimised cloud: mean {NUM}, sd {NUM} \(exact posterior: mean {NUM}, sd {NUM}\)", out)
    assert (q_mean, q_sd) == (mean, sd), "the cloud becomes the exact posterior"


def test_going_further_numbers(text):
    floor, recon = numbers(rf"grey test digits: {NUM} nats per image \(our VAE's test reconstruction term: {NUM}\)",
                           text["bce-floor"])
    assert 20 < floor < recon
    assert 44.5 < floor < 47 and 105 < recon < 116, "05's objective-md: about 45 to 46 nats of its VAE's roughly 110"


def test_the_importance_weighted_bound_on_binarized_digits(text):
    out = text["iwae"]
    elbo = numbers(rf"ELBO on binarized test digits: {NUM}", out)[0]
    iw = {int(k): float(v) for k, v in re.findall(rf"importance-weighted bound, K =\s+(\d+): {NUM}", out)}
    assert sorted(iw) == [1, 5, 25, 100]
    assert abs(iw[1] - elbo) < 1.0, "K = 1 is the ELBO in expectation"
    assert iw[1] < iw[5] < iw[25] < iw[100], "the bound climbs with K"
    rise, stderr = numbers(rf"from K = 25 to K = 100 the bound still rose by {NUM} ± {NUM} nats", out)
    assert 0.3 < rise < 0.6 and rise > 6 * stderr, "still rising: about 0.4 nats, some seven standard errors"
    gap = numbers(rf"the ELBO's gap, log p\(x\) - ELBO, is at least {NUM} nats", out)[0]
    assert abs(gap - (iw[100] - elbo)) < 0.15 and 2.9 < gap < 3.8, "about 3.3 nats (3.2 full, 3.4 subset)"


def test_all_checks_passed_in_the_solution(text):
    for cell in ("test-vae-shapes", "test-vae-sampling", "test-vae-behaviour", "test-gaussian-nll-value",
                 "test-gaussian-nll-properties", "test-loss-value", "test-loss-properties",
                 "test-iw-bound-value", "test-iw-bound-properties"):
        assert text[cell].startswith("\N{CHECK MARK}"), cell


# --- section 2.3 and 3.1: what the decoder's output means, three likelihoods on one encoder -------------

def test_squared_error_is_a_gaussian_nll_up_to_a_constant(text):
    out = text["gaussian-vs-squared-error"]
    gaps = [float(g) for g in re.search(r"per image: (.*)", out).group(1).split(", ")]
    constant = numbers(rf"log\(pi\) = {NUM}", out)[0]
    assert len(gaps) == 4 and all(abs(g - constant) < 0.02 for g in gaps), "the same constant for every image"
    assert abs(constant - 392 * 1.1447299) < 0.01


def likelihood_runs(text) -> tuple[float, float, dict[str, tuple[float, float]]]:
    """(learned sigma^2, beta, {model: (rate, squared error of the mean)}) from the likelihoods cell."""
    out = text["likelihoods"]
    sigma2, _, beta = numbers(rf"learned sigma\^2 = {NUM} \(sigma = {NUM}\): beta = 2 sigma\^2 = {NUM}", out)
    rows = {m.group(1).strip(): (float(m.group(2)), float(m.group(3)))
            for m in re.finditer(rf"^((?:Bernoulli|Gaussian|squared error)[^\n]*?)\s+{NUM}\s+{NUM}$", out, re.M)}
    assert len(rows) == 4, out
    return sigma2, beta, rows


def test_the_likelihood_sets_the_rate_and_sigma_acts_like_beta(text):
    sigma2, beta, rows = likelihood_runs(text)
    (r_bern, d_bern), (r_fixed, d_fixed), (r_learned, d_learned) = (
        rows["Bernoulli, binarized digits"], rows["Gaussian, fixed sigma^2 = 1/2"], rows["Gaussian, learned sigma"])
    r_beta, d_beta = next(v for k, v in rows.items() if k.startswith("squared error + beta KL"))
    assert abs(beta - 2 * sigma2) < 0.002
    assert 0.02 < sigma2 < 0.04 and 0.14 < sigma2 ** 0.5 < 0.2, "the text: sigma^2 near 0.03, sigma about 0.17"
    assert r_fixed < 10 and r_learned > 25, "the text: under 10 nats at sigma^2 = 1/2, above 25 with a learned sigma"
    assert r_fixed < r_bern < r_learned, "the Bernoulli model sits in between"
    assert d_learned < min(d_bern, d_fixed) and d_fixed > max(d_bern, d_learned, d_beta), \
        "the learned sigma reconstructs best, sigma^2 = 1/2 is the blurriest"
    assert 20 < d_fixed < 30, "a whole image's squared error of about 25"
    assert abs(r_beta - r_learned) < 0.15 * r_learned, "run 4 lands at about the same rate (within 15 %)"
    assert abs(d_beta - d_learned) < 0.1 * d_learned, "and about the same distortion"


# --- section 7: the model or the sampler, recall, midpoint lengths, holes measured directly -------------

def test_claim_1_a_fitted_mixture_beats_the_prior_on_both_models(table):
    prior = table["VAE: prior z ~ N(0, I)"]
    vae_mixture, ae_mixture = table["VAE: fitted 10-Gaussian mixture on mu"], table["AE: fitted 10-Gaussian mixture"]
    for mixture in (vae_mixture, ae_mixture):
        assert mixture["precision"] > 0.6 and mixture["precision"] > prior["precision"] + 0.2, \
            "the same mixture samples much better than the prior on both models (precision above 0.6)"
        assert 0.4 < mixture["recall"] < prior["recall"], "a lower recall than the prior's (about 0.5 to 0.7)"
    assert prior["recall"] > 0.6, "the prior samples' recall is high (above 0.6)"


def test_claim_1_with_the_same_mixture_the_two_models_score_alike(table, text):
    vae_mixture, ae_mixture = table["VAE: fitted 10-Gaussian mixture on mu"], table["AE: fitted 10-Gaussian mixture"]
    assert abs(vae_mixture["precision"] - ae_mixture["precision"]) < 0.07, "at most about 0.05 apart in precision"
    assert ae_mixture["recall"] > vae_mixture["recall"] - 0.01, "the autoencoder's recall is as high or higher"
    subset = numbers(rf"log N = {NUM} nats", text["claim-prior"])[0] == 8.3
    quoted = {"subset": (0.67, 0.48, 0.65, 0.68), "full": (0.65, 0.48, 0.70, 0.53)}["subset" if subset else "full"]
    measured = (vae_mixture["precision"], vae_mixture["recall"], ae_mixture["precision"], ae_mixture["recall"])
    assert all(abs(m - q) < 0.03 for m, q in zip(measured, quoted)), \
        f"the text quotes VAE + mixture P/R and AE + mixture P/R {quoted}; measured {measured}"


def test_the_prediction_is_printed_beside_the_measurement(text):
    out = text["claim-samples"]
    line = re.search(r"VAE prior vs AE box, precision ([\d.]+) vs ([\d.]+): no prediction made \(it is still None\); "
                     r"measured ([ab])\.", out)
    assert line, out[-600:]
    prior, box, measured = float(line.group(1)), float(line.group(2)), line.group(3)
    assert measured == ("a" if prior > box + 0.04 else "b")
    assert measured == "b", "the text: no better than the autoencoder's box"


def test_midpoints_of_straight_paths_are_shorter_than_the_codes(text):
    codes, middle, prior = numbers(rf"test digits' mu {NUM}, path midpoints {NUM}, prior draws {NUM}",
                                   text["claim-samples"])
    assert 0.6 < middle / codes < 0.8, "the text: about 0.7 of the test codes' length"
    assert abs(prior - 8 ** 0.5) < 0.15


def test_claim_3_holes_counted_directly(text):
    out = text["claim-prior"]
    share, false_alarms, median = numbers(r"every training cloud: (\d+%) \(draws of the aggregate posterior: (\d+%)\); "
                                          rf"median distance {NUM}", out)
    near, n_near, hole, n_hole = numbers(r"near a cloud ([\d.]+) \((\d+) draws\), in a hole ([\d.]+) \((\d+) draws\)", out)
    log_n = numbers(rf"log N = {NUM} nats", out)[0]
    assert false_alarms <= 0.01, "at most 1 % false alarms"
    assert (0.65 < share < 0.9) if log_n == 8.3 else (0.2 < share < 0.45), \
        "about three quarters on the subset, about a third on the full MNIST"
    assert -0.02 < near - hole < 0.2 and near < 0.5, "near a cloud only a little more often realistic"
    quoted = (0.41, 0.30) if log_n == 8.3 else (0.30, 0.27)
    assert abs(near - quoted[0]) < 0.03 and abs(hole - quoted[1]) < 0.03, \
        f"the text: near a cloud {quoted[0]} against {quoted[1]} in a hole; measured {near} and {hole}"
    standard_error = (near * (1 - near) / n_near + hole * (1 - hole) / n_hole) ** 0.5  # binomial, two samples
    in_errors = (near - hole) / standard_error
    assert (2.2 < in_errors < 4.5) if log_n == 8.3 else (in_errors < 1.7), \
        f"the text: about three standard errors on the subset, about one on the full MNIST; measured {in_errors:.1f}"
    posterior = quality_table(text["claim-samples"])["VAE: aggregate posterior"]["precision"]
    assert posterior > near + 0.2 and 0.6 < posterior < 0.8, "far less often than the aggregate posterior's (about 0.7)"
