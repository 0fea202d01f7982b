"""The ImageNet classifier's view of an image: the exact pixels it sees, its input tensor and its top classes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

from core.models.builders import imagenet_categories, imagenet_transforms


@dataclass(frozen=True)
class ClassifierView:
    """``pixels`` (224, 224, 3) uint8 is the resized, centre-cropped image the maps are drawn over;
    ``inputs`` (1, 3, 224, 224) is the same image normalised for the network."""

    pixels: np.ndarray
    inputs: torch.Tensor


@dataclass(frozen=True)
class Prediction:
    index: int
    name: str
    probability: float


@lru_cache(maxsize=1)
def categories() -> tuple[str, ...]:
    return tuple(imagenet_categories())


def classifier_view(image: Image.Image) -> ClassifierView:
    """Apply the documented MobileNetV2 preprocessing (resize, centre crop, normalise) in two halves, keeping the
    crop so every map lines up with a picture of what the model actually saw."""
    preset = imagenet_transforms()
    resized = TF.resize(image.convert("RGB"), preset.resize_size, interpolation=preset.interpolation)
    cropped = TF.center_crop(resized, preset.crop_size)
    pixels = np.asarray(cropped, dtype=np.uint8).copy()
    inputs = TF.normalize(TF.to_tensor(cropped), preset.mean, preset.std).unsqueeze(0)
    return ClassifierView(pixels, inputs)


def probabilities(model: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Softmax class probabilities for a batch (no gradients: this is a query, not an attribution)."""
    with torch.inference_mode():
        return torch.softmax(model(inputs), dim=1)


def top_predictions(model: torch.nn.Module, inputs: torch.Tensor, k: int = 5) -> list[Prediction]:
    probs = probabilities(model, inputs)[0]
    values, indices = probs.topk(k)
    names = categories()
    return [Prediction(int(i), names[int(i)], float(v)) for v, i in zip(values, indices, strict=True)]


def resolve_class(query: str | int) -> int:
    """A class index from an index or a name (exact, case-insensitive, or a unique substring of one name)."""
    names = categories()
    text = str(query).strip()
    if text.isdigit():
        index = int(text)
        if not 0 <= index < len(names):
            raise ValueError(f"class index {index} is outside 0..{len(names) - 1}")
        return index
    lowered = [n.lower() for n in names]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    matches = [i for i, n in enumerate(lowered) if text.lower() in n]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(f"no ImageNet class is called {text!r}")
    shown = ", ".join(names[i] for i in matches[:8])
    raise ValueError(
        f"{text!r} matches {len(matches)} classes ({shown}{', ...' if len(matches) > 8 else ''}); be more specific"
    )


def query_only_scorer(model: torch.nn.Module, target: int) -> Callable[[np.ndarray], np.ndarray]:
    """The classifier seen as a remote API: uint8 images in, the target's probability out, nothing else exposed.
    Used to show that black-box occlusion needs only queries."""
    preset = imagenet_transforms()
    mean = torch.tensor(preset.mean).view(1, 3, 1, 1)
    std = torch.tensor(preset.std).view(1, 3, 1, 1)

    def score(images: np.ndarray) -> np.ndarray:
        batch = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
        return probabilities(model, (batch - mean) / std)[:, target].numpy()

    return score
