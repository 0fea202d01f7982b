"""Robustness transforms: differentiable stand-ins for re-encoding (expectation over transformation, Athalye et al.
2018) used during the attack, and the real PIL re-encodings the report measures after it.

The attack sees a random mild degradation each step (downscale and back, Gaussian blur, or a JPEG-like
8x8 DCT quantisation with a straight-through rounding), so the cloak it finds survives JPEG and resizing instead of
relying on exact pixel values. All differentiable transforms take and return (N,3,H,W) tensors on 0..255.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from PIL import Image

from core.images import open_image

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

# The IJG luminance and chrominance quantisation tables (JPEG standard, Annex K), quality 50.
_LUMA_TABLE = torch.tensor(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=torch.float32,
)
_CHROMA_TABLE = torch.full((8, 8), 99.0)
_CHROMA_TABLE[:4, :4] = torch.tensor(
    [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]], dtype=torch.float32
)


def _dct_matrix(n: int = 8) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float32)
    basis = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2 / n)
    basis[0] /= math.sqrt(2)
    return basis


_DCT = _dct_matrix()


def quality_scale(quality: int) -> float:
    """IJG scaling of the quality-50 tables for ``quality`` in 1..100."""
    quality = min(max(int(quality), 1), 100)
    return (5000 / quality if quality < 50 else 200 - 2 * quality) / 100


def differentiable_jpeg(images: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-like degradation: YCbCr, 4:2:0 chroma averaging, 8x8 DCT quantised with the IJG tables at ``quality``,
    rounding with a straight-through gradient. Not bit-exact with libjpeg, but it removes the same frequencies."""
    _, _, height, width = images.shape
    pad_h, pad_w = (-height) % 16, (-width) % 16
    padded = F.pad(images, (0, pad_w, 0, pad_h), mode="replicate")
    ycbcr = _rgb_to_ycbcr(padded) - 128.0
    luma, chroma = ycbcr[:, :1], ycbcr[:, 1:]
    chroma = F.interpolate(F.avg_pool2d(chroma, 2), scale_factor=2, mode="nearest")
    scale = quality_scale(quality)
    luma = _quantise_blocks(luma, (_LUMA_TABLE * scale).clamp(min=1))
    chroma = _quantise_blocks(chroma, (_CHROMA_TABLE * scale).clamp(min=1))
    rgb = _ycbcr_to_rgb(torch.cat([luma, chroma], dim=1) + 128.0)
    return rgb[:, :, :height, :width].clamp(0, 255)


def _quantise_blocks(channels: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    n, c, h, w = channels.shape
    blocks = channels.reshape(n, c, h // 8, 8, w // 8, 8).permute(0, 1, 2, 4, 3, 5)
    coefficients = _DCT @ blocks @ _DCT.T
    scaled = coefficients / table
    rounded = scaled + (torch.round(scaled) - scaled).detach()  # straight-through rounding
    restored = _DCT.T @ (rounded * table) @ _DCT
    return restored.permute(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)


def _rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    r, g, b = rgb.unbind(dim=1)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return torch.stack([y, cb, cr], dim=1)


def _ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    y, cb, cr = ycbcr[:, 0], ycbcr[:, 1] - 128, ycbcr[:, 2] - 128
    r = y + 1.402 * cr
    g = y - 0.344136 * cb - 0.714136 * cr
    b = y + 1.772 * cb
    return torch.stack([r, g, b], dim=1)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflection padding."""
    radius = max(1, math.ceil(2.5 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = images.shape[1]
    horizontal = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    vertical = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(F.conv2d(padded, horizontal, groups=channels), vertical, groups=channels)


def resize_round_trip(images: torch.Tensor, factor: float) -> torch.Tensor:
    """Downscale by ``factor`` (antialiased) and back to the original size: what re-uploading at lower resolution does."""
    height, width = images.shape[-2:]
    small = (max(8, round(height * factor)), max(8, round(width * factor)))
    reduced = F.interpolate(images, size=small, mode="bilinear", antialias=True, align_corners=False)
    return F.interpolate(reduced, size=(height, width), mode="bilinear", align_corners=False)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def random_degradation(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random mild degradation per call: identity, resize round trip (0.5-0.9x), blur (sigma 0.4-1.0) or JPEG
    (quality 60-90), chosen uniformly. Used once per attack step."""
    choice = int(torch.randint(4, (), generator=generator))
    if choice == 1:
        return resize_round_trip(images, _uniform(generator, 0.5, 0.9))
    if choice == 2:
        return gaussian_blur(images, _uniform(generator, 0.4, 1.0))
    if choice == 3:
        return differentiable_jpeg(images, round(_uniform(generator, 60, 90)))
    return images


def jpeg_reencode(image: Image.Image, quality: int) -> Image.Image:
    """The real thing the report measures: save as JPEG at ``quality`` with PIL and decode again."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return open_image(buffer.getvalue(), name=f"jpeg{quality}", max_side=None)


def half_size(image: Image.Image) -> Image.Image:
    """0.5x downscale (Lanczos), as a photo sharing site might store it."""
    return image.resize((max(1, image.width // 2), max(1, image.height // 2)), Image.Resampling.LANCZOS)
