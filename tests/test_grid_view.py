"""Reading a plotly click back to an image, and the figures' hover labels and click payloads."""

from __future__ import annotations

import numpy as np

from core.grid.assign import assign
from core.grid.view import index_from_selection, mosaic_figure, scatter_figure


def streamlit_selection(*points: dict) -> dict:
    """The shape of ``st.plotly_chart(..., on_select="rerun")``'s return value (see PlotlyState's docstring)."""
    return {"selection": {"points": list(points), "point_indices": [], "box": [], "lasso": []}}


def test_index_from_selection_reads_customdata_of_the_clicked_marker() -> None:
    assert index_from_selection(None) is None
    assert index_from_selection(streamlit_selection()) is None
    image_point = {"curve_number": 0, "x": 3, "y": 4}  # a click on the mosaic image itself carries no image index
    marker = {"curve_number": 1, "point_index": 7, "x": 1.5, "y": 2.5, "customdata": 42}
    assert index_from_selection(streamlit_selection(image_point, marker)) == 42
    assert index_from_selection(streamlit_selection({"customdata": [5, "extra"]})) == 5


def test_figures_carry_one_marker_per_image_with_its_name_and_label() -> None:
    points = np.random.default_rng(0).normal(size=(10, 2))
    assignment = assign(points, (3, 4))
    names, labels = [f"img{i}.jpg" for i in range(10)], ["cat"] * 5 + ["dog"] * 5
    mosaic = np.zeros((3 * 8, 4 * 8, 3), dtype=np.uint8)
    for figure in (mosaic_figure(mosaic, assignment, names, labels, True), scatter_figure(points, names, labels)):
        markers = figure.data[-1]
        assert list(markers.customdata) == list(range(10))
        assert markers.hovertext[7] == "img7.jpg<br>dog"
    marker_x = mosaic_figure(mosaic, assignment, names, labels).data[1].x
    assert np.allclose(marker_x, (assignment.cols + 0.5) * 8)  # markers sit on their cells
