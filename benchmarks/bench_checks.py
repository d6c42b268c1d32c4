"""How long does a student wait for a check cell, and for the shapes dataset of 05?

Speed is a figure to read, not a verdict: the test suite never asserts on time (a shared
machine is sometimes several times slower). This prints the median seconds, over a few
repeats, of

- the three checks of 04's VAE class and the two of its loss, run on the course's reference
  model and losses (``vae_helpers.models.VAE``, ``vae_helpers.losses``);
- rendering 05's 3,000 shapes images (``vae_helpers.shapes.make_shapes``).

    python benchmarks/bench_checks.py
    python benchmarks/bench_checks.py --repeats 1
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
from collections.abc import Callable

import torch

from vae_helpers import shapes
from vae_helpers.checks.vae import (check_vae_behaviour, check_vae_loss_properties, check_vae_loss_value,
                                    check_vae_sampling, check_vae_shapes)
from vae_helpers.losses import bce, gaussian_kl
from vae_helpers.models import VAE


def reference_loss(recon_x: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The seed's loss, BCE (sum) + KL, from the course's reference terms -> scalar."""
    return bce(recon_x, x) + gaussian_kl(mu, logvar).sum()


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of ``run()`` over ``repeats`` calls (its printing silenced)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    cases = {
        "04 VAE checks (shapes, sampling, behaviour)":
            lambda: [check(VAE) for check in (check_vae_shapes, check_vae_sampling, check_vae_behaviour)],
        "04 loss checks (value, properties)":
            lambda: [check(reference_loss) for check in (check_vae_loss_value, check_vae_loss_properties)],
        "05 shapes dataset, 3,000 images": lambda: shapes.make_shapes(3000),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats}")
    for name, run in cases.items():
        print(f"{name:<46} {median_seconds(run, args.repeats):7.3f} s")


if __name__ == "__main__":
    main()
