"""Reading a plotly click back to an image, and the figures' hover labels and click payloads."""

from __future__ import annotations

import numpy as np

from core.grid.assign import assign
from core.grid.view import Selection, index_from_selection, mosaic_figure, next_selection, scatter_figure


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


def test_the_selection_is_an_image_whose_cell_follows_the_layout() -> None:
    identities = [(f"img{i}.jpg", f"hash{i}") for i in range(5)]
    first, moved = np.array([0, 1, 2, 3, 4]), np.array([5, 3, 1, 0, 2])  # two layouts of the same 5 images, 3x2
    chosen = next_selection(Selection(), identities, first, 6, clicked=3)
    assert chosen == Selection(("img3.jpg", "hash3"), 3)
    assert next_selection(chosen, identities, moved, 6, layout_changed=True) == Selection(("img3.jpg", "hash3"), 0)
    typed = next_selection(chosen, identities, first, 6, entered=True, typed=1)
    assert typed == Selection(("img1.jpg", "hash1"), 1)
    assert next_selection(chosen, identities, first, 6, clicked=99) == chosen  # a stale click of another collection
    gone = next_selection(chosen, identities[:3], first[:3], 6, layout_changed=True)
    assert gone == Selection()  # the image is no longer in the collection: nothing selected, no other image shown


def test_an_empty_cell_stays_entered_until_the_layout_changes() -> None:
    identities = [(f"img{i}.jpg", f"hash{i}") for i in range(4)]
    cells = np.array([0, 1, 2, 3])
    empty = next_selection(Selection(), identities, cells, 6, entered=True, typed=5)
    assert empty == Selection(None, 5)
    assert next_selection(empty, identities, cells, 6) == empty
    assert next_selection(empty, identities, np.array([5, 1, 2, 3]), 6, layout_changed=True) == Selection()
    assert next_selection(empty, identities, cells, 6, entered=True, typed=None) == Selection()
    assert next_selection(empty, identities, cells, 6, entered=True, typed=6) == Selection()  # beyond the grid
    assert next_selection(Selection(None, 5), identities, cells, 4) == Selection()  # the grid shrank


def test_hover_labels_escape_html_in_user_names() -> None:
    points = np.random.default_rng(1).normal(size=(3, 2))
    figure = scatter_figure(points, ["<b>x</b>.jpg", "a&b.jpg", "c.jpg"], ["<i>cat</i>", "", "dog"])
    assert list(figure.data[0].hovertext) == [
        "&lt;b&gt;x&lt;/b&gt;.jpg<br>&lt;i&gt;cat&lt;/i&gt;",
        "a&amp;b.jpg",
        "c.jpg<br>dog",
    ]
