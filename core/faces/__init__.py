"""Faces: MTCNN detection, differentiable alignment, embeddings, distances, calibration and gallery search.

The public contract (the cloak and attribution tools code against it):
``Face``, ``detect_faces``, ``image_to_tensor``, ``align``, ``align_batch``, ``embed_chips``, ``embed_faces``,
``face_distance``, ``threshold``, ``available_recognizers``, and ``chip_features`` (a mid-depth feature map).
"""

from core.faces.align import align, align_batch, image_to_tensor
from core.faces.detect import Face, detect_faces
from core.faces.embed import RECOGNIZERS, available_recognizers, chip_features, embed_chips, embed_faces
from core.faces.metrics import face_distance, threshold

__all__ = [
    "RECOGNIZERS",
    "Face",
    "align",
    "align_batch",
    "available_recognizers",
    "chip_features",
    "detect_faces",
    "embed_chips",
    "embed_faces",
    "face_distance",
    "image_to_tensor",
    "threshold",
]
