"""How a VAE uses its latent dimensions, and how well they line up with known factors.

Reference implementations behind notebook 05's figures. All take plain tensors:
posterior means ``mu`` and log-variances ``logvar`` (N, d) of N images, and, for
the synthetic shapes, their integer factors (N, k).

- :func:`kl_per_dimension`: the average KL(q(z_j|x) || N(0, 1)) of each latent
  dimension j, i.e. how the rate splits over the dimensions.
- :func:`active_units`: Burda et al.'s (2016) active units, the dimensions whose
  posterior mean changes with the input: Var_x(E_q[z_j]) > threshold.
- :func:`factor_mutual_information` and :func:`mutual_information_gap`: the mutual
  information between each latent mean (histogrammed) and each factor, and the
  MIG of Chen et al. (2018): for each factor, the gap between the two latent
  dimensions that know most about it, as a fraction of the factor's entropy.
- :func:`compare_over_seeds`: two settings scored over several seeds each: the
  difference of their means in standard errors, the pairwise win count, and the
  typical change between two seeds of one setting.

The figures of notebook 05 (rate / distortion, KL per dimension, mutual
information heat maps, scores per seed, labelled image rows) are at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over the N images of each dimension's KL to N(0, 1): (N, d), (N, d) -> (d,) in nats.

    The entries add up to the average KL per image (the rate).
    """
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(dim=0)


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """Boolean mask (d,) of the dimensions whose posterior mean varies over the data: Var_x(mu_j) > threshold.

    ``mu`` (N, d) holds the posterior means E_q[z | x_i] of N inputs.
    """
    return mu.var(dim=0) > threshold


def discretize(values: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """Histogram each column of values (N, d) into ``bins`` equal-width bins over its range -> (N, d) int64."""
    low, high = values.min(dim=0).values, values.max(dim=0).values
    scaled = (values - low) / (high - low).clamp_min(1e-12)
    return (scaled * bins).long().clamp_(0, bins - 1)


def _entropy(labels: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of the empirical distribution of integer labels (N,) -> scalar."""
    p = torch.bincount(labels).double() / len(labels)
    p = p[p > 0]
    return -(p * p.log()).sum()


def _mutual_information(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mutual information in nats between two integer label vectors (N,), (N,) -> scalar."""
    joint = a * (int(b.max()) + 1) + b
    return _entropy(a) + _entropy(b) - _entropy(joint)


def factor_mutual_information(mu: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """Normalised mutual information I(mu_j; v_k) / H(v_k) of histogrammed latent means and factors.

    mu (N, d) float, factors (N, k) int64 -> (d, k) float64, entries in [0, 1]:
    1 means latent j determines factor k, 0 that it says nothing about it.
    """
    codes = discretize(mu.detach().cpu(), bins)
    factors = factors.cpu()
    mi = torch.tensor([[_mutual_information(codes[:, j], factors[:, k]).item() for k in range(factors.shape[1])]
                       for j in range(codes.shape[1])], dtype=torch.float64)
    entropies = torch.stack([_entropy(factors[:, k]) for k in range(factors.shape[1])])
    return mi / entropies


def mutual_information_gap(mu: torch.Tensor, factors: torch.Tensor, bins: int = 20) -> torch.Tensor:
    """Per-factor MIG: normalised MI of the best latent minus that of the runner-up, (N, d), (N, k) -> (k,).

    The MIG score of a model is the mean over factors. A factor scores near 1 when one
    latent dimension alone captures it, near 0 when it is spread over several or none.
    """
    top2 = factor_mutual_information(mu, factors, bins).topk(2, dim=0).values
    return top2[0] - top2[1]


def compare_over_seeds(low: Sequence[float], high: Sequence[float]) -> dict[str, float]:
    """How two settings compare when each was scored over several seeds: scores (n,), (m,) -> figures.

    Returns a dict of floats:

    - ``difference``: mean(high) - mean(low);
    - ``standard_error``: its standard error, sqrt(s_low^2 / n + s_high^2 / m) with sample
      standard deviations (each setting needs at least two seeds), and ``in_standard_errors``,
      the difference divided by it;
    - ``wins`` out of ``pairs`` = n * m: the pairings of one seed of each setting in which
      ``high`` scores higher (a tie counts one half);
    - ``within``: the mean absolute difference between two seeds of the same setting, over
      all such pairs of both settings, the seed-to-seed change to set beside ``difference``.
    """
    a, b = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least two scores per setting, got {len(np.atleast_1d(a))} and "
                         f"{len(np.atleast_1d(b))}")
    difference = b.mean() - a.mean()
    standard_error = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    cross = b[None, :] - a[:, None]  # (n, m): every pairing of one seed of each
    wins = float((cross > 0).sum() + 0.5 * (cross == 0).sum())
    same = [abs(s[i] - s[j]) for s in (a, b) for i in range(len(s)) for j in range(i + 1, len(s))]
    return {"difference": float(difference), "standard_error": standard_error,
            "in_standard_errors": float(difference / standard_error) if standard_error > 0 else float("inf"),
            "wins": wins, "pairs": float(cross.size), "within": float(np.mean(same))}


# --- figures ---------------------------------------------------------------------------

def plot_rate_distortion(betas: Sequence[float], rates: Sequence[float], distortions: Sequence[float],
                         title: str = "rate / distortion") -> plt.Figure:
    """Distortion against rate, one labelled point per beta."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(rates, distortions, "o-", color="tab:blue")
    for beta, rate, distortion in zip(betas, rates, distortions):
        ax.annotate(f"β = {beta:g}", (rate, distortion), textcoords="offset points", xytext=(6, 4))
    ax.set_xlabel("rate R: KL per image (nats)")
    ax.set_ylabel("distortion D: BCE per image (nats)")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_mean_variance_and_kl(points: dict[str, tuple[torch.Tensor, torch.Tensor]], threshold: float = 0.01,
                              title: str = "each latent dimension: how much its mean moves, and its KL") -> plt.Figure:
    """Scatter Var_x(mu_j) against KL_j for every dimension, one colour per entry (e.g. per beta).

    Each entry is (variance of the posterior means (d,), KL per dimension (d,)); the dashed
    line marks the active-unit threshold on the variance.
    """
    fig, ax = plt.subplots(figsize=(5.8, 4))
    for label, (variance, kl) in points.items():
        ax.scatter(variance.detach().cpu().numpy(), kl.detach().cpu().numpy(), s=22, alpha=0.8, label=label)
    ax.axvline(threshold, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("variance over the data of the posterior mean, Var(μ_j)")
    ax.set_ylabel("KL per image of dimension j (nats)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_kl_per_dimension(kl_by_label: dict[str, torch.Tensor], active: dict[str, torch.Tensor] | None = None,
                          title: str = "KL per latent dimension, largest first") -> plt.Figure:
    """One bar chart per entry (e.g. per beta) of a KL vector (d,), dimensions sorted by KL.

    With ``active`` (boolean masks (d,) under the same keys), active dimensions are
    drawn in blue and inactive ones in grey.
    """
    fig, axes = plt.subplots(1, len(kl_by_label), figsize=(2.3 * len(kl_by_label), 2.6), sharey=True,
                             squeeze=False)
    for ax, (label, kl) in zip(axes[0], kl_by_label.items()):
        kl = kl.detach().cpu()
        order = kl.argsort(descending=True)
        colours = ["tab:blue"] * len(kl)
        if active is not None:
            colours = ["tab:blue" if bool(active[label].cpu()[j]) else "lightgrey" for j in order]
        ax.bar(range(len(kl)), kl[order].numpy(), color=colours)
        ax.set_title(label)
        ax.set_xlabel("dimension (sorted)")
        ax.set_xticks([])
    axes[0, 0].set_ylabel("KL per image (nats)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_factor_mutual_information(nmi_by_label: dict[str, torch.Tensor], factor_names: Sequence[str],
                                   title: str = "what each latent knows: I(μ_j; factor) / H(factor)") -> plt.Figure:
    """Heat maps of normalised mutual information (d, k), latents as rows, one panel per entry."""
    fig, axes = plt.subplots(1, len(nmi_by_label), figsize=(2.8 * len(nmi_by_label) + 1, 3.6), squeeze=False,
                             layout="constrained")
    for ax, (label, nmi) in zip(axes[0], nmi_by_label.items()):
        image = ax.imshow(nmi.cpu().numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
        for (j, k), value in np.ndenumerate(nmi.cpu().numpy()):
            ax.text(k, j, f"{value:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if value > 0.5 else "black")
        ax.set_xticks(range(len(factor_names)), factor_names)
        ax.set_yticks(range(nmi.shape[0]), [f"z{j}" for j in range(nmi.shape[0])])
        ax.set_title(label, fontsize=10)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    fig.suptitle(title)
    return fig


def plot_scores_per_seed(scores: dict[str, Sequence[float]], seeds: Sequence[int] | None = None,
                         ylabel: str = "MIG", title: str = "one dot per seed, the mean as a bar") -> plt.Figure:
    """A strip plot: one column per entry (e.g. per beta), one dot per run, the mean as a short bar.

    ``scores`` maps a label to the scores of its runs, in the order of ``seeds``
    (default 0, 1, ...); each dot is labelled with its seed, so a run can be found again.
    """
    fig, ax = plt.subplots(figsize=(1.6 * len(scores) + 2.4, 3.4))
    for column, (label, values) in enumerate(scores.items()):
        values = np.asarray(values, dtype=float)
        offsets = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
        ax.scatter(column + offsets, values, s=36, alpha=0.8, color=f"C{column}", zorder=3)
        for seed, dx, value in zip(range(len(values)) if seeds is None else seeds, offsets, values):
            ax.annotate(str(seed), (column + dx, value), textcoords="offset points", xytext=(5, -3), fontsize=7,
                        color="grey")
        mean = values.mean()
        ax.hlines(mean, column - 0.25, column + 0.25, color="black", lw=2, zorder=2)
        ax.annotate(f"mean {mean:.2f}", (column + 0.27, mean), va="center", fontsize=8)
    ax.set_xticks(range(len(scores)), list(scores))
    ax.set_xlim(-0.6, len(scores) - 0.1)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    return fig
