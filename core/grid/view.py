"""Plotly figures for the grid page (mosaic with hover labels, raw 2-D map) and reading a click back to an image."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from core.grid.assign import GridAssignment

PALETTE = px.colors.qualitative.Dark24
MOSAIC_HEIGHT = 760  # px; tall enough that 40+ rows of thumbnails stay readable


def mosaic_figure(
    image: np.ndarray, assignment: GridAssignment, names: list[str], labels: list[str], colour_by_label: bool = False
) -> go.Figure:
    """The mosaic as one image, with one marker per image at its cell centre carrying the hover label and the image
    index (``customdata``) that a click returns; with ``colour_by_label`` the markers tint each cell by label."""
    cell = image.shape[0] / assignment.shape[0]
    x = (assignment.cols + 0.5) * cell
    y = (assignment.rows + 0.5) * cell
    figure = go.Figure(go.Image(z=image, hoverinfo="skip"))
    colours = _label_colours(labels) if colour_by_label else None
    figure.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="markers",
            marker={
                "symbol": "square",
                "size": max(4.0, min(cell, 24.0)),
                "color": colours if colours is not None else "rgba(0,0,0,0)",
                "opacity": 0.45 if colours is not None else 1.0,
            },
            customdata=np.arange(len(names)),
            hovertext=_hover(names, labels),
            hoverinfo="text",
            showlegend=False,
        )
    )
    figure.update_layout(
        height=MOSAIC_HEIGHT, margin={"l": 0, "r": 0, "t": 0, "b": 0}, dragmode="pan", clickmode="event+select"
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, scaleanchor="x")
    return figure


def scatter_figure(points: np.ndarray, names: list[str], labels: list[str], colour_by_label: bool = False) -> go.Figure:
    """The raw t-SNE/UMAP map, one marker per image (``customdata`` = image index)."""
    figure = go.Figure(
        go.Scatter(
            x=points[:, 0],
            y=points[:, 1],
            mode="markers",
            marker={"size": 6, "color": _label_colours(labels) if colour_by_label else "#555555"},
            customdata=np.arange(len(names)),
            hovertext=_hover(names, labels),
            hoverinfo="text",
        )
    )
    figure.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0}, clickmode="event+select")
    figure.update_yaxes(scaleanchor="x")
    return figure


def index_from_selection(selection: Mapping | None) -> int | None:
    """The image index of the first selected point in a Streamlit plotly selection state, if any."""
    points = ((selection or {}).get("selection") or {}).get("points") or []
    for point in points:
        custom = point.get("customdata")
        if custom is not None:
            return int(custom[0] if isinstance(custom, list | tuple) else custom)
    return None


def _hover(names: list[str], labels: list[str]) -> list[str]:
    return [f"{name}<br>{label}" if label else name for name, label in zip(names, labels, strict=True)]


def _label_colours(labels: list[str]) -> list[str]:
    order = {label: i for i, label in enumerate(sorted(set(labels)))}
    return [PALETTE[order[label] % len(PALETTE)] for label in labels]
