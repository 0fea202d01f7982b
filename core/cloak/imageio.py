"""Tensor -> image quantisation for cloaks, and the lossless PNG round trip every report is measured on."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from core.images import open_image


def to_image(pixels: torch.Tensor) -> Image.Image:
    """Quantise a (3,H,W) 0..255 tensor to an 8-bit RGB image, exactly as saving it does."""
    array = pixels.detach().clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(np.ascontiguousarray(array), "RGB")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def reopen_png(data: bytes) -> Image.Image:
    """Decode a written PNG through the project's one image opener, so the report sees what a user's file holds."""
    return open_image(data, name="cloaked.png", max_side=None)
