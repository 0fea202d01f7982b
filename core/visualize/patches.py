"""Which real image regions excite a unit most: the top-k patches of a collection for one channel of a layer.

Each image is seen as the classifier sees it (resize, centre crop 224, ``classifier_view``); its score is the
channel's largest activation over the map, and its patch is the receptive field of that position, cropped from
the same 224x224 view. The receptive field is measured, not assumed: the input region where the gradient of one
unit is non-zero (over a few random inputs, so a unit's dead ReLUs do not hide part of it), which holds for any
convolutional trunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from core.attribution.classifier import classifier_view
from core.grid.collections import Collection
from core.images import ImageError
from core.progress import Progress, silent
from core.visualize.network import Network
from core.visualize.optimize import seeded, timer
from core.visualize.parametrize import from_uint8

VIEW = 224
BATCH = 16


@dataclass(frozen=True)
class ReceptiveField:
    """Where unit (row, col) of a layer looks in a VIEW x VIEW input: the centre unit's box moved by ``stride``."""

    centre: tuple[int, int]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) of the centre unit
    stride: int

    def of(self, row: int, col: int) -> tuple[int, int, int, int]:
        dy, dx = (row - self.centre[0]) * self.stride, (col - self.centre[1]) * self.stride
        x0, y0, x1, y1 = self.box
        return max(0, x0 + dx), max(0, y0 + dy), min(VIEW, x1 + dx), min(VIEW, y1 + dy)

    @property
    def side(self) -> int:
        return self.box[2] - self.box[0]


@dataclass(frozen=True)
class Patch:
    name: str  # the collection item's name
    index: int  # its position in the collection
    score: float  # the channel's activation at ``position``, its largest in this image
    position: tuple[int, int]  # row, col in the layer's map
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the 224x224 view
    crop: np.ndarray = field(repr=False)  # the view's pixels inside ``box``


@dataclass(frozen=True)
class Patches:
    layer: str
    channel: int
    patches: list[Patch]
    receptive: ReceptiveField
    images_seen: int
    skipped: list[str]
    seconds: float


def receptive_field(network: Network, layer: str, samples: int = 3) -> ReceptiveField:
    """Measure the receptive field of ``layer``'s centre unit in a VIEW x VIEW input (see the module docstring)."""
    images = torch.rand(samples, 3, VIEW, VIEW, generator=seeded(0)).requires_grad_(True)
    activations = network.layer(images, layer)
    rows, cols = activations.shape[-2:]
    centre = (rows // 2, cols // 2)
    (gradient,) = torch.autograd.grad(activations[:, :, centre[0], centre[1]].sum(), [images])
    support = gradient.abs().sum((0, 1)) > 0
    ys, xs = np.nonzero(support.numpy())
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return ReceptiveField(centre, box, max(1, round(VIEW / rows)))


def view_pixels(collection: Collection, index: int) -> np.ndarray:
    """The 224x224 uint8 view the classifier sees of one collection image."""
    return classifier_view(collection.open(index)).pixels


def top_patches(
    network: Network, collection: Collection, layer: str, channel: int, k: int = 9, progress: Progress = silent
) -> Patches:
    """The ``k`` images of ``collection`` whose largest activation of ``channel`` at ``layer`` is highest, each with
    the receptive-field crop around that position, best first; unreadable images are skipped with the reason."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    elapsed = timer()
    rf = receptive_field(network, layer)
    found: list[tuple[float, int, tuple[int, int]]] = []
    skipped: list[str] = []
    for start in range(0, len(collection), BATCH):
        indices, views = _views(collection, range(start, min(start + BATCH, len(collection))), skipped)
        if indices:
            found += _best_positions(network, views, layer, channel, indices)
        done = min(start + BATCH, len(collection))
        progress(done / len(collection), f"Activations of {layer} channel {channel}: {done}/{len(collection)} images")
    if not found:
        raise ImageError("none of the images could be opened: " + "; ".join(skipped[:3]))
    best = sorted(found, key=lambda entry: -entry[0])[:k]
    patches = []
    for score, index, (row, col) in best:
        box = rf.of(row, col)
        pixels = view_pixels(collection, index)
        patches.append(
            Patch(
                collection.names[index], index, score, (row, col), box, pixels[box[1] : box[3], box[0] : box[2]].copy()
            )
        )
    return Patches(layer, channel, patches, rf, len(found), skipped, elapsed())


def _views(collection: Collection, indices: range, skipped: list[str]) -> tuple[list[int], list[np.ndarray]]:
    kept, views = [], []
    for index in indices:
        try:
            views.append(view_pixels(collection, index))
            kept.append(index)
        except ImageError as err:
            skipped.append(str(err))
    return kept, views


def _best_positions(
    network: Network, views: list[np.ndarray], layer: str, channel: int, indices: list[int]
) -> list[tuple[float, int, tuple[int, int]]]:
    with torch.no_grad():
        activations = network.layer(from_uint8(np.stack(views)), layer)
    if not 0 <= channel < activations.shape[1]:
        raise ValueError(f"{layer} has {activations.shape[1]} channels (0..{activations.shape[1] - 1}), not {channel}")
    maps = activations[:, channel]
    flat = maps.flatten(1)
    values, where = flat.max(dim=1)
    cols = maps.shape[-1]
    return [
        (float(v), index, (int(w) // cols, int(w) % cols)) for v, w, index in zip(values, where, indices, strict=True)
    ]


def patch_sheet(patches: Patches, side: int = 96) -> Image.Image:
    """All patches in one row, each resized to ``side`` px (for the CLI's PNG)."""
    tiles = [Image.fromarray(p.crop).resize((side, side), Image.Resampling.LANCZOS) for p in patches.patches]
    sheet = Image.new("RGB", (side * max(1, len(tiles)), side), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, (i * side, 0))
    return sheet
