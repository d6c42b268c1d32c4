"""The numbers the executed 04_vae solution prints support what its text says, with margins.

Run while authoring with ``VAE_TEST_ASSIGNMENTS=04_vae``.
"""

from __future__ import annotations

import re

import pytest

NAME = "04_vae"


def numbers(pattern: str, text: str) -> list[float]:
    """The numbers captured by ``pattern`` (one match expected), percentages as fractions."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return [float(g[:-1]) / 100 if g.endswith("%") else float(g) for g in match.groups()]


NUM = r"([-+]?\d+\.\d+)"
PCT = r"(\d+%)"


@pytest.fixture(scope="module")
def text(solution_outputs):
    return solution_outputs(NAME)


def test_training_reaches_the_expected_losses(text):
    loss, recon, kl = numbers(rf"test loss {NUM}, recon {NUM}, kl {NUM}", text["train"])
    assert 110 < loss < 140 and abs(loss - recon - kl) < 0.05
    assert 8 < kl < 25, "the text speaks of about 15 nats of KL"
    widths = [float(w) for w in re.search(r"dimension.*?: (.*)", text["recon"]).group(1).split(", ")]
    assert len(widths) == 8 and all(0.05 < w < 0.5 for w in widths), "every dimension in use, clouds ~1/5 wide"
    loss_2d, _, kl_2d = numbers(rf"test loss {NUM}, recon {NUM}, kl {NUM}", text["vae2d"])
    assert loss_2d > loss and kl_2d < kl


def test_the_yardstick_is_calibrated(text):
    out = text["yardstick"]
    assert numbers(r"accuracy on the test digits: (\d+\.\d%)", out)[0] > 0.88
    mean, share = numbers(rf"real digits\s+mean {NUM}, above 0.5: {PCT}", out)
    assert mean > 0.75 and share > 0.85
    assert numbers(rf"blurred real digits\s+mean {NUM}", out)[0] > 0.7
    for garbage in ("pixel noise", "blobs", "shuffled patches"):
        assert numbers(rf"{garbage}\s+mean {NUM}", out)[0] < 0.1
    assert numbers(rf"unseen kind\)\s+mean {NUM}", out)[0] < 0.4
    blends = numbers(rf"blends of two digits\s+mean {NUM}", out)[0]
    assert 0.15 < blends < mean - 0.2, "blends sit in between"
    sharp, blurred = numbers(rf"real digits {NUM}, the same digits blurred {NUM}", out)
    assert blurred < sharp, "the text warns that blur brings images closer to the training digits"


def test_claim_1_prior_samples_measured_honestly(text):
    out = text["claim-samples"]
    score = {name: numbers(rf"{re.escape(name)}\s+plausibility mean {NUM}", out)[0] for name in (
        "AE: reconstructions (baseline)", "AE: random codes in the box", "AE: random codes, fitted Gaussian",
        "VAE: reconstructions (baseline)", "VAE: prior samples z ~ N(0, I)", "VAE: codes from the encoder's clouds")}
    vae_recon, prior, clouds = (score["VAE: reconstructions (baseline)"], score["VAE: prior samples z ~ N(0, I)"],
                                score["VAE: codes from the encoder's clouds"])
    assert abs(clouds - vae_recon) < 0.08, "cloud samples are as plausible as reconstructions"
    assert prior < vae_recon - 0.15, "prior samples score well below that"
    assert 0.35 < prior < 0.7, "about half of the prior samples are clear digits"
    best_ae = max(score["AE: random codes in the box"], score["AE: random codes, fitted Gaussian"])
    assert best_ae > prior - 0.03, "the AE's random codes score at least as well as the VAE's prior samples"
    far = {name: numbers(rf"{re.escape(name)}\s+farther from every real digit than 95% of its "
                         rf"reconstructions: {PCT}", out)[0]
           for name in ("AE: random codes in the box", "AE: random codes, fitted Gaussian",
                        "VAE: prior samples z ~ N(0, I)")}
    assert far["VAE: prior samples z ~ N(0, I)"] < min(far["AE: random codes in the box"],
                                                       far["AE: random codes, fitted Gaussian"]) - 0.05, \
        "on notebook 01's yardstick the VAE looks much better"


def test_claim_2_paths_are_gradual_for_both_models_with_in_between_shapes(text):
    out = text["claim-paths"]
    ae = numbers(rf"autoencoder\s+step ratio: median {NUM}.*middle of the paths {PCT}, ends {PCT}", out)
    vae = numbers(rf"VAE\s+step ratio: median {NUM}.*middle of the paths {PCT}, ends {PCT}", out)
    assert abs(ae[0] - vae[0]) < 0.15 and max(ae[0], vae[0]) < 1.5, "step ratios about the same, close to 1"
    for ratio, middle, ends in (ae, vae):
        assert 0.5 < middle < 0.8, "about a third of the middle images are not a clear digit"
        assert ends > 0.8 and ends - middle > 0.15, "against about one end in ten"


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


def test_going_further_numbers(text):
    floor, recon = numbers(rf"grey test digits: {NUM} nats per image \(our VAE's test reconstruction term: {NUM}\)",
                           text["bce-floor"])
    assert 20 < floor < recon
    out = text["iwae"]
    elbo = numbers(rf"ELBO on binarized test digits: {NUM}", out)[0]
    iw = {int(k): float(v) for k, v in re.findall(r"K =\s+(\d+): ([-\d.]+)", out)}
    assert sorted(iw) == [1, 5, 25, 100]
    assert abs(iw[1] - elbo) < 1.0, "K = 1 is the ELBO in expectation"
    assert iw[1] < iw[5] < iw[25] < iw[100], "the estimate climbs with K"
    assert 1.0 < iw[100] - elbo < 10.0, "and levels off a few nats above the ELBO"


def test_all_checks_passed_in_the_solution(text):
    for cell in ("test-vae-shapes", "test-vae-sampling", "test-vae-behaviour", "test-loss-value",
                 "test-loss-properties"):
        assert text[cell].startswith("\N{CHECK MARK}"), cell
