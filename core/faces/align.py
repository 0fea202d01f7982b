"""Differentiable face alignment: a similarity transform from MTCNN's 5 landmarks to a recognizer's template,
applied with ``affine_grid``/``grid_sample`` to the full-resolution image tensor, so gradients reach its pixels.

Coordinates: pixel centres sit at integer positions (dlib's and MTCNN's convention); ``grid_sample`` with
``align_corners=False`` puts pixel i's centre at normalised (2i + 1) / size - 1, and the maps below convert.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.images import to_array
from core.models import RecognizerFacts, recognizer_facts

# dlib's 150x150 chip template (fitted by scripts/fit_dlib_template.py; see core/models/__init__.py)
DLIB_TEMPLATE = np.array(recognizer_facts("dlib_resnet29").template)


def crop_rule(recognizer: str) -> RecognizerFacts:
    """How ``recognizer`` cuts its chip (chip_size, and a landmark template or a box margin): its registry facts."""
    return recognizer_facts(recognizer)


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """(3, H, W) float32 RGB in 0..255: the tensor that alignment samples from and attacks perturb."""
    return torch.from_numpy(to_array(image).copy()).permute(2, 0, 1).float()


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; Umeyama 1991) mapping ``source`` points
    onto ``target`` points, as a 2x3 matrix."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_c, target_c = source - source_mean, target - target_mean
    covariance = target_c.T @ source_c / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1
    rotation = u @ np.diag(sign) @ vt
    scale = (singular * sign).sum() / source_c.var(axis=0).sum()
    matrix = scale * rotation
    return np.hstack([matrix, (target_mean - matrix @ source_mean)[:, None]])


def chip_to_image(landmarks: np.ndarray, recognizer: str, box: np.ndarray | None = None) -> np.ndarray:
    """2x3 affine from chip pixels to image pixels for one face."""
    rule = crop_rule(recognizer)
    if rule.template is not None:
        template = np.asarray(rule.template, dtype=np.float64)
        forward = np.vstack([similarity_transform(np.asarray(landmarks, dtype=np.float64), template), [0, 0, 1]])
        return np.linalg.inv(forward)[:2]
    if box is None:
        raise ValueError(f"{recognizer} crops from the detection box: pass box=")
    return _margin_box_to_image(np.asarray(box, dtype=np.float64), rule)


def _margin_box_to_image(box: np.ndarray, rule: RecognizerFacts) -> np.ndarray:
    """facenet-pytorch's extract_face: grow the box by ``margin`` chip pixels' worth, stretch it onto the chip."""
    size = rule.chip_size
    grow = rule.margin * (box[2:] - box[:2]) / (size - rule.margin) / 2
    low, high = box[:2] - grow, box[2:] + grow
    scale = (high - low) / size
    # chip pixel centre u covers [u, u+1) of the chip, i.e. image low + (u + 0.5) * scale, minus half a pixel
    offset = low + 0.5 * scale - 0.5
    return np.array([[scale[0], 0.0, offset[0]], [0.0, scale[1], offset[1]]])


def pyramid_levels(affine: np.ndarray, chip_size: int) -> int:
    """How many times to halve the image before sampling: like dlib's extract_image_chips, shrink while the
    chip would still sample less than one chip pixel per two image pixels, so bilinear sampling does not alias."""
    image_pixels_per_chip_pixel = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
    return max(0, int(np.floor(np.log2(image_pixels_per_chip_pixel)))) if image_pixels_per_chip_pixel >= 2 else 0


_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def pyramid_down(image: torch.Tensor) -> torch.Tensor:
    """Blur (5-tap binomial) and keep every other pixel of a (N, C, H, W) tensor: output pixel j sits on input 2j."""
    channels = image.shape[1]
    kernel = _BINOMIAL.to(image.dtype)
    padded = F.pad(image, (2, 2, 2, 2), mode="replicate")
    blurred = F.conv2d(padded, kernel.view(1, 1, 1, 5).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(blurred, kernel.view(1, 1, 5, 1).repeat(channels, 1, 1, 1), groups=channels, stride=(2, 2))


def _sampling_theta(affine: np.ndarray, chip_size: int, height: int, width: int) -> torch.Tensor:
    """affine_grid's theta (normalised chip -> normalised image, align_corners=False) for a pixel affine."""
    chip_from_normalised = np.array(
        [[chip_size / 2, 0, (chip_size - 1) / 2], [0, chip_size / 2, (chip_size - 1) / 2], [0, 0, 1]]
    )
    normalised_from_image = np.array([[2 / width, 0, 1 / width - 1], [0, 2 / height, 1 / height - 1], [0, 0, 1]])
    theta = normalised_from_image @ np.vstack([affine, [0, 0, 1]]) @ chip_from_normalised
    return torch.from_numpy(theta[:2]).float()


def warp(image_tensor: torch.Tensor, affines: list[np.ndarray], chip_size: int) -> torch.Tensor:
    """Sample one (chip_size x chip_size) chip per chip-to-image affine from a (3, H, W) tensor: (N, 3, S, S)."""
    pyramid = [image_tensor[None]]
    chips = []
    for affine in affines:
        levels = pyramid_levels(affine, chip_size)
        while len(pyramid) <= levels:
            pyramid.append(pyramid_down(pyramid[-1]))
        source = pyramid[levels]
        # a point at image x sits at x / 2**levels in the halved image (output pixel j on input 2j)
        level_affine = affine / 2**levels
        theta = _sampling_theta(level_affine, chip_size, source.shape[2], source.shape[3])
        grid = F.affine_grid(theta[None].to(source.dtype), [1, 3, chip_size, chip_size], align_corners=False)
        chips.append(F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=False))
    if not chips:
        return image_tensor.new_zeros((0, 3, chip_size, chip_size))
    return torch.cat(chips)


def align_batch(
    image_tensor: torch.Tensor,
    landmarks_list: list[np.ndarray],
    recognizer: str = "dlib_resnet29",
    boxes: list[np.ndarray] | None = None,
) -> torch.Tensor:
    """(N, 3, S, S) chips in 0..255 for N faces of one (3, H, W) image tensor; differentiable w.r.t. it."""
    boxes = boxes if boxes is not None else [None] * len(landmarks_list)
    affines = [chip_to_image(points, recognizer, box) for points, box in zip(landmarks_list, boxes, strict=True)]
    return warp(image_tensor, affines, crop_rule(recognizer).chip_size)


def align(
    image_tensor: torch.Tensor, landmarks: np.ndarray, recognizer: str = "dlib_resnet29", box: np.ndarray | None = None
) -> torch.Tensor:
    """(3, S, S) chip in 0..255 for one face; differentiable w.r.t. ``image_tensor``."""
    return align_batch(image_tensor, [landmarks], recognizer, None if box is None else [box])[0]
