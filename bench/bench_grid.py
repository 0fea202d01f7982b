"""Benchmark of the image grid, each method beside a named baseline in one run.

1. t-SNE: openTSNE (our reducer) vs scikit-learn's TSNE on the same 1,024 MobileNetV2 embeddings (PCA 50).
2. Snapping: our fast block method vs lap.lapjv (exact) and scipy's linear_sum_assignment (exact) on the same
   1,024 points (32x32) and 4,096 points (64x64): time ratio and cost ratio.
3. Snapping 10,000 points on 100x100 (fast method only; the exact solvers need a 10,000^2 matrix).
4. End to end: 1,024 photos with cached embeddings -> map -> grid.

Points: 1,024 = the t-SNE map of the MobileNetV2 embeddings of the first 1,024 Hey-Waldo 64 px tiles;
4,096 = the t-SNE map of the pixels (16x16 RGB) of 4,096 Hey-Waldo 64 px tiles (real images, no network, so the
benchmark does not need 4,096 CNN passes); 10,000 = a clustered synthetic mixture (the data has no 10,000 images).
Wall and CPU seconds are both printed: on a shared machine wall time depends on the load (printed too).

Usage: python bench/bench_grid.py [--skip-exact-4096]
Targets (2 CPU cores): 1,024 cached photos -> grid <= 5 s; 64x64 snapping <= 5 s within 3% of optimal;
100x100 <= 30 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cache import cached_array  # noqa: E402
from core.grid import build_grid  # noqa: E402
from core.grid.assign import assign, cell_centres, normalise  # noqa: E402
from core.grid.collections import from_folder  # noqa: E402
from core.grid.embed import embed  # noqa: E402
from core.grid.quality import map_knn_preservation  # noqa: E402
from core.grid.reduce import pca, reduce  # noqa: E402
from core.models import load_model  # noqa: E402

TILES = "waldo/heywaldo_tiles/64"


def timed(function: Callable[[], object]) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def row(*cells: object) -> None:
    print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)


def tile_embeddings(n: int) -> np.ndarray:
    collection = from_folder(TILES, limit=n)
    embedded = embed(collection, load_model("mobilenet_v2").model)
    if embedded.computed:
        print(f"(embedded {embedded.computed} tiles that were not cached yet)")
    return embedded.features


def tile_pixel_map(n: int) -> np.ndarray:
    """t-SNE of 16x16 RGB pixels of n tiles, cached on disk so reruns skip it."""

    def compute() -> np.ndarray:
        collection = from_folder(TILES, limit=n)
        pixels = np.stack([np.asarray(collection.open(i).resize((16, 16)), dtype=np.float32).ravel() for i in range(n)])
        return reduce(pixels / 255.0, "tsne")

    return cached_array("grid-bench", f"{TILES}:pixels16:tsne:{n}", compute)


def exact_scipy(points: np.ndarray, shape: tuple[int, int]) -> float:
    from scipy.optimize import linear_sum_assignment

    cost = ((normalise(points)[:, None, :] - cell_centres(shape)[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)  # rectangular: n rows, R*C columns
    return float(cost[rows, cols].sum())


def compare_assignment(points: np.ndarray, shape: tuple[int, int], with_exact: bool) -> None:
    fast, fast_wall, fast_cpu = timed(lambda: assign(points, shape, "fast"))
    label = f"{len(points)} points, {shape[0]}x{shape[1]}"
    if not with_exact:
        row(label, "fast (ours)", f"{fast_wall:.2f}", f"{fast_cpu:.2f}", f"{fast.cost:.3f}", "n/a", "n/a")
        return
    lapjv, lap_wall, lap_cpu = timed(lambda: assign(points, shape, "exact"))
    scipy_cost, sp_wall, sp_cpu = timed(lambda: exact_scipy(points, shape))
    optimum = lapjv.cost
    for name, wall, cpu, cost in (
        ("fast (ours)", fast_wall, fast_cpu, fast.cost),
        ("lap.lapjv (exact)", lap_wall, lap_cpu, lapjv.cost),
        ("scipy linear_sum_assignment (exact)", sp_wall, sp_cpu, scipy_cost),
    ):
        row(
            label, name, f"{wall:.2f}", f"{cpu:.2f}", f"{cost:.3f}", f"{cost / optimum:.4f}", f"{wall / fast_wall:.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-exact-4096", action="store_true", help="skip the slow exact solvers on 64x64")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}\n")

    features = tile_embeddings(1024)
    compact = pca(features.astype(np.float64))
    print("## t-SNE on 1,024 MobileNetV2 embeddings (PCA 50)\n")
    row("method", "wall s", "CPU s", "k-NN kept (24 nearest)")
    row("---", "---", "---", "---")
    ours, ours_wall, ours_cpu = timed(lambda: reduce(features, "tsne"))
    from sklearn.manifold import TSNE

    sk, sk_wall, sk_cpu = timed(lambda: TSNE(init="pca", random_state=0, n_jobs=2).fit_transform(compact))
    row(
        "openTSNE (ours, n_jobs=2)",
        f"{ours_wall:.2f}",
        f"{ours_cpu:.2f}",
        f"{map_knn_preservation(features, ours):.3f}",
    )
    row("scikit-learn TSNE (n_jobs=2)", f"{sk_wall:.2f}", f"{sk_cpu:.2f}", f"{map_knn_preservation(features, sk):.3f}")
    print(f"\nscikit-learn / openTSNE wall time: {sk_wall / ours_wall:.2f}x\n")

    print("## Snapping: fast block method vs exact solvers\n")
    row("points", "method", "wall s", "CPU s", "cost", "cost / optimum", "time / fast")
    row("---", "---", "---", "---", "---", "---", "---")
    compare_assignment(ours, (32, 32), with_exact=True)
    compare_assignment(tile_pixel_map(4096), (64, 64), with_exact=not args.skip_exact_4096)
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=20, size=(12, 2))
    synthetic = np.concatenate([rng.normal(c, rng.uniform(1, 4), size=(10_000 // 12 + 1, 2)) for c in centres])[:10_000]
    compare_assignment(synthetic, (100, 100), with_exact=False)

    print("\n## End to end: 1,024 tiles, cached embeddings -> t-SNE -> 32x32 grid\n")
    # no model: tile_embeddings above left every embedding in the cache
    result, wall, cpu = timed(lambda: build_grid(from_folder(TILES, limit=1024), None, measure_quality=False))
    stages = ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in result.seconds.items())
    print(f"total {wall:.2f} s wall, {cpu:.2f} s CPU ({stages}; load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
