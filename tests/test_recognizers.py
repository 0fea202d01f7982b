"""The two TF.js recognizers (HSE FaceRec, MobileFace) in the face pipeline, on real photos and real weights, and the
one-place recognizer facts that every recognizer's alignment, input transform and threshold come from."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

from core import faces, models
from core.cli import main
from core.faces.calibrate import calibrate
from core.faces.collection import analyze_photos, labelled_faces, photos_from_folder
from core.faces.metrics import TYPICAL_NORM, threshold
from core.images import open_image

NEW = ("hse_faceres", "mobileface")


@pytest.fixture(scope="module")
def demo_set(data_dir, tmp_path_factory):
    """Every photo of ../shared/data/faces through both new recognizers. MTCNN's detections come from the session's
    cache when tests/test_faces.py ran first; session-level fixtures run before conftest's per-test cache
    redirection, so this one redirects the cache itself."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HIDESEEK_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        photos = photos_from_folder(data_dir / "faces")
        return {name: labelled_faces(analyze_photos(photos, name)) for name in NEW}


@pytest.mark.parametrize("recognizer", NEW)
def test_verification_on_the_demo_set_reproduces_the_recorded_calibration(recognizer, demo_set):
    rows, missing = demo_set[recognizer]
    assert missing == [] and len(rows) == 126
    embeddings = np.stack([r.embedding for r in rows])
    facts = models.recognizer_facts(recognizer)
    assert embeddings.shape == (126, facts.embedding_size)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)  # normalised in embed_chips
    result = calibrate(embeddings, [r.identity for r in rows], "l2", faces.threshold(recognizer))
    assert result.auc >= 0.97
    # the threshold in the facts is this set's best one (so the accuracy at it is a validation figure)
    assert result.best_threshold == pytest.approx(faces.threshold(recognizer), abs=1e-3)
    assert result.accuracy_at_default_threshold == pytest.approx(result.best_accuracy, abs=0.005)
    assert result.accuracy_at_default_threshold >= 0.93
    # on unit-length embeddings, cosine distance ranks pairs exactly as L2 does
    cosine = calibrate(embeddings, [r.identity for r in rows], "cosine", faces.threshold(recognizer, "cosine"))
    assert cosine.auc == pytest.approx(result.auc, abs=1e-9)
    assert cosine.accuracy_at_default_threshold == pytest.approx(result.accuracy_at_default_threshold)


@pytest.mark.parametrize("recognizer", NEW)
def test_gradients_flow_from_the_embedding_through_alignment_to_the_pixels(recognizer, data_dir):
    image = open_image(data_dir / "faces" / "Colin_Powell" / "Colin_Powell_0001.jpg")
    face = faces.detect_faces(image)[0]
    pixels = faces.image_to_tensor(image).requires_grad_(True)
    chips = faces.align_batch(pixels, [face.landmarks], recognizer, [face.box])
    size = models.recognizer_facts(recognizer).chip_size
    assert chips.shape == (1, 3, size, size)
    embedding = faces.embed_chips(chips, recognizer)[0]
    features = faces.chip_features(chips, recognizer)
    direction = torch.from_numpy(np.random.default_rng(0).normal(size=embedding.shape[0])).float()
    ((embedding * direction).sum() + features.square().mean()).backward()
    gradient = pixels.grad.abs().sum(dim=0)
    x0, y0, x1, y1 = face.box.astype(int)
    assert gradient[y0:y1, x0:x1].sum() > 0 and torch.isfinite(gradient).all()
    assert gradient[:5, :5].sum() == 0  # the corner is outside the chip
    assert features.dim() == 4 and features.shape[0] == 1
    with torch.inference_mode():
        cached = faces.embed_faces(image, [face], recognizer)[0]
    np.testing.assert_allclose(embedding.detach().numpy(), cached, atol=1e-5)


def test_missing_or_corrupt_files_make_them_unavailable_and_the_rest_works(monkeypatch, tmp_path):
    genuine = [weight.verified_path() for weight in models.get_spec("mobileface").weights]
    monkeypatch.setenv("HIDESEEK_HUMAN_MODELS", str(tmp_path))
    for name in NEW:
        available, reason = models.availability(name)
        assert not available and "no weights" in reason and "scripts/setup.sh" in reason and "npm" in reason
    assert set(faces.available_recognizers()).isdisjoint(NEW)
    assert "dlib_resnet29" in faces.available_recognizers()
    with torch.inference_mode():
        assert faces.embed_chips(torch.full((1, 3, 150, 150), 128.0), "dlib_resnet29").shape == (1, 128)
    for path in genuine:
        shutil.copy(path, tmp_path)
    assert models.availability("mobileface") == (True, "ok")  # the variable is read at every lookup
    altered = (tmp_path / "mobileface.json").read_text().replace('"data"', '"date"', 1)
    (tmp_path / "mobileface.json").write_text(altered)
    available, reason = models.availability("mobileface")
    assert not available and "sha256" in reason


def test_available_recognizers_lists_the_new_ones_when_their_files_are_there():
    assert set(NEW) <= set(faces.available_recognizers())
    expected = ("dlib_resnet29", "facenet_vggface2", "facenet_casia", *NEW)
    assert expected == faces.RECOGNIZERS


def test_one_set_of_facts_drives_crop_transform_and_threshold(monkeypatch):
    facts = models.recognizer_facts("hse_faceres")
    chips = torch.arange(3.0).view(1, 3, 1, 1).expand(1, 3, 2, 2)  # R=0, G=1, B=2
    transformed = facts.network_input(chips)[0, :, 0, 0]  # BGR order, minus the ImageNet means
    np.testing.assert_allclose(transformed.numpy(), [2 - 103.939, 1 - 116.779, 0 - 123.68], rtol=1e-6)
    facenet = models.recognizer_facts("facenet_vggface2")
    noise = torch.rand(2, 3, 4, 4) * 255
    assert torch.equal(facenet.network_input(noise), (noise - 127.5) / 128.0)  # bit for bit as before
    assert models.recognizer_facts("dlib_resnet29").network_input(noise) is noise
    for name in NEW:
        assert TYPICAL_NORM[name] == 1.0
        assert threshold(name, "cosine") == pytest.approx(threshold(name) ** 2 / 2)
        meta = models.get_spec(name).meta
        assert meta["threshold"] == threshold(name) and "calibrate" in models.recognizer_facts(name).threshold_source
        assert meta["feature_node"] in models.load_model(name).model.node_names
    # a threshold recorded in cosine units converts back to the same L2 boundary
    cosine_facts = dataclasses.replace(facts, metric="cosine", threshold=threshold("hse_faceres", "cosine"))
    spec = dataclasses.replace(models.get_spec("hse_faceres"), recognizer=cosine_facts)
    monkeypatch.setitem(models.REGISTRY, "hse_faceres", spec)
    assert threshold("hse_faceres") == pytest.approx(facts.threshold)
    with pytest.raises(ValueError, match="not a face recognizer"):
        models.recognizer_facts("mobilenet_v2")


def test_cli_takes_recognizer_as_an_alias_of_model(data_dir, tmp_path, capsys):
    for person in ("Colin_Powell", "Tony_Blair"):
        (tmp_path / person).mkdir()
        for path in sorted((data_dir / "faces" / person).glob("*.jpg"))[:3]:
            (tmp_path / person / path.name).symlink_to(path)
    assert main(["faces", "calibrate", str(tmp_path), "--recognizer", "mobileface", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "mobileface" and report["default_threshold"] == threshold("mobileface")
    assert report["pairs"] == {"same": 6, "different": 6}
