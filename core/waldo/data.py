"""Real Waldo pages: annotations (this project's JSON or a VIA project), the artwork-based split, box kinds, masks.

Validation split (fixed, chosen before any training, never trained on)
The data README lists pages that share artwork (crops, rescans, spreads, shared stamps); an ORB + RANSAC
homography check over all page pairs (>= 15 inliers) found the same groups plus one it does not list,
hiw_14 ~ hiw_15. Validation takes whole artwork groups only, and only full crowd scenes, because the task is
finding the hidden figure on a page (covers and cut-outs are posters of Waldo, a different task):
  - ten stand-alone scenes: dw_3, hiw_4, hiw_9, hiw_10, hiw_13, hiw_18, hiw_20, hiw_24, hiw_26, hiw_29
  - the pair hiw_14 + hiw_15 (shared artwork found by the homography check)
  - the pair hiw_17 + uts_45 (the README's "hiw_17 ~ uts_45", two scans of one scene)
14 pages, 15 boxes (hiw_10 also labels the stamp). Every other page, including every page of the groups that
share artwork among themselves (hey_5, cs_019, hiw_21/uts_18/uts_50, hiw_8/hiw_36/uts_119-122, covers ...), is
training data, so no artwork in validation appears in training.

Box kinds (for reporting hits on the hidden figure apart from the portraits)
A box is an "icon" (stamp, seal, postcard, intro-panel portrait, cover or cut-out poster) when it is at least
12% of the page height, or when it is a head-and-shoulders shape (height/width < 1.45) of at least 5% of the page
height whose centre lies in the outer 15% band of the page, where the stamps and seals sit. Every other box is
the "hidden" figure. Checked by eye against crops of every multi-box page: on the validation pages the rule agrees
with the eye (hiw_10's stamp is the one icon). On training pages it misreads 17 portraits as hidden figures: the
cover-grid heads of cs_004 and cs_032, the stamps of cs_006, cs_032 and hiw_36, and hey_5's seal and intro-panel
Waldo. PORTRAITS lists them, found in a contact sheet of every training box the rule calls hidden; training must
not shrink a head-and-shoulders portrait to a hidden figure's size and teach its square box as one.

Masks
Polygon pages use their polygons. Box-only pages get a GrabCut mask initialised by the box (5 iterations, a 50%
margin of context around it); when GrabCut keeps less than 20% of the box the mask falls back to the filled box.
These derived masks are labelled as such in the model card; they train the mask head like the polygons do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from core.cache import cached_array, pixels_hash
from core.config import data_root

VALIDATION_PAGES: tuple[str, ...] = (
    "dw_3.jpg",
    "hiw_4.jpg",
    "hiw_9.jpg",
    "hiw_10.jpg",
    "hiw_13.jpg",
    "hiw_18.jpg",
    "hiw_20.jpg",
    "hiw_24.jpg",
    "hiw_26.jpg",
    "hiw_29.jpg",
    "hiw_14.jpg",
    "hiw_15.jpg",
    "hiw_17.jpg",
    "uts_45.jpg",
)
NEW_ARTWORK_PAGES: tuple[str, ...] = (  # added 2026-12-01, after the shipped model was trained and chosen
    "hpc_fj_p03.jpg",
    "hpc_fj_p05.jpg",
    "hpc_fj_p10.jpg",
    "hpc_fj_p11.jpg",
    "hpc_fj_p14.jpg",
    "hpc_fj_p24.jpg",
    "tsi_pirate2.jpg",
    "wfp_nine_stoneage.jpg",
    "wfp_three_aztecs.jpg",
)
ICON_MIN_HEIGHT = 0.12
ICON_PORTRAIT_ASPECT = 1.45
ICON_PORTRAIT_MIN_HEIGHT = 0.05
ICON_BAND = 0.15
GRABCUT_MIN_FILL = 0.2
PORTRAITS: dict[str, frozenset[int]] = {  # shared-data file -> indices of its icon boxes the size rule calls hidden
    "cs_004.jpg": frozenset({1, 2, 3, 4, 5, 6}),
    "cs_006.jpg": frozenset({0}),
    "cs_032.jpg": frozenset({0, 1, 2, 3, 4, 5, 7}),
    "hey_5.jpg": frozenset({1, 2}),
    "hiw_36.jpg": frozenset({0}),
}


def waldo_dir() -> Path:
    return data_root() / "waldo"


@dataclass
class PageAnnotation:
    """One page's Waldo boxes (x0, y0, x1, y1 in the file's pixels) and outlines ([] when the source has none)."""

    file: str
    width: int | None
    height: int | None
    boxes: np.ndarray  # (N, 4) float
    polygons: list[np.ndarray] = field(default_factory=list)  # one (K, 2) outline per box, or empty
    source: str = ""

    def box_kinds(self, width: int | None = None, height: int | None = None) -> list[str]:
        """ "hidden" or "icon" per box, by the rule in this module's docstring and its by-eye PORTRAITS."""
        page_w, page_h = width or self.width, height or self.height
        portraits = PORTRAITS.get(self.file, frozenset())
        return ["icon" if k in portraits else box_kind(box, page_w, page_h) for k, box in enumerate(self.boxes)]


def box_kind(box: np.ndarray, page_width: int, page_height: int) -> str:
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = max(1.0, x1 - x0), max(1.0, y1 - y0)
    if h >= ICON_MIN_HEIGHT * page_height:
        return "icon"
    cx, cy = (x0 + x1) / 2 / page_width, (y0 + y1) / 2 / page_height
    in_band = min(cx, 1 - cx, cy, 1 - cy) < ICON_BAND
    if in_band and h / w < ICON_PORTRAIT_ASPECT and h >= ICON_PORTRAIT_MIN_HEIGHT * page_height:
        return "icon"
    return "hidden"


def load_annotations(path: Path) -> dict[str, PageAnnotation]:
    """Read this project's annotations.json or a VIA (1.x or 2.x) project / region JSON, keyed by file name."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read annotations ({err})") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object of pages")
    if "_via_img_metadata" in raw:
        raw = raw["_via_img_metadata"]
    pages = {}
    for key, entry in raw.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: entry {key!r} is not an object")
        page = _from_via(entry) if "regions" in entry else _from_project(key, entry)
        pages[page.file] = page
    return pages


def _from_project(name: str, entry: dict) -> PageAnnotation:
    boxes = np.asarray(entry.get("boxes", []), dtype=np.float32).reshape(-1, 4)
    polygons = [np.asarray(p, dtype=np.float32).reshape(-1, 2) for p in entry.get("polygons", [])]
    return PageAnnotation(name, entry.get("width"), entry.get("height"), boxes, polygons, entry.get("source", ""))


def _from_via(entry: dict) -> PageAnnotation:
    regions = entry["regions"]
    regions = list(regions.values()) if isinstance(regions, dict) else regions
    boxes, polygons = [], []
    for region in regions:
        shape = region.get("shape_attributes", {})
        if shape.get("name") == "rect":
            x, y, w, h = (float(shape[k]) for k in ("x", "y", "width", "height"))
            boxes.append([x, y, x + w, y + h])
        elif shape.get("name") in ("polygon", "polyline"):
            points = np.stack([shape["all_points_x"], shape["all_points_y"]], axis=1).astype(np.float32)
            boxes.append([*points.min(0), *points.max(0)])
            polygons.append(points)
    if polygons and len(polygons) != len(boxes):
        polygons = []  # mixed rects and polygons: keep boxes only rather than misalign outlines
    return PageAnnotation(entry["filename"], None, None, np.asarray(boxes, np.float32).reshape(-1, 4), polygons, "VIA")


def split_pages(annotations: dict[str, PageAnnotation], split: str) -> list[PageAnnotation]:
    """ "train" (every page not in VALIDATION_PAGES), "val" (VALIDATION_PAGES present here), "new" (the
    NEW_ARTWORK_PAGES present here, which no choice about the shipped model looked at) or "all", sorted by name."""
    if split not in ("train", "val", "new", "all"):
        raise ValueError(f"unknown split {split!r}")
    if split == "new":
        return [page for name, page in sorted(annotations.items()) if name in NEW_ARTWORK_PAGES]
    return [
        page
        for name, page in sorted(annotations.items())
        if split == "all" or (name in VALIDATION_PAGES) == (split == "val")
    ]


def instance_masks(image: np.ndarray, page: PageAnnotation) -> list[np.ndarray]:
    """One HxW bool mask per box: the polygon where the annotation has one, else a cached GrabCut mask."""
    height, width = image.shape[:2]
    if page.polygons and len(page.polygons) == len(page.boxes):
        masks = []
        for polygon in page.polygons:
            mask = np.zeros((height, width), np.uint8)
            cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
            masks.append(mask.astype(bool))
        return masks
    return [grabcut_mask(image, box) for box in page.boxes]


def grabcut_mask(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Foreground inside ``box`` by GrabCut (cached by image content and box); the filled box if GrabCut fails."""
    key = f"{pixels_hash(image)}:{[int(v) for v in box]}"
    return cached_array("waldo_grabcut", key, lambda: _grabcut(image, box)).astype(bool)


def _grabcut(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    mx, my = max(4, (x1 - x0) // 2), max(4, (y1 - y0) // 2)
    cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(width, x1 + mx), min(height, y1 + my)
    crop = np.ascontiguousarray(image[cy0:cy1, cx0:cx1, ::-1])
    mask = np.zeros(crop.shape[:2], np.uint8)
    rect = (x0 - cx0, y0 - cy0, max(1, x1 - x0), max(1, y1 - y0))
    full = np.zeros((height, width), np.uint8)
    try:
        cv2.grabCut(crop, mask, rect, np.zeros((1, 65)), np.zeros((1, 65)), 5, cv2.GC_INIT_WITH_RECT)
        foreground = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    except cv2.error:
        foreground = np.zeros_like(mask)
    inside = np.zeros_like(foreground)
    inside[y0 - cy0 : y1 - cy0, x0 - cx0 : x1 - cx0] = 1
    foreground &= inside
    if foreground.sum() < GRABCUT_MIN_FILL * max(1, inside.sum()):
        foreground = inside
    full[cy0:cy1, cx0:cx1] = foreground
    return full


def page_path(folder: Path, page: PageAnnotation) -> Path:
    """Where a page's image is: ``folder/pages/<file>`` (this project's layout) or ``folder/<file>`` (VIA)."""
    for candidate in (Path(folder) / "pages" / page.file, Path(folder) / page.file):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{page.file}: not found in {folder} or {Path(folder) / 'pages'}")
