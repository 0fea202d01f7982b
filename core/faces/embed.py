"""Face embeddings: differentiable on chips (for attacks), batched and cached on photos (for everything else)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from core.cache import cached_array, content_hash
from core.faces.align import align_batch, image_to_tensor
from core.faces.detect import Face
from core.images import to_array
from core.models import availability, get_spec, load_model

RECOGNIZERS = ("dlib_resnet29", "facenet_vggface2", "facenet_casia")
EMBED_BATCH = 32


def available_recognizers() -> list[str]:
    """Recognizers whose real weights are present (the others are listed by the UI as disabled, with the reason)."""
    return [name for name in RECOGNIZERS if availability(name)[0]]


def _standardize(chips: torch.Tensor, recognizer: str) -> torch.Tensor:
    """dlib's network subtracts its own means from 0..255 input; FaceNet wants fixed_image_standardization."""
    if recognizer.startswith("facenet"):
        return (chips - 127.5) / 128.0
    return chips


def embed_chips(chips: torch.Tensor, recognizer: str = "dlib_resnet29") -> torch.Tensor:
    """(N, D) raw embeddings of (N, 3, S, S) chips in 0..255, with gradients if the chips carry them."""
    model = load_model(recognizer).model
    return model(_standardize(chips, recognizer))


def image_hash(image: Image.Image) -> str:
    """Hash of the decoded pixels (not the file), so the same picture in another container hits the same cache."""
    pixels = to_array(image)
    return content_hash(f"{pixels.shape}".encode() + pixels.tobytes())


def embed_faces(
    image: Image.Image, faces: list[Face], recognizer: str = "dlib_resnet29", image_key: str | None = None
) -> np.ndarray:
    """(N, D) float32 embeddings of ``faces`` in ``image``, in batches under inference_mode, cached on disk by
    (image hash, recognizer, face geometry). ``image_key`` skips re-hashing when the caller already has it."""
    dimension = int(get_spec(recognizer).meta["output_size"])
    if not faces:
        return np.zeros((0, dimension), dtype=np.float32)
    geometry = np.stack([np.concatenate([f.box, f.landmarks.ravel()]) for f in faces]).astype(np.float64)
    key = f"{image_key or image_hash(image)}|{recognizer}|{content_hash(geometry.tobytes())}"
    return cached_array("face_embeddings", key, lambda: _compute_embeddings(image, faces, recognizer))


def _compute_embeddings(image: Image.Image, faces: list[Face], recognizer: str) -> np.ndarray:
    tensor = image_to_tensor(image)
    load_model(recognizer)  # build outside inference_mode: its weights must stay usable for gradients later
    parts = []
    with torch.inference_mode():
        for start in range(0, len(faces), EMBED_BATCH):
            batch = faces[start : start + EMBED_BATCH]
            chips = align_batch(tensor, [f.landmarks for f in batch], recognizer, [f.box for f in batch])
            parts.append(embed_chips(chips, recognizer).numpy())
    return np.concatenate(parts).astype(np.float32)
