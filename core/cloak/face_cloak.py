"""Face mode: cloak every face of a photo against face recognizers, at the photo's full resolution.

The perturbation lives on the original pixels, restricted to a soft elliptical mask per detected face, and reaches
each recognizer through the differentiable alignment (``core.faces.align_batch``) and ``embed_chips``. Only a crop
around the faces (wide enough to hold every aligned chip's footprint) is optimised, then pasted back, so the cost per
step does not grow with the photo's size.

Goals (distances are each recognizer's own metric, normalised by its threshold so recognizers can be ensembled):
- dodging: push each face's embedding away from its anchors (its clean embedding and any reference photos of the
  same person) until it is ``margin`` beyond the threshold;
- impersonation: pull it toward a target person's embedding (below the threshold by ``margin``) while pushing it
  away from its own anchors (the triplet L(A', T, A) formulation).
Once a face reaches its goal its term is capped and stops contributing gradient, which keeps the change small.
Two more things keep the cloak both faint and durable: the mask is scaled down on smooth skin (``texture_weight``),
where noise shows and costs SSIM, and every step aligns from slightly jittered landmarks, because the detector
re-finds the landmarks on the saved photo a pixel or two away from the clean ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core import faces as face_api
from core.cloak.attacks import Attack
from core.cloak.imageio import png_bytes, to_image
from core.cloak.transforms import random_degradation
from core.models import get_spec

MIN_SIDE = 32  # below this no detector finds a face worth protecting
CONTEXT = 0.8  # crop margin around each face box, in box sizes: holds the aligned chip's footprint
CHIP_SCALE = 100  # face-box size (px) at which texture is judged over 7x7 windows, about a dlib chip's face
JPEG_GRID = 16  # crop offsets snap to the JPEG MCU grid so the EOT blocks line up with a real re-encode


class NoFaceError(ValueError):
    """The photo holds no face to protect (or is too small to hold one); str(err) is user-readable."""


@dataclass
class Anchors:
    """Per recognizer: the embeddings a face must be kept away from, and an optional target to move toward."""

    own: dict[str, list[np.ndarray]]  # recognizer -> per face (K_i, D): clean face + same-person references
    target: dict[str, np.ndarray] = field(default_factory=dict)  # recognizer -> (D,)


@dataclass
class FaceCloak:
    """The written cloak (PNG bytes and the decoded image) plus what the report needs to re-measure it."""

    original: Image.Image
    image: Image.Image
    png: bytes
    faces: list  # core.faces.Face, detected on the original
    anchors: Anchors
    recognizers: list[str]  # attacked (white-box)
    mode: str
    seconds: float
    mask: np.ndarray  # (H, W) 0..1, the soft face mask the perturbation was restricted to
    observers: list[str] = field(default_factory=list)  # only measured (black-box): the attack never saw them


def face_mask(shape: tuple[int, int], boxes: Sequence[np.ndarray], softness: float = 0.35) -> torch.Tensor:
    """(H, W) mask: 1 inside an ellipse fitted to each face box, fading smoothly to 0 over ``softness`` of its radius."""
    height, width = shape
    ys = torch.arange(height, dtype=torch.float32)[:, None]
    xs = torch.arange(width, dtype=torch.float32)[None, :]
    mask = torch.zeros(height, width)
    for x0, y0, x1, y1 in boxes:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * (y1 - y0)
        rx, ry = 0.55 * (x1 - x0), 0.62 * (y1 - y0)
        radius = torch.sqrt(((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2)
        ramp = ((1 - radius) / softness).clamp(0, 1)
        mask = torch.maximum(mask, ramp * ramp * (3 - 2 * ramp))  # smoothstep edge
    return mask


def texture_weight(
    pixels: torch.Tensor, radius: int = 3, flat: float = 0.3, textured_std: float = 12.0
) -> torch.Tensor:
    """(H, W) weight in [flat, 1]: full budget where the local contrast (grey std over a (2 radius + 1) window)
    reaches ``textured_std`` grey levels, down to ``flat`` on smooth skin, where noise is most visible and costs SSIM
    the most. The window must grow with the face: in a high-resolution face every 7x7 patch looks smooth."""
    grey = pixels.mean(dim=0).double()
    std = (box_mean(grey**2, radius) - box_mean(grey, radius) ** 2).clamp_min(0).sqrt().float()
    return (std / textured_std).clamp(flat, 1.0)


def box_mean(values: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the (2 radius + 1)^2 window around each pixel of an (H, W) tensor, edges replicated; an integral
    image makes it cost the same for any radius (large faces need windows of 70 px and more)."""
    padded = F.pad(values[None, None], (radius,) * 4, mode="replicate")[0, 0]
    integral = F.pad(padded.cumsum(0).cumsum(1), (1, 0, 1, 0))
    size = 2 * radius + 1
    height, width = values.shape
    total = (
        integral[size : size + height, size : size + width]
        - integral[:height, size : size + width]
        - integral[size : size + height, :width]
        + integral[:height, :width]
    )
    return total / size**2


def face_crop(size: tuple[int, int], boxes: Sequence[np.ndarray]) -> tuple[int, int, int, int]:
    """Integer (x0, y0, x1, y1) region around all faces, wide enough for their aligned chips, on the JPEG grid."""
    width, height = size
    x0s, y0s, x1s, y1s = [], [], [], []
    for bx0, by0, bx1, by1 in boxes:
        pad = CONTEXT * max(bx1 - bx0, by1 - by0)
        x0s.append(bx0 - pad)
        y0s.append(by0 - pad)
        x1s.append(bx1 + pad)
        y1s.append(by1 + pad)
    x0 = max(0, int(np.floor(min(x0s))) // JPEG_GRID * JPEG_GRID)
    y0 = max(0, int(np.floor(min(y0s))) // JPEG_GRID * JPEG_GRID)
    return x0, y0, min(width, int(np.ceil(max(x1s)))), min(height, int(np.ceil(max(y1s))))


def detect_or_raise(image: Image.Image, label: str = "the photo") -> list:
    """Faces in ``image``; NoFaceError with a clear reason when there are none."""
    if min(image.size) < MIN_SIDE:
        raise NoFaceError(f"{label} is {image.width}x{image.height} px, too small to hold a recognisable face")
    faces = face_api.detect_faces(image)
    if not faces:
        raise NoFaceError(f"no face found in {label}")
    return faces


def embed_photo_faces(image: Image.Image, faces: list, recognizer: str) -> np.ndarray:
    """(N, D) embeddings of ``faces`` in ``image`` (cached by content inside core.faces)."""
    return np.asarray(face_api.embed_faces(image, faces, recognizer), dtype=np.float32)


def build_anchors(
    image: Image.Image,
    faces: list,
    recognizers: Sequence[str],
    references: Sequence[Image.Image] = (),
    target: Image.Image | None = None,
) -> Anchors:
    """Each face's own anchors (its clean embedding plus every reference face nearest to it) and the target's
    embedding (its most probable face). Raises NoFaceError when a reference or the target holds no face."""
    reference_faces = [(ref, detect_or_raise(ref, f"reference photo {i + 1}")) for i, ref in enumerate(references)]
    target_faces = detect_or_raise(target, "the target photo")[:1] if target is not None else []
    anchors = Anchors(own={})
    for recognizer in recognizers:
        clean = embed_photo_faces(image, faces, recognizer)
        own = [[row] for row in clean]
        for ref, ref_faces in reference_faces:
            for embedding in embed_photo_faces(ref, ref_faces, recognizer):
                nearest = int(np.argmin(np.linalg.norm(clean - embedding, axis=1)))
                own[nearest].append(embedding)
        anchors.own[recognizer] = [np.stack(rows) for rows in own]
        if target is not None:
            anchors.target[recognizer] = embed_photo_faces(target, target_faces, recognizer)[0]
    return anchors


def jitter_landmarks(points: np.ndarray, generator: torch.Generator, relative: float = 0.02) -> np.ndarray:
    """Landmarks moved by Gaussian noise of ``relative`` times the eye distance. The detector's landmarks on the
    cloaked photo differ from the clean ones by a pixel or two, so the cloak must survive re-alignment; the jitter
    also breaks the symmetry at the start, where the distance of the clean face to itself has zero gradient."""
    eye_distance = float(np.linalg.norm(points[1] - points[0]))
    noise = torch.randn(points.shape, generator=generator, dtype=torch.float64).numpy()
    return points + relative * eye_distance * noise


def goal_losses(
    embeddings: torch.Tensor, own: list[np.ndarray], target: np.ndarray | None, limit: float, margin: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to maximise, per-face distance to its own anchors) for one recognizer; distances in threshold units."""
    losses, distances = [], []
    for embedding, anchors in zip(embeddings, own, strict=True):
        away = torch.linalg.norm(embedding[None] - torch.from_numpy(anchors), dim=1) / limit
        loss = torch.clamp(away, max=1 + margin).mean()  # capped per anchor: a far reference cannot hide a near one
        if target is not None:
            toward = torch.linalg.norm(embedding - torch.from_numpy(target)) / limit
            loss = loss - torch.clamp(toward, min=1 - margin)
        losses.append(loss)
        distances.append(away.min().detach())
    return torch.stack(losses).sum(), torch.stack(distances)


FEATURE_SHIFT_CAP = 1.0  # relative change of the mid-depth features past which the term stops pushing


def clean_chip_features(
    crop: torch.Tensor, landmarks: list[np.ndarray], boxes: list[np.ndarray], recognizers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """Mid-depth activations of the clean faces, per recognizer that exposes them (registry ``feature_node``: the
    TF.js recognizers; dlib's port has none, so the term leaves it to the embedding loss)."""
    features = {}
    with torch.no_grad():
        for recognizer in recognizers:
            if get_spec(recognizer).meta.get("feature_node"):
                chips = face_api.align_batch(crop, landmarks, recognizer, boxes)
                features[recognizer] = face_api.chip_features(chips, recognizer)
    return features


def feature_shift(chips: torch.Tensor, recognizer: str, clean: torch.Tensor) -> torch.Tensor:
    """Sum over faces of how far the chips' mid-depth features moved from the clean ones, relative to their size and
    capped, so a face whose features already moved enough stops spending budget on them."""
    moved = face_api.chip_features(chips, recognizer) - clean
    relative = moved.flatten(1).norm(dim=1) / clean.flatten(1).norm(dim=1).clamp_min(1e-6)
    return relative.clamp(max=FEATURE_SHIFT_CAP).sum()


def cloak_faces(
    image: Image.Image,
    attack: Attack,
    *,
    recognizers: Sequence[str] | None = None,
    observers: Sequence[str] = (),
    references: Sequence[Image.Image] = (),
    target: Image.Image | None = None,
    robust: bool = True,
    margin: float = 0.25,
    softness: float = 0.35,
    texture_aware: bool = True,
    callback: Callable[[int, int, float], bool | None] | None = None,
) -> FaceCloak:
    """Cloak every face in ``image`` (dodging, or impersonating ``target`` when given) and write it as PNG.

    ``recognizers`` are attacked together (default: every available one, each distance in its own threshold units);
    ``observers`` are recognizers the attack must not see, whose anchors are kept only so the report can measure them.

    ``callback(step, steps, distance)`` gets the smallest face-to-anchor distance (in threshold units, >1 means not
    matched) after each step; returning True stops early.
    """
    start = time.perf_counter()
    faces = detect_or_raise(image)
    recognizers = list(face_api.available_recognizers() if recognizers is None else recognizers)
    observers = [name for name in observers if name not in recognizers]
    if not recognizers:
        raise ValueError("no recognizer to attack: install at least one recognizer's weights")
    anchors = build_anchors(image, faces, [*recognizers, *observers], references, target)
    full = face_api.image_to_tensor(image)
    x0, y0, x1, y1 = face_crop(image.size, [f.box for f in faces])
    crop = full[:, y0:y1, x0:x1]
    offset = np.array([x0, y0], dtype=np.float64)
    landmarks = [f.landmarks - offset for f in faces]
    boxes = [f.box - np.tile(offset, 2) for f in faces]
    mask = face_mask(crop.shape[1:], boxes, softness)
    if texture_aware:
        face_size = max(max(f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in faces)
        mask = mask * texture_weight(crop, radius=max(3, round(3 * face_size / CHIP_SCALE)))
    generator = torch.Generator().manual_seed(attack.seed)
    progress = {"distance": 0.0}
    clean_features = clean_chip_features(crop, landmarks, boxes, recognizers) if attack.feature_weight else {}

    def loss_fn(adversarial: torch.Tensor) -> torch.Tensor:
        batch = adversarial[None]
        if robust:
            batch = random_degradation(batch, generator)
        total, nearest = 0.0, []
        points = [jitter_landmarks(p, generator) for p in landmarks]
        for recognizer in recognizers:
            chips = face_api.align_batch(batch[0], points, recognizer, boxes)
            embeddings = face_api.embed_chips(attack.diversify(chips, generator), recognizer)
            loss, distances = goal_losses(
                embeddings,
                anchors.own[recognizer],
                anchors.target.get(recognizer),
                face_api.threshold(recognizer),
                margin,
            )
            total = total + loss
            if recognizer in clean_features:
                total = total + attack.feature_weight * feature_shift(chips, recognizer, clean_features[recognizer])
            nearest.append(distances)
        progress["distance"] = float(torch.stack(nearest).min())
        return total

    def report_progress(step: int, steps: int, _loss: float) -> bool | None:
        return callback(step, steps, progress["distance"]) if callback else None

    cloaked = attack.perturb(crop, loss_fn, mask=mask, callback=report_progress)
    full[:, y0:y1, x0:x1] = cloaked
    written = to_image(full)
    full_mask = np.zeros((image.height, image.width), dtype=np.float32)
    full_mask[y0:y1, x0:x1] = mask.numpy()
    return FaceCloak(
        original=image,
        image=written,
        png=png_bytes(written),
        faces=faces,
        anchors=anchors,
        recognizers=recognizers,
        mode="impersonate" if target is not None else "dodge",
        seconds=time.perf_counter() - start,
        mask=full_mask,
        observers=observers,
    )
