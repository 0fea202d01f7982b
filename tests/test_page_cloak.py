"""The Cloak page: sliders move, the face attack runs on the demo photo and reports on the saved file; the
classifier mode turns the demo panda into another class."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def test_face_attack_runs_from_the_sliders_and_reports() -> None:
    at = AppTest.from_file("../pages/cloak.py", default_timeout=600).run()
    assert not at.exception
    assert at.title[0].value == "Cloak"
    assert any("not** gallery poisoning" in m.value for m in at.markdown)
    assert not at.dataframe  # nothing runs before the button
    at.slider(key="eps").set_value(12).run()
    at.slider(key="steps").set_value(6).run()
    at.slider(key="step_size").set_value(3.0).run()
    at.checkbox(key="robust").uncheck().run()
    at.button(key="run_faces").click().run()
    assert not at.exception and not at.error
    report = at.dataframe[0].value
    assert list(report["recognizer"]) == ["dlib_resnet29"]
    assert report["linf"].iloc[0] <= 12
    assert report["distance_after"].iloc[0] > report["distance_before"].iloc[0]
    assert at.subheader[0].value.startswith("Report:")
    at.slider(key="eps").set_value(4).run()  # moving a slider afterwards does not rerun the attack
    assert not at.exception and at.dataframe[0].value.equals(report)


def test_classifier_mode_attacks_the_demo_panda() -> None:
    at = AppTest.from_file("../pages/cloak.py", default_timeout=600).run()
    at.radio(key="mode").set_value("ImageNet classifier").run()
    at.selectbox(key="method").set_value("fgsm").run()
    at.slider(key="eps").set_value(4).run()
    at.button(key="run_classifier").click().run()
    assert not at.exception and not at.error
    assert at.subheader[0].value.startswith("Goal reached: giant panda →")
    before, after = at.dataframe[0].value, at.dataframe[1].value
    assert before["label"].iloc[0] == "giant panda" and after["label"].iloc[0] != "giant panda"


def _quick_face_attack() -> AppTest:
    at = AppTest.from_file("../pages/cloak.py", default_timeout=600).run()
    at.slider(key="steps").set_value(3).run()
    at.checkbox(key="robust").uncheck().run()
    return at.button(key="run_faces").click().run()


def test_a_second_visitor_with_the_same_settings_gets_the_result_without_a_replay_error() -> None:
    """Two sessions share the server's caches: the second one's hit used to replay the first one's progress bar
    into a block that does not exist in its own page (CacheReplayClosureError)."""
    first = _quick_face_attack()
    assert not first.exception and not first.error
    second = _quick_face_attack()
    assert not second.exception and not second.error
    assert second.dataframe[0].value.equals(first.dataframe[0].value)
    for session in (first, second):
        session.radio(key="mode").set_value("ImageNet classifier").run()
        session.selectbox(key="method").set_value("fgsm").run()
        session.button(key="run_classifier").click().run()
        assert not session.exception and not session.error
    assert second.subheader[0].value == first.subheader[0].value
