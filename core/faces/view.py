"""Plotly figures for the faces page: the clustered distance heatmap and the calibration charts."""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from core.faces.calibrate import Calibration

SAME_COLOUR, DIFFERENT_COLOUR = "#2a9d8f", "#e76f51"


def data_uri(thumbnail: np.ndarray) -> str:
    """A PNG data URL of an HxWx3 uint8 thumbnail (for plotly layout images and st.column_config.ImageColumn)."""
    buffer = io.BytesIO()
    Image.fromarray(thumbnail).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def heatmap_figure(
    distances: np.ndarray, labels: list[str], thumbnails: list[np.ndarray], cutoff: float, metric: str
) -> go.Figure:
    """Distances in the given (clustered) order, face thumbnails along both axes, and a dot on every pair the
    threshold calls "same person"."""
    count = len(labels)
    shown = [html.escape(label) for label in labels]  # plotly renders tags in hover text: file names as typed
    positions = list(range(count))
    figure = go.Figure(
        go.Heatmap(
            z=distances,
            x=positions,
            y=positions,
            colorscale="Viridis",
            colorbar={"title": metric},
            customdata=np.array([[(shown[i], shown[j]) for j in range(count)] for i in range(count)], dtype=object),
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>distance %{z:.3f}<extra></extra>",
        )
    )
    rows, cols = np.nonzero((distances < cutoff) & ~np.eye(count, dtype=bool))
    figure.add_trace(
        go.Scatter(
            x=cols,
            y=rows,
            mode="markers",
            marker={"color": "white", "size": max(3, 240 // max(count, 1))},
            hoverinfo="skip",
            name=f"same (< {cutoff:.3f})",
        )
    )
    for index, thumbnail in enumerate(thumbnails):
        uri = data_uri(thumbnail)
        # one thumbnail left of its row, one above its column
        for placement in (
            {"x": -0.5, "y": index, "sizex": 1.6, "sizey": 1, "xanchor": "right", "yanchor": "middle"},
            {"x": index, "y": -0.5, "sizex": 1, "sizey": 1.6, "xanchor": "center", "yanchor": "bottom"},
        ):
            figure.add_layout_image(source=uri, xref="x", yref="y", layer="above", **placement)
    span = [-2.2, count - 0.5]
    figure.update_xaxes(range=span, showticklabels=False, showgrid=False, zeroline=False)
    figure.update_yaxes(
        range=[count - 0.5, -2.2], showticklabels=False, showgrid=False, zeroline=False, scaleanchor="x"
    )
    figure.update_layout(
        height=min(900, 220 + 28 * count),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        showlegend=True,
        legend={"orientation": "h", "y": 1.04},
    )
    return figure


def histogram_figure(calibration: Calibration) -> go.Figure:
    """Same-identity vs different-identity pair distances, with the best and the default threshold."""
    figure = go.Figure()
    for name, mask, colour in (
        ("same person", calibration.same, SAME_COLOUR),
        ("different people", ~calibration.same, DIFFERENT_COLOUR),
    ):
        figure.add_trace(
            go.Histogram(x=calibration.distances[mask], name=name, marker_color=colour, opacity=0.65, nbinsx=40)
        )
    figure.add_vline(
        x=calibration.best_threshold, line_dash="dash", annotation_text=f"best {calibration.best_threshold:.3f}"
    )
    figure.add_vline(
        x=calibration.default_threshold,
        line_dash="dot",
        annotation_text=f"default {calibration.default_threshold:.3f}",
        annotation_position="bottom right",
    )
    figure.update_layout(
        barmode="overlay",
        xaxis_title=f"{calibration.metric} distance",
        yaxis_title="pairs",
        height=340,
        margin={"t": 30},
    )
    return figure


def roc_figure(calibration: Calibration) -> go.Figure:
    """True accept rate against false accept rate (log x, where FAR 1e-2 and 1e-3 live)."""
    false_accepts, true_accepts = calibration.roc
    floor = 1.0 / max(int((~calibration.same).sum()), 1) / 2
    figure = go.Figure(
        go.Scatter(x=np.maximum(false_accepts, floor), y=true_accepts, mode="lines", name=f"AUC {calibration.auc:.4f}")
    )
    for far in calibration.tar_at_far:
        figure.add_vline(
            x=far,
            line_dash="dot",
            annotation_text=f"TAR {calibration.tar_at_far[far]:.3f}",
            annotation_position="bottom right",
        )
    figure.update_xaxes(type="log", title="false accept rate", range=[np.log10(floor), 0])
    figure.update_yaxes(title="true accept rate", range=[0, 1.02])
    figure.update_layout(height=340, margin={"t": 30}, showlegend=True)
    return figure


def sweep_figure(calibration: Calibration, cutoff: float) -> go.Figure:
    """Accuracy and F1 of "same if distance < t" against t, with the threshold in use."""
    sweep = calibration.sweep
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=sweep["threshold"], y=sweep["accuracy"], name="accuracy"))
    figure.add_trace(go.Scatter(x=sweep["threshold"], y=sweep["f1"], name="F1"))
    figure.add_vline(x=cutoff, line_dash="dash", annotation_text=f"in use {cutoff:.3f}")
    figure.update_layout(
        xaxis_title=f"threshold ({calibration.metric})",
        yaxis_title="score",
        yaxis_range=[0, 1.02],
        height=340,
        margin={"t": 30},
    )
    return figure
