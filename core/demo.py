"""The built-in demo pack: photos whose licences allow redistribution, taken from the files scikit-image ships in its
wheel (each public domain or CC0, as scikit-image's own docstrings record), written out as a small data-root folder
(``photos/`` and ``faces/<person>/``) with a licence table. A host without ``../shared/data`` (the Docker image)
still opens every page on real photos; the data folder, where there is one, comes first.

``scripts/build_demo_pack.py`` builds it (``scripts/setup.sh`` and the Dockerfile run it)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.config import ASSETS_DIR

PACK_DIR = ASSETS_DIR / "demo"
LICENCES = "LICENCES.csv"


@dataclass(frozen=True)
class PackPhoto:
    path: str  # inside the pack
    loader: str  # the skimage.data function
    what: str
    licence: str  # as scikit-image's docstring records it


PHOTOS = (
    PackPhoto("faces/Eileen_Collins/astronaut.png", "astronaut", "astronaut Eileen Collins (NASA)", "public domain"),
    PackPhoto("photos/astronaut.png", "astronaut", "astronaut Eileen Collins (NASA)", "public domain"),
    PackPhoto("photos/camera.png", "camera", "a photographer with a camera", "CC0 (Lav Varshney)"),
    PackPhoto("photos/coffee.png", "coffee", "a cup of coffee", "CC0 (Rachel Michetti)"),
    PackPhoto("photos/chelsea.png", "chelsea", "Chelsea the cat", "CC0 (Stefan van der Walt)"),
    PackPhoto("photos/rocket.png", "rocket", "a SpaceX rocket on its pad", "public domain (SpaceX)"),
    PackPhoto("photos/hubble_deep_field.png", "hubble_deep_field", "the Hubble eXtreme Deep Field", "public domain (NASA)"),
    PackPhoto("photos/immunohistochemistry.png", "immunohistochemistry", "a stained tissue sample", "no known copyright restrictions"),
    PackPhoto("photos/retina.png", "retina", "a human retina", "CC0"),
    PackPhoto("photos/microaneurysms.png", "microaneurysms", "a retina detail", "CC0 (Andreas Maier)"),
    PackPhoto("photos/cell.png", "cell", "a cell floating in saline", "CC0"),
    PackPhoto("photos/horse.png", "horse", "a horse silhouette", "CC0 (Andreas Preuss)"),
    PackPhoto("photos/text.png", "text", "text for corner detection", "public domain"),
    PackPhoto("photos/brick.png", "brick", "a brick wall texture", "CC0 (CC0Textures)"),
    PackPhoto("photos/grass.png", "grass", "a grass texture", "CC0 (CC0Textures)"),
    PackPhoto("photos/gravel.png", "gravel", "a gravel texture", "CC0 (CC0Textures)"),
)  # fmt: skip


def _png(loader: str) -> bytes:
    from skimage import data

    pixels = np.asarray(getattr(data, loader)())
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def build(folder: Path = PACK_DIR) -> list[Path]:
    """Write every pack photo and the licence table under ``folder`` (skipping files already there); the paths."""
    written = []
    for photo in PHOTOS:
        path = folder / photo.path
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(_png(photo.loader))
            tmp.replace(path)
        written.append(path)
    with open(folder / LICENCES, "w", newline="") as fh:
        table = csv.writer(fh)
        table.writerow(["file", "what", "licence", "source"])
        for photo in PHOTOS:
            table.writerow([photo.path, photo.what, photo.licence, f"scikit-image skimage.data.{photo.loader}()"])
    return written


def pack_file(relative: str, folder: Path = PACK_DIR) -> Path:
    """A file of the pack, built first if the pack is missing (a checkout where setup has not run)."""
    path = folder / relative
    if not path.is_file():
        build(folder)
    return path
