"""The numbers the executed 01_autoencoder solution prints support what its text says, with
margins, on the embedded subset and on the full MNIST.

Run while authoring with ``VAE_TEST_ASSIGNMENTS=01_autoencoder``.
"""

from __future__ import annotations

import re

import pytest

from conftest import SOURCES

pytestmark = pytest.mark.slow  # runs notebooks in kernels: left out of `make quick`

NAME = "01_autoencoder"
NUM = r"(-?\d+\.\d+)"


@pytest.fixture(scope="module", params=SOURCES)
def text(request, executed):
    return executed(NAME, request.param)


def quality_table(out: str) -> dict[str, dict[str, float]]:
    """{row name: {kid, kid_std, precision, recall}} of a sample_quality.table printout."""
    rows = {}
    for m in re.finditer(rf"^(.+?)\s+{NUM} ± {NUM}\s+{NUM}\s+{NUM}$", out, re.M):
        rows[m.group(1).strip()] = dict(zip(("kid", "kid_std", "precision", "recall"), map(float, m.groups()[1:])))
    assert rows, f"no table in:\n{out}"
    return rows


def test_training_levels_off_a_little_under_20_per_image(text, request):
    loss = float(re.search(rf"test squared error per image: {NUM}", text["recon"]).group(1))
    rms = float(re.search(rf"RMS error per pixel: {NUM}", text["recon"]).group(1))
    low, high = {"subset": (16.5, 19.5), "full": (14.5, 17.5)}[request.node.callspec.params["text"]]
    assert low < loss < high and 0.13 < rms < 0.17  # "about 18 on the offline subset, 16 on the full MNIST"


def test_most_random_codes_in_the_box_fall_in_gaps(text):
    assert int(re.search(r"land in a gap between training codes: (\d+)%", text["gaps"]).group(1)) > 90


def test_where_you_sample_decides(text):
    rows = quality_table(text["random"])
    real, recon = rows["real test digits (the yardstick)"], rows["reconstructions of test digits"]
    normal, box, gaussian, mixture = (rows[name] for name in (
        "z ~ N(0, I)", "uniform in the box", "one fitted Gaussian", "fitted 10-Gaussian mixture"))
    assert real["kid"] < 0.03 and real["precision"] > 0.75, "the yardstick row: real against real"
    assert normal["precision"] < 0.1 and normal["kid"] > 10 * recon["kid"], "N(0, I) decodes to garbage"
    for poor in (box, gaussian):
        assert poor["precision"] < 0.5 and poor["kid"] > 0.08, "box and one Gaussian: fewer than half realistic"
        assert poor["recall"] > poor["precision"] + 0.3, "their recall is high, their precision low"
    assert 0.6 < mixture["precision"] < recon["precision"] and abs(mixture["kid"] - recon["kid"]) < 0.04, \
        "the 10-Gaussian mixture gets close to the reconstructions (about 70 % realistic)"
    assert mixture["kid"] < min(box["kid"], gaussian["kid"]) - 0.04


def test_path_midpoints_are_blends(text):
    rows = quality_table(text["interp-stats"])
    recon, middle = rows["reconstructions of test digits"], rows["path midpoints"]
    assert middle["precision"] < 0.5 and 0.7 < recon["precision"] < 0.9, "less than half, against about 80 %"
    assert middle["kid"] > 3 * recon["kid"], "several times larger"
