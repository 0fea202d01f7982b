"""The Cloak page: presets set the sliders, the face attack runs on the demo photo and reports on the saved file,
black-box (never attacked) apart from white-box; the classifier mode turns the demo panda into another class."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.cloak.presets import DEFAULT_PRESET, PRESETS
from core.faces import available_recognizers


def test_face_attack_runs_from_the_sliders_and_reports() -> None:
    at = AppTest.from_file("../pages/cloak.py", default_timeout=600).run()
    assert not at.exception
    assert at.title[0].value == "Cloak"
    assert any("not** gallery poisoning" in m.value for m in at.markdown)
    assert not at.dataframe  # nothing runs before the button
    at.multiselect(key="recognizers").set_value(["dlib_resnet29"]).run()
    at.slider(key="eps").set_value(12).run()
    at.slider(key="steps").set_value(6).run()
    at.slider(key="step_size").set_value(3.0).run()
    at.checkbox(key="robust").uncheck().run()
    at.button(key="run_faces").click().run()
    assert not at.exception and not at.error
    report = at.dataframe[0].value
    assert list(report["recognizer"]) == ["dlib_resnet29"] and report["attacked"].all()
    assert report["linf"].iloc[0] <= 12
    assert report["distance_after"].iloc[0] > report["distance_before"].iloc[0]
    assert at.subheader[0].value.startswith("White box:")
    unseen = [name for name in available_recognizers() if name != "dlib_resnet29"]
    if unseen:  # recognizers left out of the attack are measured as black boxes
        assert set(at.dataframe[1].value["recognizer"]) == set(unseen) and not at.dataframe[1].value["attacked"].any()
    assert not at.warning
    at.slider(key="eps").set_value(4).run()  # moving a slider afterwards does not rerun the attack...
    assert not at.exception and at.dataframe[0].value.equals(report)
    assert "earlier settings" in at.warning[0].value  # ...but the report says it is stale


def test_presets_set_the_sliders_which_stay_free_to_move() -> None:
    at = AppTest.from_file("../pages/cloak.py", default_timeout=600).run()
    assert at.segmented_control(key="preset").value == DEFAULT_PRESET
    for name, preset in PRESETS.items():
        at.segmented_control(key="preset").set_value(name).run()
        assert at.slider(key="eps").value == preset.attack.eps
        assert at.slider(key="steps").value == preset.attack.steps
        assert at.slider(key="input_diversity").value == preset.attack.input_diversity
        assert at.selectbox(key="method").value == preset.attack.method
        assert at.slider(key="margin").value == preset.margin
    at.slider(key="eps").set_value(3).run()
    assert at.slider(key="eps").value == 3 and not at.exception


def test_the_ensemble_runs_with_a_preset_and_shows_the_black_box_section() -> None:
    recognizers = available_recognizers()
    assert len(recognizers) >= 3, f"the ensemble needs the packaged recognizers; available: {recognizers}"
    at = AppTest.from_file("../pages/cloak.py", default_timeout=900).run()
    at.segmented_control(key="preset").set_value("low").run()
    at.slider(key="steps").set_value(5).run()  # the low preset's settings, fewer steps: a quick run
    assert at.multiselect(key="recognizers").value == recognizers  # the ensemble is the default
    at.button(key="run_faces").click().run()
    assert not at.exception and not at.error
    heading = at.subheader[0].value
    assert heading.startswith("Black box: protected against") and f"of {len(recognizers)} recognizers" in heading
    black_box = at.dataframe[0].value
    assert list(black_box["held-out recognizer (never seen)"]) == recognizers
    assert all(black_box["protected"].between(0, 1))
    assert any("never saw" in m.value for m in at.markdown)
    white_box = at.dataframe[1].value
    assert set(white_box["recognizer"]) == set(recognizers) and white_box["attacked"].all()


def test_classifier_mode_attacks_the_demo_panda() -> None:
    at = AppTest.from_file("../pages/cloak.py", default_timeout=600).run()
    at.radio(key="mode").set_value("ImageNet classifier").run()
    at.selectbox(key="method").set_value("fgsm").run()
    at.slider(key="eps").set_value(4).run()
    at.slider(key="input_diversity").set_value(0.0).run()  # plain FGSM: no transfer options
    at.slider(key="translation_sigma").set_value(0.0).run()
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


def test_impersonation_lists_the_demo_identities() -> None:
    at = AppTest.from_file("../pages/cloak.py", default_timeout=600).run()
    at.radio(key="goal").set_value("Impersonation").run()
    assert not at.exception
    identities = at.selectbox(key="target_identity").options
    assert "Tony_Blair" in identities and len(identities) == len(set(identities)) >= 20
