"""The shipped model on synthetic pages it never saw, tiling, masks in page coordinates, and the page views."""

from __future__ import annotations

import numpy as np
import pytest

from core.models import load_model
from core.waldo.eval import is_hit
from core.waldo.infer import (
    Detection,
    View,
    _to_page,
    draw_truth,
    find_waldo,
    hint_window,
    search_views,
    spotlight,
    tile_origins,
    zoom,
)
from core.waldo.synth import make_page

UNSEEN_SEEDS = range(900_000, 900_020)  # training drew random 31-bit seeds for 256-px tiles, never these 384x512 pages


@pytest.fixture(scope="module")
def model():
    return load_model("waldo_maskrcnn").model


def test_shipped_model_finds_waldo_on_unseen_synthetic_pages(model) -> None:
    hits = 0
    for seed in UNSEEN_SEEDS:
        page = make_page(seed, (384, 512))
        result = find_waldo(model, page.image)
        hits += bool(result.detections) and is_hit(result.detections[0].box, page.waldo_box)
    assert hits >= 18, f"top-1 hits {hits}/20"


def test_masks_are_in_page_coordinates_inside_their_boxes(model) -> None:
    page = make_page(900_100, (600, 700))
    result = find_waldo(model, page.image, tile=320, overlap=96)
    assert result.tiles == 9 and result.detections
    best = result.detections[0]
    full = best.page_mask(result.height, result.width)
    x0, y0, x1, y1 = best.box
    ys, xs = np.nonzero(full)
    assert full.sum() == best.mask_area > 0
    assert xs.min() >= np.floor(x0) and xs.max() < np.ceil(x1) and ys.min() >= np.floor(y0) and ys.max() < np.ceil(y1)
    assert (full & page.waldo_mask).sum() > 0.3 * page.waldo_mask.sum()
    assert np.array_equal(spotlight(page.image, full)[full], page.image[full])
    assert zoom(page.image, best).shape[0] >= 96


def test_small_pages_are_padded_and_still_searched(model) -> None:
    page = make_page(900_200, (150, 220))
    result = find_waldo(model, page.image)
    assert result.tiles == 1 and (result.width, result.height) == (220, 150)
    assert all(d.box[0] < 220 and d.box[1] < 150 for d in result.detections)


@pytest.mark.parametrize(
    ("length", "tile", "overlap"), [(100, 512, 128), (512, 512, 128), (2500, 512, 128), (1000, 320, 96)]
)
def test_tiles_cover_the_page_with_the_overlap(length: int, tile: int, overlap: int) -> None:
    origins = tile_origins(length, tile, overlap)
    assert origins[0] == 0 and origins[-1] + tile >= length
    assert all(b - a <= tile - overlap for a, b in zip(origins, origins[1:], strict=False))


def test_hint_windows_shrink_and_keep_the_find(model) -> None:
    page = make_page(900_300, (384, 512))
    best = find_waldo(model, page.image).detections[0]
    areas = []
    for level in range(4):
        x0, y0, x1, y1 = hint_window(best, 512, 384, level)
        assert x0 <= best.box[0] and y0 <= best.box[1] and x1 >= best.box[2] - 1 and y1 >= best.box[3] - 1
        areas.append((x1 - x0) * (y1 - y0))
    assert areas == sorted(areas, reverse=True) and areas[0] == 512 * 384


def test_the_answer_is_outlined_around_the_figure_on_a_copy() -> None:
    page = make_page(900_400, (384, 512))
    before = page.image.copy()
    shown = draw_truth(page.image, page.boxes)
    x0, y0, x1, y1 = page.waldo_box
    assert np.array_equal(page.image, before)  # the input is never drawn on
    assert np.array_equal(shown[y0:y1, x0:x1], before[y0:y1, x0:x1])  # the outline hides none of the figure
    ring = shown[max(0, y0 - 5) : y1 + 5, max(0, x0 - 5) : x1 + 5]
    assert (ring == (40, 220, 40)).all(axis=-1).sum() > 2 * ((x1 - x0) + (y1 - y0))


def test_views_map_finds_back_to_page_pixels() -> None:
    mask = np.zeros((40, 20), bool)
    mask[:, :5] = True  # the left quarter of the find
    found = Detection((10.0, 20.0, 30.0, 60.0), 0.9, mask, (10, 20))
    mirrored = _to_page(found, View(flip=True), 100, 100, 100)
    assert mirrored.box == (70.0, 20.0, 90.0, 60.0) and mirrored.mask_origin == (70, 20)
    assert mirrored.page_mask(100, 100)[20:60, 85:90].all() and mirrored.mask_area == mask.sum()
    padded = Detection((90.0, 20.0, 110.0, 60.0), 0.9, mask, (90, 20))  # partly in the padding of a 100-px view
    clipped = _to_page(padded, View(flip=True), 100, 100, 100)
    assert clipped.box[0] == 0.0 and clipped.mask_origin == (0, 20) and clipped.mask.shape == (40, 10)
    halved = _to_page(found, View(scale=0.5), 100, 200, 200)
    assert halved.box == (20.0, 40.0, 60.0, 120.0) and halved.mask.shape == (80, 40) and halved.mask_origin == (20, 40)


def test_views_add_a_mirror_and_a_coarse_pass_for_big_pages() -> None:
    assert search_views(1024, 768, mirror=False, coarse=False) == (View(),)
    assert search_views(1024, 768, mirror=True, coarse=True) == (View(), View(flip=True))  # already ~2 tiles across
    views = search_views(2500, 1600, mirror=True, coarse=True)
    assert views[:2] == (View(), View(flip=True)) and views[2].scale == pytest.approx(1024 / 2500)


def test_thorough_search_still_finds_waldo_on_unseen_synthetic_pages(model) -> None:
    hits = 0
    for seed in UNSEEN_SEEDS:
        page = make_page(seed, (384, 512))
        native, augmented = find_waldo(model, page.image), find_waldo(model, page.image, mirror=True, coarse=True)
        assert augmented.tiles == 2 * native.tiles
        hits += bool(augmented.detections) and is_hit(augmented.detections[0].box, page.waldo_box)
    assert hits >= 18, f"top-1 hits {hits}/20"  # the bar of the native search above (measured: 20 native, 19 here)
