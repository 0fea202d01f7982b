"""Image collections for the grid: a server folder (inside the data roots only), uploads or a zip, scikit-learn's
bundled ``digits``, and the demo data's ImageNet samples and CIFAR-10 (labelled).

A collection holds names, labels and where each image's bytes are (a path or the uploaded bytes); images are opened
lazily with ``core.images.open_image``. Labels come from sub-folder names when there are sub-folders.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from core.archive import zip_images
from core.cache import content_hash
from core.config import data_root, folder_files, inside_data_roots, resolve_data_path
from core.demo import pack_file
from core.images import IMAGE_SUFFIXES, ImageError, open_image

MAX_IMAGES = 20_000


@dataclass(frozen=True)
class Item:
    """One image: a display name (relative path), its label ("" when unknown) and its bytes or file."""

    name: str
    label: str
    source: Path | bytes


@dataclass
class Collection:
    """A list of images; ``pixels`` holds ready-made feature vectors for collections embedded without a CNN;
    ``skipped`` says which files of a server folder were left out and why (links leading outside the data roots)."""

    title: str
    items: list[Item]
    pixels: np.ndarray | None = field(default=None, repr=False)
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def names(self) -> list[str]:
        return [item.name for item in self.items]

    @property
    def labels(self) -> list[str]:
        return [item.label for item in self.items]

    @cached_property
    def hashes(self) -> list[str]:
        """sha256 of each image's bytes: the cache key of its embedding and thumbnail."""
        return [content_hash(item.source) for item in self.items]

    @property
    def fingerprint(self) -> str:
        """One hash for the whole collection (contents, order and labels)."""
        return content_hash(
            "\n".join(f"{h} {label}" for h, label in zip(self.hashes, self.labels, strict=True)).encode()
        )

    def open(self, index: int, max_side: int | None = 1024) -> Image.Image:
        item = self.items[index]
        return open_image(item.source, name=item.name, max_side=max_side)

    def subset(self, indices: list[int] | np.ndarray) -> Collection:
        """The images at ``indices`` (in that order), keeping hashes already computed."""
        indices = [int(i) for i in indices]
        chosen = Collection(
            self.title,
            [self.items[i] for i in indices],
            None if self.pixels is None else self.pixels[indices],
            list(self.skipped),
        )
        if "hashes" in self.__dict__:
            chosen.hashes = [self.hashes[i] for i in indices]
        return chosen


def from_folder(path: str | Path, limit: int | None = None) -> Collection:
    """Every image file under a server folder, which must lie inside the configured data roots; so must each file in
    it once its links are resolved (the others are skipped, with the reason in ``skipped``)."""
    root = resolve_data_path(path)
    if not root.is_dir():
        raise ImageError(f"{path}: not a folder")
    listing = folder_files(root, IMAGE_SUFFIXES)
    if not listing.files:
        refused = f"; {'; '.join(listing.reasons[:3])}" if listing.refused else ""
        raise ImageError(f"{path}: no image files (looked for {', '.join(sorted(IMAGE_SUFFIXES))}){refused}")
    files = _limited(listing.files, limit)
    items = [Item(relative.as_posix(), _label_from_parts(relative.parts), file) for relative, file in files]
    return Collection(root.name, items, skipped=listing.reasons)


def from_uploads(files: list[tuple[str, bytes]], limit: int | None = None) -> Collection:
    """Uploaded images and zips of images (a zip's sub-folders become labels)."""
    items: list[Item] = []
    for name, data in files:
        if name.lower().endswith(".zip"):
            members = zip_images(data, label=name)
            items += [Item(m.path.as_posix(), _label_from_parts(m.path.parts), m.data) for m in members]
        else:
            items.append(Item(name, "", data))
    if not items:
        raise ImageError("no images in the upload")
    return Collection("upload", _limited(items, limit))


def digits(limit: int | None = None) -> Collection:
    """scikit-learn's 1,797 labelled 8x8 handwritten digits (bundled, works offline).

    They are embedded by their 64 pixel values, not by the CNN: an ImageNet network sees an upscaled 8x8 blob, while
    raw pixels are the standard, well-separated input for t-SNE on this set."""
    from sklearn.datasets import load_digits

    data = load_digits()
    count = len(_limited(data.target, limit))
    items = [Item(f"digit_{i:04d}.png", str(data.target[i]), _grey_png(data.images[i])) for i in range(count)]
    return Collection("digits", items, pixels=np.asarray(data.data[:count], dtype=np.float32))


def imagenet_samples(limit: int | None = None) -> Collection:
    """The demo data's 500 ImageNet photos, labelled with their class name from labels.csv (a listed file that
    resolves outside the data roots is skipped, with the reason in ``skipped``)."""
    root = resolve_data_path(data_root() / "imagenet_samples")
    with open(root / "labels.csv", newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda row: row["file"])
    items, skipped = [], []
    for row in rows:
        path = (root / row["file"]).resolve()
        if inside_data_roots(path):
            items.append(Item(Path(row["file"]).name, row["name"], path))
        else:
            skipped.append(f"{row['file']}: a link to a file outside the data roots")
    return Collection("imagenet_samples", _limited(items, limit), skipped=skipped)


def cifar10(limit: int | None = None) -> Collection:
    """The demo data's 500 CIFAR-10 test images (32x32), labelled by their class folder."""
    collection = from_folder(data_root() / "cifar10")
    return Collection("cifar10", _limited(collection.items, limit), skipped=collection.skipped)


def demo_photos(limit: int | None = None) -> Collection:
    """The demo pack's public-domain and CC0 photos (core/demo.py): real photos on a host without the data folder."""
    folder = pack_file("photos/astronaut.png").parent
    collection = from_folder(folder)
    return Collection("demo_photos", _limited(collection.items, limit), skipped=collection.skipped)


DATASETS = {"digits": digits, "imagenet_samples": imagenet_samples, "cifar10": cifar10, "demo_photos": demo_photos}


def load_dataset(name: str, limit: int | None = None) -> Collection:
    if name not in DATASETS:
        raise ImageError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name](limit)


def _limited(items, limit: int | None):
    """The first ``limit`` items (at most MAX_IMAGES); a limit below 1 is refused rather than read as a slice."""
    if limit is not None and limit < 1:
        raise ImageError(f"the image limit must be at least 1, got {limit}")
    cap = MAX_IMAGES if limit is None else min(limit, MAX_IMAGES)
    return items[:cap]


def _label_from_parts(parts: tuple[str, ...]) -> str:
    """The top sub-folder's name, or "" for files at the collection's root."""
    return parts[0] if len(parts) > 1 else ""


def _grey_png(image: np.ndarray) -> bytes:
    """An 8x8 digit (values 0..16, ink high) as black-on-white PNG bytes."""
    pixels = (255 - np.clip(image, 0, 16) * (255 / 16)).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, format="PNG")
    return buffer.getvalue()
