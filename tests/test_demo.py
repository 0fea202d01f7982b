"""The demo pack: real photos whose licences allow redistribution, enough for a host without the data folder."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT
from core.demo import LICENCES, PHOTOS, build
from core.faces import detect_faces
from core.images import open_image

ALLOWED = ("public domain", "CC0", "no known copyright restrictions")


def test_the_pack_builds_opens_and_lists_a_redistributable_licence_for_every_file(tmp_path: Path) -> None:
    files = build(tmp_path)
    assert len(files) == len(PHOTOS) and all(path.is_file() for path in files)
    for path in files:
        assert min(open_image(path).size) >= 100
    with open(tmp_path / LICENCES, newline="") as fh:
        rows = {row["file"]: row for row in csv.DictReader(fh)}
    assert set(rows) == {photo.path for photo in PHOTOS}
    assert all(row["licence"].startswith(ALLOWED) for row in rows.values())
    assert build(tmp_path) == files  # idempotent


def test_the_pack_face_is_a_face(tmp_path: Path) -> None:
    (path,) = [p for p in build(tmp_path) if p.parts[-3] == "faces"]
    assert len(detect_faces(open_image(path))) == 1


@pytest.fixture
def no_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A host like the Docker image: the data folder is empty."""
    monkeypatch.setenv("HIDESEEK_DATA", str(tmp_path))
    return tmp_path


def test_without_the_data_folder_the_grid_opens_on_the_pack_photos(no_data_folder: Path) -> None:
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "grid.py"), default_timeout=300).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="source").value.startswith("Demo pack")
    assert at.status[0].label == f"{sum(p.path.startswith('photos/') for p in PHOTOS)} images on a 4x4 grid"


def test_without_the_data_folder_the_cloak_protects_the_pack_astronaut(no_data_folder: Path) -> None:
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "cloak.py"), default_timeout=600)
    at.session_state["black_box"] = False
    at.run()
    assert not at.exception and not at.error
    assert any("astronaut.png" in c.value for c in at.caption)
    at.button(key="run_faces").click().run()
    assert not at.exception and not at.error
    assert any(h.value.startswith("White box") for h in at.subheader), [h.value for h in at.subheader]
