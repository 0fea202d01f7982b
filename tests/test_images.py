"""The one image opener on a corpus of bad and odd inputs that the tests make themselves."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from core.images import MAX_PIXELS, ImageError, open_image, to_array


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.fromarray(data.astronaut())


def test_jpeg_path_opens_as_rgb_and_file_is_untouched(tmp_path: Path, photo: Image.Image) -> None:
    path = tmp_path / "astronaut.jpg"
    path.write_bytes(_encode(photo, "JPEG", quality=90))
    before = path.read_bytes()
    image = open_image(path)
    assert image.mode == "RGB" and image.size == photo.size
    assert path.read_bytes() == before


def test_truncated_jpeg_is_a_clear_error(photo: Image.Image) -> None:
    blob = _encode(photo, "JPEG")
    with pytest.raises(ImageError, match="damaged or truncated"):
        open_image(blob[: len(blob) // 3], name="cut.jpg")


def test_text_file_renamed_jpg_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: eggs, milk")
    with pytest.raises(ImageError, match="notes.jpg: not a recognised image"):
        open_image(path)


@pytest.mark.parametrize("source", [b"", "missing.png"])
def test_empty_or_missing_file(tmp_path: Path, source) -> None:
    if isinstance(source, str):
        source = tmp_path / source
    else:
        (tmp_path / "empty.png").write_bytes(source)
        source = tmp_path / "empty.png"
    with pytest.raises(ImageError, match="empty|no such file"):
        open_image(source)


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not a file"):
        open_image(tmp_path)


def _png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's calling card)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def test_huge_declared_size_is_refused_before_decoding() -> None:
    side = int(MAX_PIXELS**0.5) + 100
    with pytest.raises(ImageError, match="megapixels"):
        open_image(_png_with_declared_size(side, side), name="bomb.png")


def test_one_pixel_image() -> None:
    image = open_image(_encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"))
    assert image.size == (1, 1) and image.getpixel((0, 0)) == (10, 20, 30)


def test_sixteen_bit_greyscale_is_rescaled_to_full_range() -> None:
    ramp = (np.linspace(1000, 3000, 64 * 32).reshape(32, 64)).astype(np.uint16)
    image = open_image(_encode(Image.fromarray(ramp), "PNG"))
    pixels = to_array(image)
    assert image.mode == "RGB" and pixels.shape == (32, 64, 3)
    assert pixels.min() == 0 and pixels.max() == 255


def test_cmyk_jpeg_becomes_rgb(photo: Image.Image) -> None:
    image = open_image(_encode(photo.convert("CMYK"), "JPEG", quality=95))
    assert image.mode == "RGB"
    assert np.abs(to_array(image).astype(int) - to_array(photo).astype(int)).mean() < 12


def test_palette_with_transparency_is_composited_on_white() -> None:
    palette_image = Image.new("P", (8, 8), 0)
    palette_image.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    palette_image.paste(1, (4, 0, 8, 8))
    image = open_image(_encode(palette_image, "PNG", transparency=0))
    assert image.getpixel((0, 0)) == (255, 255, 255)  # transparent red -> white
    assert image.getpixel((6, 0)) == (0, 0, 255)


def test_rgba_and_la_modes() -> None:
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert open_image(_encode(rgba, "PNG")).getpixel((0, 0)) == (255, 255, 255)
    la = Image.new("LA", (4, 4), (50, 255))
    assert open_image(_encode(la, "PNG")).getpixel((0, 0)) == (50, 50, 50)


def test_exif_rotation_is_applied() -> None:
    wide = Image.new("RGB", (40, 20), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    image = open_image(_encode(wide, "JPEG", exif=exif.tobytes()))
    assert image.size == (20, 40)


def test_animated_gif_gives_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), color) for color in ((255, 0, 0), (0, 255, 0))]
    blob = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = open_image(blob)
    red, green, _ = image.getpixel((8, 8))
    assert red > 200 and green < 50


def test_large_image_is_downscaled_with_original_size_recorded() -> None:
    big = Image.new("RGB", (5000, 1000), (1, 2, 3))
    image = open_image(_encode(big, "PNG"), max_side=4096)
    assert image.size == (4096, 819) and image.info["original_size"] == (5000, 1000)
    assert open_image(_encode(big, "PNG"), max_side=None).size == (5000, 1000)
