"""Classifier mode: the same attacks against the MobileNetV2 ImageNet classifier (the panda-to-gibbon demo).

The perturbation lives on the photo at its own resolution and reaches the network through torchvision's own
preprocessing (resize 232, centre crop 224, normalise), which is differentiable on tensors. Top-5 "after" is measured
on the written PNG, re-opened and preprocessed exactly like the "before".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from PIL import Image

from core.cloak.attacks import Attack, ProgressFn
from core.cloak.imageio import png_bytes, reopen_png, to_image
from core.cloak.quality import region_quality
from core.faces import image_to_tensor
from core.images import require_min_side, to_array
from core.models.builders import imagenet_categories, imagenet_transforms

MIN_SIDE = 3  # the quality report's SSIM needs a 3x3 window (1x1 or 2-pixel-thin images have none)


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float


@dataclass
class ClassifierCloak:
    """The cloaked image (as written), its PNG bytes, top-5 before/after and whether the attack reached its goal."""

    image: Image.Image
    png: bytes
    before: list[Prediction]
    after: list[Prediction]
    target: int | None
    success: bool
    seconds: float
    quality: dict[str, float] = field(default_factory=dict)


def logits(model: torch.nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    """Logits for (N,3,H,W) 0..255 tensors through the model's documented preprocessing (differentiable)."""
    return model(imagenet_transforms()(pixels / 255.0))


_logits = logits  # the name tests/test_cloak_attacks.py imports


def top_k(model: torch.nn.Module, image: Image.Image, k: int = 5) -> list[Prediction]:
    """The ``k`` most probable ImageNet classes for ``image``."""
    with torch.inference_mode():
        probabilities = F.softmax(logits(model, image_to_tensor(image)[None]), dim=1)[0]
    values, indices = probabilities.topk(k)
    names = imagenet_categories()
    return [Prediction(int(i), names[int(i)], float(p)) for p, i in zip(values, indices, strict=True)]


def class_index(name_or_index: str | int) -> int:
    """An ImageNet class from its index or (case-insensitive) torchvision name; ValueError with the reason otherwise."""
    names = imagenet_categories()
    if isinstance(name_or_index, int) or str(name_or_index).isdigit():
        index = int(name_or_index)
        if not 0 <= index < len(names):
            raise ValueError(f"class index {index} is outside 0..{len(names) - 1}")
        return index
    lowered = [n.lower() for n in names]
    if str(name_or_index).lower() not in lowered:
        raise ValueError(f"unknown ImageNet class {name_or_index!r}")
    return lowered.index(str(name_or_index).lower())


def cloak_classifier(
    image: Image.Image,
    model: torch.nn.Module,
    attack: Attack,
    *,
    target: int | None = None,
    callback: ProgressFn | None = None,
) -> ClassifierCloak:
    """Untargeted (push away from the current top-1) or targeted (pull toward ``target``) attack on ``image``;
    ImageError for an image with a side under MIN_SIDE."""
    require_min_side(image, MIN_SIDE, "to classify and measure", name="photo")
    start = time.perf_counter()
    before = top_k(model, image)
    label = torch.tensor([before[0].index if target is None else target])
    sign = 1.0 if target is None else -1.0  # untargeted: raise the loss of the true class; targeted: lower the target's

    generator = torch.Generator().manual_seed(attack.seed)

    def loss_fn(adversarial: torch.Tensor) -> torch.Tensor:
        return sign * F.cross_entropy(logits(model, attack.diversify(adversarial[None], generator)), label)

    adversarial = attack.perturb(image_to_tensor(image), loss_fn, callback=callback)
    png = png_bytes(to_image(adversarial))
    written = reopen_png(png)
    after = top_k(model, written)
    success = after[0].index != before[0].index if target is None else after[0].index == target
    return ClassifierCloak(
        image=written,
        png=png,
        before=before,
        after=after,
        target=target,
        success=success,
        seconds=time.perf_counter() - start,
        quality=region_quality(to_array(image), to_array(written)).as_dict(),
    )
