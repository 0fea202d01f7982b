"""The Faces page's video section: the demo test video is tracked and named from the demo gallery with per-frame
and averaged accuracy shown, an uploaded video is named, and a corrupt, truncated or over-long upload gets a clear
error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.config import REPO_ROOT, data_root
from core.faces.synth_video import encode_mp4, pan_zoom_video
from core.images import open_image
from core.text import plain_markdown

TIMEOUT = 300


@pytest.fixture(scope="module")
def app() -> AppTest:
    """One page session in video mode on the demo gallery (the photo analysis is cached across its reruns)."""
    at = AppTest.from_file(str(REPO_ROOT / "pages" / "faces.py"), default_timeout=TIMEOUT)
    at.session_state["mode"] = "Video"
    at.run()
    assert not at.exception, at.exception
    return at


def _demo_video() -> bytes:
    return pan_zoom_video(open_image(data_root() / "faces" / "Colin_Powell" / "Colin_Powell_0004.jpg"))


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _tracks(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**Track ")]


def test_demo_video_is_tracked_and_averaging_is_at_least_as_accurate(app):
    assert not app.error
    assert app.selectbox(key="video_person").value == "Colin_Powell"
    assert app.selectbox(key="video_truth").value == "Colin_Powell"
    assert any(c.value.startswith("Gallery: ") and "(15 faces" in c.value for c in app.caption)
    tracks = _tracks(app)
    assert tracks and tracks[0].startswith(f"**Track 0: {plain_markdown('Colin_Powell')}**")
    metrics = _metrics(app)
    per_frame, averaged = float(metrics["Accuracy, each frame alone"]), float(metrics["Accuracy, averaged track"])
    print(f"\ndemo video (Colin_Powell_0004): per frame {per_frame:.3f}, averaged track {averaged:.3f}")
    assert averaged >= per_frame and averaged == 1.0
    table = next(frame.value for frame in app.dataframe if "this frame alone" in frame.value.columns)
    assert len(table) == sum(len(image.captions) for image in app.get("image") if image.captions)
    assert set(table["averaged track"]) >= {"Colin_Powell"}


def test_an_uploaded_video_is_named(app, data_dir: Path):
    photo = open_image(data_dir / "faces" / "Tony_Blair" / "Tony_Blair_0004.jpg")  # not in the demo gallery
    app.radio(key="video_source").set_value("Upload a video").run()
    app.file_uploader(key="video_upload").set_value(("blair.mp4", pan_zoom_video(photo), "video/mp4")).run()
    assert not app.exception and not app.error
    assert _tracks(app)[0].startswith(f"**Track 0: {plain_markdown('Tony_Blair')}**")
    assert "Accuracy, averaged track" not in _metrics(app)  # nobody said who is in it
    app.selectbox(key="video_truth").set_value("Tony_Blair").run()
    metrics = _metrics(app)
    assert float(metrics["Accuracy, averaged track"]) >= float(metrics["Accuracy, each frame alone"])


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("noise.mp4", lambda: os.urandom(4000), "not a video that can be read"),
        ("cut.mp4", lambda: _demo_video()[:20000], "not a video that can be read"),
        ("long.mp4", lambda: encode_mp4([Image.new("RGB", (32, 32))] * 62, 2), "over the 30 s limit"),
    ],
)
def test_a_corrupt_or_over_long_upload_gets_a_clear_error(app, name, make, reason):
    app.radio(key="video_source").set_value("Upload a video").run()
    app.file_uploader(key="video_upload").set_value((name, make(), "video/mp4")).run()
    assert not app.exception
    assert any(reason in error.value for error in app.error), [e.value for e in app.error]
    assert not _tracks(app)
