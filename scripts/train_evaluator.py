"""Train the frozen digit evaluator and write its weights into the package.

The command that made the shipped weights (from the repository root, with the project's
Python; the data directory holds torchvision's ``MNIST/raw``)::

    python scripts/train_evaluator.py --data-dir /work/shared/data --out vae_helpers/weights/digit_evaluator.pt

It printed ``trained in 1047 s; test accuracy 99.2 % on 10,000 torchvision (full MNIST)
test digits`` (2 CPU cores shared with other jobs; the same run on one otherwise less
busy core took 455 s and reached 99.3 %).
Options: ``--steps`` (default 2500), ``--seed`` (0), ``--source`` (``torchvision``, the
full MNIST; ``embedded`` only for quick trials). The data directory must hold
``MNIST/raw`` (torchvision's layout); the script never downloads.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from vae_helpers.data import load_mnist
from vae_helpers.evaluator import WEIGHTS_PATH, predict, train_evaluator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="folder holding MNIST/raw")
    parser.add_argument("--source", choices=("torchvision", "embedded"), default="torchvision")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="where to write the state_dict")
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = load_mnist(source=args.source, root=args.data_dir, download=False)
    start = time.perf_counter()
    net = train_evaluator(data.train.x, data.train.y, steps=args.steps, seed=args.seed, verbose=True)
    seconds = time.perf_counter() - start
    accuracy = (predict(net, data.test.x) == data.test.y).float().mean().item()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.float().contiguous() for k, v in net.state_dict().items()}, args.out)
    print(f"trained in {seconds:.0f} s; test accuracy {100 * accuracy:.1f} % on "
          f"{len(data.test):,} {data.source} test digits; weights -> {args.out}")


if __name__ == "__main__":
    main()
