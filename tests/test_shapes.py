"""The synthetic shapes set: shapes, dtypes, ranges, seeding, and that each factor does what it says."""

from __future__ import annotations

import pytest
import torch

from vae_helpers import shapes


def _image(factors):
    return shapes.render(torch.tensor([factors])).reshape(28, 28)


def _centre_of_mass(image):
    grid = torch.arange(28, dtype=torch.float32)
    total = image.sum()
    return (image.sum(dim=0) * grid).sum() / total, (image.sum(dim=1) * grid).sum() / total


def test_make_shapes_returns_images_and_factors():
    data = shapes.make_shapes(500, seed=3)
    assert data.x.shape == (500, 784) and data.x.dtype == torch.float32
    assert data.factors.shape == (500, 4) and data.factors.dtype == torch.int64
    assert 0 <= float(data.x.min()) and float(data.x.max()) <= 1
    assert data.names == ("shape", "size", "x", "y") and data.sizes == (3, 4, 8, 8)
    for k, size in enumerate(data.sizes):
        assert set(data.factors[:, k].tolist()) == set(range(size))
    assert len(data) == 500 and "500 images" in repr(data)


def test_make_shapes_is_seeded():
    a, b, c = shapes.make_shapes(50, seed=1), shapes.make_shapes(50, seed=1), shapes.make_shapes(50, seed=2)
    assert torch.equal(a.x, b.x) and torch.equal(a.factors, b.factors)
    assert not torch.equal(a.factors, c.factors)


def test_make_shapes_does_not_touch_the_global_random_state():
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    shapes.make_shapes(10, seed=5)
    assert torch.equal(torch.rand(2), expected)


def test_the_full_grid_has_every_combination_once():
    data = shapes.make_shapes()
    assert len(data) == 3 * 4 * 8 * 8
    assert len({tuple(f) for f in data.factors.tolist()}) == len(data)
    # every combination gives a different image
    assert torch.cdist(data.x, data.x).fill_diagonal_(1.0).min() > 0.1


def test_images_are_the_rendering_of_their_factors():
    data = shapes.make_shapes(20, seed=0)
    assert torch.equal(shapes.render(data.factors), data.x)


@pytest.mark.parametrize("shape", range(3))
def test_x_and_y_move_the_centre_of_mass(shape):
    for index in range(1, 6):  # away from the borders, which clip the soft edges
        x0, y0 = _centre_of_mass(_image([shape, 1, index, 3]))
        x1, y1 = _centre_of_mass(_image([shape, 1, index + 1, 3]))
        assert 1.5 < x1 - x0 < 2.5 and abs(y1 - y0) < 0.05
        x0, y0 = _centre_of_mass(_image([shape, 1, 3, index]))
        x1, y1 = _centre_of_mass(_image([shape, 1, 3, index + 1]))
        assert 1.5 < y1 - y0 < 2.5 and abs(x1 - x0) < 0.05


@pytest.mark.parametrize("shape", range(3))
def test_size_grows_the_ink(shape):
    ink = [float(_image([shape, size, 4, 4]).sum()) for size in range(4)]
    assert all(b > 1.2 * a for a, b in zip(ink, ink[1:]))


def test_shapes_differ_at_the_same_size_and_place():
    square, circle, triangle = (_image([s, 3, 4, 4]) for s in range(3))
    for a, b in ((square, circle), (square, triangle), (circle, triangle)):
        assert (a - b).abs().sum() > 10
    # a square fills its corners, a circle does not
    assert square[15 - 4, 15 - 4] > circle[15 - 4, 15 - 4] + 0.2
    # the triangle points up: more ink below its centre row than above
    assert triangle[16:].sum() > triangle[:15].sum()


def test_render_rejects_bad_factors():
    with pytest.raises(ValueError, match="must be \\(N, 4\\)"):
        shapes.render(torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="'size' must be in range\\(4\\)"):
        shapes.render(torch.tensor([[0, 4, 0, 0]]))
