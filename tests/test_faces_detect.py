"""Face detection on degenerate shapes: images too small or too thin for any face are "no face", not a crash."""

from __future__ import annotations

import pytest
from PIL import Image

from core.cloak.attacks import Attack
from core.cloak.face_cloak import NoFaceError, cloak_faces
from core.faces import detect_faces


@pytest.mark.parametrize("size", [(1, 1), (2000, 30), (3000, 25), (19, 400), (20, 5000)])
def test_tiny_and_banner_images_have_no_face_instead_of_crashing_mtcnn(size: tuple[int, int]) -> None:
    # MTCNN's image pyramid is empty below its 20 px minimum face (after the 1000 px downscale for banners)
    assert detect_faces(Image.new("RGB", size, (200, 150, 120))) == []


def test_cloaking_a_banner_says_there_is_no_face() -> None:
    with pytest.raises(NoFaceError, match="too small|no face"):
        cloak_faces(Image.new("RGB", (2000, 30), (200, 150, 120)), Attack(steps=1))
