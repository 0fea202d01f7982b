"""Distances between face embeddings, the recognizer thresholds, and grouping faces into identities."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform

from core.models import RECOGNIZERS, recognizer_facts

METRICS = ("l2", "cosine")
# Mean embedding length per recognizer (dlib's descriptors are about 1.41 long; the others are unit length)
TYPICAL_NORM = {name: recognizer_facts(name).typical_norm for name in RECOGNIZERS}


def normalize(embeddings: np.ndarray) -> np.ndarray:
    """Unit-length rows (embeddings along the last axis)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return embeddings / np.maximum(np.linalg.norm(embeddings, axis=-1, keepdims=True), 1e-12)


def face_distance(a: np.ndarray, b: np.ndarray, metric: str = "l2") -> float | np.ndarray:
    """Distance between embeddings ``a`` and ``b`` (broadcast along leading axes).

    "l2": Euclidean distance of the embeddings as the recognizer outputs them, the convention its published
    threshold uses (dlib's 0.6 is on its raw 128-d descriptors, whose length is about 1.41; FaceNet's are unit length).
    "cosine": 1 - cosine similarity, which ignores the length (0..2).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if metric == "l2":
        distance = np.linalg.norm(a - b, axis=-1)
    elif metric == "cosine":
        distance = 1.0 - np.clip((normalize(a) * normalize(b)).sum(axis=-1), -1.0, 1.0)
    else:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return float(distance) if np.ndim(distance) == 0 else distance


def distance_matrix(embeddings: np.ndarray, metric: str = "l2") -> np.ndarray:
    """(N, N) pairwise distances, exactly symmetric with a zero diagonal."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    distances = face_distance(embeddings[:, None, :], embeddings[None, :, :], metric)
    distances = (distances + distances.T) / 2
    np.fill_diagonal(distances, 0.0)
    return distances


def threshold(recognizer: str, metric: str = "l2") -> float:
    """The recognizer's same-person threshold (published, or calibrated here; dlib: 0.6 on L2) in ``metric``.
    Between the two it is the same boundary for embeddings of the recognizer's typical length n:
    cosine distance = l2**2 / (2 n**2)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    facts = recognizer_facts(recognizer)
    if metric == facts.metric:
        return facts.threshold
    if metric == "cosine":
        return facts.threshold**2 / (2 * facts.typical_norm**2)
    return facts.typical_norm * float(np.sqrt(2 * facts.threshold))


def cluster_order(distances: np.ndarray) -> np.ndarray:
    """Row order that puts similar faces next to each other (average-linkage dendrogram leaves, optimally ordered)."""
    if len(distances) < 3:
        return np.arange(len(distances))
    tree = linkage(squareform(distances, checks=False), method="average", optimal_ordering=True)
    return leaves_list(tree)


def group_identities(distances: np.ndarray, cutoff: float) -> np.ndarray:
    """Identity label per face: average-linkage clusters whose mean within-cluster distance stays below ``cutoff``
    (average linkage does not chain two people together through one ambiguous face, as single linkage would)."""
    if len(distances) == 0:
        return np.zeros(0, dtype=int)
    if len(distances) == 1:
        return np.zeros(1, dtype=int)
    tree = linkage(squareform(distances, checks=False), method="average")
    labels = fcluster(tree, t=cutoff, criterion="distance")
    # renumber 0.. in order of first appearance, so labels are stable and readable
    _, first = np.unique(labels, return_index=True)
    order = {label: rank for rank, label in enumerate(labels[np.sort(first)])}
    return np.array([order[label] for label in labels])
