"""Tests for vae_helpers.evaluator (the frozen digit network) and its feature space as a yardstick."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vae_helpers import evaluator as E
from vae_helpers import sample_quality as Q
from vae_helpers.data import _torchvision_files_present, load_mnist
from vae_helpers.garbage import calibration_sets

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(source="embedded", verbose=False)


@pytest.fixture(scope="module")
def net():
    return E.load_evaluator()


def test_the_shipped_weights_are_small_float32_and_load_frozen_and_cached(net):
    assert E.WEIGHTS_PATH.is_file() and E.WEIGHTS_PATH.stat().st_size < 3_000_000
    state = torch.load(E.WEIGHTS_PATH, weights_only=True)
    assert all(v.dtype == torch.float32 for v in state.values())
    assert state.keys() == E.DigitEvaluator().state_dict().keys()
    assert E.load_evaluator() is net, "load_evaluator caches the network"
    assert not net.training and not any(p.requires_grad for p in net.parameters())


def test_the_weights_are_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"weights/*.pt"' in pyproject and "[tool.setuptools.package-data]" in pyproject


def test_it_reads_the_embedded_test_digits(net, mnist):
    # these digits come from MNIST's training set, which the evaluator was trained on
    accuracy = (E.predict(net, mnist.test.x) == mnist.test.y).float().mean()
    assert accuracy >= 0.98


def test_it_reads_the_full_mnist_test_set(net):
    root = Path(os.environ.get("VAE_DATA_DIR", "~/.cache/vae-course")).expanduser()
    if not _torchvision_files_present(root):
        pytest.skip(f"full MNIST not found under {root}: set VAE_DATA_DIR to a folder holding MNIST/raw "
                    f"(online, load_mnist(source='torchvision') downloads it there)")
    test = load_mnist(source="torchvision", root=root, download=False, verbose=False).test
    assert len(test) == 10_000
    accuracy = (E.predict(net, test.x) == test.y).float().mean()
    assert accuracy >= 0.98


def test_features_and_predictions_have_the_documented_shapes(net, mnist):
    x = mnist.test.x[:37]
    f = E.features(net, x, batch_size=10)
    assert f.shape == (37, E.FEATURES) and f.dtype == torch.float32 and f.device.type == "cpu"
    assert not f.requires_grad and (f >= 0).all()
    assert torch.allclose(f, E.features(net, x.reshape(37, 1, 28, 28), batch_size=1000), atol=1e-5)
    on_sphere = Q.features_of(x)
    assert on_sphere.shape == (37, E.FEATURES)
    assert torch.allclose(on_sphere.norm(dim=1), torch.full((37,), E.FEATURES ** 0.5))
    assert torch.allclose(on_sphere * f.norm(dim=1, keepdim=True) / E.FEATURES ** 0.5, f, atol=1e-4)
    logits = net(x)
    assert logits.shape == (37, 10)
    assert torch.allclose(logits, net.fc2(f), atol=1e-4), "features are the input of the last layer"
    labels = E.predict(net, x, batch_size=8)
    assert labels.shape == (37,) and labels.dtype == torch.int64
    assert torch.equal(labels, logits.argmax(dim=1))
    assert E.features(net, x[:0]).shape == (0, E.FEATURES) and E.predict(net, x[:0]).shape == (0,)


def test_random_shift_moves_each_image_by_whole_pixels(mnist):
    x = mnist.test.x[:50]
    assert torch.equal(E.random_shift(x, 0, torch.Generator()), x)
    shifted = E.random_shift(x, 2, torch.Generator().manual_seed(0))
    assert shifted.shape == x.shape and not torch.equal(shifted, x)
    images, moved = x.reshape(50, 28, 28), shifted.reshape(50, 28, 28)
    for image, out in zip(images, moved):
        candidates = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = torch.zeros(32, 32)
                expected[2 + dy:30 + dy, 2 + dx:30 + dx] = image
                candidates.append(torch.equal(out, expected[2:30, 2:30]))
        assert sum(candidates) >= 1, "each image is its own translate by at most 2 pixels, zeros shifted in"


def test_training_is_repeatable_and_leaves_the_global_random_state_alone(mnist):
    x, y = mnist.train.x[:300], mnist.train.y[:300]
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    first = E.train_evaluator(x, y, steps=12, seed=3, batch_size=32)
    assert torch.equal(torch.rand(3), expected)
    second = E.train_evaluator(x, y, steps=12, seed=3, batch_size=32)
    third = E.train_evaluator(x, y, steps=12, seed=4, batch_size=32)
    assert all(torch.equal(p, q) for p, q in zip(first.parameters(), second.parameters()))
    assert not torch.equal(first.fc1.weight, third.fc1.weight)
    assert not first.training


def test_the_training_script_makes_an_evaluator_of_the_same_kind(tmp_path, mnist, net):
    out = tmp_path / "evaluator.pt"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_evaluator.py"), "--source", "embedded",
                             "--steps", "250", "--out", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout
    small = E.DigitEvaluator()
    small.load_state_dict(torch.load(out, weights_only=True))
    small.eval()
    shipped = {k: v.shape for k, v in net.state_dict().items()}
    assert {k: v.shape for k, v in small.state_dict().items()} == shipped
    assert E.features(small, mnist.test.x[:5]).shape == (5, E.FEATURES)
    assert (E.predict(small, mnist.test.x) == mnist.test.y).float().mean() > 0.9


@pytest.fixture(scope="module")
def yardstick(mnist):
    """sample_quality of each calibration set (1,000 held-out digits) against 1,000 real training digits."""
    reference = Q.features_of(mnist.train.x[:1000])
    sets = calibration_sets(mnist.test.x, mnist.test.y, n=1000, seed=1)
    return {name: Q.sample_quality(reference, Q.features_of(images)) for name, images in sets.items()}


def test_the_feature_space_tells_real_digits_from_garbage(yardstick):
    real = yardstick["real digits"]
    assert abs(real["kid"]) < 3 * real["kid_std"] + 0.01
    assert real["precision"] > 0.75 and real["recall"] > 0.75
    for garbage in ("pixel noise", "blobs", "shuffled patches"):
        assert yardstick[garbage]["kid"] > 20 * max(real["kid"], real["kid_std"]), garbage
        assert yardstick[garbage]["precision"] < 0.3, garbage
    assert yardstick["pixel noise"]["precision"] < 0.05 and yardstick["blobs"]["precision"] < 0.05
    blends = yardstick["blends of two digits"]
    assert real["kid"] + 3 * real["kid_std"] < blends["kid"] < yardstick["blobs"]["kid"]
    assert yardstick["pixel noise"]["precision"] + 0.1 < blends["precision"] < real["precision"] - 0.1
    assert yardstick["blurred real digits"]["kid"] < blends["kid"], "a blurred digit is closer to real than a blend"
