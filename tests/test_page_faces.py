"""The Faces page on the demo set: renders, the threshold slider regroups faces, calibration sets the threshold,
every available recognizer can be chosen and is compared with the others, HSE FaceRec's age and gender estimates,
and user text (file and folder names) shown as typed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT
from core.faces import available_recognizers, threshold
from core.models import get_spec, recognizer_facts
from core.text import plain_markdown

TIMEOUT = 300


def _run() -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "faces.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The page's table that has ``column``."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


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
    assert any(f"**{plain_markdown('Colin_Powell')}**" in m.value for m in at.markdown)
    at.selectbox(key="query_pick").set_value("faces_multi/face_recognition_obama_and_biden.jpg").run()
    verdicts = [m.value for m in at.markdown if m.value.startswith("face ")]
    assert len(verdicts) >= 2 and all("unknown" in v for v in verdicts)  # Obama, Biden (and a face behind)


def test_folder_outside_the_data_root_is_refused():
    at = _run()
    at.radio(key="source").set_value("Folder under the data root").run()
    at.text_input(key="folder").set_value("/etc").run()
    assert not at.exception
    assert any("outside the configured data roots" in e.value for e in at.error)


def test_each_available_recognizer_is_chosen_and_compared_with_the_others():
    at = _run()
    usable = available_recognizers()
    titles = [get_spec(name).title for name in usable]
    assert usable == ["dlib_resnet29", "hse_faceres", "mobileface"]
    assert at.selectbox(key="recognizer").options == titles
    comparison = _table(at, "ROC AUC")
    assert list(comparison["recognizer"]) == titles and (comparison["faces"] == 15).all()
    assert comparison["ROC AUC"].between(0.0, 1.0).all()
    assert list(comparison["threshold from"]) == [recognizer_facts(name).threshold_source for name in usable]
    assert list(comparison["threshold in use (l2)"]) == [round(threshold(name), 4) for name in usable]
    for name in usable:
        at.selectbox(key="recognizer").set_value(name).run()
        assert not at.exception and not at.error
        assert at.slider(key=f"threshold_{name}_l2").value == round(threshold(name), 3)
        facts = recognizer_facts(name)
        assert any(
            f"embedded by {get_spec(name).title} into {facts.embedding_size} numbers" in c.value for c in at.caption
        )
        # the calibration panel is this recognizer's: its numbers are its row of the comparison
        row = _table(at, "ROC AUC").set_index("recognizer").loc[get_spec(name).title]
        metrics = {m.label: float(m.value) for m in at.metric}
        assert metrics["ROC AUC"] == pytest.approx(row["ROC AUC"], abs=1e-4)
        assert metrics["Best threshold"] == pytest.approx(row["best threshold (l2)"], abs=5e-4)
        assert metrics["TAR @ FAR 1e-2"] == pytest.approx(row["TAR @ FAR 1e-02"], abs=1e-3)
    agreement = _table(at, "same verdict")
    assert list(agreement["recognizers"]) == [
        "dlib_resnet29 / hse_faceres",
        "dlib_resnet29 / mobileface",
        "hse_faceres / mobileface",
    ]
    assert (agreement["face pairs"] == 105).all() and agreement["same verdict"].between(0.0, 1.0).all()
    assert at.selectbox(key="recognizer").value == "mobileface"


def test_a_threshold_set_by_hand_is_the_one_compared_and_said_to_be():
    at = _run()
    at.slider(key="threshold_dlib_resnet29_l2").set_value(0.3).run()
    dlib = _table(at, "ROC AUC").iloc[0]
    assert dlib["threshold in use (l2)"] == 0.3 and dlib["threshold from"].startswith("set by hand (default 0.6:")
    assert dlib["accuracy at it"] < 1.0


def test_age_and_gender_are_shown_per_face_as_a_models_estimates():
    at = _run()
    assert "Age and gender: a model's estimates" in [h.value for h in at.subheader]
    assert any("not facts about the person" in c.value for c in at.caption)
    table = _table(at, "estimated gender")
    assert len(table) == 15 and table["estimated age"].between(1, 100).all()
    people = table["photo"].str.split("/").str[0]
    men = table[people.isin(["Colin_Powell", "George_W_Bush", "Tony_Blair", "Vladimir_Putin"])]
    assert len(men) == 12 and (men["estimated gender"] == "male").all()


def test_without_the_tfjs_weights_only_dlib_is_offered_and_the_others_say_why(tmp_path, monkeypatch):
    monkeypatch.setenv("HIDESEEK_HUMAN_MODELS", str(tmp_path))  # an empty folder: no faceres, no mobileface
    at = _run()
    assert at.selectbox(key="recognizer").options == [get_spec("dlib_resnet29").title]
    disabled = {box.label: box.proto for box in at.checkbox}
    for name in ("hse_faceres", "mobileface"):
        assert disabled[get_spec(name).title].disabled
        assert f"{name.replace('hse_', '')}.json" in disabled[get_spec(name).title].help
    assert any(c.value.startswith("Unavailable: no weights: run scripts/setup.sh") for c in at.caption)
    assert "Age and gender: a model's estimates" not in [h.value for h in at.subheader]
    assert len(_table(at, "ROC AUC")) == 1
    assert any("Agreement needs two available recognizers" in i.value for i in at.info)


def test_file_and_folder_names_with_markdown_are_shown_as_typed(data_dir: Path):
    people = {
        person: sorted((data_dir / "faces" / person).glob("*.jpg")) for person in ("Colin_Powell", "George_W_Bush")
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # identity folders and file names that are Markdown
        for i in range(3):
            archive.writestr(f"**b**/[x](example.com)_{i}.jpg", people["Colin_Powell"][i].read_bytes())
            archive.writestr(f"[y](example.com)/**{i}**.jpg", people["George_W_Bush"][i].read_bytes())
    loose = people["George_W_Bush"][3].read_bytes()
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "faces.py"), default_timeout=TIMEOUT)
    at.session_state["source"] = "Upload photos or a zip"
    at.run()
    at.file_uploader(key="uploads").set_value(
        [("set.zip", buffer.getvalue(), "application/zip"), ("[x](https://example.com).jpg", loose, "image/jpeg")]
    )
    at.run()
    at.file_uploader(key="query_upload").set_value(("**q**.jpg", people["Colin_Powell"][3].read_bytes(), "image/jpeg"))
    at.run()
    assert not at.exception and not at.error
    enrolled = next(c.value for c in at.caption if c.value.startswith("Enrolled: "))
    assert enrolled.startswith(f"Enrolled: {plain_markdown('**b**')}, {plain_markdown('[y](example.com)')} (6 faces)")
    verdict = next(m.value for m in at.markdown if m.value.startswith("face 0: "))
    assert verdict.startswith(f"face 0: **{plain_markdown('**b**')}**, distance ")
    captions = [caption for image in at.get("image") for caption in image.captions]
    assert plain_markdown("**q**.jpg") in captions
    assert plain_markdown("[x](https://example.com).jpg: 1 face(s)") in captions
    rendered = [e.value for e in [*at.markdown, *at.caption, *at.subheader, *at.info, *at.warning, *at.error]]
    for value in rendered + captions:
        assert not any(raw in value for raw in ("](example.com)", "](https://example.com)", "**b**", "**q**", "**0**"))
    # tables are plain text: the names appear there as typed
    assert "[x](https://example.com).jpg" in list(_table(at, "estimated gender")["photo"])
