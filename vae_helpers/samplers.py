"""Ways to pick latent codes to decode: where you sample decides what you get.

Every sampler returns codes (n, d) on the CPU and is seeded, so a notebook's table
of "sampler x model" rows can be repeated exactly.

For a plain autoencoder there is no prior, so "pick a random point" has several
meanings, from naive to informed (Ghosh et al. 2020, "From Variational to
Deterministic Autoencoders", fit a density to the codes after training):

- :func:`standard_normal`: z ~ N(0, I), the VAE's prior, used blindly on any model;
- :func:`uniform_in_box`: uniform in the bounding box of the training codes;
- :func:`fitted_gaussian`: one full-covariance Gaussian fitted to the codes;
- :func:`fitted_mixture`: a Gaussian mixture (10 components by default) fitted to the codes.

For a VAE, :func:`standard_normal` is its prior and :func:`aggregate_posterior`
draws from the encoder's clouds of training images, q(z) = 1/N sum_i q(z | x_i).
:func:`midpoints` gives the middles of straight paths between the codes of pairs
of images with different labels.
"""

from __future__ import annotations

import torch

__all__ = ["standard_normal", "uniform_in_box", "fitted_gaussian", "fitted_mixture",
           "aggregate_posterior", "different_label_pairs", "midpoints"]


def standard_normal(n: int, d: int, seed: int = 0) -> torch.Tensor:
    """n codes from N(0, I) in d dimensions -> (n, d)."""
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def uniform_in_box(codes: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """n points drawn uniformly in the bounding box of codes (N, d) -> (n, d).

    This is "pick a random point" for a latent space that has no prior: any point
    between the smallest and largest code on every axis.
    """
    low, high = codes.min(dim=0).values, codes.max(dim=0).values
    u = torch.rand(n, codes.shape[1], generator=torch.Generator().manual_seed(seed))
    return low + (high - low) * u.to(codes.device)


def fitted_gaussian(codes: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """n draws from the full-covariance Gaussian fitted to codes (N, d) -> (n, d)."""
    codes = codes.detach().cpu().double()
    mean, cov = codes.mean(dim=0), torch.cov(codes.T)
    scale = torch.linalg.cholesky(cov + 1e-9 * torch.eye(len(mean), dtype=cov.dtype))
    eps = torch.randn(n, len(mean), generator=torch.Generator().manual_seed(seed), dtype=cov.dtype)
    return (mean + eps @ scale.T).float()


def fitted_mixture(codes: torch.Tensor, n: int, components: int = 10, seed: int = 0) -> torch.Tensor:
    """n draws from a full-covariance Gaussian mixture (scikit-learn) fitted to codes (N, d) -> (n, d).

    The draws are shuffled: scikit-learn returns them grouped by component.
    """
    from sklearn.mixture import GaussianMixture

    mixture = GaussianMixture(components, covariance_type="full", random_state=seed)
    mixture.fit(codes.detach().cpu().double().numpy())
    draws, _ = mixture.sample(n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return torch.from_numpy(draws).float()[order]


def aggregate_posterior(mu: torch.Tensor, logvar: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """n codes from the encoder's clouds: pick a training image at random, then z ~ q(z|x).

    mu, logvar: (N, d) encoder outputs of the training images -> (n, d).
    """
    g = torch.Generator().manual_seed(seed)
    mu, logvar = mu.detach().cpu(), logvar.detach().cpu()
    picked = torch.randint(len(mu), (n,), generator=g)
    return mu[picked] + (0.5 * logvar[picked]).exp() * torch.randn(n, mu.shape[1], generator=g)


def different_label_pairs(labels: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """n random pairs of indices (n, 2) into labels (N,) whose two labels differ."""
    g = torch.Generator().manual_seed(seed)
    pairs = torch.randint(len(labels), (n, 2), generator=g)
    same = labels[pairs[:, 0]] == labels[pairs[:, 1]]
    while same.any():
        pairs[same, 1] = torch.randint(len(labels), (int(same.sum()),), generator=g)
        same = labels[pairs[:, 0]] == labels[pairs[:, 1]]
    return pairs


def midpoints(codes: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    """The middle of the straight path between the codes (N, d) of each pair (n, 2) -> (n, d)."""
    codes = codes.detach().cpu()
    return 0.5 * (codes[pairs[:, 0]] + codes[pairs[:, 1]])
