"""The Faces page on the demo set: renders, the threshold slider regroups faces, calibration sets the threshold."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT

TIMEOUT = 300


def _run() -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "faces.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _people_count(at: AppTest) -> int:
    line = next(m.value for m in at.markdown if "people** at threshold" in m.value)
    return int(line.split("**")[1].split()[0])


def test_demo_renders_matrix_groups_and_calibration():
    at = _run()
    assert at.title[0].value == "Faces"
    assert not at.error
    slider = at.slider(key="threshold_dlib_resnet29_l2")
    assert slider.value == 0.6
    assert _people_count(at) == 5  # five demo people, grouped at dlib's threshold
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["ROC AUC"]) >= 0.9
    assert {"Best threshold", "TAR @ FAR 1e-2", "TAR @ FAR 1e-3"} <= set(metrics)
    assert any("Unavailable" in c.value for c in at.caption)  # FaceNet shown disabled with its reason

    slider.set_value(0.05).run()
    assert not at.exception
    assert _people_count(at) == 15  # nothing is that close: every face on its own

    at.button(key="use_best").click().run()
    assert not at.exception
    best = float(next(m.value for m in at.metric if m.label == "Best threshold"))
    assert at.slider(key="threshold_dlib_resnet29_l2").value == round(best, 3)
    assert _people_count(at) == 5


def test_gallery_names_a_demo_person_and_calls_a_stranger_unknown():
    at = _run()
    at.selectbox(key="query_pick").set_value("faces/Colin_Powell/Colin_Powell_0004.jpg").run()
    assert any("**Colin_Powell**" in m.value for m in at.markdown)
    at.selectbox(key="query_pick").set_value("faces_multi/face_recognition_obama_and_biden.jpg").run()
    verdicts = [m.value for m in at.markdown if m.value.startswith("face ")]
    assert len(verdicts) >= 2 and all("unknown" in v for v in verdicts)  # Obama, Biden (and a face behind)


def test_folder_outside_the_data_root_is_refused():
    at = _run()
    at.radio(key="source").set_value("Folder under the data root").run()
    at.text_input(key="folder").set_value("/etc").run()
    assert not at.exception
    assert any("outside the configured data roots" in e.value for e in at.error)
