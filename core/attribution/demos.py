"""Demo images for the attribution page: scikit-image's bundled photos and the ImageNet samples in the data root."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import skimage.data
from PIL import Image

from core.config import inside_data_roots, resolve_data_path
from core.images import open_image

SKIMAGE_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera")


@dataclass(frozen=True)
class Sample:
    path: Path
    class_index: int
    name: str


def skimage_photo(name: str) -> Image.Image:
    """One of scikit-image's bundled photos (shipped in the wheel: no download)."""
    if name not in SKIMAGE_PHOTOS:
        raise ValueError(f"unknown demo photo {name!r}; choose from {', '.join(SKIMAGE_PHOTOS)}")
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def imagenet_samples(folder: str | Path = "imagenet_samples") -> list[Sample]:
    """The labelled ImageNet sample photos (``labels.csv``: file, class_index, wnid, name), in file order; a listed
    file that resolves outside the data roots (a planted link) is left out."""
    root = resolve_data_path(folder)
    with open(root / "labels.csv", newline="") as fh:
        rows = [(root / row["file"], int(row["class_index"]), row["name"]) for row in csv.DictReader(fh)]
    return [Sample(path.resolve(), index, name) for path, index, name in rows if inside_data_roots(path)]


def open_sample(sample: Sample) -> Image.Image:
    return open_image(sample.path)


def face_photos(folder: str | Path = "faces") -> list[Path]:
    """The demo face photos listed in ``faces/manifest.csv`` (identity/file), in manifest order, as paths under the
    folder; a listed file that resolves outside the data roots (a planted link) is left out."""
    root = resolve_data_path(folder)
    with open(root / "manifest.csv", newline="") as fh:
        return [path for row in csv.DictReader(fh) if inside_data_roots(path := root / row["file"])]
