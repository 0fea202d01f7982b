"""The 2-D map on real image features: copies of one image cannot be mapped and say so in one line (instead of
PCA dividing by zero variance and scikit-learn's NaN advice), while a few distinct images among many copies map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.grid.assign import assign, grid_shape
from core.grid.collections import from_uploads
from core.grid.embed import embed
from core.grid.quality import grid_knn_preservation, map_knn_preservation
from core.grid.reduce import REDUCERS, reduce


@pytest.fixture(scope="module")
def cifar_bytes(data_dir: Path) -> list[bytes]:
    return [(data_dir / "cifar10" / label / "0000.jpg").read_bytes() for label in ("cat", "ship", "frog")]


@pytest.mark.parametrize("method", REDUCERS)
def test_twenty_copies_of_one_image_are_refused_with_the_reason(mobilenet, cifar_bytes, method: str) -> None:
    copies = embed(from_uploads([(f"cat_{i}.jpg", cifar_bytes[0]) for i in range(20)]), mobilenet)
    assert copies.features.shape == (20, 1280)
    with pytest.raises(ValueError, match=r"^all 20 images look exactly alike \(identical features") as caught:
        reduce(copies.features, method)
    assert "\n" not in str(caught.value) and "NaN" not in str(caught.value)


@pytest.mark.parametrize("method", REDUCERS)
def test_three_distinct_images_among_many_copies_still_map(mobilenet, cifar_bytes, method: str) -> None:
    files = [(f"{i}.jpg", cifar_bytes[i % 3]) for i in range(30)]
    embedded = embed(from_uploads(files), mobilenet)
    points = reduce(embedded.features, method)
    assert points.shape == (30, 2) and np.isfinite(points).all()
    assignment = assign(points, grid_shape(30))
    assert len(set(assignment.cells.tolist())) == 30
    assert map_knn_preservation(embedded.features, points) > 0.9  # copies land together
    assert 0 < grid_knn_preservation(embedded.features, assignment) <= 1


def test_features_with_nan_or_an_unknown_reducer_are_refused() -> None:
    features = np.random.default_rng(0).normal(size=(10, 8))
    features[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        reduce(features)
    with pytest.raises(ValueError, match="unknown reducer 'pca'"):
        reduce(np.random.default_rng(0).normal(size=(10, 8)), "pca")
