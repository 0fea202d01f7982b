"""The one way to open a user's image: any source, any mode, to a safe RGB PIL image or a readable error.

Policy
- Sources: raw bytes, or a path. The source is only read, never modified.
- EXIF orientation is applied, so the pixels are upright as a viewer shows them.
- Every mode (P, L, LA, RGBA, CMYK, I;16, I, F, ...) becomes RGB; transparency is composited on white;
  16-bit and float images are scaled to 8 bits from their own range. Animated images give their first frame.
- Decompression bombs: an image whose *declared* size exceeds MAX_PIXELS (64 MP) is refused before decoding.
- Very large images: images with a long side above ``max_side`` (default 4096 px) are downscaled with Lanczos
  before use; ``image.info["original_size"]`` keeps the size on disk. Tools that need fewer pixels (face detection,
  thumbnails) downscale further on their own copy.
- Anything that is not a decodable image raises ImageError with a message fit to show a user.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.config import hidden_name

MAX_PIXELS = 64_000_000
DEFAULT_MAX_SIDE = 4096
MIN_SIDE = 1
# The one list of file suffixes that folders and zips are searched for (open_image itself reads any format PIL knows).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})


class ImageError(ValueError):
    """An input that cannot be used as an image; str(err) is a user-readable reason."""


def open_image(
    source: bytes | str | Path, *, name: str | None = None, max_side: int | None = DEFAULT_MAX_SIDE
) -> Image.Image:
    """Open ``source`` as an upright RGB image, enforcing the policy in this module's docstring."""
    label = name or (Path(source).name if isinstance(source, (str, Path)) else "upload")
    data = _read_bytes(source, label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _check_declared_size(image, label)
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{label}: image is too large to open safely ({err})") from err
    except UnidentifiedImageError as err:
        raise ImageError(f"{label}: not a recognised image file (is it really a JPEG/PNG/GIF/WebP/BMP/TIFF?)") from err
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(f"{label}: the image file is damaged or truncated ({err})") from err
    rgb = to_rgb(image)
    rgb.info["original_size"] = rgb.size
    if max_side and max(rgb.size) > max_side:
        scale = max_side / max(rgb.size)
        new_size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        resized = rgb.resize(new_size, Image.Resampling.LANCZOS)
        resized.info["original_size"] = rgb.size
        rgb = resized
    return rgb


def is_image_name(name: str | PurePosixPath) -> bool:
    """Whether a file or zip member name is taken as an image: a suffix in IMAGE_SUFFIXES and nothing hidden in its
    path (``.name``, ``__MACOSX``)."""
    path = PurePosixPath(name)
    return path.suffix.lower() in IMAGE_SUFFIXES and not hidden_name(path)


def require_min_side(image: Image.Image, min_side: int, purpose: str, *, name: str = "image") -> None:
    """ImageError unless both sides of ``image`` are at least ``min_side`` pixels (``purpose``: "to classify", ...)."""
    width, height = image.size
    if min(width, height) < min_side:
        raise ImageError(f"{name}: {width}x{height} is too small {purpose} (each side must be at least {min_side} px)")


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB (alpha composited on white, high bit depths rescaled)."""
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        return Image.fromarray(scaled.round().astype(np.uint8), "L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def to_array(image: Image.Image) -> np.ndarray:
    """HxWx3 uint8 array of an RGB image."""
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _read_bytes(source: bytes | str | Path, label: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{label}: no such file ({path})")
        if not path.is_file():
            raise ImageError(f"{label}: not a file ({path})")
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ImageError(f"{label}: cannot read the file ({err.strerror or err})") from err
    if not data:
        raise ImageError(f"{label}: the file is empty (0 bytes)")
    return data


def _check_declared_size(image: Image.Image, label: str) -> None:
    width, height = image.size
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageError(f"{label}: the image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{label}: {width}x{height} is {width * height / 1e6:.0f} megapixels, above the "
            f"{MAX_PIXELS / 1e6:.0f} MP limit that guards against decompression bombs"
        )
