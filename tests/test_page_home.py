"""The app shell (st.navigation) opens on the home page, which renders the tool list and the model table."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT, data_root


def test_home_page_renders_with_model_table() -> None:
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.endswith("Hide & Seek")
    table = at.dataframe[0].value
    assert {"MobileNetV2 ImageNet classifier", "MTCNN face detector"} <= set(table["title"])
    facenet = table[table["title"].str.startswith("FaceNet")]
    assert not facenet["available"].any() and facenet["reason"].str.contains("no weights").all()


def test_public_mode_shows_no_server_paths_and_says_what_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIDESEEK_PUBLIC", "1")
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    shown = [*(m.value for m in at.markdown), *(c.value for c in at.caption)]
    shown += [str(reason) for reason in at.dataframe[0].value["reason"]]
    assert not any(str(data_root()) in text or str(REPO_ROOT) in text or str(Path.home()) in text for text in shown)
    note = next(m.value for m in at.markdown if m.value.startswith("Your uploads"))
    assert "for at most 1 hour" in note and "Nothing derived from an upload is written to disk" in note
