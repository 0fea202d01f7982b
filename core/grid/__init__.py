"""The image grid: embed a collection, map it to 2-D, snap the map to a grid, and measure the layout.

Stages live in submodules (collections, embed, reduce, assign, quality, view); ``build_grid`` runs them in order for
the CLI and the benchmark, timing each stage. The page calls the stages itself so it can cache and show each one.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from PIL import Image

from core.grid.assign import GridAssignment, assign, grid_shape
from core.grid.collections import Collection
from core.grid.embed import Embedded, Progress, embed, thumbnail
from core.grid.quality import grid_knn_preservation, map_knn_preservation
from core.grid.reduce import reduce


@dataclass
class GridResult:
    """Everything a grid run produced, with the seconds each stage took."""

    embedded: Embedded
    points: np.ndarray
    assignment: GridAssignment
    seconds: dict[str, float] = field(default_factory=dict)
    exact_cost: float | None = None
    knn_map: float | None = None
    knn_grid: float | None = None

    def summary(self) -> dict:
        """The CLI's --json payload."""
        return {
            "n": len(self.points),
            "skipped": self.embedded.skipped,
            "grid": list(self.assignment.shape),
            "assign_method": self.assignment.method,
            "seconds": {stage: round(value, 3) for stage, value in self.seconds.items()},
            "assignment_cost": round(self.assignment.cost, 4),
            "exact_cost": None if self.exact_cost is None else round(self.exact_cost, 4),
            "knn_preservation": {"map": self.knn_map, "grid": self.knn_grid},
        }


def build_grid(
    collection: Collection,
    model: torch.nn.Module | None,
    *,
    reducer: str = "tsne",
    shape: tuple[int, int] | None = None,
    method: str = "auto",
    compare_exact: bool = False,
    measure_quality: bool = True,
    progress: Progress | None = None,
    **reducer_params,
) -> GridResult:
    """Embed, reduce and snap ``collection``; report the exact optimum (solving it separately when the fast method was
    used and ``compare_exact``) and measure
    k-NN preservation. ``model`` is MobileNetV2 (or None when every embedding is cached or the collection has pixels)."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    embedded = embed(collection, model, progress=progress)
    seconds["embed"] = time.perf_counter() - start
    start = time.perf_counter()
    points = reduce(embedded.features, reducer, **reducer_params)
    seconds["reduce"] = time.perf_counter() - start
    assignment = assign(points, shape or grid_shape(len(points)), method)
    seconds["assign"] = assignment.seconds
    result = GridResult(embedded, points, assignment, seconds)
    if assignment.method == "exact":
        result.exact_cost = assignment.cost
    elif compare_exact:
        result.exact_cost = assign(points, assignment.shape, "exact").cost
    if measure_quality:
        start = time.perf_counter()
        result.knn_map = round(map_knn_preservation(embedded.features, points), 4)
        result.knn_grid = round(grid_knn_preservation(embedded.features, assignment), 4)
        seconds["quality"] = time.perf_counter() - start
    return result


def mosaic(
    collection: Collection, assignment: GridAssignment, cell_size: int = 32, background: int = 245
) -> np.ndarray:
    """The grid as one RGB image: each image's thumbnail in its cell, empty cells left in the background grey."""
    rows, cols = assignment.shape
    canvas = np.full((rows * cell_size, cols * cell_size, 3), background, dtype=np.uint8)
    for index, (row, col) in enumerate(zip(assignment.rows, assignment.cols, strict=True)):
        canvas[row * cell_size : (row + 1) * cell_size, col * cell_size : (col + 1) * cell_size] = thumbnail(
            collection, index, cell_size
        )
    return canvas


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def layout_table(collection: Collection, points: np.ndarray, assignment: GridAssignment) -> pd.DataFrame:
    """One row per image: file, label, its 2-D map position and its grid cell (the layout CSV)."""
    return pd.DataFrame(
        {
            "file": collection.names,
            "label": collection.labels,
            "x": points[:, 0],
            "y": points[:, 1],
            "row": assignment.rows,
            "col": assignment.cols,
        }
    )
