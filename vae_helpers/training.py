"""One training loop for every notebook.

``fit(model, loss_fn, train_x, test_x, steps=...)`` runs Adam for a budget of
optimizer steps over in-memory mini-batches, shows a tqdm progress bar, and
returns a :class:`History` of per-image train and test figures for each block of
steps.

Budgets are counted in steps, not epochs, so a notebook costs the same whatever
the size of the data: on the 4,000-digit offline subset 1,000 steps are 32
passes over the data, on the full MNIST about two. More data at the same cost
gives a better model, not a longer wait.

``loss_fn(model, x)`` takes a batch ``x`` (B, 784) and returns either a scalar
loss summed over the batch, or a dict of such sums whose ``"loss"`` entry is
minimised and whose other entries (for example ``"recon"`` and ``"kl"``) are
just recorded.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .data import batches


def _progress_bar(**options):
    """A tqdm bar: widget bars in a notebook when ipywidgets imports, plain text bars on stdout otherwise.

    ``tqdm.auto`` picks widget bars in any Jupyter kernel and, without ipywidgets, warns
    "IProgress not found" on stderr. A course installed without the ``lab`` extra (a kernel without
    ipywidgets) gets quiet text bars instead, on stdout: a notebook shows stderr in red, as if
    something had failed.
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        from tqdm.std import tqdm as text_bar
        return text_bar(file=sys.stdout, **options)
    from tqdm.auto import tqdm
    return tqdm(**options)


LossFn = Callable[[nn.Module, torch.Tensor], "torch.Tensor | dict[str, torch.Tensor]"]
RECORDS = 20  # history entries per run unless record_every says otherwise


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The given device, else CUDA, else Apple's MPS, else the CPU."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class History:
    """Per-image averages of each loss term, one entry per block of steps, e.g. ``train[-1]["loss"]``.

    ``steps[k]`` is the number of optimizer steps taken when entry ``k`` was recorded;
    ``train[k]`` averages the training batches of that block, ``test[k]`` is the whole
    test set evaluated at its end; ``passes`` is how many times training saw each image.
    """

    train: list[dict[str, float]] = field(default_factory=list)
    test: list[dict[str, float]] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    passes: float = 0.0

    def __repr__(self) -> str:
        if not self.train:
            return "History(no steps)"
        last = f"train {_fmt(self.train[-1])}"
        if self.test:
            last += f"; test {_fmt(self.test[-1])}"
        return (f"History({self.steps[-1]:,} steps, {self.passes:.1f} passes over the data, "
                f"in {sum(self.seconds):.1f} s; last: {last})")


def _fmt(terms: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in terms.items())


def _as_terms(out: torch.Tensor | dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    terms = out if isinstance(out, dict) else {"loss": out}
    if "loss" not in terms:
        raise KeyError(f"loss_fn returned a dict without a 'loss' entry (keys: {sorted(terms)})")
    if terms["loss"].dim() != 0:
        raise ValueError(f"loss_fn must return a scalar loss, got shape {tuple(terms['loss'].shape)}")
    return terms


def evaluate(model: nn.Module, loss_fn: LossFn, x: torch.Tensor, batch_size: int = 1000) -> dict[str, float]:
    """Per-image averages of the loss terms over all of ``x`` (N, 784), without gradients."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for xb in batches(x.to(device), batch_size):
            for name, value in _as_terms(loss_fn(model, xb)).items():
                totals[name] = totals.get(name, 0) + value.detach()
    model.train(was_training)
    return {name: total.item() / len(x) for name, total in totals.items()}


def endless_batches(x: torch.Tensor, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Mini-batches (<= batch_size, D) of x (N, D) forever: a fresh shuffle for every pass over the data."""
    while True:
        yield from batches(x, batch_size, shuffle=True, generator=generator)


def fit(model: nn.Module, loss_fn: LossFn, train_x: torch.Tensor, test_x: torch.Tensor | None = None, *,
        steps: int, batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
        record_every: int | None = None, device: str | torch.device | None = None,
        progress: bool = True, desc: str = "training",
        on_step: Callable[[int], None] | None = None) -> History:
    """Train ``model`` with ``steps`` Adam steps on batches of ``train_x`` (N, 784); return its :class:`History`.

    Each pass over the data is shuffled once; the last batch of a pass may be smaller.
    Every ``record_every`` steps (default: a twentieth of the budget) the history gets
    the per-image training figures of that block and, with ``test_x``, the test figures.
    The model trains on ``device`` (default: :func:`pick_device`) and is handed back in
    eval mode on the device it came from. Seeding covers the shuffle order and any noise
    the model draws, so the same call gives the same history on the same machine.
    ``on_step(step)``, if given, is called before each optimizer step with its number (1 to
    ``steps``), for schedules such as a KL weight that warms up over the first steps.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if train_x.dim() != 2:
        raise ValueError(f"train_x must be (N, features), got shape {tuple(train_x.shape)}")
    record_every = record_every or max(1, steps // RECORDS)
    home, device = next(model.parameters()).device, pick_device(device)
    seed_everything(seed)
    model.to(device)
    train_x = train_x.to(device)
    test_x = test_x.to(device) if test_x is not None else None
    # fused: one kernel updates every parameter, instead of ~10 small ops per tensor per step
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    stream = endless_batches(train_x, batch_size, torch.Generator().manual_seed(seed))
    history = History()

    model.train()
    totals: dict[str, torch.Tensor] = {}
    seen, start = 0, time.perf_counter()
    with _progress_bar(total=steps, desc=desc, unit="step", disable=not progress) as bar:
        for step in range(1, steps + 1):
            if on_step is not None:
                on_step(step)
            xb = next(stream)
            terms = _as_terms(loss_fn(model, xb))
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            for name, value in terms.items():  # stays on the device: no sync per step
                totals[name] = totals.get(name, 0) + value.detach()
            seen += len(xb)
            bar.update()
            if step % record_every == 0 or step == steps:
                history.train.append({name: total.item() / seen for name, total in totals.items()})
                if test_x is not None:
                    history.test.append(evaluate(model, loss_fn, test_x))
                history.steps.append(step)
                history.seconds.append(time.perf_counter() - start)
                bar.set_postfix(train=f"{history.train[-1]['loss']:.2f}",
                                **({"test": f"{history.test[-1]['loss']:.2f}"} if history.test else {}))
                history.passes += seen / len(train_x)
                totals, seen, start = {}, 0, time.perf_counter()
    model.to(home).eval()
    return history
