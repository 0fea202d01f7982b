"""The grid page on scikit-learn's digits: it builds the grid, and choosing a cell opens that image.

AppTest cannot click a plotly chart, so the test drives the "cell" number input that a click sets; the click
handling itself (plotly selection state -> image index) is tested in tests/test_grid_view.py."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "grid.py")


def test_page_builds_digits_grid_and_opens_a_cell() -> None:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.run()
    assert not at.exception
    assert not at.error
    assert "1797 images on a 42x43 grid" in at.status[0].label
    metrics = {metric.label: metric.value for metric in at.metric}
    assert int(metrics["same-label neighbours"].rstrip("%")) > 3 * int(metrics["same label by chance"].rstrip("%"))

    at.number_input(key="grid_cell").set_value(0).run()
    assert not at.exception
    opened = [sub.value for sub in at.subheader]
    assert opened and (opened[0].startswith("Cell (0, 0): digit_") or "empty" in at.info[0].value)


def test_page_rejects_a_folder_outside_the_data_roots() -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["source"] = "Folder under the data root"
    at.session_state["folder"] = "/etc"
    at.run()
    assert not at.exception
    assert "outside the configured data roots" in at.error[0].value
