"""The grid page on scikit-learn's digits: it builds the grid, and a click on a cell opens that image.

AppTest cannot click inside a plotly chart. The test sets the chart's selection state (the payload Streamlit
returns for a click, PlotlyState) through session_state, which runs the page's real click handling; the "cell"
number input that a click fills in is driven directly as well. What is not tested: that the browser's plotly
click produces this payload (that is Streamlit's contract)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

from sklearn.datasets import load_digits
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT
from core.text import plain_markdown

PAGE = str(REPO_ROOT / "pages" / "grid.py")
DIGITS = load_digits().target
DIGITS_SOURCE = "digits (scikit-learn, 8x8, offline)"


def digits_page(limit: int) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["source"] = DIGITS_SOURCE
    at.session_state["limit"] = limit
    return at


def opened_image(at: AppTest) -> tuple[int, int, int, str]:
    """(row, col, digit index, label shown) from the detail section: the cell heading, then file and label as text."""
    cell = re.fullmatch(r"Cell \((\d+), (\d+)\)", at.subheader[0].value)
    assert cell, at.subheader[0].value
    shown = re.fullmatch(r"File: digit_(\d+)\.png\nLabel: (.*)", at.text[0].value)
    assert shown, at.text[0].value
    return int(cell[1]), int(cell[2]), int(shown[1]), shown[2]


def test_page_builds_digits_grid_and_a_click_opens_the_image() -> None:
    at = digits_page(600).run()
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


def click(at: AppTest, index: int) -> None:
    point = {"curve_number": 1, "point_index": index, "x": 0.0, "y": 0.0, "customdata": index}
    at.session_state["grid_chart"] = {
        "selection": {"points": [point], "point_indices": [index], "box": [], "lasso": []}
    }


def test_the_selected_image_stays_selected_when_the_layout_changes() -> None:
    at = digits_page(600).run()
    click(at, 123)
    at.run()
    row, col, index, _ = opened_image(at)
    assert index == 123 and at.number_input(key="grid_cell").value == row * 25 + col
    for rows, cols in ((20, 30), (30, 30), (0, 0)):  # the grid moves under the selection; the image follows it
        at.number_input(key="rows").set_value(rows)
        at.number_input(key="cols").set_value(cols).run()
        assert not at.exception
        new_row, new_col, index, _ = opened_image(at)
        width = cols or 25
        assert index == 123 and at.number_input(key="grid_cell").value == new_row * width + new_col
    assert (new_row, new_col) == (row, col)  # back to the first layout: back in its first cell
    at.number_input(key="grid_cell").set_value(0).run()  # a typed cell selects what is in it
    assert opened_image(at)[:2] == (0, 0) and opened_image(at)[2] != 123


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.session_state["source"] = "Upload images or a zip"
    at.run()
    at.file_uploader(key="uploads").set_value([(name, data, "application/octet-stream") for name, data in files])
    return at.run()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_file_names_are_shown_as_plain_text_not_markdown(data_dir: Path) -> None:
    photos = sorted((data_dir / "cifar10" / "frog").glob("*.jpg"))[:6]
    names = ["[x](https://example.com).jpg", "**b**.jpg", "<b>tag</b>.jpg", "c.jpg", "d.jpg", "e.jpg"]
    at = upload(
        AppTest.from_file(PAGE, default_timeout=240), *zip(names, (p.read_bytes() for p in photos), strict=True)
    )
    assert not at.exception and not at.error
    for index, name in enumerate(names[:3]):
        click(at, index)
        at.run()
        assert re.fullmatch(r"Cell \(\d+, \d+\)", at.subheader[0].value)
        assert at.text[0].value == f"File: {name}\nLabel: none"  # st.text: shown as typed
    rendered = [m.value for m in [*at.markdown, *at.subheader, *at.caption, *at.warning, *at.error]]
    assert not any("](https://example.com)" in value or "**b**" in value for value in rendered)
    hover = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][1]["hovertext"]  # plotly renders tags in it
    assert hover[:3] == ["[x](https://example.com).jpg", "**b**.jpg", "&lt;b&gt;tag&lt;/b&gt;.jpg"]


def test_hostile_uploads_get_one_line_errors_and_the_page_keeps_running(data_dir: Path, zeros_zip) -> None:
    cat = (data_dir / "cifar10" / "cat" / "0000.jpg").read_bytes()
    at = upload(
        AppTest.from_file(PAGE, default_timeout=240), ("copies.zip", zipped({f"{i}.jpg": cat for i in range(20)}))
    )
    assert not at.exception and at.status[0].label == "Cannot build this grid"
    assert "all 20 images look exactly alike" in at.error[0].value and "NaN" not in at.error[0].value
    at.file_uploader(key="uploads").set_value(("bomb.zip", zeros_zip("set/bomb.png", 40), "application/zip")).run()
    assert not at.exception and len(at.error) == 1
    assert at.error[0].value == plain_markdown("bomb.zip: set/bomb.png: larger than 25 MB uncompressed")


def test_a_sparse_grid_with_no_two_images_side_by_side_still_shows() -> None:
    at = digits_page(10)
    at.session_state["rows"] = at.session_state["cols"] = 100
    at.run()
    assert not at.exception and not at.error
    assert at.status[0].label == "10 images on a 100x100 grid"
    assert {metric.label for metric in at.metric} == {"k-NN kept, 2-D map", "k-NN kept, grid"}


def test_a_folder_shows_what_it_skipped_and_never_the_linked_files(linked_root: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["source"] = "Folder under the data root"
    at.session_state["folder"] = str(linked_root / "cifar10")
    at.run()
    assert not at.exception and not at.error
    assert at.status[0].label == "7 images on a 3x3 grid"
    assert [w.value for w in at.warning] == [
        "skipped " + plain_markdown("cat/secret.jpg: a link to a file outside the data roots"),
        "skipped " + plain_markdown("ships: a link to a folder outside the data roots"),
    ]
    hover = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][1]["hovertext"]
    assert len(hover) == 7 and not any("secret" in text or "ships" in text for text in hover)


def test_the_default_collection_is_the_demo_photos() -> None:
    """A visitor's first view is a grid of real photos, the 500 ImageNet samples, not 8x8 digits."""
    at = AppTest.from_file(PAGE, default_timeout=600).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="source").value == "ImageNet samples (500 photos)"
    assert at.status[0].label == "500 images on a 22x23 grid"
    metrics = {metric.label: float(metric.value.rstrip("%")) for metric in at.metric}
    assert set(metrics) == {"k-NN kept, 2-D map", "k-NN kept, grid"}  # one class per photo: no label figures
    chance = 100 * 24 / 499  # a 5x5 window holds 24 of the 499 other photos
    assert metrics["k-NN kept, grid"] > 3 * chance, metrics


def test_public_mode_offers_no_server_folders(monkeypatch) -> None:
    monkeypatch.setenv("HIDESEEK_PUBLIC", "1")
    at = digits_page(50).run()
    assert not at.exception and not at.error
    assert "Folder under the data root" not in at.selectbox(key="source").options


def test_public_mode_takes_only_the_allowed_number_of_uploaded_files(data_dir: Path, monkeypatch) -> None:
    from core import config

    monkeypatch.setenv("HIDESEEK_PUBLIC", "1")
    monkeypatch.setattr(config, "PUBLIC_LIMITS", config.Limits(2048, 5, 12, 600.0, 3600.0))
    photos = sorted((data_dir / "cifar10" / "ship").glob("*.jpg"))[:7]
    at = upload(AppTest.from_file(PAGE, default_timeout=240), *((p.name, p.read_bytes()) for p in photos))
    assert not at.exception and not at.error
    assert at.warning[0].value == "7 files uploaded; this server takes the first 5."
    assert at.status[0].label.startswith("5 images on a ")
