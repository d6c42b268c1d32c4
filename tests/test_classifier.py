"""Tests for vae_helpers.classifier: the "not a digit" classifier and the plausibility score."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless, before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_helpers import classifier as C  # noqa: E402
from vae_helpers.data import load_mnist  # noqa: E402


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(source="embedded", verbose=False)


@pytest.fixture(scope="module")
def judge(mnist):
    """The classifier as the notebook trains it (a few seconds)."""
    return C.train_classifier(mnist.train.x, mnist.train.y, epochs=10, seed=0)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_blur_keeps_shape_and_ink_and_softens_strokes(mnist):
    x = mnist.test.x[:20]
    blurred = C.blur(x, 1.0)
    assert blurred.shape == x.shape
    assert torch.allclose(blurred.sum(dim=1), x.sum(dim=1), rtol=0.02)  # digits sit away from the border
    assert (blurred.max(dim=1).values < x.max(dim=1).values).all()
    assert torch.allclose(C.blur(x, 1e-4), x, atol=1e-5)
    per_image = C.blur(x[:2], torch.tensor([1e-4, 1.0]))
    assert torch.allclose(per_image[0], x[0], atol=1e-5) and torch.allclose(per_image[1], blurred[1], atol=1e-6)


@pytest.mark.parametrize("kind", C.GARBAGE_KINDS)
def test_garbage_has_the_shape_and_range_of_images(mnist, kind):
    g = torch.Generator().manual_seed(0)
    images = C.make_garbage(kind, mnist.train.x, mnist.train.y, 50, g)
    assert images.shape == (50, 784) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    again = C.make_garbage(kind, mnist.train.x, mnist.train.y, 50, torch.Generator().manual_seed(0))
    assert torch.equal(images, again)


def test_shuffled_patches_keep_a_digits_pixels_and_blends_mix_two_labels(mnist):
    x, y = mnist.train.x[:200], mnist.train.y[:200]
    patches = C.make_garbage("patches", x, y, 10, torch.Generator().manual_seed(1))
    sorted_digits = x.sort(dim=1).values
    for image in patches:
        assert (sorted_digits == image.sort().values).all(dim=1).any(), "a patch image must reuse one digit's pixels"
    g = torch.Generator().manual_seed(2)
    first, second = torch.randint(len(x), (10,), generator=g), torch.randint(len(x), (10,), generator=g)
    assert (y[first] != y[second]).any()
    blends = C.make_garbage("blends", x, y, 10, torch.Generator().manual_seed(2))
    assert not any((blends[k] == x).all(dim=1).any() for k in range(10)), "a blend is not one of the digits"


def test_unknown_garbage_is_an_error(mnist):
    with pytest.raises(ValueError, match="unknown kind"):
        C.make_garbage("scribbles", mnist.train.x, mnist.train.y, 5, torch.Generator())


def test_the_yardstick_is_calibrated_on_images_it_never_saw(mnist, judge):
    scores = {name: C.plausibility(judge, images)
              for name, images in C.calibration_sets(mnist.test.x, mnist.test.y, n=500, seed=1).items()}
    assert scores["real digits"].mean() > 0.75 and (scores["real digits"] > 0.5).float().mean() > 0.85
    assert scores["blurred real digits"].mean() > 0.7
    for garbage in ("pixel noise", "blobs", "shuffled patches"):
        assert scores[garbage].mean() < 0.1, garbage
    assert scores["averages of four digits (unseen kind)"].mean() < 0.4
    assert scores["blends of two digits"].mean() < scores["real digits"].mean() - 0.2
    accuracy = (C.predict(judge, mnist.test.x)[:, :10].argmax(dim=1) == mnist.test.y).float().mean()
    assert accuracy > 0.88


def test_predict_and_plausibility_are_probabilities(mnist, judge):
    probs = C.predict(judge, mnist.test.x[:30])
    assert probs.shape == (30, 11) and torch.allclose(probs.sum(dim=1), torch.ones(30), atol=1e-5)
    score = C.plausibility(judge, mnist.test.x[:30].reshape(30, 1, 28, 28))
    assert score.shape == (30,) and (score >= 0).all() and (score <= 1).all()
    assert torch.allclose(score, probs[:, :10].max(dim=1).values)
    assert not judge.training, "the trained classifier is returned in evaluation mode (no dropout)"


def test_training_is_repeatable_and_leaves_the_global_random_state_alone(mnist):
    x, y = mnist.train.x[:300], mnist.train.y[:300]
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    first = C.train_classifier(x, y, epochs=1, seed=3)
    assert torch.equal(torch.rand(3), expected)
    second = C.train_classifier(x, y, epochs=1, seed=3)
    for p, q in zip(first.parameters(), second.parameters()):
        assert torch.equal(p, q)


def test_calibration_sets_and_score_plot(mnist):
    sets = C.calibration_sets(mnist.test.x, mnist.test.y, n=40, seed=0)
    assert len(sets) == 7 and all(images.shape == (40, 784) for images in sets.values())
    fig = C.plot_scores({"a": torch.tensor([0.9, 0.2]), "b": torch.tensor([0.1, 0.0])}, title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert [round(p.get_width(), 3) for p in ax.patches] == [0.55, 0.05]
    assert any("50% above 0.5" in t.get_text() for t in ax.texts)
