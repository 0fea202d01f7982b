"""Grid assignment on real 2-D maps (t-SNE of scikit-learn's digits): one cell per point, the exact solver is
optimal, and the fast block method stays within 3% of the exact optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from core.grid.assign import assign, assignment_cost, cell_centres, grid_shape, normalise
from core.grid.collections import digits
from core.grid.reduce import reduce


@pytest.fixture(scope="module")
def digit_map() -> np.ndarray:
    """t-SNE map of the first 1024 digits (real, clustered points)."""
    return reduce(digits(limit=1024).pixels, "tsne")


def assert_one_cell_each(cells: np.ndarray, n: int, shape: tuple[int, int]) -> None:
    assert cells.shape == (n,)
    assert len(np.unique(cells)) == n
    assert cells.min() >= 0 and cells.max() < shape[0] * shape[1]


@pytest.mark.parametrize("method", ["exact", "fast"])
def test_every_point_gets_exactly_one_cell(digit_map: np.ndarray, method: str) -> None:
    for n, shape in ((1024, (32, 32)), (1000, (25, 48)), (700, (40, 20))):
        result = assign(digit_map[:n], shape, method)
        assert_one_cell_each(result.cells, n, shape)
        assert result.cost == pytest.approx(assignment_cost(digit_map[:n], result.cells, shape))


@pytest.mark.parametrize(("n", "shape"), [(6, (2, 3)), (5, (2, 3)), (7, (2, 4))])
def test_exact_solver_matches_brute_force(digit_map: np.ndarray, n: int, shape: tuple[int, int]) -> None:
    points = digit_map[100 : 100 + n]
    costs = ((normalise(points)[:, None, :] - cell_centres(shape)[None, :, :]) ** 2).sum(axis=2)
    every_assignment = np.array(list(itertools.permutations(range(shape[0] * shape[1]), n)))
    brute = costs[np.arange(n), every_assignment].sum(axis=1).min()
    result = assign(points, shape, "exact")
    assert_one_cell_each(result.cells, n, shape)
    assert result.cost == pytest.approx(brute, rel=1e-9)


def test_fast_method_is_within_three_percent_of_exact_on_1024_real_points(digit_map: np.ndarray) -> None:
    exact = assign(digit_map, (32, 32), "exact")
    fast = assign(digit_map, (32, 32), "fast")
    assert fast.method == "fast"
    assert exact.cost <= fast.cost + 1e-9  # the exact optimum is a lower bound
    assert fast.cost <= 1.03 * exact.cost
    initial_blocks_only = assign(digit_map, (32, 32), "fast", passes=0)
    assert fast.cost <= initial_blocks_only.cost  # refinement never makes it worse


def test_auto_uses_exact_up_to_32x32_and_fast_above(digit_map: np.ndarray) -> None:
    assert assign(digit_map[:900], (30, 30)).method == "exact"
    assert assign(digit_map, (33, 33)).method == "fast"


def test_grid_shape_and_bad_requests() -> None:
    assert grid_shape(1024) == (32, 32)
    assert grid_shape(1797) == (42, 43)
    assert grid_shape(10, rows=2) == (2, 5)
    assert grid_shape(10, cols=3) == (4, 3)
    with pytest.raises(ValueError, match="fewer than"):
        grid_shape(10, rows=3, cols=3)
    with pytest.raises(ValueError, match="cannot hold"):
        assign(np.zeros((10, 2)), (3, 3))
    with pytest.raises(ValueError, match="unknown assignment method"):
        assign(np.zeros((4, 2)), (2, 2), "greedy")
