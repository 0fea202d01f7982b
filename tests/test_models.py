"""The model registry loads real weights, verifies them, and refuses clearly when it cannot."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from core import models
from core.models.builders import imagenet_categories, imagenet_transforms


def test_mobilenet_v2_puts_a_cat_class_in_chelsea_top3() -> None:
    classifier = models.load_model("mobilenet_v2").model
    batch = imagenet_transforms()(Image.fromarray(data.chelsea()))[None]
    with torch.inference_mode():
        top3 = classifier(batch).softmax(1)[0].topk(3).indices.tolist()
    names = [imagenet_categories()[i] for i in top3]
    assert any(name in {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"} for name in names), names


@pytest.mark.parametrize(
    "photo", ["face_recognition_two_people.jpg", "face_recognition_kit_with_rose.jpg", "openface_longoria-cooper.jpg"]
)
def test_mtcnn_finds_both_faces_with_landmarks_inside_boxes(data_dir: Path, photo: str) -> None:
    image = np.asarray(Image.open(data_dir / "faces_multi" / photo).convert("RGB"))
    boxes, probs, landmarks = models.load_model("mtcnn").model.detect(image)
    assert boxes.dtype == np.float64 and landmarks.shape == (len(boxes), 5, 2)
    assert len(boxes) == 2 and (probs > 0.95).all()
    for box, points in zip(boxes, landmarks, strict=True):
        assert (points[:, 0] > box[0]).all() and (points[:, 0] < box[2]).all()
        assert (points[:, 1] > box[1]).all() and (points[:, 1] < box[3]).all()


def test_mtcnn_finds_no_face_in_a_coffee_cup() -> None:
    boxes, probs, _ = models.load_model("mtcnn").model.detect(data.coffee())
    assert len(boxes) == 0 and len(probs) == 0


def test_facenet_is_unavailable_offline_with_a_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("HIDESEEK_FACENET_VGGFACE2", raising=False)
    available, reason = models.availability("facenet_vggface2")
    assert not available and "no weights" in reason and "HIDESEEK_FACENET_VGGFACE2" in reason


def test_a_tampered_weight_file_is_refused(tmp_path: Path) -> None:
    spec = models.get_spec("mobilenet_v2")
    genuine = spec.weights[0].verified_path()
    tampered = tmp_path / genuine.name
    blob = bytearray(genuine.read_bytes())
    blob[-100] ^= 0xFF
    tampered.write_bytes(bytes(blob))
    weight = dataclasses.replace(spec.weights[0], locate=lambda: tampered)
    with pytest.raises(models.ModelUnavailable, match="sha256"):
        dataclasses.replace(spec, weights=(weight,)).build()


def test_unknown_model_name() -> None:
    with pytest.raises(models.ModelUnavailable, match="unknown model"):
        models.load_model("resnet9000")


def test_cli_models_json_lists_every_model() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "core", "models", "--json", "--no-load"], capture_output=True, text=True, check=True
    )
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(models.REGISTRY)
    assert rows["mobilenet_v2"]["available"] and rows["mobilenet_v2"]["sha256_ok"]
    assert rows["dlib_resnet29"]["license"].startswith("CC0")


def test_a_model_first_loaded_in_inference_mode_still_supports_gradients() -> None:
    models.load_model.cache_clear()
    with torch.inference_mode():
        classifier = models.load_model("mobilenet_v2").model
    image = torch.rand(1, 3, 64, 64, requires_grad=True)
    classifier(image)[0, 0].backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_a_file_without_a_pinned_hash_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "20180408-102900-casia-webface.pt"
    torch.save({"w": torch.zeros(1)}, weights)
    monkeypatch.setenv("HIDESEEK_FACENET_CASIA", str(weights))
    available, reason = models.availability("facenet_casia")
    assert not available and "no pinned sha256" in reason
