"""Tiled Waldo search over a whole page: overlapping tiles at native scale, batched, merged, masks in page pixels.

Tiles overlap by more than a Waldo is tall, so every Waldo lies wholly inside some tile; detections that touch a
tile's inner edge (a Waldo cut in two) are dropped in favour of that whole view, and what is left is merged with
NMS. Masks are kept as the part over each detection's box, so a page with many finds stays small in memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torchvision.ops import nms

from core.progress import Progress, part

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 128
EDGE_MARGIN = 2  # px: a box this close to an inner tile edge is a cut-off view


@dataclass
class Detection:
    """One find: box (x0, y0, x1, y1) in page pixels, score, and the mask over the integer box ``mask_origin``."""

    box: tuple[float, float, float, float]
    score: float
    mask: np.ndarray  # bool, rows/cols of the page from mask_origin
    mask_origin: tuple[int, int]

    @property
    def mask_area(self) -> int:
        return int(self.mask.sum())

    def page_mask(self, height: int, width: int) -> np.ndarray:
        full = np.zeros((height, width), bool)
        x0, y0 = self.mask_origin
        h, w = self.mask.shape
        full[y0 : y0 + h, x0 : x0 + w] = self.mask[: height - y0, : width - x0]
        return full

    def as_dict(self) -> dict:
        return {"box": [round(v, 1) for v in self.box], "score": round(self.score, 4), "mask_area": self.mask_area}


@dataclass
class FindResult:
    detections: list[Detection]  # best first
    seconds: float
    tiles: int
    width: int
    height: int

    def above(self, threshold: float) -> list[Detection]:
        return [d for d in self.detections if d.score >= threshold]

    def mask(self, threshold: float) -> np.ndarray:
        """Union of the masks of the finds scoring at least ``threshold``."""
        union = np.zeros((self.height, self.width), bool)
        for detection in self.above(threshold):
            union |= detection.page_mask(self.height, self.width)
        return union


def tile_origins(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets covering ``length`` with tiles of ``tile`` px overlapping by at least ``overlap``."""
    if length <= tile:
        return [0]
    count = int(np.ceil((length - overlap) / (tile - overlap)))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


@dataclass(frozen=True)
class View:
    """One look at the page: resized by ``scale``, mirrored when ``flip``."""

    scale: float = 1.0
    flip: bool = False


def search_views(width: int, height: int, *, mirror: bool, coarse: bool, tile: int = DEFAULT_TILE) -> tuple[View, ...]:
    """The views ``find_waldo`` searches: the page as it is; with ``coarse``, the whole page shrunk to about two
    tiles across, where a poster-sized Waldo (too big for a tile at native scale) fits in one tile (pages already
    that small skip it); with ``mirror``, the page's mirror image (test-time augmentation)."""
    views = [View()]
    if mirror:
        views.append(View(flip=True))
    scale = 2 * tile / max(width, height)
    if coarse and scale < 0.75:
        views.append(View(scale=scale))
    return tuple(views)


@torch.inference_mode()
def find_waldo(
    model: torch.nn.Module,
    image: np.ndarray,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    batch: int = 1,
    nms_iou: float = 0.3,
    max_detections: int = 10,
    mirror: bool = False,
    coarse: bool = False,
    progress: Progress | None = None,
) -> FindResult:
    """Every Waldo candidate on an HxWx3 uint8 page, best first (scores from the model's floor upwards).
    ``batch`` tiles go through the model at once; on CPU one at a time measured faster (bench/bench_waldo.py).
    ``mirror`` and ``coarse`` add the views of ``search_views``; every view's finds are merged by one NMS."""
    started = time.perf_counter()
    height, width = image.shape[:2]
    views = search_views(width, height, mirror=mirror, coarse=coarse, tile=tile)
    found: list[Detection] = []
    tiles = 0
    for index, view in enumerate(views):
        seen = _view_image(image, view)
        report = part(progress, index / len(views), (index + 1) / len(views)) if progress else None
        detections, count = _search(model, seen, tile, overlap, batch, report)
        found += [_to_page(d, view, seen.shape[1], width, height) for d in detections]
        tiles += count
    found = _merge(found, nms_iou)[:max_detections]
    return FindResult(found, time.perf_counter() - started, tiles, width, height)


def _view_image(image: np.ndarray, view: View) -> np.ndarray:
    if view.scale != 1.0:
        size = (max(1, round(image.shape[1] * view.scale)), max(1, round(image.shape[0] * view.scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image[:, ::-1]) if view.flip else image


def _search(
    model: torch.nn.Module, image: np.ndarray, tile: int, overlap: int, batch: int, progress: Progress | None
) -> tuple[list[Detection], int]:
    """The tiled pass over one view: its finds in that view's pixels, and how many tiles it took."""
    height, width = image.shape[:2]
    padded = _pad_to(image, tile)
    origins = [
        (x, y)
        for y in tile_origins(padded.shape[0], tile, overlap)
        for x in tile_origins(padded.shape[1], tile, overlap)
    ]
    found: list[Detection] = []
    for start in range(0, len(origins), batch):
        chunk = origins[start : start + batch]
        crops = torch.from_numpy(np.stack([padded[y : y + tile, x : x + tile] for x, y in chunk]))
        crops = list(crops.permute(0, 3, 1, 2).float().div(255))
        for (x, y), output in zip(chunk, model(crops), strict=True):
            found += _tile_detections(output, x, y, tile, padded.shape[:2])
        if progress:
            done = min(start + batch, len(origins))
            progress(done / len(origins), f"searched {done}/{len(origins)} tiles")
    return [d for d in found if d.box[0] < width and d.box[1] < height], len(origins)


def _to_page(detection: Detection, view: View, view_width: int, width: int, height: int) -> Detection:
    """A find in a view's pixels mapped back to the page's: unmirrored, then rescaled (box and mask)."""
    x0, y0, x1, y1 = detection.box
    mask, (mx, my) = detection.mask, detection.mask_origin
    if view.flip:
        x0, x1 = max(0.0, view_width - x1), view_width - x0
        mask, mx = mask[:, ::-1], view_width - (mx + mask.shape[1])
        if mx < 0:  # a find reaching into the grey padding right of a narrow page: keep the part on the page
            mask, mx = mask[:, -mx:], 0
    if view.scale == 1.0:
        return Detection((x0, y0, x1, y1), detection.score, np.ascontiguousarray(mask), (mx, my))
    s = view.scale
    box = (x0 / s, y0 / s, min(width, x1 / s), min(height, y1 / s))
    origin = (int(mx / s), int(my / s))
    size = (max(1, round(mask.shape[1] / s)), max(1, round(mask.shape[0] / s)))
    grown = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return Detection(box, detection.score, grown, origin)


def _pad_to(image: np.ndarray, tile: int) -> np.ndarray:
    """Pad short pages up to one tile (grey), so every tile the model sees is full size."""
    height, width = image.shape[:2]
    if height >= tile and width >= tile:
        return image
    padded = np.full((max(height, tile), max(width, tile), 3), 128, np.uint8)
    padded[:height, :width] = image
    return padded


def _tile_detections(output: dict, x: int, y: int, tile: int, page_shape: tuple[int, int]) -> list[Detection]:
    detections = []
    page_h, page_w = page_shape
    for box, score, mask in zip(output["boxes"].tolist(), output["scores"].tolist(), output["masks"], strict=True):
        x0, y0, x1, y1 = box
        inner_cut = (
            (x0 <= EDGE_MARGIN and x > 0)
            or (y0 <= EDGE_MARGIN and y > 0)
            or (x1 >= tile - EDGE_MARGIN and x + tile < page_w)
            or (y1 >= tile - EDGE_MARGIN and y + tile < page_h)
        )
        if inner_cut:
            continue
        mx0, my0 = int(np.floor(x0)), int(np.floor(y0))
        mx1, my1 = max(mx0 + 1, int(np.ceil(x1))), max(my0 + 1, int(np.ceil(y1)))
        region = (mask[0, my0:my1, mx0:mx1] >= 0.5).numpy()
        detections.append(Detection((x0 + x, y0 + y, x1 + x, y1 + y), float(score), region, (mx0 + x, my0 + y)))
    return detections


def _merge(detections: list[Detection], iou: float) -> list[Detection]:
    """NMS over the page, best first."""
    if not detections:
        return []
    boxes = torch.tensor([d.box for d in detections], dtype=torch.float32)
    scores = torch.tensor([d.score for d in detections], dtype=torch.float32)
    return [detections[i] for i in nms(boxes, scores, iou).tolist()]


def spotlight(image: np.ndarray, mask: np.ndarray, dim: float = 0.3) -> np.ndarray:
    """Waldo "masked out" as in the original: the masked pixels as they are, the rest of the page dimmed."""
    out = (image.astype(np.float32) * dim).astype(np.uint8)
    out[mask] = image[mask]
    return out


def window_mask(height: int, width: int, window: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = window
    mask = np.zeros((height, width), bool)
    mask[max(0, y0) : y1, max(0, x0) : x1] = True
    return mask


def hint_window(detection: Detection, width: int, height: int, level: int, seed: int = 0) -> tuple[int, int, int, int]:
    """A window around ``detection`` whose sides are 1/2**level of the page's, at a seeded offset (not centred,
    so the hint does not give the answer away); level 0 is the whole page."""
    if level <= 0:
        return (0, 0, width, height)
    x0, y0, x1, y1 = detection.box
    win_w = max(x1 - x0, width / 2**level)
    win_h = max(y1 - y0, height / 2**level)
    rng = np.random.default_rng([seed, level])
    left = np.clip(rng.uniform(x1 - win_w, x0), 0, max(0, width - win_w))
    top = np.clip(rng.uniform(y1 - win_h, y0), 0, max(0, height - win_h))
    return (int(left), int(top), int(np.ceil(left + win_w)), int(np.ceil(top + win_h)))


def zoom(image: np.ndarray, detection: Detection, margin: float = 1.0, min_side: int = 96) -> np.ndarray:
    """The page around ``detection``: the box grown by ``margin`` of its size on each side (at least ``min_side``)."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = detection.box
    grow_x = max((x1 - x0) * margin, (min_side - (x1 - x0)) / 2)
    grow_y = max((y1 - y0) * margin, (min_side - (y1 - y0)) / 2)
    left, top = int(max(0, x0 - grow_x)), int(max(0, y0 - grow_y))
    right, bottom = int(min(width, x1 + grow_x)), int(min(height, y1 + grow_y))
    return image[top:bottom, left:right]


def draw_boxes(image: np.ndarray, detections: list[Detection], color=(255, 40, 200), thickness: int = 3) -> np.ndarray:
    """A copy of ``image`` with each detection's box and rank drawn on it."""
    out = np.ascontiguousarray(image).copy()
    for rank, detection in enumerate(detections, start=1):
        _outline(out, detection.box, f"{rank}: {detection.score:.2f}", color, thickness)
    return out


def draw_truth(image: np.ndarray, boxes: np.ndarray, color=(40, 220, 40), thickness: int = 3) -> np.ndarray:
    """A copy of ``image`` with the annotated Waldo boxes outlined: the answer to check the finds against."""
    out = np.ascontiguousarray(image).copy()
    for box in boxes:
        _outline(out, box, "answer", color, thickness)
    return out


def _outline(out: np.ndarray, box, label: str, color, thickness: int) -> None:
    """A rectangle just outside ``box`` (so it hides none of the figure) with ``label`` above it, drawn in place."""
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    cv2.rectangle(out, (x0 - thickness, y0 - thickness), (x1 + thickness, y1 + thickness), color, thickness)
    cv2.putText(out, label, (x0, max(12, y0 - 2 * thickness)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, color, 2)
