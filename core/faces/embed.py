"""Face embeddings: differentiable on chips (for attacks), batched and cached on photos (for everything else)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.cache import cached_array, content_hash, pixels_hash
from core.faces.align import align_batch, image_to_tensor
from core.faces.detect import Face
from core.models import RECOGNIZERS, availability, get_spec, load_model, recognizer_facts

EMBED_BATCH = 32
CACHE_NAMESPACE = "face_embeddings"


def available_recognizers() -> list[str]:
    """Recognizers whose real weights are present (the others are listed by the UI as disabled, with the reason)."""
    return [name for name in RECOGNIZERS if availability(name)[0]]


def embed_chips(chips: torch.Tensor, recognizer: str = "dlib_resnet29") -> torch.Tensor:
    """(N, D) embeddings of (N, 3, S, S) RGB chips in 0..255, with gradients if the chips carry them: the
    recognizer's input transform, its network, and (when its facts say so) L2 normalisation."""
    facts = recognizer_facts(recognizer)
    embeddings = load_model(recognizer).model(facts.network_input(chips))
    return F.normalize(embeddings, dim=1) if facts.normalize else embeddings


def chip_features(chips: torch.Tensor, recognizer: str) -> torch.Tensor:
    """(N, H, W, C) activations of the recognizer's mid-depth ``feature_node`` (registry meta) for (N, 3, S, S)
    chips, differentiable: for attack terms on features rather than on the final embedding."""
    node = get_spec(recognizer).meta.get("feature_node")
    if node is None:
        raise ValueError(f"{recognizer} has no feature_node")
    model = load_model(recognizer).model
    return model.run(recognizer_facts(recognizer).network_input(chips), [node])[node]


class _NotCached(Exception):
    """Raised from cached_array's compute to look a key up without computing anything."""


def _lookup(key: str) -> np.ndarray | None:
    def miss() -> np.ndarray:
        raise _NotCached

    try:
        return cached_array(CACHE_NAMESPACE, key, miss)
    except _NotCached:
        return None


def faces_cache_key(image_key: str, faces: list[Face], recognizer: str) -> str:
    """The disk-cache key of one image's faces (image hash, what computes on them, face geometry)."""
    geometry = np.stack([np.concatenate([f.box, f.landmarks.ravel()]) for f in faces]).astype(np.float64)
    return f"{image_key}|{recognizer}|{content_hash(geometry.tobytes())}"


def embed_faces(
    image: Image.Image, faces: list[Face], recognizer: str = "dlib_resnet29", image_key: str | None = None
) -> np.ndarray:
    """(N, D) float32 embeddings of ``faces`` in ``image``, in batches under inference_mode, cached on disk by
    (image hash, recognizer, face geometry). ``image_key`` skips re-hashing when the caller already has it."""
    return embed_photos([(image, faces, image_key or pixels_hash(image))], recognizer)[0]


def embed_photos(
    jobs: list[tuple[Image.Image, list[Face], str]], recognizer: str = "dlib_resnet29"
) -> list[np.ndarray]:
    """embed_faces for several (image, faces, image hash) at once: cached photos are loaded, and the chips of the
    others share batches of up to EMBED_BATCH (on a CPU, several times faster than one face per forward pass)."""
    empty = np.zeros((0, recognizer_facts(recognizer).embedding_size), dtype=np.float32)
    results: list[np.ndarray | None] = []
    pending: list[tuple[int, str, torch.Tensor]] = []
    load_model(recognizer)  # build outside inference_mode: its weights must stay usable for gradients later
    for index, (image, faces, image_key) in enumerate(jobs):
        key = faces_cache_key(image_key, faces, recognizer) if faces else ""
        found = _lookup(key) if faces else empty
        results.append(found)
        if found is None:
            with torch.inference_mode():
                chips = align_batch(
                    image_to_tensor(image), [f.landmarks for f in faces], recognizer, [f.box for f in faces]
                )
            pending.append((index, key, chips))
    if pending:
        embeddings = _embed_in_batches(torch.cat([chips for *_, chips in pending]), recognizer)
        start = 0
        for index, key, chips in pending:
            block = embeddings[start : start + len(chips)]
            results[index] = cached_array(CACHE_NAMESPACE, key, lambda block=block: block)
            start += len(chips)
    return results


def _embed_in_batches(chips: torch.Tensor, recognizer: str) -> np.ndarray:
    with torch.inference_mode():
        parts = [
            embed_chips(chips[start : start + EMBED_BATCH], recognizer).numpy()
            for start in range(0, len(chips), EMBED_BATCH)
        ]
    return np.concatenate(parts).astype(np.float32)
