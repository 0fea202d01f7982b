"""Feature vectors for a collection: MobileNetV2's pooled 1280-d features for photos (batched, cached on disk per
(file hash, model) so a second run of the same collection skips the network), or a collection's own pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.cache import cached_array
from core.grid.collections import Collection
from core.images import ImageError
from core.models.builders import imagenet_transforms
from core.progress import Progress

NAMESPACE = "grid-embeddings"
THUMB_NAMESPACE = "grid-thumbnails"
BATCH_SIZE = 32


@dataclass
class Embedded:
    """The usable images, their features (one row each), and the images left out (not opened, or refused when the
    collection was listed), each with why."""

    collection: Collection
    features: np.ndarray
    skipped: list[str]
    computed: int  # how many images went through the network (0 when everything came from the cache)


class _NotCached(LookupError):
    pass


def embed(
    collection: Collection,
    model: torch.nn.Module | None,
    model_name: str = "mobilenet_v2",
    progress: Progress | None = None,
) -> Embedded:
    """Features for every readable image; ``model`` (MobileNetV2) is only needed when some are not cached yet."""
    if collection.pixels is not None:
        return Embedded(collection, np.asarray(collection.pixels, dtype=np.float32), list(collection.skipped), 0)
    vectors: list[np.ndarray | None] = [_cached_vector(h, model_name) for h in collection.hashes]
    missing = [i for i, vector in enumerate(vectors) if vector is None]
    if missing and model is None:
        raise ImageError(f"{len(missing)} images need {model_name} features but no model was given")
    skipped: list[str] = list(collection.skipped)
    for start in range(0, len(missing), BATCH_SIZE):
        batch = missing[start : start + BATCH_SIZE]
        for index, vector in _embed_batch(collection, batch, model, skipped):
            vectors[index] = cached_array(NAMESPACE, _key(collection.hashes[index], model_name), lambda v=vector: v)
        if progress:
            done = start + len(batch)
            progress(min(1.0, done / len(missing)), f"embedded {done}/{len(missing)} images")
    kept = [i for i, vector in enumerate(vectors) if vector is not None]
    if not kept:
        raise ImageError("none of the images could be opened: " + "; ".join(skipped[:3]))
    features = np.stack([vectors[i] for i in kept]).astype(np.float32)
    unreadable = len(skipped) - len(collection.skipped)
    return Embedded(collection.subset(kept), features, skipped, len(missing) - unreadable)


def pooled_features(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """MobileNetV2's penultimate representation: ``features`` then global average pooling (N x 1280)."""
    return torch.nn.functional.adaptive_avg_pool2d(model.features(batch), 1).flatten(1)


def thumbnail(collection: Collection, index: int, size: int) -> np.ndarray:
    """A size x size RGB thumbnail (centre square crop), cached on disk by the image's hash."""

    def compute() -> np.ndarray:
        image = collection.open(index, max_side=max(size * 4, 256))
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        square = image.crop((left, top, left + side, top + side))
        return np.asarray(square.resize((size, size), _resample(side, size)), dtype=np.uint8)

    return cached_array(THUMB_NAMESPACE, f"{collection.hashes[index]}:{size}", compute)


def preview(collection: Collection, index: int, min_side: int = 256, max_side: int = 768) -> Image.Image:
    """The image for the detail view: tiny images (digits, CIFAR) enlarged with hard pixel edges, big ones reduced."""
    image = collection.open(index, max_side=max_side)
    if max(image.size) >= min_side:
        return image
    scale = -(-min_side // max(image.size))  # ceil: a whole number of screen pixels per image pixel
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


def _resample(side: int, size: int) -> Image.Resampling:
    return Image.Resampling.NEAREST if side < size else Image.Resampling.LANCZOS  # keep tiny digits crisp


def _key(file_hash: str, model_name: str) -> str:
    return f"{model_name}:{file_hash}"


def _cached_vector(file_hash: str, model_name: str) -> np.ndarray | None:
    def miss() -> np.ndarray:
        raise _NotCached

    try:
        return cached_array(NAMESPACE, _key(file_hash, model_name), miss)
    except _NotCached:
        return None


@torch.inference_mode()
def _embed_batch(
    collection: Collection, indices: list[int], model: torch.nn.Module, skipped: list[str]
) -> list[tuple[int, np.ndarray]]:
    transform = imagenet_transforms()
    tensors, opened = [], []
    for index in indices:
        try:
            tensors.append(transform(collection.open(index)))
            opened.append(index)
        except ImageError as err:
            skipped.append(str(err))
    if not tensors:
        return []
    features = pooled_features(model, torch.stack(tensors)).numpy()
    return list(zip(opened, features, strict=True))
