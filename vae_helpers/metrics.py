"""Numbers behind the course's claims about latent spaces.

All functions take plain tensors: codes (N, d), images (N, 784).
"""

from __future__ import annotations

import math

import torch

from .samplers import aggregate_posterior


def pca_2d(codes: torch.Tensor) -> torch.Tensor:
    """Project codes (N, d) onto their two principal directions -> (N, 2).

    Codes that are already 2-D are only centred.
    """
    centred = codes - codes.mean(dim=0)
    if codes.shape[1] <= 2:
        return centred
    # exact SVD (d is small): torch.pca_lowrank is a randomized approximation that
    # can miss the top-2 plane and draws from the global RNG
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return centred @ vh[:2].T


def nearest_distance(points: torch.Tensor, reference: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Euclidean distance from each point (N, D) to its nearest row of reference (M, D) -> (N,)."""
    return torch.cat([torch.cdist(chunk, reference).min(dim=1).values for chunk in points.split(batch_size)])


def nearest_other_distance(codes: torch.Tensor) -> torch.Tensor:
    """Euclidean distance from each row of codes (N, D) to its nearest *other* row -> (N,).

    Exact k-nearest-neighbour search with scikit-learn's trees: memory grows with N, not
    N^2 (60,000 training codes would need a 14 GB distance matrix at once).
    """
    from sklearn.neighbors import NearestNeighbors

    x = codes.detach().cpu().double().numpy()
    distances, _ = NearestNeighbors(n_neighbors=2).fit(x).kneighbors(x)  # column 0: the code itself
    return torch.as_tensor(distances[:, 1], dtype=codes.dtype, device=codes.device)


def empty_space_fraction(samples: torch.Tensor, codes: torch.Tensor, quantile: float = 0.99) -> float:
    """Fraction of samples (n, d) that fall in the gaps between codes (N, d).

    A sample is "in a gap" when its nearest code is farther away than ``quantile``
    of the codes are from their own nearest neighbour.
    """
    threshold = nearest_other_distance(codes).quantile(quantile)
    return (nearest_distance(samples, codes) > threshold).float().mean().item()


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 11) -> torch.Tensor:
    """Points on the straight line from z0 to z1, both (d,) -> (steps, d)."""
    t = torch.linspace(0, 1, steps, device=z0.device).unsqueeze(1)
    return (1 - t) * z0 + t * z1


def path_step_ratio(images: torch.Tensor) -> float:
    """Largest over mean pixel-space step along a path of images (steps, 784).

    1.0 is a perfectly even morph; a large value means the path jumps somewhere.
    """
    steps = (images[1:] - images[:-1]).norm(dim=1)
    return (steps.max() / steps.mean()).item()


def aggregate_kl(mu: torch.Tensor, logvar: torch.Tensor, n: int = 2000, seed: int = 0,
                 batch_size: int = 250) -> dict[str, float]:
    """How far the aggregate posterior q(z) = 1/N sum_i q(z|x_i) is from the prior N(0, I), in nats.

    mu, logvar: (N, d) encoder outputs of N images. Returns

    - ``"mean_kl"``: the average KL(q(z|x_i) || p(z)), the KL term of the loss;
    - ``"bound"``: ELBO surgery (Hoffman & Johnson, 2016): the average KL splits into the
      mutual information I(x; z) <= log N plus KL(q(z) || p(z)), so
      KL(q(z) || p(z)) >= mean_kl - log N;
    - ``"estimate"``: a Monte Carlo estimate of KL(q(z) || p(z)) from n draws of q(z),
      with log q(z) computed exactly as a log-mean-exp over the N clouds.
    """
    mu, logvar = mu.detach().cpu().double(), logvar.detach().cpu().double()
    count, d = mu.shape
    mean_kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)).mean().item()
    z = aggregate_posterior(mu, logvar, n, seed=seed).double()
    log_2pi = math.log(2 * math.pi)
    inv_var = (-logvar).exp()
    log_q = []
    for zb in z.split(batch_size):  # (b, N) log-densities of every cloud, without the constant
        sq = (zb ** 2) @ inv_var.T - 2 * zb @ (mu * inv_var).T + (mu ** 2 * inv_var).sum(dim=1)
        log_q.append(torch.logsumexp(-0.5 * (sq + logvar.sum(dim=1)), dim=1) - math.log(count))
    log_q = torch.cat(log_q) - 0.5 * d * log_2pi
    log_p = -0.5 * (z ** 2).sum(dim=1) - 0.5 * d * log_2pi
    return {"mean_kl": mean_kl, "bound": mean_kl - math.log(count), "estimate": (log_q - log_p).mean().item()}


def nearest_cloud_distance(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                           batch_size: int = 4096) -> torch.Tensor:
    """How far each code is from the nearest encoder cloud, in that cloud's own standard deviations.

    z: (n, d) codes; mu, logvar: (N, d) the clouds N(mu_i, diag exp(logvar_i)) of N images.
    Returns (n,): min over i of the Mahalanobis distance sqrt(sum_j (z_j - mu_ij)^2 / sigma_ij^2).
    A draw from cloud i lies at distance ||eps|| from it, eps ~ N(0, I_d).
    """
    z, mu, logvar = z.detach().cpu().double(), mu.detach().cpu().double(), logvar.detach().cpu().double()
    inv_var = (-logvar).exp()
    best = torch.full((len(z),), math.inf, dtype=torch.float64)
    for start in range(0, len(mu), batch_size):
        m, p = mu[start:start + batch_size], inv_var[start:start + batch_size]
        sq = (z ** 2) @ p.T - 2 * z @ (m * p).T + (m ** 2 * p).sum(dim=1)  # (n, chunk)
        best = torch.minimum(best, sq.min(dim=1).values)
    return best.clamp_min(0).sqrt().float()


def cloud_radius(d: int, share: float = 0.99, n: int = 100_000, seed: int = 0) -> float:
    """The distance, in standard deviations, within which ``share`` of a d-dimensional Gaussian's draws fall.

    The ``share`` quantile of ||eps|| for eps ~ N(0, I_d), estimated from n draws (a chi distribution
    with d degrees of freedom; d = 8, share = 0.99: about 4.5).
    """
    eps = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return eps.norm(dim=1).quantile(share).item()
