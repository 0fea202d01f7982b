"""Classifier mode on the real MobileNetV2: the panda-to-gibbon demo, measured on the written PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.cloak.attacks import Attack
from core.cloak.classifier import class_index, cloak_classifier, top_k
from core.cloak.imageio import reopen_png
from core.images import ImageError


def test_untargeted_fgsm_changes_the_top_class_of_the_saved_file(panda, mobilenet) -> None:
    result = cloak_classifier(panda, mobilenet, Attack(method="fgsm", eps=4))
    assert result.before[0].label == "giant panda"
    assert result.success and result.after[0].index != result.before[0].index
    assert top_k(mobilenet, reopen_png(result.png)) == result.after
    assert result.quality["linf"] <= 4 and result.image.size == panda.size
    assert len(result.before) == len(result.after) == 5


def test_targeted_pgd_makes_the_panda_a_gibbon(panda, mobilenet) -> None:
    result = cloak_classifier(panda, mobilenet, Attack(method="pgd", eps=4, steps=8), target=class_index("gibbon"))
    assert result.success and result.after[0].label == "gibbon"
    assert result.before[0].probability > 0.9


def test_class_names_and_indices_are_checked() -> None:
    assert class_index("Gibbon") == class_index(368) == 368
    with pytest.raises(ValueError, match="outside"):
        class_index(1000)
    with pytest.raises(ValueError, match="unknown ImageNet class"):
        class_index("unicorn")


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (500, 2)])
def test_images_too_small_for_the_quality_report_are_refused_with_the_reason(panda, mobilenet, size) -> None:
    tiny = panda.resize(size, Image.Resampling.BOX)
    with pytest.raises(ImageError, match=rf"^photo: {size[0]}x{size[1]} is too small to classify and measure"):
        cloak_classifier(tiny, mobilenet, Attack(method="fgsm", eps=4))


def test_a_3000x3_banner_is_cloaked_and_measured(panda, mobilenet) -> None:
    banner = panda.resize((3000, 3), Image.Resampling.BOX)
    assert np.asarray(banner).std() > 10  # real, varied pixels
    result = cloak_classifier(banner, mobilenet, Attack(method="fgsm", eps=4))
    assert result.image.size == (3000, 3) and len(result.after) == 5
    assert 0 < result.quality["linf"] <= 4 and 0 < result.quality["ssim"] < 1
