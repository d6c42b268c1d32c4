"""Tests for vae_helpers.classifier: the "not a digit" classifier and the plausibility score.

The garbage generators it trains on moved to vae_helpers.garbage (tests/test_garbage.py)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless, before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_helpers import classifier as C  # noqa: E402
from vae_helpers import garbage  # noqa: E402
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


def test_the_garbage_helpers_keep_their_old_names_here(mnist):
    assert C.blur is garbage.blur and C.make_garbage is garbage.make_garbage
    assert C.GARBAGE_KINDS == garbage.GARBAGE_KINDS
    old = C.calibration_sets(mnist.test.x, mnist.test.y, n=20)
    new = garbage.calibration_sets(mnist.test.x, mnist.test.y, n=20)
    assert list(old)[:-1] == list(new)[:-1] and list(old)[-1] == "averages of four digits (unseen kind)"
    assert all(torch.equal(a, b) for a, b in zip(old.values(), new.values()))


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
