"""The training benchmark measures what it says: same data for both paths, honest FLOP counts."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from torchvision import datasets, transforms

from vae_helpers.losses import beta_elbo_terms
from vae_helpers.models import VAE

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_training.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_training", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_idx_files_give_torchvision_the_same_images(bench, tmp_path):
    x = torch.randint(0, 256, (7, 784)).float() / 255
    y = torch.randint(0, 10, (7,))
    bench.write_idx(tmp_path / "MNIST" / "raw", "t10k", x, y)
    bench.write_idx(tmp_path / "MNIST" / "raw", "train", x[:3], y[:3])
    ds = datasets.MNIST(tmp_path, train=False, download=False, transform=transforms.ToTensor())
    assert len(ds) == 7
    image, label = ds[4]
    assert image.shape == (1, 28, 28) and label == y[4]
    assert torch.equal(image.reshape(784), x[4])


def test_flop_count_matches_pytorchs_counter_for_a_training_step(bench):
    model = VAE(latent_dim=bench.LATENT)
    x = torch.rand(bench.BATCH_SIZE, 784)
    with FlopCounterMode(display=False) as counter:
        beta_elbo_terms(model, x)["loss"].backward()
    assert counter.get_total_flops() == bench.flops(bench.step_gemms(bench.BATCH_SIZE))


def test_flop_count_matches_pytorchs_counter_for_a_test_pass(bench):
    model = VAE(latent_dim=bench.LATENT)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        beta_elbo_terms(model, torch.rand(50, 784))
    assert counter.get_total_flops() == bench.flops(bench.eval_gemms(50))


def test_the_benchmark_runs_and_ends_with_its_summary_line():
    result = subprocess.run([sys.executable, str(SCRIPT), "--epochs", "2"], capture_output=True, text=True,
                            timeout=1800)  # a safety net only: a busy machine is slow, not wrong
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"speedup \d+\.\d\d, test-loss delta -?\d+\.\d\d, gemm-efficiency \d+%", last), last
    assert "baseline" in result.stdout and "course" in result.stdout and "GEMM limit" in result.stdout


def test_the_checks_benchmark_times_passing_checks_and_prints_one_line_each():
    script = SCRIPT.with_name("bench_checks.py")  # it stops with CheckFailed if the reference fails a check
    result = subprocess.run([sys.executable, str(script), "--repeats", "1"], capture_output=True, text=True,
                            timeout=1800)  # a safety net only
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()[1:]
    assert len(lines) == 3 and all(re.search(r" \d+\.\d{3} s$", line) for line in lines), lines
