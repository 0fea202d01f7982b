"""Plotly figures for the grid page (mosaic with hover labels, raw 2-D map), reading a click back to an image, and
keeping the selected image selected while the layout changes."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Selection:
    """What the detail view shows: an image, by identity (name, content hash), and the cell it is in now; or an empty
    cell the user entered (``image`` None); or nothing."""

    image: tuple[str, str] | None = None
    cell: int | None = None


def next_selection(
    previous: Selection,
    identities: list[tuple[str, str]],
    cells: np.ndarray,
    cell_count: int,
    *,
    clicked: int | None = None,
    entered: bool = False,
    typed: int | None = None,
    layout_changed: bool = False,
) -> Selection:
    """The selection after one rerun of the page. A new click (image index ``clicked``) selects that image; a cell the
    user ``entered`` (``typed``, None when cleared) selects its occupant. Otherwise the selected image stays selected
    and its cell follows it when the layout moves (None when it is no longer in the collection), so a changed layout
    never shows another image under the old cell number; an entered empty cell is dropped when the layout changes."""
    image = previous.image
    if clicked is not None and 0 <= clicked < len(identities):
        image = identities[clicked]
    elif entered:
        if typed is None or not 0 <= typed < cell_count:
            return Selection()
        occupants = np.flatnonzero(cells == typed)
        return Selection(identities[int(occupants[0])] if len(occupants) else None, int(typed))
    if image is not None:
        index = next((i for i, identity in enumerate(identities) if identity == image), None)
        return Selection() if index is None else Selection(image, int(cells[index]))
    if layout_changed or previous.cell is None or previous.cell >= cell_count:
        return Selection()
    return previous


def _hover(names: list[str], labels: list[str]) -> list[str]:
    """Hover text: plotly renders HTML tags in it, so the names and labels (user text) are escaped."""
    names, labels = [html.escape(name) for name in names], [html.escape(label) for label in labels]
    return [f"{name}<br>{label}" if label else name for name, label in zip(names, labels, strict=True)]


def _label_colours(labels: list[str]) -> list[str]:
    order = {label: i for i, label in enumerate(sorted(set(labels)))}
    return [PALETTE[order[label] % len(PALETTE)] for label in labels]
