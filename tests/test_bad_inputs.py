"""The bad-input corpus (tests/bad_inputs.py) against every surface that takes an image, from one table: each page's
uploaders (AppTest) and each CLI command. Unreadable files must be refused with a message; odd but real images
(1x1, a 3 px tall banner) may be refused or used, but never crash. The coverage tests fail when a page gains an
uploader or the CLI a command that is in neither table, so a new surface cannot skip the corpus."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.cli import build_parser, main
from core.config import REPO_ROOT
from tests.bad_inputs import BadInput, corpus

CASES = corpus()


@dataclass(frozen=True)
class Upload:
    """One uploader: the page, the state that shows it, its widget key, and the button that starts the work."""

    page: str
    key: str
    state: dict = field(default_factory=dict)
    multiple: bool = False
    press: str | None = None
    declared: str | None = None  # the key as the page's source writes it, where it is an f-string

    def __str__(self) -> str:
        return f"{self.page}:{self.key}"


UPLOADS = [
    Upload("waldo", "waldo_upload", {"waldo_source": "Upload a page"}),
    Upload("attributions", "upload", {"source": "Upload"}),
    Upload(
        "attributions",
        "face_upload_A",
        {"mode": "Face pair", "face_source_A": "Upload", "face_methods": ["saliency"]},
        declared="face_upload_{side}",
    ),
    Upload("grid", "uploads", {"source": "Upload images or a zip"}, multiple=True),
    Upload("cloak", "photo", {"black_box": False}, press="run_faces"),
    Upload("cloak", "refs", {"black_box": False}, multiple=True, press="run_faces"),
    Upload("cloak", "target_upload", {"goal": "Impersonation", "black_box": False}, press="run_faces"),
    Upload("cloak", "classifier_photo", {"mode": "ImageNet classifier"}, press="run_classifier"),
    Upload("faces", "uploads", {"source": "Upload photos or a zip"}, multiple=True),
    Upload("faces", "query_upload"),
    Upload("inside", "upload", {"mode": "DeepDream", "photo_source": "Upload"}),
]
NOT_IMAGE_UPLOADS = {
    (
        "faces",
        "video_upload",
    ): "a video: tests/test_faces_video.py and tests/test_page_faces_video.py feed it bad videos",
}


def _uploader_keys(page: str) -> set[str]:
    source = (REPO_ROOT / "pages" / f"{page}.py").read_text()
    calls = re.findall(r"file_uploader\((.*?)\)\n", source, flags=re.S)
    return {match for call in calls for match in re.findall(r'key=f?"([^"]+)"', call)}


def test_every_page_uploader_is_in_the_table() -> None:
    listed = {(u.page, u.declared or u.key) for u in UPLOADS} | set(NOT_IMAGE_UPLOADS)
    found = {(path.stem, key) for path in (REPO_ROOT / "pages").glob("*.py") for key in _uploader_keys(path.stem)}
    assert found, "no uploaders found: the pattern no longer matches the pages"
    assert found <= listed, f"uploaders missing from the bad-input table: {sorted(found - listed)}"


@pytest.mark.parametrize("upload", UPLOADS, ids=str)
def test_every_bad_input_on_every_uploader(upload: Upload) -> None:
    at = AppTest.from_file(str(REPO_ROOT / "pages" / f"{upload.page}.py"), default_timeout=600)
    for key, value in upload.state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    for case in CASES:
        payload = (case.name, case.data, "application/octet-stream")
        at.file_uploader(key=upload.key).set_value([payload] if upload.multiple else payload)
        at.run()
        if upload.press is not None:
            at.button(key=upload.press).click().run()
        assert not at.exception, f"{case.name}: {at.exception}"
        if case.unreadable:
            messages = [e.value for e in at.error] + [w.value for w in at.warning]
            assert messages, f"{case.name}: no message on {upload}"


# CLI: each command, how to call it on a bad file ``bad`` with a scratch folder ``tmp``.
def _in_folder(bad: Path, tmp: Path, *parts: str) -> Path:
    folder = tmp.joinpath("in", *parts)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / bad.name).write_bytes(bad.read_bytes())
    return tmp / "in"


COMMANDS = {
    "attribute": lambda bad, tmp: ["attribute", str(bad), "--out", str(tmp / "out")],
    "cloak": lambda bad, tmp: ["cloak", str(bad), "--out", str(tmp / "out"), "--steps", "2", "--no-robust"],
    "faces embed": lambda bad, tmp: ["faces", "embed", str(bad)],
    "faces matrix": lambda bad, tmp: ["faces", "matrix", str(bad)],
    "faces identify": lambda bad, tmp: ["faces", "identify", str(_in_folder(bad, tmp, "Someone")), str(bad)],
    "faces calibrate": lambda bad, tmp: ["faces", "calibrate", str(_in_folder(bad, tmp, "Someone"))],
    "grid": lambda bad, tmp: ["grid", str(_in_folder(bad, tmp, "label")), "--out", str(tmp / "grid.png")],
    "waldo find": lambda bad, tmp: ["waldo", "find", str(bad)],
    "visualize dream": lambda bad, tmp: ["visualize", "dream", str(bad), "--out", str(tmp / "dream.png")],
    "visualize invert": lambda bad, tmp: ["visualize", "invert", str(bad), "--out", str(tmp / "invert.png")],
    "visualize patches": lambda bad, tmp: [
        "visualize", "patches", "--folder", str(_in_folder(bad, tmp, "label")), "--out", str(tmp / "patches.png")
    ],
    "robustness": lambda bad, tmp: ["robustness", str(_in_folder(bad, tmp, "label")), "--steps", "1", "--eps", "1"],
    "batch cloak": lambda bad, tmp: ["batch", "cloak", str(_in_folder(bad, tmp)), "--out", str(tmp / "out")],
    "batch embed": lambda bad, tmp: [
        "batch", "embed", str(_in_folder(bad, tmp)), "--out", str(tmp / "out"), "--model", "mobilenet_v2"
    ],
}  # fmt: skip
NOT_IMAGE_COMMANDS = {
    "models": "lists the registry; takes no input",
    "faces video": "takes a video: tests/test_faces_video.py feeds it bad videos",
    "waldo train": "trains on the annotated data folder; not a user's image",
    "waldo eval": "evaluates on the annotated data folder; not a user's image",
    "waldo bank": "draws training tiles from the annotated data folder; not a user's image",
    "waldo pool": "reads saved eval JSON: tests/test_waldo_cli.py feeds it missing, corrupt and overlapping ones",
    "visualize class": "starts from noise; takes no image",
    "visualize channel": "starts from noise; takes no image",
    "visualize fool": "starts from noise; takes no image",
}


def _leaf_commands(parser, prefix: str = "") -> list[str]:
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    if not actions:
        return [prefix]
    return [
        leaf for name, sub in actions[0].choices.items() for leaf in _leaf_commands(sub, f"{prefix} {name}".strip())
    ]


def test_every_cli_command_is_in_the_table() -> None:
    leaves = set(_leaf_commands(build_parser()))
    assert leaves <= set(COMMANDS) | set(NOT_IMAGE_COMMANDS), f"missing: {sorted(leaves - set(COMMANDS))}"
    assert set(COMMANDS) <= leaves, f"no such commands: {sorted(set(COMMANDS) - leaves)}"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_bad_input_on_every_command(
    command: str, case: BadInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("HIDESEEK_EXTRA_ROOTS", str(tmp_path))  # folder commands read only inside the data roots
    bad = tmp_path / case.name
    bad.write_bytes(case.data)
    code = main(COMMANDS[command](bad, tmp_path))
    printed = capsys.readouterr()
    said = printed.err + printed.out  # a one-input command says why on stderr; a many-input one per input
    assert "Traceback" not in said
    if case.unreadable:
        assert code != 0, f"{command} accepted {case.name} (exit 0)"
    if code != 0:
        assert case.name in said or "error:" in printed.err, f"{command} failed on {case.name} without saying why"
    assert bad.read_bytes() == case.data  # the input is never modified
