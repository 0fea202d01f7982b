"""Sets of photos in, one row per detected face out: folders, zips and files, detection (cached), embeddings.

A photo's identity is the name of the folder that holds it (``<root>/<identity>/<photo>``), in a data folder and
in a zip alike; photos directly at the root have no identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageDraw

from core.archive import zip_images
from core.cache import cached_array, content_hash, pixels_hash
from core.config import folder_files
from core.faces.detect import DETECT_LONG_SIDE, Face, detect_faces
from core.faces.embed import embed_photos
from core.images import IMAGE_SUFFIXES, ImageError, open_image
from core.progress import Progress

MAX_ZIP_PHOTOS = 500  # analysed at once (the zip's other limits are core.archive's)
THUMBNAIL_SIZE = 80
PREVIEW_SIDE = 640
PHOTOS_PER_CHUNK = 16
# The page's default set: five people of the LFW part of ../shared/data/faces, three one-face photos each (small
# 250x250 photos, so it runs in seconds on two cores); their fourth photos and faces_multi/ are gallery queries.
DEMO_PEOPLE = ("Colin_Powell", "George_W_Bush", "Hugo_Chavez", "Tony_Blair", "Vladimir_Putin")
DEMO_PHOTOS_EACH = 3


@dataclass
class Photo:
    """A photo to analyse: a display name, its identity label (or None) and its encoded bytes; ``error`` says why a
    listed photo could not be read (then ``data`` is empty and its result carries the error)."""

    name: str
    identity: str | None
    data: bytes
    error: str | None = None

    @cached_property
    def digest(self) -> str:
        """sha256 of the encoded bytes, computed once per photo (the pages' cache key)."""
        return content_hash(self.data)


@dataclass
class FaceRow:
    """One detected face: where it came from, its geometry, embedding and a small thumbnail (HxWx3 uint8)."""

    photo: str
    identity: str | None
    index: int
    face: Face
    embedding: np.ndarray
    thumbnail: np.ndarray

    @property
    def label(self) -> str:
        return f"{self.photo}#{self.index}" if self.index else self.photo


@dataclass
class PhotoResult:
    """Everything found in one photo; ``error`` says why a photo could not be read (then it has no faces)."""

    name: str
    identity: str | None
    faces: list[FaceRow] = field(default_factory=list)
    preview: Image.Image | None = None  # downscaled copy with boxes and landmarks drawn
    error: str | None = None


def _identity_of(relative: PurePosixPath) -> str | None:
    return relative.parts[-2] if len(relative.parts) >= 2 else None


def photos_from_folder(folder: Path, *, confine: bool = True) -> list[Photo]:
    """Images in ``folder`` and its identity subfolders (one level), sorted by path. With ``confine`` (a server-side
    folder) a link that leads outside the data roots becomes a photo with ``error`` set instead of being read;
    the command line passes ``confine=False`` for the user's own folders."""
    listing = folder_files(folder, IMAGE_SUFFIXES, depth=1, confine=confine)
    photos = [Photo(name, None, b"", error=f"{name}: {why}; not read") for name, why in listing.refused]
    photos += [_read_photo(relative.as_posix(), _identity_of(relative), path) for relative, path in listing.files]
    return sorted(photos, key=lambda photo: PurePosixPath(photo.name).parts)


def demo_photos(root: Path) -> list[Photo]:
    """The demo set: DEMO_PHOTOS_EACH photos of each DEMO_PEOPLE folder under ``root`` (the data root's faces/)."""
    photos = []
    for person in DEMO_PEOPLE:
        for relative, path in _demo_files(root / person)[:DEMO_PHOTOS_EACH]:
            photos.append(_read_photo(f"{person}/{relative}", person, path))
    return photos


def demo_queries(data: Path) -> list[Path]:
    """Photos to try the gallery with: each demo person's next photo, and the two-person photos of faces_multi/."""
    people = [
        [data / "faces" / person / relative for relative, _ in _demo_files(data / "faces" / person)]
        for person in DEMO_PEOPLE
    ]
    people = [found[DEMO_PHOTOS_EACH : DEMO_PHOTOS_EACH + 1] for found in people]
    multi = [data / "faces_multi" / relative for relative, _ in _demo_files(data / "faces_multi")]
    return [path for found in people for path in found] + multi


def _demo_files(folder: Path) -> list[tuple[PurePosixPath, Path]]:
    """The JPEGs directly in a demo folder that stay inside the data roots (none when the folder is missing)."""
    return folder_files(folder, {".jpg"}, depth=0).files if folder.is_dir() else []


def _read_photo(name: str, identity: str | None, path: Path) -> Photo:
    try:
        return Photo(name, identity, path.read_bytes())
    except OSError as err:
        return Photo(name, identity, b"", error=f"{name}: cannot read the file ({err.strerror or err})")


def photos_from_paths(paths: Iterable[Path]) -> list[Photo]:
    """Files as given, folders expanded with photos_from_folder (the command line's own files: not confined)."""
    photos = []
    for path in paths:
        if path.is_dir():
            photos += photos_from_folder(path, confine=False)
        elif path.is_file():
            photos.append(_read_photo(path.name, None, path))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return photos


def photos_from_zip(data: bytes) -> list[Photo]:
    """Image members of an uploaded zip, read in memory by core.archive (its size and count caps), at most
    MAX_ZIP_PHOTOS of them."""
    return [
        Photo(member.path.as_posix(), _identity_of(member.path), member.data)
        for member in zip_images(data, max_images=MAX_ZIP_PHOTOS)
    ]


def detect_faces_cached(image: Image.Image, key: str) -> list[Face]:
    """detect_faces, stored on disk under the image hash (MTCNN is the slow step for big photos)."""

    def compute() -> np.ndarray:
        faces = detect_faces(image)
        return np.array([[*f.box, f.prob, *f.landmarks.ravel()] for f in faces], dtype=np.float64).reshape(-1, 15)

    rows = cached_array("face_detections", f"{key}|mtcnn|{DETECT_LONG_SIDE}", compute)
    return [Face(box=row[:4].copy(), prob=float(row[4]), landmarks=row[5:].reshape(5, 2).copy()) for row in rows]


def face_thumbnail(image: Image.Image, face: Face, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """A square crop around the face box (20% context), resized to ``size``: for tables, heatmaps and galleries."""
    x0, y0, x1, y1 = face.box
    half = max(x1 - x0, y1 - y0) * 0.6
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    crop = image.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
    return np.asarray(crop.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def draw_detections(image: Image.Image, faces: list[Face], max_side: int = PREVIEW_SIDE) -> Image.Image:
    """A downscaled copy with each face's box, index and 5 landmarks drawn."""
    scale = min(1.0, max_side / max(image.size))
    preview = (
        image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
        if scale < 1
        else image.copy()
    )
    draw = ImageDraw.Draw(preview)
    width = max(2, round(max(preview.size) / 250))
    for index, face in enumerate(faces):
        box = (face.box * scale).tolist()
        draw.rectangle(box, outline=(0, 255, 80), width=width)
        draw.text((box[0] + width, box[1] + width), str(index), fill=(0, 255, 80))
        for x, y in face.landmarks * scale:
            draw.ellipse((x - width, y - width, x + width, y + width), fill=(255, 40, 40))
    return preview


def analyze_photo(photo: Photo, recognizer: str) -> PhotoResult:
    """Open, detect, embed one photo; an unreadable photo becomes a result with ``error`` set."""
    return analyze_photos([photo], recognizer)[0]


def analyze_photos(photos: list[Photo], recognizer: str, progress: Progress | None = None) -> list[PhotoResult]:
    """Open, detect and embed every photo, reporting progress after each chunk. Photos are taken in chunks so
    that faces of several photos share one embedding batch while only a chunk's images are held in memory."""
    results = []
    for start in range(0, len(photos), PHOTOS_PER_CHUNK):
        results += _analyze_chunk(photos[start : start + PHOTOS_PER_CHUNK], recognizer)
        if progress is not None:
            progress(len(results) / len(photos), f"{len(results)}/{len(photos)}: {results[-1].name}")
    return results


def _analyze_chunk(photos: list[Photo], recognizer: str) -> list[PhotoResult]:
    opened, results = [], []
    for photo in photos:
        if photo.error is not None:
            results.append(PhotoResult(photo.name, photo.identity, error=photo.error))
            continue
        try:
            image = open_image(photo.data, name=photo.name)
        except ImageError as err:
            results.append(PhotoResult(photo.name, photo.identity, error=str(err)))
            continue
        key = pixels_hash(image)
        opened.append((photo, image, detect_faces_cached(image, key), key))
        results.append(None)
    embeddings = iter(embed_photos([(image, faces, key) for _, image, faces, key in opened], recognizer))
    analyzed = iter(opened)
    for position, result in enumerate(results):
        if result is None:
            photo, image, faces, _ = next(analyzed)
            rows = [
                FaceRow(photo.name, photo.identity, index, face, embedding, face_thumbnail(image, face))
                for index, (face, embedding) in enumerate(zip(faces, next(embeddings), strict=True))
            ]
            results[position] = PhotoResult(photo.name, photo.identity, rows, draw_detections(image, faces))
    return results


def primary_face(result: PhotoResult) -> FaceRow | None:
    """The largest face of a photo: in a one-person labelled photo the subject is the big face in front, while a
    smaller bystander can have the higher detection probability."""
    return max(result.faces, key=lambda row: float(np.prod(row.face.box[2:] - row.face.box[:2])), default=None)


def face_rows(results: list[PhotoResult], primary_only: bool = False) -> list[FaceRow]:
    """All faces in photo order, or only each photo's primary face (for labelled one-person photos)."""
    if primary_only:
        return [row for row in map(primary_face, results) if row is not None]
    return [row for result in results for row in result.faces]


def photos_without_faces(results: list[PhotoResult]) -> list[PhotoResult]:
    return [result for result in results if not result.faces]


def labelled_faces(results: list[PhotoResult]) -> tuple[list[FaceRow], list[str]]:
    """Primary faces of the photos that have an identity, and the names of labelled photos where none was found."""
    labelled = [result for result in results if result.identity is not None]
    missing = [result.name for result in labelled if not result.faces]
    return face_rows(labelled, primary_only=True), missing
