"""Sample quality the way the field measures it: KID, precision and recall in a fixed feature space.

A generator is judged by comparing a set of its samples with a set of real digits, both
mapped to the 128 penultimate features of the frozen digit network of
:mod:`vae_helpers.evaluator`, each feature vector scaled to length sqrt(128)
(:func:`features_of`). Two standard measures:

- **KID**, the kernel inception distance (Binkowski et al., 2018, "Demystifying MMD
  GANs"): the squared maximum mean discrepancy between the two feature distributions
  with the polynomial kernel ``k(a, b) = (a.b / d + 1)^3`` (d = 128; with the scaling
  above, ``a.b / d`` is the cosine of the angle between a and b), estimated without
  bias on random subsets and reported as the mean and standard deviation over subsets.
  0 means "same distribution" (an estimate can dip slightly below 0); larger is worse.
  Unlike FID it has no bias that depends on the sample size, which suits small sets.
- **Precision and recall** (Kynkaanniemi et al., 2019, "Improved precision and recall
  metric for assessing generative models"): each set's manifold is the union of balls
  around its points, of radius the distance to their k-th nearest neighbour (k = 3)
  in the same set. Precision is the share of samples inside the real manifold
  (are the samples realistic?); recall is the share of real digits inside the samples'
  manifold (do the samples cover the variety of real digits?).

How the notebooks use them: every set is compared with the *same* reference set and at
the *same size* (for example 1,000 samples against 1,000 real test digits), because
precision and recall, and the spread of KID, depend on the sample sizes. The yardstick
is the real-vs-real row: real test digits against as many real training digits. A
generator that matches it is as good as this feature space can tell. Measured with the
shipped evaluator, 1,000 vs 1,000: KID 0.010 +- 0.009 on the embedded data, 0.037 +-
0.008 on full MNIST (precision / recall 0.86 / 0.88 and 0.83 / 0.87); pixel noise 3.3,
blobs 0.62, blends of two digits 0.22 (precision 0.07, 0.02, 0.40). ``kid_std`` is the
spread over subsets of the two given sets; other draws of 1,000 real digits vary more
(full MNIST, three disjoint test/train pairs: 0.011, 0.018, 0.038), so compare rows
drawn the same way, and repeat with several seeds when the differences are small. The
two sets must be independent draws: a set compared with itself (or sharing images with
it) gets a KID slightly below 0, since the estimate then pairs images with themselves.

Why the features are scaled to one length: the network's raw activations are large for
a confident digit and small for anything it does not recognise, so noise, blobs and
blends all land near the origin, and so do faint real digits, whose k-NN balls are
wide. In raw activations (1,000 vs 1,000, embedded data) pixel noise scored a precision
of 0.98 and blobs 0.76; on the sphere they score 0.02 and 0.02, real test digits 0.86,
while KID ranks the sets the same way in both. On the sphere the measures look at what
the network sees in an image (which strokes, which digit), not at how strongly.

KID is computed here rather than with torchmetrics' ``KernelInceptionDistance``: that
class works (it accepts a custom feature module without torch-fidelity), but it draws
its subsets from the global random generator (no seed), warns on every construction,
recomputes the reference features on each comparison and adds two dependencies for ten
lines of arithmetic. The estimator below is the same formula (its tests check it
against a direct double loop).
"""

from __future__ import annotations

import torch

from .evaluator import features, load_evaluator

KID_DEGREE = 3


def features_of(images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The feature space of the measures: images (N, 784) in [0, 1] -> (N, 128) float32.

    The shipped evaluator's penultimate activations, each row scaled to length sqrt(128)
    (an all-zero row, which a blank image could give, stays zero).
    """
    raw = features(load_evaluator(), images, batch_size=batch_size)
    return torch.nn.functional.normalize(raw, dim=1) * raw.shape[1] ** 0.5


def _check_features(reference: torch.Tensor, samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if reference.ndim != 2 or samples.ndim != 2 or reference.shape[1] != samples.shape[1]:
        raise ValueError(f"expected two feature sets (N, D) with the same D, got {tuple(reference.shape)} "
                         f"and {tuple(samples.shape)}; map images to features with features_of(images) first")
    return reference.detach().cpu().float(), samples.detach().cpu().float()


def kid(reference: torch.Tensor, samples: torch.Tensor, *, subsets: int = 100, subset_size: int = 500,
        seed: int = 0) -> tuple[float, float]:
    """KID between feature sets reference (M, D) and samples (N, D) -> (mean, std) over ``subsets``.

    Each subset draws ``min(subset_size, M, N)`` rows of each set without replacement and
    computes the unbiased MMD² estimate with the kernel ``(a.b / D + 1)^3``. The kernel
    matrices are computed once; every subset is then two small matrix products.
    Deterministic given ``seed``; the global random state is not touched.
    """
    x, y = _check_features(reference, samples)
    m, n, d = len(x), len(y), x.shape[1]
    size = min(subset_size, m, n)
    if size < 2:
        raise ValueError("KID needs at least 2 points in each set")
    k_xx = (x @ x.T / d + 1) ** KID_DEGREE
    k_yy = (y @ y.T / d + 1) ** KID_DEGREE
    k_xy = (x @ y.T / d + 1) ** KID_DEGREE
    g = torch.Generator().manual_seed(seed)
    u = torch.zeros(subsets, m)  # u[s] indicates the reference rows of subset s
    v = torch.zeros(subsets, n)
    for s in range(subsets):
        u[s, torch.randperm(m, generator=g)[:size]] = 1
        v[s, torch.randperm(n, generator=g)[:size]] = 1
    # float32 products, float64 sums: within 1e-7 of an all-float64 computation, twice as fast
    within_x = ((u @ k_xx) * u).double().sum(1) - (u @ k_xx.diagonal()).double()  # sum over i != j
    within_y = ((v @ k_yy) * v).double().sum(1) - (v @ k_yy.diagonal()).double()
    across = ((u @ k_xy) * v).double().sum(1)
    mmd2 = (within_x + within_y) / (size * (size - 1)) - 2 * across / size ** 2
    return float(mmd2.mean()), float(mmd2.std(unbiased=False))


def _pairwise_distances(a: torch.Tensor, b: torch.Tensor, chunk: int):
    """Yield (start, distances (<= chunk, len(b))) for row blocks of a."""
    for start in range(0, len(a), chunk):
        yield start, torch.cdist(a[start:start + chunk], b)


def knn_radii(points: torch.Tensor, k: int = 3, chunk: int = 2048) -> torch.Tensor:
    """Distance (N,) from each of points (N, D) to its k-th nearest neighbour among the others."""
    if len(points) <= k:
        raise ValueError(f"need more than k={k} points to find k nearest neighbours, got {len(points)}")
    radii = torch.empty(len(points), dtype=points.dtype)
    for start, dist in _pairwise_distances(points, points, chunk):
        # the smallest distance is the point to itself (0): the k-th neighbour is at position k
        radii[start:start + len(dist)] = dist.topk(k + 1, dim=1, largest=False).values[:, k]
    return radii


def _share_inside(queries: torch.Tensor, support: torch.Tensor, radii: torch.Tensor, chunk: int) -> float:
    """Share of queries (Q, D) within radii[i] of some support[i] (S, D)."""
    inside = 0
    for _, dist in _pairwise_distances(queries, support, chunk):
        inside += int((dist <= radii[None, :]).any(dim=1).sum())
    return inside / len(queries)


def realistic(reference: torch.Tensor, samples: torch.Tensor, *, k: int = 3, chunk: int = 2048) -> torch.Tensor:
    """Per-sample precision: for each of samples (N, D), is it inside the k-NN ball of some reference point (M, D)?

    Returns a bool tensor (N,); its mean is the precision of :func:`precision_recall`.
    """
    x, y = _check_features(reference, samples)
    radii = knn_radii(x, k, chunk)
    return torch.cat([(dist <= radii[None, :]).any(dim=1) for _, dist in _pairwise_distances(y, x, chunk)])


def precision_recall(reference: torch.Tensor, samples: torch.Tensor, *, k: int = 3,
                     chunk: int = 2048) -> tuple[float, float]:
    """Improved precision and recall of samples (N, D) against reference (M, D), k-NN manifolds -> (P, R).

    Precision: share of samples within the k-NN radius of some reference point.
    Recall: share of reference points within the k-NN radius of some sample.
    Exact (all pairwise distances, in row chunks of ``chunk``), hence deterministic.
    """
    x, y = _check_features(reference, samples)
    precision = _share_inside(y, x, knn_radii(x, k, chunk), chunk)
    recall = _share_inside(x, y, knn_radii(y, k, chunk), chunk)
    return precision, recall


def sample_quality(reference_features: torch.Tensor, sample_features: torch.Tensor, *,
                   subsets: int = 100, subset_size: int = 500, k: int = 3, seed: int = 0) -> dict[str, float]:
    """KID and precision/recall of a sample set against a reference set, both features (N, D).

    Returns ``{"kid": mean, "kid_std": std over subsets, "precision": P, "recall": R}``.
    Compare sets of equal size (e.g. 1,000 vs 1,000) and read the numbers against the
    real-vs-real row (real test digits vs as many real training digits).
    """
    kid_mean, kid_std = kid(reference_features, sample_features, subsets=subsets,
                            subset_size=subset_size, seed=seed)
    precision, recall = precision_recall(reference_features, sample_features, k=k)
    return {"kid": kid_mean, "kid_std": kid_std, "precision": precision, "recall": recall}


def compare(reference: torch.Tensor, sets: dict[str, torch.Tensor], *, seed: int = 0) -> dict[str, dict[str, float]]:
    """:func:`sample_quality` of each named image set (n, 784) against the same real images (N, 784).

    The reference's features are computed once. Returns ``{name: {"kid", "kid_std",
    "precision", "recall"}}`` in the order of ``sets``, ready for :func:`table`.
    """
    reference_features = features_of(reference)
    return {name: sample_quality(reference_features, features_of(images), seed=seed) for name, images in sets.items()}


def table(results: dict[str, dict[str, float]]) -> str:
    """A text table of named :func:`sample_quality` results, one row each.

    Rows combined by :func:`over_seeds` also show the spread of precision and recall between seeds.
    """
    width = max([len(name) for name in results] + [4])
    spread = any("precision_std" in r for r in results.values())
    cols = (9, 6) if not spread else (16, 13)
    lines = [f"{'set':<{width}}  {'KID':>17}  {'precision':>{cols[0]}}  {'recall':>{cols[1]}}"]
    for name, r in results.items():
        shares = [f"{r[key]:.2f}" + (f" ± {r[key + '_std']:.2f}" if key + "_std" in r else "")
                  for key in ("precision", "recall")]
        lines.append(f"{name:<{width}}  {r['kid']:>8.4f} ± {r['kid_std']:<6.4f}  "
                     f"{shares[0]:>{cols[0]}}  {shares[1]:>{cols[1]}}")
    return "\n".join(lines)


def plot_sample_quality(results: dict[str, dict[str, float]], title: str = "sample quality", *,
                        log_kid: bool = True):
    """Two panels, one row per named :func:`sample_quality` result (in order, first on top).

    Left: KID as a bar with the spread over subsets as an error bar (log scale by
    default: the rows can differ by orders of magnitude). Right: precision (circle) and
    recall (square) on [0, 1]. Returns the figure.
    """
    import matplotlib.pyplot as plt

    names = list(results)
    rows = range(len(names))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 0.45 * len(names) + 1.2), sharey=True,
                                      gridspec_kw={"width_ratios": [3, 2]})
    floor = 1e-4  # a bar needs a positive length on a log axis; estimates can be slightly negative
    kids = [max(r["kid"], floor) if log_kid else r["kid"] for r in results.values()]
    stds = [r["kid_std"] for r in results.values()]
    lower = [min(s, k - floor) if log_kid else s for k, s in zip(kids, stds)]
    left.barh(rows, kids, xerr=[lower, stds], color="tab:blue", alpha=0.75, capsize=3)
    if log_kid:
        left.set_xscale("log")
    left.set_yticks(list(rows), names)
    left.invert_yaxis()
    left.set_xlabel("KID (lower is better)")
    right.plot([r["precision"] for r in results.values()], rows, "o", color="tab:green", label="precision")
    right.plot([r["recall"] for r in results.values()], rows, "s", color="tab:orange", label="recall",
               markerfacecolor="none")
    right.set_xlim(-0.05, 1.05)
    right.set_xlabel("share (higher is better)")
    right.legend(loc="lower right", fontsize=8)
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig



def over_seeds(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Combine named :func:`sample_quality` results of several seeds (one dict per seed) into one.

    Each row's KID, precision and recall become their mean over the seeds, and ``kid_std``
    becomes the spread of KID between seeds (the sample standard deviation of the per-seed
    means), which is what a seed-to-seed comparison has to beat; ``precision_std`` and
    ``recall_std`` are added likewise. One seed gives spreads of 0.
    """
    if not runs or any(run.keys() != runs[0].keys() for run in runs):
        raise ValueError("over_seeds needs one result per seed, all with the same rows")
    combined = {}
    for name in runs[0]:
        row = {}
        for key in ("kid", "precision", "recall"):
            values = torch.tensor([run[name][key] for run in runs], dtype=torch.float64)
            row[key] = values.mean().item()
            row[key + "_std"] = values.std().item() if len(runs) > 1 else 0.0
        combined[name] = row
    return combined
