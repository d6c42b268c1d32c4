"""How fast does the course train the seed's VAE, and how close is that to the machine's limit?

Trains the seed's VAE (784-400-8, Adam lr 1e-3, batch 128, same epochs, same seed) on
the same images two ways:

- baseline: the pytorch/examples/vae recipe: ``torchvision.datasets.MNIST`` with
  ``ToTensor()`` over IDX files (written here from the course's data), a
  ``DataLoader(shuffle=True)``, a sigmoid decoder and ``F.binary_cross_entropy``,
  ``loss.item()`` every step;
- course: ``vae_helpers.training.fit`` with ``losses.beta_elbo_terms`` (in-memory
  batches, BCE fused with the sigmoid on logits).

An epoch is one pass over the training set plus one over the test set, for both. The
benchmark prints, per path, seconds per epoch (median of the epochs after the first),
training images per second and the final test loss per image; then the fp32 GEMM
throughput this machine reaches on exactly the matrix products of one training step,
and the fraction of it each path achieves. The last line is

    speedup X.XX, test-loss delta Y.YY, gemm-efficiency Z%

(speedup = baseline s/epoch / course s/epoch; delta = course - baseline test loss in
nats per image; efficiency of the course path).

    python benchmarks/bench_training.py            # embedded 5,000 digits, 10 epochs
    python benchmarks/bench_training.py --full     # full MNIST (needs the IDX files or a download)
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from vae_helpers.data import load_mnist
from vae_helpers.losses import beta_elbo_terms
from vae_helpers.models import VAE
from vae_helpers.training import fit, pick_device

BATCH_SIZE, LR, HIDDEN, LATENT, PIXELS = 128, 1e-3, 400, 8, 784


# --- baseline: pytorch/examples/vae, with the seed's layer names and latent size ------
class ExamplesVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(PIXELS, HIDDEN)
        self.fc_mu = nn.Linear(HIDDEN, LATENT)
        self.fc_logvar = nn.Linear(HIDDEN, LATENT)
        self.fc3 = nn.Linear(LATENT, HIDDEN)
        self.fc4 = nn.Linear(HIDDEN, PIXELS)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc_mu(h1), self.fc_logvar(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, PIXELS))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def examples_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, PIXELS), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def write_idx(raw: Path, prefix: str, x: torch.Tensor, y: torch.Tensor) -> None:
    """Write images (N, 784) in [0, 1] and labels (N,) as the two IDX files torchvision reads."""
    raw.mkdir(parents=True, exist_ok=True)
    pixels = (x * 255).round().to(torch.uint8).numpy()
    with open(raw / f"{prefix}-images-idx3-ubyte", "wb") as f:
        f.write(np.array([0x803, len(x), 28, 28], dtype=">i4").tobytes())
        f.write(pixels.tobytes())
    with open(raw / f"{prefix}-labels-idx1-ubyte", "wb") as f:
        f.write(np.array([0x801, len(y)], dtype=">i4").tobytes())
        f.write(y.to(torch.uint8).numpy().tobytes())


def run_baseline(root: Path, epochs: int, seed: int, device: torch.device) -> tuple[list[float], float]:
    """Train the pytorch/examples way; returns (seconds per epoch, final test loss per image)."""
    torch.manual_seed(seed)
    kwargs = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
    train_loader = DataLoader(datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor()),
                              batch_size=BATCH_SIZE, shuffle=True, **kwargs)
    test_loader = DataLoader(datasets.MNIST(root, train=False, transform=transforms.ToTensor()),
                             batch_size=BATCH_SIZE, shuffle=False, **kwargs)
    model = ExamplesVAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    seconds, test_loss = [], float("nan")
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data, _ in train_loader:
            data = data.to(device)
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = examples_loss(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _ in test_loader:
                data = data.to(device)
                recon_batch, mu, logvar = model(data)
                test_loss += examples_loss(recon_batch, data, mu, logvar).item()
        test_loss /= len(test_loader.dataset)
        seconds.append(time.perf_counter() - start)
    return seconds, test_loss


def run_course(train_x: torch.Tensor, test_x: torch.Tensor, epochs: int, seed: int,
               device: torch.device) -> tuple[list[float], float]:
    """Train with the course's fit; returns (seconds per epoch, final test loss per image)."""
    torch.manual_seed(seed)
    model = VAE(latent_dim=LATENT)
    per_epoch = -(-len(train_x) // BATCH_SIZE)  # a record per pass over the data, test pass included
    history = fit(model, beta_elbo_terms, train_x, test_x, steps=epochs * per_epoch, record_every=per_epoch,
                  batch_size=BATCH_SIZE, lr=LR, seed=seed, device=device, progress=False)
    return history.seconds, history.test[-1]["loss"]


# --- the machine's limit: fp32 GEMMs of exactly one training step ----------------------
def layer_shapes() -> list[tuple[int, int]]:
    """(in, out) of the five Linear layers."""
    return [(PIXELS, HIDDEN), (HIDDEN, LATENT), (HIDDEN, LATENT), (LATENT, HIDDEN), (HIDDEN, PIXELS)]


def step_gemms(batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product in one forward + backward step at ``batch``.

    Forward: x (B, in) @ W^T (in, out). Backward: the weight gradient g^T (out, B) @ x (B, in)
    for every layer, the input gradient g (B, out) @ W (out, in) for all but fc1 (the
    images need no gradient).
    """
    gemms = []
    for k, (fan_in, fan_out) in enumerate(layer_shapes()):
        gemms.append((batch, fan_in, fan_out))
        gemms.append((fan_out, batch, fan_in))
        if k > 0:
            gemms.append((batch, fan_out, fan_in))
    return gemms


def eval_gemms(batch: int) -> list[tuple[int, int, int]]:
    """(m, k, n) of the forward products only (test pass)."""
    return [(batch, fan_in, fan_out) for fan_in, fan_out in layer_shapes()]


def flops(gemms: list[tuple[int, int, int]]) -> float:
    return float(sum(2 * m * k * n for m, k, n in gemms))


def epoch_flops(n_train: int, n_test: int) -> float:
    """Matrix-product FLOPs of one epoch (training steps of 128 plus the test pass)."""
    full, rest = divmod(n_train, BATCH_SIZE)
    train = full * flops(step_gemms(BATCH_SIZE)) + (flops(step_gemms(rest)) if rest else 0.0)
    return train + flops(eval_gemms(n_test))


def gemm_throughput(device: torch.device, repeats: int = 200) -> float:
    """FLOP/s of the fp32 matrix products of one training step, each timed alone (best of 5 rounds)."""
    operands = [(torch.randn(m, k, device=device), torch.randn(k, n, device=device))
                for m, k, n in step_gemms(BATCH_SIZE)]
    out = [torch.empty(m, n, device=device) for m, _, n in step_gemms(BATCH_SIZE)]
    best = float("inf")
    for _ in range(5):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            for (a, b), c in zip(operands, out):
                torch.mm(a, b, out=c)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / repeats)
    return flops(step_gemms(BATCH_SIZE)) / best


def summarise(name: str, seconds: list[float], test_loss: float, n_train: int, work: float,
              peak: float) -> float:
    per_epoch = statistics.median(seconds[1:] if len(seconds) > 1 else seconds)
    print(f"{name:<9} {per_epoch:8.3f} s/epoch  {n_train / per_epoch:9.0f} train images/s  "
          f"test loss {test_loss:8.2f}  {work / per_epoch / 1e9:6.1f} GFLOP/s "
          f"({100 * work / per_epoch / peak:3.0f}% of GEMM)")
    return per_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per path (default 10, as pytorch/examples)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="full MNIST (torchvision) instead of the embedded subset")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: best available)")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is a warm-up)")

    device = pick_device(args.device)
    mnist = load_mnist("torchvision" if args.full else "embedded")
    # both paths see the same images: the 8-bit pixels the IDX files hold
    train_x = (mnist.train.x * 255).round() / 255
    test_x = (mnist.test.x * 255).round() / 255
    n_train, n_test = len(train_x), len(test_x)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {device}, "
          f"{torch.get_num_threads()} threads; {mnist.source}: {n_train} train / {n_test} test images; "
          f"{args.epochs} epochs, batch {BATCH_SIZE}")

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "MNIST" / "raw"
        write_idx(raw, "train", mnist.train.x, mnist.train.y)
        write_idx(raw, "t10k", mnist.test.x, mnist.test.y)
        base_s, base_loss = run_baseline(Path(tmp), args.epochs, args.seed, device)
    course_s, course_loss = run_course(train_x, test_x, args.epochs, args.seed, device)

    peak = gemm_throughput(device)
    work = epoch_flops(n_train, n_test)
    print(f"GEMM limit: {peak / 1e9:.1f} GFLOP/s (fp32 products of one training step, timed alone); "
          f"{work / 1e9:.1f} GFLOP per epoch")
    base = summarise("baseline", base_s, base_loss, n_train, work, peak)
    ours = summarise("course", course_s, course_loss, n_train, work, peak)
    print(f"speedup {base / ours:.2f}, test-loss delta {course_loss - base_loss:.2f}, "
          f"gemm-efficiency {100 * work / ours / peak:.0f}%")


if __name__ == "__main__":
    main()
