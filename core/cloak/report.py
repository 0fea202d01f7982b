"""The cloak report, always measured on the written file: the PNG is decoded again and the whole pipeline (detect,
align, embed) runs on it, then again after JPEG quality 90 and 75 and after a 0.5x resize.

A face counts as protected against a recognizer when its distance to every clean anchor (the face before cloaking
and any reference photos of the same person) is above that recognizer's threshold. A face the detector no longer
finds is still measured, with its original landmarks, and flagged ``redetected: false``: missing detection alone is
not counted as protection.

White-box and black-box are kept apart. A recognizer the cloak was optimised against (``attacked``) says little about
the recognizers a real service runs, which are black boxes. ``leave_one_out`` estimates that: for each recognizer R it
cloaks the photo with all the others and measures on R, which that cloak never saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from core import faces as face_api
from core.boxes import box_iou
from core.cloak.attacks import Attack, ProgressFn
from core.cloak.face_cloak import FaceCloak, cloak_faces
from core.cloak.imageio import reopen_png
from core.cloak.quality import region_quality
from core.cloak.transforms import half_size, jpeg_reencode
from core.images import to_array

VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "": lambda image: image,
    "_jpeg90": lambda image: jpeg_reencode(image, 90),
    "_jpeg75": lambda image: jpeg_reencode(image, 75),
    "_resize50": half_size,
}


def redetect(image: Image.Image, originals: list, scale: float) -> tuple[list, list[bool]]:
    """For each original face, the best-overlapping face detected in ``image`` (coordinates times ``scale``), or the
    original face moved to this scale when none overlaps by at least 0.3 IoU."""
    found = face_api.detect_faces(image)
    matched, redetected = [], []
    for face in originals:
        box = face.box * scale
        overlaps = [box_iou(box, other.box) for other in found]
        best = int(np.argmax(overlaps)) if overlaps else -1
        if best >= 0 and overlaps[best] >= 0.3:
            matched.append(found[best])
            redetected.append(True)
        else:
            matched.append(face_api.Face(box=box, prob=0.0, landmarks=face.landmarks * scale))
            redetected.append(False)
    return matched, redetected


def measure(cloak: FaceCloak) -> dict:
    """Per face and recognizer: distances before/after (saved file, JPEG 90/75, 0.5x resize), the threshold, the
    verdicts, and the face-region image quality. Impersonation adds the distances to the target."""
    start = time.perf_counter()
    written = reopen_png(cloak.png)
    original_pixels, written_pixels = to_array(cloak.original), to_array(written)
    rows = [
        {
            "face": i,
            "box": face.box.round(1).tolist(),
            **region_quality(original_pixels, written_pixels, face.box).as_dict(),
        }
        for i, face in enumerate(cloak.faces)
    ]
    measured = [*cloak.recognizers, *cloak.observers]
    per_recognizer = {
        r: [dict(row, recognizer=r, attacked=r in cloak.recognizers, threshold=face_api.threshold(r)) for row in rows]
        for r in measured
    }
    for suffix, variant in VARIANTS.items():
        image = variant(written)
        faces, redetected = redetect(image, cloak.faces, image.width / cloak.original.width)
        for recognizer in measured:
            embeddings = np.asarray(face_api.embed_faces(image, faces, recognizer))
            for i, row in enumerate(per_recognizer[recognizer]):
                row[f"redetected{suffix}"] = redetected[i]
                _add_distances(row, suffix, embeddings[i], cloak, recognizer, i)
    return {
        "faces_found": len(cloak.faces),
        "mode": cloak.mode,
        "recognizers": cloak.recognizers,
        "observers": cloak.observers,
        "seconds": round(cloak.seconds, 3),
        "measure_seconds": round(time.perf_counter() - start, 3),
        "faces": [row for r in measured for row in per_recognizer[r]],
    }


def _add_distances(
    row: dict, suffix: str, embedding: np.ndarray, cloak: FaceCloak, recognizer: str, index: int
) -> None:
    anchors = cloak.anchors.own[recognizer][index]
    limit = row["threshold"]
    distance = float(np.min(face_api.face_distance(anchors, embedding)))
    if not suffix:
        references = anchors[1:]
        row["distance_before"] = (
            round(float(np.min(face_api.face_distance(references, anchors[0]))), 4) if len(references) else 0.0
        )
        row["references"] = len(references)
    row[f"distance_after{suffix}"] = round(distance, 4)
    row[f"protected{suffix and '_after' + suffix}"] = distance > limit
    target = cloak.anchors.target.get(recognizer)
    if target is not None:
        if not suffix:
            row["target_distance_before"] = round(float(face_api.face_distance(anchors[0], target)), 4)
        to_target = float(face_api.face_distance(embedding, target))
        row[f"target_distance_after{suffix}"] = round(to_target, 4)
        row[f"impersonated{suffix and '_after' + suffix}"] = to_target < limit


def leave_one_out(
    image: Image.Image,
    attack: Attack,
    recognizers: Sequence[str],
    callback: ProgressFn | None = None,
    **cloak_options,
) -> dict:
    """For each recognizer R, cloak ``image`` against the others and measure on R (black-box) and on them (white-box).

    ``black_box`` per held-out recognizer: the share of faces protected on the saved file and after JPEG 75 (or, when
    impersonating, the share matched to the target). ``callback(step, steps, value)`` counts steps over all runs.
    Needs at least two recognizers; with M of them it runs M attacks.
    """
    recognizers = list(recognizers)
    if len(recognizers) < 2:
        raise ValueError("leave-one-out needs at least two recognizers: one to hold out, one to attack")
    verdict = "impersonated" if cloak_options.get("target") is not None else "protected"
    black_box, white_box, rows = {}, [], []
    for run, held_out in enumerate(recognizers):
        step_callback = _offset(callback, run, len(recognizers))
        others = [name for name in recognizers if name != held_out]
        report = measure(
            cloak_faces(
                image, attack, recognizers=others, observers=[held_out], callback=step_callback, **cloak_options
            )
        )
        held_rows = [dict(row, held_out=held_out) for row in report["faces"]]
        rows += held_rows
        unseen = [row for row in held_rows if not row["attacked"]]
        white_box += [row for row in held_rows if row["attacked"]]
        black_box[held_out] = {
            "attacked_with": others,
            "faces": len(unseen),
            verdict: _share(unseen, verdict),
            f"{verdict}_after_jpeg75": _share(unseen, f"{verdict}_after_jpeg75"),
            "seconds": report["seconds"],
        }
    fully = [name for name, result in black_box.items() if result[verdict] == 1.0]
    return {
        "verdict": verdict,
        "black_box": black_box,
        "black_box_mean": round(float(np.mean([r[verdict] for r in black_box.values()])), 4),
        "black_box_mean_after_jpeg75": round(
            float(np.mean([r[f"{verdict}_after_jpeg75"] for r in black_box.values()])), 4
        ),
        "unseen_recognizers_beaten": len(fully),
        "of": len(recognizers),
        "white_box": _share(white_box, verdict),
        "rows": rows,
    }


def _share(rows: list[dict], key: str) -> float:
    return round(float(np.mean([row[key] for row in rows])), 4) if rows else float("nan")


def _offset(callback: ProgressFn | None, run: int, runs: int) -> ProgressFn | None:
    """One run's attack callback mapped onto the steps of all ``runs``."""
    if callback is None:
        return None

    def shifted(step: int, steps: int, value: float) -> bool | None:
        return callback(run * steps + step, runs * steps, value)

    return shifted
