"""Tests for vae_helpers.sample_quality: KID and improved precision/recall on cases with known answers."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")  # headless, before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vae_helpers import sample_quality as Q  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _clusters(n: int, modes: range, seed: int) -> torch.Tensor:
    """n points (n, 2): tight Gaussian clusters (std 0.05) around ten centres on a unit circle (0.6 apart)."""
    angles = torch.arange(10) * (2 * torch.pi / 10)
    centres = torch.stack([angles.cos(), angles.sin()], dim=1)
    g = torch.Generator().manual_seed(seed)
    labels = torch.tensor(list(modes))[torch.randint(len(modes), (n,), generator=g)]
    return centres[labels] + 0.05 * torch.randn(n, 2, generator=g)


@pytest.fixture(scope="module")
def real():
    return _clusters(600, range(10), seed=0)


@pytest.fixture(scope="module")
def same_distribution():
    return _clusters(600, range(10), seed=1)


def _mmd2_double_loop(x: torch.Tensor, y: torch.Tensor) -> float:
    """The unbiased MMD² estimate written term by term from Binkowski et al.'s definition."""
    x, y = x.double(), y.double()
    d = x.shape[1]
    k = lambda a, b: (float(a @ b) / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_on_the_whole_set_equals_a_direct_double_loop():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g) + 0.3
    mean, std = Q.kid(x, y, subsets=4, subset_size=7)
    assert mean == pytest.approx(_mmd2_double_loop(x, y), rel=2e-5, abs=1e-8)
    assert std == pytest.approx(0, abs=1e-6), "every subset is the whole set, so they all agree"


def test_kid_subsets_average_the_double_loop_over_the_same_draws():
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(9, 4, generator=g), 1.5 * torch.randn(8, 4, generator=g)
    mean, std = Q.kid(x, y, subsets=5, subset_size=6, seed=11)
    draws = torch.Generator().manual_seed(11)  # the documented draw order: reference rows, then sample rows
    values = []
    for _ in range(5):
        i, j = torch.randperm(9, generator=draws)[:6], torch.randperm(8, generator=draws)[:6]
        values.append(_mmd2_double_loop(x[i], y[j]))
    values = torch.tensor(values, dtype=torch.float64)
    assert mean == pytest.approx(float(values.mean()), rel=2e-5)
    assert std == pytest.approx(float(values.std(unbiased=False)), rel=2e-4)


def test_a_set_against_itself_and_against_the_same_distribution(real, same_distribution):
    noise = Q.kid(real, 0.1 * torch.randn(600, 2, generator=torch.Generator().manual_seed(5)))[0]
    itself = Q.sample_quality(real, real)
    assert itself["precision"] == 1.0 and itself["recall"] == 1.0
    # the unbiased estimate pairs each shared point with itself across the sets (k(x, x) is the
    # largest kernel value) but never within a set: a set against itself scores slightly below 0
    assert -0.05 * noise < itself["kid"] < 0
    same = Q.sample_quality(real, same_distribution)
    assert abs(same["kid"]) < 3 * same["kid_std"] and same["kid_std"] < 0.03 * noise
    assert same["precision"] > 0.9 and same["recall"] > 0.9


def test_noise_is_far_and_outside_the_manifold(real, same_distribution):
    noise = 0.1 * torch.randn(600, 2, generator=torch.Generator().manual_seed(5))  # inside the ring of clusters
    bad, good = Q.sample_quality(real, noise), Q.sample_quality(real, same_distribution)
    assert bad["kid"] > 20 * max(good["kid"], good["kid_std"])
    assert bad["precision"] < 0.05 and bad["recall"] < 0.05


def test_kid_grows_with_a_shift_of_the_samples(real, same_distribution):
    kids = [Q.kid(real, same_distribution + shift)[0] for shift in (0.0, 0.025, 0.05, 0.1, 0.2)]
    assert all(a < b for a, b in zip(kids, kids[1:])), kids
    precisions = [Q.precision_recall(real, same_distribution + shift)[0] for shift in (0.0, 0.2)]
    assert precisions[1] < precisions[0] - 0.5


def test_mode_dropping_keeps_precision_and_loses_recall(real):
    three_modes = _clusters(600, range(3), seed=2)
    precision, recall = Q.precision_recall(real, three_modes)
    assert precision > 0.9
    assert 0.2 < recall < 0.45, "three modes of ten cover about 30 % of the real set"
    assert Q.kid(real, three_modes)[0] > 10 * abs(Q.kid(real, _clusters(600, range(10), seed=2))[0])


def test_precision_recall_count_points_inside_knn_balls():
    reference = torch.tensor([[0.0], [1.0], [2.0], [3.0], [10.0]])
    assert torch.equal(Q.knn_radii(reference, k=2), torch.tensor([2.0, 1.0, 1.0, 2.0, 8.0]))
    samples = torch.tensor([[1.5], [4.9], [5.1], [17.5], [18.5]])
    # 1.5 is in the ball of 1, 4.9 in that of 3 (radius 2), 5.1 and 17.5 in that of 10 (radius 8); 18.5 in none
    precision, recall = Q.precision_recall(reference, samples, k=2, chunk=2)
    assert precision == pytest.approx(4 / 5)
    # sample radii (2nd neighbour among the samples): 3.6, 3.4, 3.6, 12.4, 13.4: every reference point is covered
    assert recall == 1.0
    assert Q.precision_recall(samples, reference, k=2) == (recall, precision), "swapping the sets swaps P and R"


def test_results_are_deterministic_given_the_seed_and_leave_the_global_rng_alone(real, same_distribution):
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    first = Q.sample_quality(real, same_distribution, seed=3)
    assert torch.equal(torch.rand(2), expected)
    assert Q.sample_quality(real, same_distribution, seed=3) == first
    other = Q.sample_quality(real, same_distribution, seed=4)
    assert other["kid"] != first["kid"] and other["precision"] == first["precision"]


def test_chunking_does_not_change_precision_recall(real, same_distribution):
    assert Q.precision_recall(real, same_distribution, chunk=7) == Q.precision_recall(real, same_distribution)


def test_bad_inputs_are_errors_that_say_what_to_do(real):
    with pytest.raises(ValueError, match="features_of"):
        Q.kid(real, torch.rand(10, 784))
    with pytest.raises(ValueError, match="k=3"):
        Q.knn_radii(torch.rand(3, 2), k=3)


def test_table_and_plot(real, same_distribution):
    results = {"real vs real": Q.sample_quality(real, same_distribution),
               "noise": Q.sample_quality(real, 0.1 * torch.randn(600, 2))}
    text = Q.table(results)
    assert text.splitlines()[1].startswith("real vs real") and "±" in text
    fig = Q.plot_sample_quality(results, title="t")
    assert isinstance(fig, Figure)
    left, right = fig.axes[:2]
    assert [t.get_text() for t in left.get_yticklabels()] == ["real vs real", "noise"]
    assert left.get_xscale() == "log"
    widths = [p.get_width() for p in left.patches]
    assert widths[1] == pytest.approx(results["noise"]["kid"])
    assert widths[0] == pytest.approx(max(results["real vs real"]["kid"], 1e-4))
    precision_marks = right.lines[0].get_xdata()
    assert list(precision_marks) == [results["real vs real"]["precision"], results["noise"]["precision"]]


def test_compare_scores_every_named_set_against_one_reference():
    from vae_helpers.data import load_mnist

    digits = load_mnist(source="embedded", verbose=False).test.x
    reference, same, noise = digits[:150], digits[150:300], torch.rand(150, 784, generator=torch.Generator().manual_seed(0))
    results = Q.compare(reference, {"real": same, "noise": noise}, seed=3)
    assert list(results) == ["real", "noise"], "in the order given"
    features = Q.features_of(reference)
    for name, images in (("real", same), ("noise", noise)):
        assert results[name] == Q.sample_quality(features, Q.features_of(images), seed=3)
    assert results["real"]["precision"] > results["noise"]["precision"] + 0.5


def test_table_shows_the_spread_between_seeds_when_there_is_one(real, same_distribution):
    one = {"set": Q.sample_quality(real, same_distribution, seed=0)}
    seeds = Q.over_seeds([one, {"set": Q.sample_quality(real, 0.1 * torch.randn(600, 2), seed=0)}])
    assert Q.table(one).count("±") == 1, "one seed: only KID's spread over subsets"
    row = Q.table(seeds).splitlines()[1]
    assert row.count("±") == 3
    assert f"{seeds['set']['precision']:.2f} ± {seeds['set']['precision_std']:.2f}" in row
    assert f"{seeds['set']['recall']:.2f} ± {seeds['set']['recall_std']:.2f}" in row
