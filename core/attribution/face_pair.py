"""Face pairs: which pixels of face A make the recognizer find it close to face B?

The score is the negative L2 distance between the recognizer's embeddings of A and B (higher = more alike), as
a function of the pixels of a square crop around face A. Each call aligns the crop with the faces package's
differentiable ``align`` (same landmarks, moved into crop coordinates), so gradients reach A's pixels; B's
embedding is a constant. Saliency, Integrated Gradients (from a black crop) and Occlusion (grey windows) then
attribute that score through the same ``attribute`` call as the classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from core.attribution.methods import Attribution, ForwardFunc, Settings, attribute
from core.faces import Face, align, embed_chips, face_distance, threshold

FACE_METHODS = ("saliency", "ig", "occlusion")
CROP_SIZE = 160
CONTEXT = 1.6  # crop side = CONTEXT x the face box's longer side: the whole face and a little around it
FACE_SETTINGS = Settings(occlusion_window=24, occlusion_stride=12, occlusion_fill=128.0, occlusion_batch_size=16)


@dataclass(frozen=True)
class FaceCrop:
    """A square crop around one face, resized to ``CROP_SIZE``; ``landmarks`` and ``box`` in crop pixels."""

    pixels: np.ndarray
    landmarks: np.ndarray
    box: np.ndarray

    def tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.pixels.copy()).permute(2, 0, 1).float()


@dataclass(frozen=True)
class FacePair:
    a: FaceCrop
    b: FaceCrop
    recognizer: str
    distance: float
    threshold: float
    attributions: list[Attribution]  # maps over a.pixels

    @property
    def same_person(self) -> bool:
        return self.distance < self.threshold


def face_crop(image: Image.Image, face: Face, size: int = CROP_SIZE, context: float = CONTEXT) -> FaceCrop:
    """Crop a square of ``context`` times the box around its centre (black beyond the image edge), resize it."""
    x0, y0, x1, y1 = face.box
    side = max(1, round(context * max(x1 - x0, y1 - y0)))
    left, top = round((x0 + x1) / 2 - side / 2), round((y0 + y1) / 2 - side / 2)
    crop = (
        image.convert("RGB").crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)
    )
    scale = size / side
    origin = np.array([left, top], dtype=np.float64)

    def to_crop(points: np.ndarray) -> np.ndarray:  # pixel centres at integers on both sides
        return (np.asarray(points, dtype=np.float64) - origin + 0.5) * scale - 0.5

    return FaceCrop(
        np.asarray(crop, dtype=np.uint8).copy(), to_crop(face.landmarks), to_crop(face.box.reshape(2, 2)).ravel()
    )


def _embed_crops(crops: torch.Tensor, face: FaceCrop, recognizer: str) -> torch.Tensor:
    """(N, D) embeddings of N versions of one crop (N, 3, S, S) in 0..255, differentiable w.r.t. them."""
    chips = torch.stack([align(crop, face.landmarks, recognizer, face.box) for crop in crops])
    return embed_chips(chips, recognizer)


def similarity_to(b_embedding: torch.Tensor, a: FaceCrop, recognizer: str) -> ForwardFunc:
    """The score to explain: minus the L2 distance from B's embedding, for a batch of A crops."""

    def similarity(crops: torch.Tensor) -> torch.Tensor:
        return -torch.linalg.vector_norm(_embed_crops(crops, a, recognizer) - b_embedding, dim=1)

    return similarity


def explain_face_pair(
    image_a: Image.Image,
    face_a: Face,
    image_b: Image.Image,
    face_b: Face,
    recognizer: str = "dlib_resnet29",
    methods: Sequence[str] = FACE_METHODS,
    settings: Settings = FACE_SETTINGS,
) -> FacePair:
    """Attribute the A-B similarity to A's pixels with each of ``methods`` (any of ``FACE_METHODS``)."""
    unsupported = [m for m in methods if m not in FACE_METHODS]
    if unsupported:
        raise ValueError(f"face pairs support {', '.join(FACE_METHODS)}, not {', '.join(unsupported)}")
    a, b = face_crop(image_a, face_a), face_crop(image_b, face_b)
    with torch.no_grad():  # not inference_mode: a recognizer first built here must stay usable for gradients
        a_embedding = _embed_crops(a.tensor()[None], a, recognizer)[0]
        b_embedding = _embed_crops(b.tensor()[None], b, recognizer)[0]
    score = similarity_to(b_embedding.clone(), a, recognizer)
    inputs = a.tensor()[None]
    attributions = [attribute(score, inputs, None, method, settings) for method in methods]
    distance = face_distance(a_embedding.numpy(), b_embedding.numpy())
    return FacePair(a, b, recognizer, float(distance), threshold(recognizer), attributions)
