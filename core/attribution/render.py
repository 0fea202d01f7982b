"""Heatmaps over images: display scaling and colour overlays (OpenCV colormaps, no plotting library)."""

from __future__ import annotations

import cv2
import numpy as np

COLORMAPS = {
    "inferno": cv2.COLORMAP_INFERNO,
    "jet": cv2.COLORMAP_JET,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "turbo": cv2.COLORMAP_TURBO,
    "hot": cv2.COLORMAP_HOT,
    "bone": cv2.COLORMAP_BONE,
}


def display_scale(heatmap: np.ndarray, percentile: float = 99.5) -> np.ndarray:
    """The positive evidence scaled to 0..1 by a high percentile, so a few extreme gradients do not wash out
    the rest (negative evidence, e.g. in Integrated Gradients or occlusion, shows as 0)."""
    positive = np.clip(np.nan_to_num(heatmap.astype(np.float32)), 0, None)
    top = float(np.percentile(positive, percentile))
    if top <= 0:
        top = float(positive.max())
    return np.clip(positive / top, 0, 1) if top > 0 else positive


def overlay(pixels: np.ndarray, heatmap: np.ndarray, colormap: str = "inferno", opacity: float = 0.6) -> np.ndarray:
    """``pixels`` (H, W, 3) uint8 blended with the coloured map at ``opacity`` (0 = image only, 1 = map only)."""
    if colormap not in COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}")
    if heatmap.shape != pixels.shape[:2]:
        heatmap = cv2.resize(
            heatmap.astype(np.float32), (pixels.shape[1], pixels.shape[0]), interpolation=cv2.INTER_LINEAR
        )
    levels = (display_scale(heatmap) * 255).round().astype(np.uint8)
    coloured = cv2.cvtColor(cv2.applyColorMap(levels, COLORMAPS[colormap]), cv2.COLOR_BGR2RGB)
    blend = (1 - opacity) * pixels.astype(np.float32) + opacity * coloured.astype(np.float32)
    return blend.round().clip(0, 255).astype(np.uint8)
