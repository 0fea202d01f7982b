"""``python -m core waldo``: finds as JSON, and clear one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from core.cli import main
from core.waldo.synth import make_page


def test_find_prints_detections_and_seconds(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    page = make_page(900_400, (384, 512))
    path = tmp_path / "crowd.png"
    Image.fromarray(page.image).save(path)
    assert main(["waldo", "find", str(path), "--json", "--threshold", "0.05"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["width"] == 512 and report["height"] == 384 and report["seconds"] > 0
    assert report["detections"] and {"box", "score", "mask_area"} <= set(report["detections"][0])


def test_bad_page_is_refused_untouched(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"this is not a picture")
    assert main(["waldo", "find", str(bad)]) == 2
    assert "not a recognised image" in capsys.readouterr().err
    assert bad.read_bytes() == b"this is not a picture"
    assert main(["waldo", "find", str(tmp_path / "missing.png")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_train_and_eval_refuse_missing_inputs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["waldo", "train", "--data", str(tmp_path), "--out", str(tmp_path / "w.pt")]) == 2
    assert "no annotations.json" in capsys.readouterr().err
    assert main(["waldo", "train", "--out", str(tmp_path / "w.pt"), "--init", str(tmp_path / "none.pt")]) == 2
    assert "--init" in capsys.readouterr().err and not (tmp_path / "w.pt").exists()
    assert main(["waldo", "train", "--out", str(tmp_path / "w.pt"), "--mine-decoys"]) == 2
    assert "needs --init" in capsys.readouterr().err and not (tmp_path / "w.pt").exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["waldo", "eval", str(tmp_path), "--annotations", str(broken)]) == 2
    assert "cannot read annotations" in capsys.readouterr().err
    assert main(["waldo", "find", str(tmp_path / "x.png"), "--weights", str(tmp_path / "none.pt")]) == 2


def test_train_refuses_a_device_this_machine_lacks(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["waldo", "train", "--out", str(tmp_path / "w.pt"), "--device", "no-such-device"]) == 2
    assert "--device no-such-device: not usable here" in capsys.readouterr().err
    assert not (tmp_path / "w.pt").exists()
