"""``python -m core faces ...`` on real photos: JSON shapes, counted misses, exit codes for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli import main

PEOPLE = ("Colin_Powell", "Tony_Blair")


@pytest.fixture
def labelled_dir(data_dir, tmp_path):
    """Two people, three photos each, plus a labelled photo with no face in it (links, nothing copied)."""
    for person in PEOPLE:
        (tmp_path / person).mkdir()
        for path in sorted((data_dir / "faces" / person).glob("*.jpg"))[:3]:
            (tmp_path / person / path.name).symlink_to(path)
    (tmp_path / "Tony_Blair" / "volcano.jpg").symlink_to(
        data_dir / "imagenet_samples" / "images" / "n09472597_volcano.JPEG"
    )
    return tmp_path


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_calibrate_counts_pairs_and_missing_faces(labelled_dir, capsys):
    assert main(["faces", "calibrate", str(labelled_dir), "--json"]) == 0
    report = _json(capsys)
    assert report["pairs"] == {"same": 6, "different": 6}
    assert report["faces_not_found"] == 1 and report["photos_without_face"] == ["Tony_Blair/volcano.jpg"]
    assert report["auc"] == 1.0  # two very different people
    for field in (
        "best_threshold",
        "best_accuracy",
        "accuracy_at_default_threshold",
        "tar_at_far_1e-2",
        "tar_at_far_1e-3",
    ):
        assert 0.0 <= report[field] <= 1.5


def test_embed_and_matrix(data_dir, capsys):
    photo = data_dir / "faces_multi" / "face_recognition_kit_with_rose.jpg"
    assert main(["faces", "embed", str(photo), "--json"]) == 0
    faces = _json(capsys)["faces"]
    assert len(faces) == 2
    assert all(
        len(f["embedding"]) == 128 and np.shape(f["landmarks"]) == (5, 2) and f["probability"] > 0.9 for f in faces
    )
    assert main(["faces", "matrix", str(photo), str(data_dir / "faces" / "Kit_Harington"), "--json"]) == 0
    result = _json(capsys)
    matrix = np.array(result["matrix"])
    assert matrix.shape == (len(result["labels"]),) * 2 and np.allclose(matrix, matrix.T)


def test_bad_inputs_exit_non_zero_with_the_reason(data_dir, tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    assert main(["faces", "embed", str(text)]) == 1
    assert "notes.jpg" in capsys.readouterr().err
    assert main(["faces", "embed", str(tmp_path / "missing.jpg")]) == 2
    assert "no such file" in capsys.readouterr().err
    photo = data_dir / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg"
    assert main(["faces", "embed", str(photo), "--model", "facenet_casia"]) == 2
    assert "no weights" in capsys.readouterr().err
