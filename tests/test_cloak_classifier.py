"""Classifier mode on the real MobileNetV2: the panda-to-gibbon demo, measured on the written PNG."""

from __future__ import annotations

import pytest

from core.cloak.attacks import Attack
from core.cloak.classifier import class_index, cloak_classifier, top_k
from core.cloak.imageio import reopen_png


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
