"""Layout quality on labelled digits: the grid keeps same-label images together far above chance, and keeps
many more of each image's feature-space neighbours close than a shuffled grid does."""

from __future__ import annotations

import numpy as np
import pytest

from core.grid import build_grid
from core.grid.assign import GridAssignment
from core.grid.collections import digits
from core.grid.quality import grid_knn_preservation, label_agreement, nearest, neighbours_of


@pytest.fixture(scope="module")
def digit_grid():
    return build_grid(digits(limit=600), None)


def test_same_label_images_sit_together_far_above_chance(digit_grid) -> None:
    same, chance = label_agreement(digit_grid.assignment, digit_grid.embedded.collection.labels)
    assert 0.09 < chance < 0.11  # ten roughly balanced classes
    assert same > 0.7  # measured about 0.9
    shuffled = _shuffled(digit_grid.assignment)
    shuffled_same, _ = label_agreement(shuffled, digit_grid.embedded.collection.labels)
    assert shuffled_same < 0.2


def test_grid_keeps_feature_neighbours_close(digit_grid) -> None:
    features = digit_grid.embedded.features
    assert 0.3 < digit_grid.knn_grid <= digit_grid.knn_map + 0.05  # snapping costs a little preservation
    shuffled = grid_knn_preservation(features, _shuffled(digit_grid.assignment))
    assert shuffled < 0.05 < 5 * shuffled < digit_grid.knn_grid


def test_nearest_neighbours_exclude_the_image_itself() -> None:
    features = np.array([[0.0], [1.0], [1.5], [10.0]])
    assert nearest(features, 2).tolist() == [[1, 2], [2, 0], [1, 0], [2, 1]]
    assert neighbours_of(features, 3, 2).tolist() == [2, 1]


def _shuffled(assignment: GridAssignment) -> GridAssignment:
    cells = np.random.default_rng(0).permutation(assignment.cells)
    return GridAssignment(cells, assignment.shape, 0.0, "shuffled", 0.0)
