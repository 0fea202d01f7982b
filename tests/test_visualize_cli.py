"""``python -m core visualize ...``: each kind writes its PNG and a JSON summary whose figures hold on that PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.visualize import network
from core.visualize.parametrize import from_uint8

PANDA = "imagenet_samples/images/n02510455_giant_panda.JPEG"


def run_json(capsys: pytest.CaptureFixture, *argv: str) -> dict:
    assert main(["visualize", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_class_and_fool_write_pngs_whose_probabilities_match(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sub" / "classes.png"
    payload = run_json(capsys, "class", "--target", "flamingo,banana", "--steps", "40", "--out", str(out))
    sheet = np.asarray(Image.open(out).convert("RGB"))
    assert sheet.shape == (128, 256, 3)
    probabilities = network().probabilities(from_uint8(np.stack([sheet[:, :128], sheet[:, 128:]])))
    for i, (target, result) in enumerate(zip((130, 954), payload["results"], strict=True)):
        assert result["figures"]["target_probability"] == pytest.approx(float(probabilities[i, target]), abs=1e-4)
        assert len(result["curve"]) == 40 and result["curve"][-1] > result["curve"][0]
    fooled = run_json(capsys, "fool", "--target", "954", "--out", str(tmp_path / "fool.png"))
    assert fooled["results"][0]["figures"]["target_probability"] >= 0.9


def test_photo_kinds_and_patches(data_dir: Path, tmp_path: Path, capsys) -> None:
    photo = str(data_dir / PANDA)
    inverted = run_json(capsys, "invert", photo, "--layer", "features.2", "--out", str(tmp_path / "inv.png"))
    assert inverted["results"][0]["figures"]["ssim"] >= 0.5
    dreamt = run_json(capsys, "dream", photo, "--steps", "4", "--out", str(tmp_path / "dream.png"))
    assert dreamt["results"][0]["figures"]["activation_gain"] > 1.0
    assert Image.open(tmp_path / "dream.png").size[0] == 256
    top = run_json(
        capsys,
        "patches",
        "--dataset",
        "cifar10",
        "--limit",
        "20",
        "-k",
        "3",
        "--layer",
        "features.6",
        "--channel",
        "5",
        "--out",
        str(tmp_path / "patches.png"),
    )
    assert [p["score"] for p in top["patches"]] == sorted((p["score"] for p in top["patches"]), reverse=True)
    assert top["images_seen"] == 20 and Image.open(tmp_path / "patches.png").size == (288, 96)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["class", "--target", "no such class"], "no ImageNet class"),
        (["class", "--target", "1", "--size", "8"], "32..512"),
        (["channel", "--layer", "features.99"], "no layer"),
        (["channel", "--channel", "64"], "has 64 channels"),
        (["fool", "--target", "1,2"], "one class"),
        (["class", "--target", "1", "--model", "mtcnn"], "not a registry image classifier"),
    ],
)
def test_bad_requests_are_one_line_errors(tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    assert main(["visualize", *argv, "--steps", "1", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_never_writes_over_its_input(data_dir: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "panda.jpg"
    copy.write_bytes((data_dir / PANDA).read_bytes())
    before = copy.read_bytes()
    assert main(["visualize", "invert", str(copy), "--steps", "1", "--out", str(copy)]) == 2
    assert "overwrite the input" in capsys.readouterr().err and copy.read_bytes() == before
    assert main(["visualize", "dream", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "d.png")]) == 2
