"""Real-page annotations, the VIA reader, the artwork-based split, box kinds and derived masks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.images import open_image, to_array
from core.waldo.data import (
    PORTRAITS,
    VALIDATION_PAGES,
    box_kind,
    grabcut_mask,
    instance_masks,
    load_annotations,
    split_pages,
)

# Pages the data README (and an ORB homography check) shows sharing artwork: never split across train and val.
SHARED_ARTWORK = [
    {"hey_5.jpg", "hiw_5.jpg", "hiw_12.jpg", "hiw_31.jpg"},
    {"cs_019.jpg", "hiw_7.jpg", "uts_2.jpg", "uts_39.jpg", "uts_48.jpg", "uts_49.jpg"},
    {"hiw_21.jpg", "uts_18.jpg", "uts_50.jpg"},
    {"hiw_17.jpg", "uts_45.jpg"},
    {"hiw_2.jpg", "uts_41.jpg"},
    {"hiw_28.jpg", "uts_26.jpg"},
    {"hiw_14.jpg", "hiw_15.jpg"},
]


def test_real_annotations_load_and_split_by_artwork(data_dir: Path) -> None:
    raw = json.loads((data_dir / "waldo" / "annotations.json").read_text())
    pages = load_annotations(data_dir / "waldo" / "annotations.json")
    # counts come from the file itself (the data folder grows); every page and box must survive loading
    assert set(pages) == set(raw) and len(pages) >= 53
    assert sum(len(p.boxes) for p in pages.values()) == sum(len(entry["boxes"]) for entry in raw.values())
    assert all(len(page.boxes) >= 1 for page in pages.values())
    train = {p.file for p in split_pages(pages, "train")}
    val = {p.file for p in split_pages(pages, "val")}
    assert val == set(VALIDATION_PAGES) and not train & val and train | val == set(pages)
    for group in SHARED_ARTWORK:
        assert group <= train or group <= val, group


def test_box_kinds_separate_the_stamp_from_the_hidden_figure(data_dir: Path) -> None:
    page = load_annotations(data_dir / "waldo" / "annotations.json")["hiw_10.jpg"]
    assert page.box_kinds() == ["hidden", "icon"]
    assert box_kind(np.array([0, 0, 300, 900]), 1000, 1000) == "icon"  # poster-sized
    assert box_kind(np.array([500, 500, 520, 550]), 1000, 1000) == "hidden"


def test_by_eye_portraits_are_icons_on_training_pages_only(data_dir: Path) -> None:
    pages = load_annotations(data_dir / "waldo" / "annotations.json")
    assert not set(PORTRAITS) & set(VALIDATION_PAGES)  # validation kinds come from the rule alone
    assert pages["cs_004.jpg"].box_kinds() == ["icon"] * 7  # the poster and the six cover-grid heads
    for file, indices in PORTRAITS.items():
        page = pages[file]
        rule = [box_kind(box, page.width, page.height) for box in page.boxes]
        assert all(rule[k] == "hidden" for k in indices), file  # each entry corrects the rule, none is stale
        assert [k for k, kind in enumerate(page.box_kinds()) if kind == "icon" and rule[k] == "hidden"] == sorted(
            indices
        )
    assert pages["cs_019.jpg"].box_kinds() == ["hidden", "icon"]  # the beach Waldo stays a hidden figure


def test_via_project_polygons_and_rects_become_boxes(tmp_path: Path) -> None:
    via = {
        "_via_img_metadata": {
            "a.jpg123": {
                "filename": "a.jpg",
                "size": 123,
                "regions": [
                    {"shape_attributes": {"name": "polygon", "all_points_x": [10, 30, 20], "all_points_y": [5, 5, 40]}}
                ],
            },
            "b.jpg9": {
                "filename": "b.jpg",
                "size": 9,
                "regions": {"0": {"shape_attributes": {"name": "rect", "x": 1, "y": 2, "width": 3, "height": 4}}},
            },
        }
    }
    path = tmp_path / "via.json"
    path.write_text(json.dumps(via))
    pages = load_annotations(path)
    assert pages["a.jpg"].boxes.tolist() == [[10, 5, 30, 40]] and len(pages["a.jpg"].polygons) == 1
    assert pages["b.jpg"].boxes.tolist() == [[1, 2, 4, 6]] and pages["b.jpg"].polygons == []


def test_masks_stay_inside_their_boxes(data_dir: Path) -> None:
    pages = load_annotations(data_dir / "waldo" / "annotations.json")
    for name in ("hiw_22.jpg", "uts_2.jpg"):  # a polygon page and a box-only (GrabCut) page
        page = pages[name]
        image = to_array(open_image(data_dir / "waldo" / "pages" / name, max_side=None))
        (mask,) = instance_masks(image, page)
        x0, y0, x1, y1 = page.boxes[0].astype(int)
        inside = mask[y0 : y1 + 1, x0 : x1 + 1].sum()
        assert inside == mask.sum() and 0.15 * (x1 - x0) * (y1 - y0) < inside <= (x1 - x0 + 1) * (y1 - y0 + 1)
    assert np.array_equal(grabcut_mask(image, page.boxes[0]), mask)  # cached result is the same mask
