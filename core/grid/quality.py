"""How well a layout keeps similar images together.

k-NN preservation: for each image, the share of its ``k`` nearest neighbours in feature space that land in its
layout neighbourhood. On the grid the neighbourhood is the (2 * radius + 1)^2 window around its cell; on the raw
2-D map it is the same number of nearest points ((2 * radius + 1)^2 - 1), so both numbers are comparable."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KDTree, NearestNeighbors

from core.grid.assign import GridAssignment


def nearest(features: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each row's k nearest other rows (Euclidean)."""
    k = min(k, len(features) - 1)
    _, indices = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features)
    return _drop_self(indices, np.arange(len(features)), k)


def neighbours_of(features: np.ndarray, index: int, k: int) -> np.ndarray:
    """The k images most similar to image ``index`` (nearest first)."""
    k = min(k, len(features) - 1)
    _, indices = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features[index : index + 1])
    return _drop_self(indices, np.array([index]), k)[0]


def map_knn_preservation(features: np.ndarray, points: np.ndarray, k: int = 10, radius: int = 2) -> float:
    """k-NN preservation of a 2-D map, whose neighbourhood is the (2r+1)^2 - 1 nearest points."""
    neighbourhood = nearest(np.asarray(points, dtype=np.float64), (2 * radius + 1) ** 2 - 1)
    return _share_kept(nearest(features, k), [set(row) for row in neighbourhood])


def grid_knn_preservation(features: np.ndarray, assignment: GridAssignment, k: int = 10, radius: int = 2) -> float:
    """k-NN preservation of a grid, whose neighbourhood is the (2r+1) x (2r+1) window of cells."""
    return _share_kept(nearest(features, k), grid_neighbourhoods(assignment, radius))


def grid_neighbourhoods(assignment: GridAssignment, radius: int, metric: str = "chebyshev") -> list[set[int]]:
    """For each image, the other images within distance ``radius`` of its cell (chebyshev: a square window;
    manhattan with radius 1: the four side-by-side cells)."""
    positions = np.stack([assignment.rows, assignment.cols], axis=1).astype(np.float64)
    found = KDTree(positions, metric=metric).query_radius(positions, r=radius + 0.5)
    return [set(row.tolist()) - {i} for i, row in enumerate(found)]


def label_agreement(assignment: GridAssignment, labels: list[str]) -> tuple[float, float]:
    """Share of side-by-side grid neighbours (4-neighbourhood) with the same label, and that share by chance
    (two distinct images drawn at random)."""
    labels_array = np.asarray(labels)
    neighbours = grid_neighbourhoods(assignment, 1, metric="manhattan")
    pairs = [(i, j) for i, row in enumerate(neighbours) for j in row if i < j]
    if not pairs:
        raise ValueError("no two images are side by side on this grid")
    same = np.mean([labels_array[i] == labels_array[j] for i, j in pairs])
    _, counts = np.unique(labels_array, return_counts=True)
    n = len(labels_array)
    chance = float((counts * (counts - 1)).sum() / (n * (n - 1)))
    return float(same), chance


def _share_kept(knn: np.ndarray, neighbourhoods: list[set[int]]) -> float:
    kept = [len(set(row.tolist()) & hood) for row, hood in zip(knn, neighbourhoods, strict=True)]
    return float(np.sum(kept) / knn.size)


def _drop_self(indices: np.ndarray, query_ids: np.ndarray, k: int) -> np.ndarray:
    """Remove each query's own index (usually, but with duplicate images not always, the first hit)."""
    return np.asarray([row[row != query][:k] for row, query in zip(indices, query_ids, strict=True)])
