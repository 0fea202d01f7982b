"""The Inside page: its default (a robust class model of a flamingo) runs on open and reaches the class; the
fooling view runs from the same page."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT

PAGE = str(REPO_ROOT / "pages" / "inside.py")


def metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_default_class_model_runs_on_open_and_reaches_the_class() -> None:
    at = AppTest.from_file(PAGE, default_timeout=600).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="target").value == 130  # flamingo
    assert float(metrics(at)["P(target)"]) >= 0.9
    assert any("flamingo" in caption.value for caption in at.caption)
    assert len(at.get("vega_lite_chart")) == 1  # the objective curve

    at.session_state["fool_steps"] = 16
    at.radio(key="mode").set_value("Fooling image").run()
    assert not at.exception and not at.error
    shown = metrics(at)
    assert float(shown["P(target)"]) >= 0.5 and float(shown["P(target) of the start"]) < 0.01
    assert float(shown["SSIM to the noise"]) > 0.9


def test_every_other_view_runs_on_its_demo_data() -> None:
    at = AppTest.from_file(PAGE, default_timeout=600)
    at.session_state["mode"] = "Channel / neuron"
    at.session_state["channel_steps"] = 16
    at.run()
    assert not at.exception and not at.error
    assert float(metrics(at)["increase"]) > 0

    at.session_state["limit"] = 20
    at.radio(key="mode").set_value("Top patches").run()
    assert not at.exception and not at.error
    scores = [float(caption.split("·")[-1]) for image in at.get("image") for caption in image.captions]
    assert len(scores) == 8 and scores == sorted(scores, reverse=True)

    at.session_state["dream_steps"] = 4
    at.radio(key="mode").set_value("DeepDream").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="sample").value is not None  # the giant panda by default
    assert float(metrics(at)["activation gain"].lstrip("×")) > 1.0

    at.radio(key="mode").set_value("Feature inversion").run()
    assert not at.exception and not at.error
    assert float(metrics(at)["SSIM to the photo"]) >= 0.5  # features.3, the page's default layer

    at.radio(key="photo_source").set_value("Demo pack").run()  # the photos that ship without the data folder
    assert not at.exception and not at.error
    assert at.selectbox(key="demo_photo").value == 0 and "SSIM to the photo" in metrics(at)
