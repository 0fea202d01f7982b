"""Open-set identification: enroll identities, then name a query face or call it "unknown" above the threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.faces.metrics import face_distance

UNKNOWN = "unknown"


@dataclass
class Gallery:
    """Enrolled faces: one embedding per row, the identity of each row."""

    embeddings: np.ndarray
    identities: list[str]

    @property
    def names(self) -> list[str]:
        return sorted(set(self.identities))


@dataclass
class Identification:
    """Nearest enrolled identity, its distance, and the decision (``identity`` is UNKNOWN above the threshold)."""

    identity: str
    nearest: str
    distance: float
    threshold: float
    ranking: list[tuple[str, float]]  # every enrolled identity with its nearest distance, closest first


def enroll(embeddings: np.ndarray, identities: list[str]) -> Gallery:
    """A gallery from labelled embeddings (every enrolled face is kept: nearest-neighbour, not a mean template)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if len(embeddings) != len(identities) or len(embeddings) == 0:
        raise ValueError("enroll needs at least one face and one identity per embedding")
    return Gallery(embeddings, list(identities))


def identify(gallery: Gallery, embedding: np.ndarray, cutoff: float, metric: str = "l2") -> Identification:
    """The closest enrolled identity if its distance is below ``cutoff``, else UNKNOWN."""
    distances = np.atleast_1d(face_distance(gallery.embeddings, np.asarray(embedding)[None, :], metric))
    nearest_per_identity: dict[str, float] = {}
    for identity, distance in zip(gallery.identities, distances, strict=True):
        nearest_per_identity[identity] = min(nearest_per_identity.get(identity, np.inf), float(distance))
    ranking = sorted(nearest_per_identity.items(), key=lambda item: item[1])
    nearest, distance = ranking[0]
    return Identification(nearest if distance < cutoff else UNKNOWN, nearest, distance, cutoff, ranking)
