"""Face detection: MTCNN on a downscaled copy, boxes and landmarks mapped back to the original pixels.

The full-size MTCNN pyramid costs seconds per large photo on a small CPU (a 2280x1588 photo took 13 s), while
faces big enough to recognise stay big enough to detect at a long side of 1000 px.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.boxes import box_iou
from core.images import to_array
from core.models import get_spec, load_model

DETECT_LONG_SIDE = 1000
MIN_PROBABILITY = float(get_spec("mtcnn").meta["threshold"])


@dataclass
class Face:
    """One detected face in the ORIGINAL image's pixel coordinates (pixel centres at integers).

    ``landmarks`` rows: left eye, right eye, nose, mouth left, mouth right (as MTCNN gives them, image left/right).
    """

    box: np.ndarray  # (4,) x0, y0, x1, y1
    prob: float
    landmarks: np.ndarray  # (5, 2) x, y

    def to_dict(self) -> dict:
        return {
            "box": self.box.round(2).tolist(),
            "probability": round(self.prob, 5),
            "landmarks": self.landmarks.round(2).tolist(),
        }


def detection_scale(size: tuple[int, int], long_side: int = DETECT_LONG_SIDE) -> float:
    """Factor (<= 1) that brings the long side of an image of ``size`` down to ``long_side``."""
    return min(1.0, long_side / max(size))


def detect_faces(
    image: Image.Image, min_prob: float = MIN_PROBABILITY, long_side: int = DETECT_LONG_SIDE
) -> list[Face]:
    """Every face MTCNN finds with probability >= ``min_prob``, sorted by probability (highest first)."""
    scale = detection_scale(image.size, long_side)
    small = image
    if scale < 1.0:
        small = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BOX
        )
    detector = load_model("mtcnn").model
    if min(small.size) < detector.min_face_size:
        return []  # no face of MTCNN's smallest size fits (its image pyramid would be empty and it would crash)
    boxes, probs, landmarks = detector.detect(to_array(small))
    # pixel centres: x_small + 0.5 = (x + 0.5) * scale, per axis with the exact resize ratio
    ratio = np.array([image.width / small.width, image.height / small.height])
    faces = []
    for box, prob, points in zip(boxes, probs, landmarks, strict=True):
        if prob < min_prob:
            continue
        box_orig = ((box.reshape(2, 2) + 0.5) * ratio - 0.5).reshape(4)
        faces.append(Face(box=box_orig, prob=float(prob), landmarks=(points + 0.5) * ratio - 0.5))
    return faces


def match_by_overlap(ours: list, theirs: list, min_iou: float = 0.3) -> list[tuple]:
    """Greedy one-to-one pairs of detections (anything with a ``box``) from two detectors, highest IoU first:
    how faces are matched when two pipelines find different numbers of faces in a photo."""
    candidates = sorted(
        ((box_iou(a.box, b.box), i, j) for i, a in enumerate(ours) for j, b in enumerate(theirs)), reverse=True
    )
    used_ours, used_theirs, pairs = set(), set(), []
    for iou, i, j in candidates:
        if iou < min_iou or i in used_ours or j in used_theirs:
            continue
        used_ours.add(i)
        used_theirs.add(j)
        pairs.append((ours[i], theirs[j]))
    return pairs
