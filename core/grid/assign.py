"""Snap 2-D points to an R x C grid so that the total squared distance between points and their cells is minimal.

Points are min-max normalised to the unit square and cell centres are spread over the same square (row 0 at the
top, so the grid reads like the scatter plot). ``exact`` solves the whole linear assignment with Jonker-Volgenant
(``lap.lapjv``). ``fast`` splits points and cells recursively in matching proportions down to blocks of at most
``block_cells`` cells, solves each block exactly, then improves the result with exact re-solves over windows whose
tiling shifts from pass to pass (so seams move) until a pass gains less than 0.01%; every re-solve can only lower
the cost, so the result is always a valid one-to-one assignment.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import lap
import numpy as np
from scipy.optimize import linear_sum_assignment

EXACT_MAX_CELLS = 32 * 32  # above this, "auto" uses the fast method
DEFAULT_BLOCK_CELLS = 256
DEFAULT_WINDOW = 16
DEFAULT_REFINE_PASSES = 16
CONVERGED = 1e-4  # stop refining when a pass lowers the cost by less than this fraction


@dataclass(frozen=True)
class GridAssignment:
    """Which cell (row-major index ``row * cols + col``) each point got, and what it cost."""

    cells: np.ndarray
    shape: tuple[int, int]
    cost: float
    method: str
    seconds: float

    @property
    def rows(self) -> np.ndarray:
        return self.cells // self.shape[1]

    @property
    def cols(self) -> np.ndarray:
        return self.cells % self.shape[1]


def grid_shape(n: int, rows: int | None = None, cols: int | None = None) -> tuple[int, int]:
    """A grid with room for ``n`` points: square by default, or completing whichever side is given."""
    if n < 1:
        raise ValueError("a grid needs at least one point")
    if rows and cols:
        if rows * cols < n:
            raise ValueError(f"a {rows}x{cols} grid has {rows * cols} cells, fewer than the {n} images")
        return rows, cols
    if rows:
        return rows, math.ceil(n / rows)
    if cols:
        return math.ceil(n / cols), cols
    side = math.ceil(math.sqrt(n))
    return math.ceil(n / side), side


def normalise(points: np.ndarray) -> np.ndarray:
    """Min-max scale each axis of an (n, 2) array to [0, 1] (a constant axis becomes 0.5)."""
    points = np.asarray(points, dtype=np.float64)
    low, span = points.min(axis=0), np.ptp(points, axis=0)
    return np.where(span > 0, (points - low) / np.where(span > 0, span, 1.0), 0.5)


def cell_centres(shape: tuple[int, int]) -> np.ndarray:
    """(R*C, 2) centres (x, y) in the unit square, row-major, row 0 at the top (largest y)."""
    rows, cols = shape
    y, x = np.divmod(np.arange(rows * cols), cols)
    return np.stack([(x + 0.5) / cols, 1.0 - (y + 0.5) / rows], axis=1)


def assignment_cost(points: np.ndarray, cells: np.ndarray, shape: tuple[int, int]) -> float:
    """Total squared distance between the normalised points and the centres of their cells."""
    return _cost(normalise(points), cell_centres(shape), cells)


def assign(
    points: np.ndarray,
    shape: tuple[int, int] | None = None,
    method: str = "auto",
    *,
    block_cells: int = DEFAULT_BLOCK_CELLS,
    window: int = DEFAULT_WINDOW,
    passes: int = DEFAULT_REFINE_PASSES,
) -> GridAssignment:
    """Assign each of the (n, 2) ``points`` to its own cell of ``shape`` (default: the square ``grid_shape``).

    ``method``: "exact" (lapjv on the whole problem), "fast" (blocks + window refinement) or "auto" (exact up to
    32x32 cells, fast above). ``block_cells``, ``window`` (side, in cells) and ``passes`` tune the fast method."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"expected (n, 2) points, got shape {points.shape}")
    shape = shape or grid_shape(len(points))
    if shape[0] * shape[1] < len(points):
        raise ValueError(f"a {shape[0]}x{shape[1]} grid cannot hold {len(points)} points")
    if method == "auto":
        method = "exact" if shape[0] * shape[1] <= EXACT_MAX_CELLS else "fast"
    if method not in ("exact", "fast"):
        raise ValueError(f"unknown assignment method {method!r}; use exact, fast or auto")
    start = time.perf_counter()
    unit = normalise(points)
    cells = _solve_exact(unit, shape) if method == "exact" else _solve_fast(unit, shape, block_cells, window, passes)
    seconds = time.perf_counter() - start
    return GridAssignment(
        cells=cells, shape=shape, cost=_cost(unit, cell_centres(shape), cells), method=method, seconds=seconds
    )


def _solve_exact(unit: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The whole problem with lap.lapjv: a square cost matrix, empty cells taken by zero-cost dummy points."""
    cells = shape[0] * shape[1]
    cost = np.zeros((cells, cells))
    cost[: len(unit)] = _squared_distances(unit, cell_centres(shape))
    _, point_to_cell, _ = lap.lapjv(cost)
    return point_to_cell[: len(unit)].astype(np.int64)


def _solve_block(unit: np.ndarray, centres: np.ndarray, cell_ids: np.ndarray) -> np.ndarray:
    """Optimal cells (from ``cell_ids``) for the points ``unit``. scipy's rectangular solver needs no dummy points
    and measured about 1.8x faster than lapjv on these 256-cell blocks."""
    rows, columns = linear_sum_assignment(_squared_distances(unit, centres[cell_ids]))
    cells = np.empty(len(unit), dtype=np.int64)
    cells[rows] = cell_ids[columns]
    return cells


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def _solve_fast(unit: np.ndarray, shape: tuple[int, int], block_cells: int, window: int, passes: int) -> np.ndarray:
    centres = cell_centres(shape)
    cells = np.empty(len(unit), dtype=np.int64)
    _split(unit, centres, shape, np.arange(len(unit)), (0, shape[0], 0, shape[1]), block_cells, cells)
    cost = _cost(unit, centres, cells)
    for attempt in range(passes):
        for block in _windows(shape, window, _OFFSETS[attempt % len(_OFFSETS)]):
            _refine_window(unit, centres, shape, block, cells)
        cost, previous = _cost(unit, centres, cells), cost
        if attempt >= len(_OFFSETS) - 1 and previous - cost < CONVERGED * previous:
            break
    return cells


def _cost(unit: np.ndarray, centres: np.ndarray, cells: np.ndarray) -> float:
    return float(((unit - centres[cells]) ** 2).sum())


def _split(
    unit: np.ndarray,
    centres: np.ndarray,
    shape: tuple[int, int],
    point_ids: np.ndarray,
    block: tuple[int, int, int, int],
    block_cells: int,
    cells: np.ndarray,
) -> None:
    """Cut the cell block across its longer side and send each point to the side it lies on, as far as the sides'
    capacities allow (sorted along the cut axis); recurse until a block is small enough to solve exactly."""
    r0, r1, c0, c1 = block
    if (r1 - r0) * (c1 - c0) <= block_cells:
        cells[point_ids] = _solve_block(unit[point_ids], centres, _block_cells(shape, block))
        return
    if c1 - c0 >= r1 - r0:
        middle = (c0 + c1) // 2
        coordinate, boundary = unit[point_ids, 0], middle / shape[1]
        first, second = (r0, r1, c0, middle), (r0, r1, middle, c1)
    else:  # rows grow downwards while y grows upwards: sort by -y
        middle = (r0 + r1) // 2
        coordinate, boundary = -unit[point_ids, 1], -(1.0 - middle / shape[0])
        first, second = (r0, middle, c0, c1), (middle, r1, c0, c1)
    capacity_first = (first[1] - first[0]) * (first[3] - first[2])
    capacity_second = (second[1] - second[0]) * (second[3] - second[2])
    n = len(point_ids)
    n_first = int(np.clip((coordinate < boundary).sum(), n - capacity_second, capacity_first))
    order = point_ids[np.argsort(coordinate, kind="stable")]
    _split(unit, centres, shape, order[:n_first], first, block_cells, cells)
    _split(unit, centres, shape, order[n_first:], second, block_cells, cells)


def _block_cells(shape: tuple[int, int], block: tuple[int, int, int, int]) -> np.ndarray:
    r0, r1, c0, c1 = block
    rows, cols = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
    return (rows * shape[1] + cols).ravel()


_OFFSETS = ((0.0, 0.0), (0.5, 0.5), (0.0, 0.5), (0.5, 0.0))  # window tilings, as fractions of a window


def _windows(shape: tuple[int, int], window: int, offset: tuple[float, float]) -> list[tuple[int, int, int, int]]:
    """Square windows tiling the grid, shifted by ``offset`` windows; successive passes use different shifts so that
    every seam between windows (and between the first blocks) gets re-solved."""
    row_shift, col_shift = int(offset[0] * window), int(offset[1] * window)
    blocks = []
    for r0 in range(-row_shift, shape[0], window):
        for c0 in range(-col_shift, shape[1], window):
            block = (max(r0, 0), min(r0 + window, shape[0]), max(c0, 0), min(c0 + window, shape[1]))
            if block[1] > block[0] and block[3] > block[2]:
                blocks.append(block)
    return blocks


def _refine_window(
    unit: np.ndarray, centres: np.ndarray, shape: tuple[int, int], block: tuple[int, int, int, int], cells: np.ndarray
) -> None:
    """Re-solve exactly among the points that currently sit in ``block``; the cost cannot go up."""
    r0, r1, c0, c1 = block
    inside = np.flatnonzero(
        (cells // shape[1] >= r0) & (cells // shape[1] < r1) & (cells % shape[1] >= c0) & (cells % shape[1] < c1)
    )
    if len(inside) > 1:
        cells[inside] = _solve_block(unit[inside], centres, _block_cells(shape, block))
