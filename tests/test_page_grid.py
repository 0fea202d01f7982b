"""The grid page on scikit-learn's digits: it builds the grid, and a click on a cell opens that image.

AppTest cannot click inside a plotly chart. The test sets the chart's selection state (the payload Streamlit
returns for a click, PlotlyState) through session_state, which runs the page's real click handling; the "cell"
number input that a click fills in is driven directly as well. What is not tested: that the browser's plotly
click produces this payload (that is Streamlit's contract)."""

from __future__ import annotations

import re

from sklearn.datasets import load_digits
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "grid.py")
DIGITS = load_digits().target


def opened_image(at: AppTest) -> tuple[int, int, int, str]:
    """(row, col, digit index, label shown) from the detail section."""
    match = re.fullmatch(r"Cell \((\d+), (\d+)\): digit_(\d+)\.png", at.subheader[0].value)
    assert match, at.subheader[0].value
    label = next(m.value for m in at.markdown if m.value.startswith("Label:"))
    return int(match[1]), int(match[2]), int(match[3]), label.removeprefix("Label: **").removesuffix("**")


def test_page_builds_digits_grid_and_a_click_opens_the_image() -> None:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["limit"] = 600
    at.run()
    assert not at.exception and not at.error
    assert at.status[0].label == "600 images on a 24x25 grid"
    metrics = {metric.label: float(metric.value.rstrip("%")) for metric in at.metric}
    assert metrics["same-label neighbours"] > 3 * metrics["same label by chance"]
    assert not at.subheader  # nothing opened before a click

    click = {"curve_number": 1, "point_index": 123, "x": 0.0, "y": 0.0, "customdata": 123}
    at.session_state["grid_chart"] = {"selection": {"points": [click], "point_indices": [123], "box": [], "lasso": []}}
    at.run()
    assert not at.exception
    row, col, index, label = opened_image(at)
    assert index == 123 and label == str(DIGITS[123])
    assert at.number_input(key="grid_cell").value == row * 25 + col

    at.number_input(key="grid_cell").set_value(row * 25 + col).run()  # the same cell typed in: same image
    assert opened_image(at)[2] == 123


def test_page_rejects_a_folder_outside_the_data_roots() -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["source"] = "Folder under the data root"
    at.session_state["folder"] = "/etc"
    at.run()
    assert not at.exception
    assert "outside the configured data roots" in at.error[0].value
