"""Face-pair attribution with the real dlib recognizer on real LFW photos."""

from __future__ import annotations

import numpy as np
import pytest

from core.attribution import Settings
from core.attribution.face_pair import CROP_SIZE, explain_face_pair, face_crop
from core.faces import detect_faces
from core.images import open_image

LEAN = Settings(ig_steps=8, occlusion_window=40, occlusion_stride=40, occlusion_fill=128.0)


@pytest.fixture(scope="module")
def faces(data_dir):
    def load(relative: str):
        image = open_image(data_dir / "faces" / relative)
        return image, detect_faces(image)[0]

    return {
        "powell_1": load("Colin_Powell/Colin_Powell_0001.jpg"),
        "powell_2": load("Colin_Powell/Colin_Powell_0002.jpg"),
        "blair": load("Tony_Blair/Tony_Blair_0001.jpg"),
    }


@pytest.fixture(scope="module")
def same_person(faces):
    return explain_face_pair(*faces["powell_1"], *faces["powell_2"], settings=LEAN)


def test_distances_tell_the_same_person_from_another(faces, same_person) -> None:
    other = explain_face_pair(*faces["powell_1"], *faces["blair"], methods=("saliency",), settings=LEAN)
    assert same_person.same_person and same_person.distance < same_person.threshold == 0.6
    assert not other.same_person
    assert other.distance > same_person.distance


def test_maps_cover_face_a_and_nothing_outside_what_the_recognizer_sees(same_person) -> None:
    box = same_person.a.box
    inside = np.zeros((CROP_SIZE, CROP_SIZE), dtype=bool)
    inside[max(0, int(box[1]) - 8) : int(box[3]) + 8, max(0, int(box[0]) - 8) : int(box[2]) + 8] = True
    assert [a.method for a in same_person.attributions] == ["saliency", "ig", "occlusion"]
    for result in same_person.attributions:
        assert result.map.shape == (CROP_SIZE, CROP_SIZE) and np.isfinite(result.map).all()
        assert result.map.std() > 0
    for result in same_person.attributions[:2]:  # gradients: exactly zero where the aligned chip does not sample
        magnitude = np.abs(result.map)
        assert magnitude[inside].sum() / magnitude.sum() > 0.95, result.method
        assert magnitude[:4, :4].max() == 0 and magnitude[-4:, -4:].max() == 0


def test_face_crop_moves_the_landmarks_with_the_pixels(faces) -> None:
    image, face = faces["blair"]
    crop = face_crop(image, face)
    assert crop.pixels.shape == (CROP_SIZE, CROP_SIZE, 3)
    eyes_mid = crop.landmarks[:2].mean(axis=0)
    assert 0.3 * CROP_SIZE < eyes_mid[0] < 0.7 * CROP_SIZE and 0.2 * CROP_SIZE < eyes_mid[1] < 0.55 * CROP_SIZE
    assert (crop.box[:2] > 0).all() and (crop.box[2:] < CROP_SIZE).all()


def test_only_the_face_methods_are_offered(faces) -> None:
    with pytest.raises(ValueError, match="face pairs support"):
        explain_face_pair(*faces["powell_1"], *faces["blair"], methods=("gradcam",))
