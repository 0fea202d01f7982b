"""Heatmaps over images: display scaling and colour overlays (OpenCV colormaps, no plotting library)."""

from __future__ import annotations

import cv2
import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.attribution.faithfulness import Faithfulness

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


def faithfulness_figure(results: list[Faithfulness], baseline: Faithfulness, titles: dict[str, str]) -> go.Figure:
    """Deletion (left) and insertion (right) curves of every method, the random order dashed, AUCs in the legend."""
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("Deletion (lower is better)", "Insertion (higher is better)")
    )
    palette = plotly.colors.qualitative.Plotly
    for i, result in enumerate([*results, baseline]):
        is_baseline = result is baseline
        style = {"color": "grey", "dash": "dash"} if is_baseline else {"color": palette[i % len(palette)]}
        label = "random order" if is_baseline else titles.get(result.name, result.name)
        for col, curve in ((1, result.deletion), (2, result.insertion)):
            figure.add_scatter(
                x=curve.fractions,
                y=curve.probabilities,
                mode="lines",
                line=style,
                name=f"{label} ({'del' if col == 1 else 'ins'} AUC {curve.auc:.3f})",
                legendgroup=label,
                row=1,
                col=col,
            )
    figure.update_xaxes(title_text="fraction of pixels changed", range=[0, 1])
    figure.update_yaxes(title_text="target probability", range=[0, 1], row=1, col=1)
    figure.update_layout(height=380, margin={"t": 40, "b": 40, "l": 40, "r": 10})
    return figure
