"""Fit the MTCNN-landmark template in dlib-chip coordinates, using dlib itself (a test-only dependency).

dlib ResNet-29 was trained on dlib's own 150x150 chips: ``dlib.get_face_chip_details(shape5, 150, 0.25)`` aligns the
5 points of ``shape_predictor_5_face_landmarks.dat`` (eye corners and the base of the nose), which are not MTCNN's
5 points (eye centres, nose tip, mouth corners). For every face that both pipelines find in ../shared/data/faces
(matched by box overlap), this script maps MTCNN's landmarks through dlib's image-to-chip transform and averages
them: the result is where MTCNN's landmarks lie on a dlib chip, i.e. the target of our similarity alignment.

    .venv/bin/python -m scripts.fit_dlib_template [DATA_FACES_DIR]

prints the template (paste it into core/models/__init__.py, DLIB_TEMPLATE) and the per-point spread in chip pixels.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import dlib
import numpy as np

from core.config import data_root
from core.faces.detect import detect_faces, match_by_overlap
from core.images import open_image, to_array
from core.models import package_file

CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass
class DlibFace:
    """A face as dlib's own pipeline sees it: detector box, 5-point shape, and the chip transform."""

    box: np.ndarray  # (4,) x0, y0, x1, y1
    shape: dlib.full_object_detection
    chip: dlib.chip_details

    def image_to_chip(self) -> np.ndarray:
        """2x3 affine that maps image pixels to chip pixels (dlib's get_mapping_to_chip)."""
        return mapping_to_chip(self.chip)


class DlibPipeline:
    """dlib's reference face pipeline: HOG detector (1 upsample), 5-point shape predictor, ResNet-29 descriptor."""

    def __init__(self) -> None:
        models = "face_recognition_models"
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(
            str(package_file(models, "models", "shape_predictor_5_face_landmarks.dat")())
        )
        self.recognizer = dlib.face_recognition_model_v1(
            str(package_file(models, "models", "dlib_face_recognition_resnet_model_v1.dat")())
        )

    def faces(self, pixels: np.ndarray) -> list[DlibFace]:
        found = []
        for rect in self.detector(pixels, 1):
            shape = self.predictor(pixels, rect)
            box = np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.float64)
            found.append(DlibFace(box, shape, dlib.get_face_chip_details(shape, CHIP_SIZE, CHIP_PADDING)))
        return found

    def chip(self, pixels: np.ndarray, face: DlibFace) -> np.ndarray:
        return dlib.get_face_chip(pixels, face.shape, CHIP_SIZE, CHIP_PADDING)

    def embed(self, pixels: np.ndarray, face: DlibFace) -> np.ndarray:
        return np.asarray(self.recognizer.compute_face_descriptor(pixels, face.shape, 0, CHIP_PADDING))

    def embed_chip(self, chip: np.ndarray) -> np.ndarray:
        """dlib's ResNet-29 on an already aligned 150x150 uint8 chip."""
        return np.asarray(self.recognizer.compute_face_descriptor(np.ascontiguousarray(chip)))


def mapping_to_chip(chip: dlib.chip_details) -> np.ndarray:
    """dlib's get_mapping_to_chip: the rect's corners, rotated by ``angle`` about its centre, go to the chip's
    corners (0,0), (cols-1,0), (cols-1,rows-1). Returns the 2x3 affine from image to chip pixels."""
    rect = chip.rect
    centre = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
    cos, sin = np.cos(chip.angle), np.sin(chip.angle)
    rotation = np.array([[cos, -sin], [sin, cos]])
    corners = np.array([[rect.left(), rect.top()], [rect.right(), rect.top()], [rect.right(), rect.bottom()]])
    image_points = (corners - centre) @ rotation.T + centre
    chip_points = np.array([[0, 0], [chip.cols - 1, 0], [chip.cols - 1, chip.rows - 1]], dtype=np.float64)
    design = np.hstack([image_points, np.ones((3, 1))])
    return np.linalg.solve(design, chip_points).T


def photo_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*/*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def fit_template(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """MTCNN landmarks of every matched face in chip coordinates: (mean template (5,2), all points (N,5,2))."""
    pipeline = DlibPipeline()
    mapped = []
    for path in paths:
        image = open_image(path)
        for ours, theirs in match_by_overlap(detect_faces(image), pipeline.faces(to_array(image))):
            affine = theirs.image_to_chip()
            mapped.append(ours.landmarks @ affine[:, :2].T + affine[:, 2])
    points = np.stack(mapped)
    return points.mean(axis=0), points


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Fit the MTCNN-landmark template in dlib-chip coordinates.")
    parser.add_argument(
        "folder", nargs="?", type=Path, default=data_root() / "faces", help="<folder>/<identity>/<photo>"
    )
    folder = parser.parse_args(argv).folder
    if not folder.is_dir():
        parser.error(f"not a folder: {folder}")
    template, points = fit_template(photo_paths(folder))
    spread = np.sqrt(((points - template) ** 2).sum(axis=2)).mean(axis=0)
    print(f"{len(points)} faces matched in {folder}")
    print("DLIB_TEMPLATE = [")
    names = ["left eye", "right eye", "nose", "mouth left", "mouth right"]
    for name, (x, y), s in zip(names, template, spread, strict=True):
        print(f"    [{x:.3f}, {y:.3f}],  # {name}: mean distance from it {s:.2f} px")
    print("]")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
