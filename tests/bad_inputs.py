"""The bad-input corpus: files a hostile or unlucky visitor gives, made by the tests themselves from real photos.
Every surface that takes an image (each page's uploaders, each CLI command) is run on every case by
tests/test_bad_inputs.py, from one table."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image
from skimage import data

from core.images import MAX_PIXELS


@dataclass(frozen=True)
class BadInput:
    name: str  # the file name it is given as
    data: bytes
    unreadable: bool  # True: not an image at all, so every surface must refuse it with a message


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _declared_size_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height``: a decompression bomb's calling card."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
    )


def corpus() -> list[BadInput]:
    photo = _jpeg(Image.fromarray(data.astronaut()))
    side = int(MAX_PIXELS**0.5) + 100
    return [
        BadInput("empty.jpg", b"", unreadable=True),
        BadInput("truncated.jpg", photo[: len(photo) // 3], unreadable=True),
        BadInput("notes.png", b"these are my notes, not a picture\n" * 20, unreadable=True),
        BadInput("bomb.png", _declared_size_png(side, side), unreadable=True),
        BadInput("one_pixel.png", _png(Image.new("RGB", (1, 1), (200, 120, 90))), unreadable=False),
        BadInput("banner.png", _png(Image.fromarray(data.astronaut()).resize((2000, 3))), unreadable=False),
    ]
