"""A small digit classifier that can also say "not a digit", used as a plausibility yardstick.

To score how much a generated image looks like a handwritten digit, we train a
small MLP on 11 classes: the ten digits and an extra class, ``NOT_A_DIGIT``, of
cheap synthetic non-digits (pixel noise, blurry blobs, blends of two different
digits, digits cut into shuffled patches). A plain 10-class classifier would not
do: its softmax is confident on almost anything, garbage included.

The plausibility of an image is the probability the classifier gives to its
most likely *digit* class (:func:`plausibility`): high for a clear digit, low for
a non-digit and for an ambiguous blend of two digits. During training, real
digits are also shown blurred or averaged with another digit of the same label
(:func:`augment`), so that the blur every decoder in the course produces is not
mistaken for garbage. :func:`calibration_sets` gives the images to check the
yardstick on before trusting it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import garbage
from .data import IMAGE_PIXELS, batches
from .garbage import GARBAGE_KINDS, blur, make_garbage  # noqa: F401  (moved there; old names kept)

NOT_A_DIGIT = 10


class DigitClassifier(nn.Module):
    """MLP 784 -> hidden -> 11 logits (digits 0-9 and ``NOT_A_DIGIT``), with dropout while training."""

    def __init__(self, input_dim: int = IMAGE_PIXELS, hidden_dim: int = 256, dropout: float = 0.2):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_dim, NOT_A_DIGIT + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 784) -> logits (B, 11)."""
        return self.fc2(self.dropout(F.relu(self.fc1(x.reshape(len(x), -1)))))


def augment(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Digits x (N, 784) with labels y (N,) drawn the way a decoder might -> (N, 784).

    About a third are blurred, a third averaged with another digit of the same label
    (a blurry but valid digit), and the rest kept as they are.
    """
    n = len(x)
    kind = torch.randint(3, (n,), generator=generator)
    sigma = 0.5 + torch.rand(n, generator=generator)
    blurred = blur(x, sigma)
    partner = torch.empty(n, dtype=torch.long)
    for label in y.unique():
        members = (y == label).nonzero().squeeze(1)
        partner[members] = members[torch.randint(len(members), (len(members),), generator=generator)]
    alpha = 0.3 + 0.4 * torch.rand(n, 1, generator=generator)
    averaged = alpha * x + (1 - alpha) * x[partner]
    return torch.where((kind == 0)[:, None], blurred, torch.where((kind == 1)[:, None], averaged, x))


def _training_batch(x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One epoch's data: augmented digits plus as many fresh non-digits."""
    n = len(x)
    digits = augment(x, y, generator)
    garbage = torch.cat([make_garbage(kind, x, y, n // len(GARBAGE_KINDS), generator) for kind in GARBAGE_KINDS])
    images = torch.cat([digits, garbage])
    labels = torch.cat([y, torch.full((len(garbage),), NOT_A_DIGIT, dtype=y.dtype)])
    order = torch.randperm(len(images), generator=generator)
    return images[order], labels[order]


def train_classifier(x: torch.Tensor, y: torch.Tensor, epochs: int = 10, batch_size: int = 128,
                     seed: int = 0) -> DigitClassifier:
    """Train a :class:`DigitClassifier` on digits x (N, 784), labels y (N,), and synthetic non-digits.

    Each epoch draws new non-digits and new blurs; a few seconds on a CPU for 4,000 digits.
    """
    x, y = x.detach().cpu().float(), y.detach().cpu().long()
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # dropout draws from the global RNG: keep the caller's
        torch.manual_seed(seed)
        model = DigitClassifier()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for _ in range(epochs):
            images, labels = _training_batch(x, y, generator)
            for xb, yb in zip(batches(images, batch_size), batches(labels, batch_size)):
                loss = F.cross_entropy(model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return model.eval()


@torch.no_grad()
def predict(classifier: DigitClassifier, images: torch.Tensor) -> torch.Tensor:
    """Class probabilities (N, 11) of images (N, 784); column ``NOT_A_DIGIT`` is "not a digit"."""
    device = next(classifier.parameters()).device
    return torch.softmax(classifier(images.detach().to(device).float()), dim=1).cpu()


def plausibility(classifier: DigitClassifier, images: torch.Tensor) -> torch.Tensor:
    """How much each image (N, 784) looks like one clear digit: the top digit probability, in [0, 1] -> (N,)."""
    return predict(classifier, images)[:, :NOT_A_DIGIT].max(dim=1).values


def calibration_sets(x: torch.Tensor, y: torch.Tensor, n: int = 500, seed: int = 1) -> dict[str, torch.Tensor]:
    """:func:`vae_helpers.garbage.calibration_sets`, with its last set named as kind the classifier never saw."""
    sets = garbage.calibration_sets(x, y, n=n, seed=seed)
    sets["averages of four digits (unseen kind)"] = sets.pop("averages of four digits")
    return sets


def plot_scores(scores: dict[str, torch.Tensor], title: str = "plausibility", threshold: float = 0.5):
    """Horizontal bars: mean plausibility of each named set of scores (N,), with the share above ``threshold``."""
    import matplotlib.pyplot as plt

    names = list(scores)
    means = [float(s.float().mean()) for s in scores.values()]
    shares = [float((s > threshold).float().mean()) for s in scores.values()]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.0))
    bars = ax.barh(range(len(names)), means, color="tab:blue", alpha=0.75)
    for bar, share in zip(bars, shares):
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                f"{share:.0%} above {threshold:g}", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.25)
    ax.set_xlabel("mean plausibility (top digit probability)")
    ax.set_title(title)
    fig.tight_layout()
    return fig
