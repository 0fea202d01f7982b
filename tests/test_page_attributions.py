"""The Attributions page runs the real classifier on a real photo, and survives switching methods and target."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "attributions.py")


def test_page_switches_methods_and_target() -> None:
    at = AppTest.from_file(PAGE, default_timeout=600).run()
    assert not at.exception
    assert at.selectbox(key="target").value == 285  # chelsea: Egyptian cat is the top-1
    assert "Egyptian cat" in at.subheader[0].value
    ranking = at.dataframe[1].value
    assert list(ranking["method"]) and len(ranking) == 3
    assert set(ranking["method"]) == {"Saliency", "Integrated Gradients", "Grad-CAM"}

    at.multiselect(key="methods").set_value(["gradcam", "guided-backprop"]).run()
    assert not at.exception
    assert set(at.dataframe[1].value["method"]) == {"Grad-CAM", "Guided Backprop"}

    at.selectbox(key="target").set_value(967).run()  # espresso
    assert not at.exception
    assert "espresso" in at.subheader[0].value
    assert len(at.dataframe[1].value) == 2


def test_page_face_pair_mode_explains_a_pair_and_its_distance() -> None:
    at = AppTest.from_file(PAGE, default_timeout=600)
    at.session_state["mode"] = "Face pair"
    at.session_state["face_methods"] = ["saliency"]
    at.run()
    assert not at.exception
    assert float(at.metric[0].value) < 0.6  # two photos of Colin Powell
    assert "same person" in at.markdown[-1].value

    at.selectbox(key="face_photo_B").set_value("Tony_Blair/Tony_Blair_0001.jpg").run()
    assert not at.exception
    assert float(at.metric[0].value) > 0.6
    assert "different people" in at.markdown[-1].value
