"""Tests for vae_helpers.garbage: blurred digits and synthetic non-digits."""

from __future__ import annotations

import pytest
import torch

from vae_helpers import garbage as G
from vae_helpers.data import load_mnist


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(source="embedded", verbose=False)


def test_blur_keeps_shape_and_ink_and_softens_strokes(mnist):
    x = mnist.test.x[:20]
    blurred = G.blur(x, 1.0)
    assert blurred.shape == x.shape
    assert torch.allclose(blurred.sum(dim=1), x.sum(dim=1), rtol=0.02)  # digits sit away from the border
    assert (blurred.max(dim=1).values < x.max(dim=1).values).all()
    assert torch.allclose(G.blur(x, 1e-4), x, atol=1e-5)
    per_image = G.blur(x[:2], torch.tensor([1e-4, 1.0]))
    assert torch.allclose(per_image[0], x[0], atol=1e-5) and torch.allclose(per_image[1], blurred[1], atol=1e-6)


@pytest.mark.parametrize("kind", G.GARBAGE_KINDS)
def test_garbage_has_the_shape_and_range_of_images(mnist, kind):
    g = torch.Generator().manual_seed(0)
    images = G.make_garbage(kind, mnist.train.x, mnist.train.y, 50, g)
    assert images.shape == (50, 784) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    again = G.make_garbage(kind, mnist.train.x, mnist.train.y, 50, torch.Generator().manual_seed(0))
    assert torch.equal(images, again)


def test_shuffled_patches_keep_a_digits_pixels_and_blends_mix_two_labels(mnist):
    x, y = mnist.train.x[:200], mnist.train.y[:200]
    patches = G.make_garbage("patches", x, y, 10, torch.Generator().manual_seed(1))
    sorted_digits = x.sort(dim=1).values
    for image in patches:
        assert (sorted_digits == image.sort().values).all(dim=1).any(), "a patch image must reuse one digit's pixels"
    g = torch.Generator().manual_seed(2)
    first, second = torch.randint(len(x), (10,), generator=g), torch.randint(len(x), (10,), generator=g)
    assert (y[first] != y[second]).any()
    blends = G.make_garbage("blends", x, y, 10, torch.Generator().manual_seed(2))
    assert not any((blends[k] == x).all(dim=1).any() for k in range(10)), "a blend is not one of the digits"


def test_unknown_garbage_is_an_error(mnist):
    with pytest.raises(ValueError, match="unknown kind"):
        G.make_garbage("scribbles", mnist.train.x, mnist.train.y, 5, torch.Generator())


def test_calibration_sets_are_named_image_sets_and_repeatable(mnist):
    sets = G.calibration_sets(mnist.test.x, mnist.test.y, n=40, seed=0)
    assert list(sets) == ["real digits", "blurred real digits", "pixel noise", "blobs", "blends of two digits",
                          "shuffled patches", "averages of four digits"]
    assert all(images.shape == (40, 784) and images.min() >= 0 and images.max() <= 1 for images in sets.values())
    assert torch.equal(sets["real digits"], mnist.test.x[:40])
    again = G.calibration_sets(mnist.test.x, mnist.test.y, n=40, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(sets.values(), again.values()))
