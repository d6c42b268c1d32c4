"""The numbers the executed 05_beta_vae solution prints support what its text says, with margins.

Run while authoring with ``VAE_TEST_ASSIGNMENTS=05_beta_vae``.
"""

from __future__ import annotations

import math
import re
import statistics

import pytest

NAME = "05_beta_vae"
BETAS = [0.5, 1.0, 2.0, 4.0, 8.0]
NUM = r"(\d+\.\d+)"


@pytest.fixture(scope="module")
def text(solution_outputs):
    return solution_outputs(NAME)


def _by_beta(pattern: str, out: str) -> dict[float, tuple[float, ...]]:
    """{beta: captured numbers} for every line 'beta <b>: ...' that matches ``pattern``."""
    found = {float(m.group(1)): tuple(float(g) for g in m.groups()[1:])
             for m in re.finditer(rf"beta (\d+(?:\.\d+)?): {pattern}", out)}
    assert sorted(found) == BETAS, f"expected one line per beta in:\n{out}"
    return found


def test_rate_falls_and_distortion_rises_with_beta(text):
    terms = _by_beta(rf"rate R {NUM} nats, distortion D {NUM} nats, D \+ R {NUM} nats", text["rate-distortion"])
    rates = [terms[b][0] for b in BETAS]
    distortions = [terms[b][1] for b in BETAS]
    assert all(later < earlier - 1.0 for earlier, later in zip(rates, rates[1:])), rates
    assert all(later > earlier + 1.0 for earlier, later in zip(distortions, distortions[1:])), distortions
    # the text's round numbers: rate ~24 -> under 4, distortion ~100 -> ~150
    assert 20 < rates[0] < 28 and rates[-1] < 4.5
    assert 95 < distortions[0] < 106 and 140 < distortions[-1] < 165
    for b in BETAS:
        rate, distortion, total = terms[b]
        assert abs(rate + distortion - total) < 0.15
    totals = {b: terms[b][2] for b in BETAS}
    assert totals[1.0] < min(totals.values()) + 1.5, "D + R is lowest around beta = 1"
    assert totals[8.0] > totals[1.0] + 15 and totals[4.0] > totals[1.0] + 5, "and much worse above 1"


def test_kl_concentrates_in_fewer_dimensions_as_beta_grows(text):
    rows = {float(m.group(1)): [float(v) for v in m.group(2).split()]
            for m in re.finditer(r"beta (\d+(?:\.\d+)?): KL per dimension, largest first: (.*)", text["kl-dims"])}
    assert sorted(rows) == BETAS and all(len(r) == 12 for r in rows.values())
    off = {b: sum(v < 0.01 for v in rows[b]) for b in BETAS}
    assert off[0.5] == off[1.0] == 0
    assert off[8.0] >= 4 and off[8.0] >= off[4.0] >= off[2.0]


def test_larger_beta_gives_fewer_active_units(text):
    out = text["active-units-sweep"]
    counts = {b: int(v[0]) for b, v in _by_beta(r"(\d+) active units of 12", out).items()}
    assert counts[0.5] == counts[1.0] == 12, "the text: all 12 active at beta <= 1"
    assert counts[8.0] <= 8, "about half at beta = 8"
    ordered = [counts[b] for b in BETAS]
    assert all(later <= earlier for earlier, later in zip(ordered, ordered[1:])), ordered
    kl_rows = {float(m.group(1)): [float(v) for v in m.group(2).split()]
               for m in re.finditer(r"beta (\d+(?:\.\d+)?): KL per dimension, largest first: (.*)", text["kl-dims"])}
    for b in BETAS:
        assert 12 - counts[b] == sum(v < 0.01 for v in kl_rows[b]), "the grey bars are the ones with ~no KL"


def _shape_runs(out: str) -> dict[tuple[float, int], dict[str, float]]:
    runs = {}
    pattern = (rf"beta (\d+), seed (\d): rate {NUM} nats, (\d) active units of 6, MIG per factor "
               rf"shape {NUM}, size {NUM}, x {NUM}, y {NUM}; MIG {NUM}")
    for m in re.finditer(pattern, out):
        rate, active, shape, size, x, y, mig = (float(g) for g in m.groups()[2:])
        runs[float(m.group(1)), int(m.group(2))] = dict(rate=rate, active=active, shape=shape, mig=mig)
    assert sorted(runs) == [(b, s) for b in (1.0, 8.0) for s in (0, 1, 2)], out
    return runs


def test_larger_beta_gives_more_disentangled_codes_over_every_seed(text):
    runs = _shape_runs(text["mig"])
    low = [runs[1.0, s]["mig"] for s in range(3)]
    high = [runs[8.0, s]["mig"] for s in range(3)]
    assert max(low) < 0.12, "the text: beta = 1 stays near 0.05"
    assert statistics.mean(high) > 3 * statistics.mean(low) and statistics.mean(high) > 0.2, "several times larger"
    assert min(high) > max(low), "the text: the worst beta = 8 seed beats the best beta = 1 seed"
    assert max(high) - min(high) > 0.1, "the text: the beta = 8 scores vary widely between seeds"
    summary = re.search(rf"beta 8: MIG {NUM} ± {NUM}", text["mig"])
    assert summary and abs(float(summary.group(1)) - statistics.mean(high)) < 0.015


def test_shapes_models_at_large_beta_switch_dimensions_off_and_lose_shape(text):
    runs = _shape_runs(text["mig"])
    for seed in range(3):
        assert runs[8.0, seed]["active"] in (3, 4), "the text: 3 or 4 of 6 stay active"
        assert runs[8.0, seed]["active"] < runs[1.0, seed]["active"]
        assert runs[8.0, seed]["rate"] < math.log(768) < runs[1.0, seed]["rate"]
    assert all(run["shape"] < 0.15 for run in runs.values()), "no model gives shape a latent of its own"
