"""``python -m core attribute``: real photo, real classifier, JSON with timings and AUCs, PNGs, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.cache import content_hash
from core.cli import main


@pytest.fixture
def chelsea_file(tmp_path):
    path = tmp_path / "chelsea.png"
    Image.fromarray(skimage.data.chelsea()).save(path)
    return path


def test_attribute_json_has_top5_methods_and_the_random_baseline(chelsea_file, tmp_path, capsys) -> None:
    before = content_hash(chelsea_file)
    out = tmp_path  # the input's own folder: the maps must not replace it
    code = main(["attribute", str(chelsea_file), "--methods", "saliency,gradcam", "--out", str(out), "--json"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert [p["index"] for p in payload["top5"]][0] == 285 and len(payload["top5"]) == 5
    assert payload["target"] == {"index": 285, "name": "Egyptian cat"}
    assert list(payload["methods"]) == ["saliency", "gradcam"]
    for row in payload["methods"].values():
        assert row["seconds"] > 0
        assert 0 <= row["deletion_auc"] <= 1 and 0 <= row["insertion_auc"] <= 1
        png = Image.open(row["png"])
        assert png.size == (224, 224) and np.asarray(png).std() > 0
    baseline = payload["random_baseline"]
    assert 0 <= baseline["deletion_auc"] <= 1 and 0 <= baseline["insertion_auc"] <= 1
    assert content_hash(chelsea_file) == before


def test_attribute_explains_a_named_target(chelsea_file, tmp_path, capsys) -> None:
    code = main(
        [
            "attribute",
            str(chelsea_file),
            "--methods",
            "gradcam",
            "--target",
            "tiger cat",
            "--out",
            str(tmp_path / "maps"),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "explaining: tiger cat (class 282)" in text and "random order" in text
    assert (tmp_path / "maps" / "chelsea_gradcam.png").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--methods", "lime"], "unknown method"),
        (["--target", "cat"], "be more specific"),
        (["--target", "1000"], "outside"),
    ],
)
def test_attribute_refuses_bad_requests(chelsea_file, tmp_path, capsys, extra, message) -> None:
    assert main(["attribute", str(chelsea_file), "--out", str(tmp_path / "x"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_attribute_reports_unreadable_images(tmp_path, capsys) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    assert main(["attribute", str(broken), "--out", str(tmp_path / "x")]) == 2
    assert "not a recognised image" in capsys.readouterr().err
    assert main(["attribute", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "x")]) == 2
    assert "no such file" in capsys.readouterr().err
