"""Benchmark: faces per second for detect + align + embed over ../shared/data/faces, and embedding throughput.

Ours: MTCNN on a copy downscaled to a long side of 1000 px (boxes and landmarks mapped back), differentiable
alignment on the full-resolution tensor, dlib ResNet-29 (PyTorch port). Baseline, in the same run: facenet-pytorch's
MTCNN (detect_face) on the full-size photo, then the same alignment and embedding. Nothing is cached. Also printed:
embedding throughput at batch 1 vs batch 32, how many faces each detector found, and how far the landmarks moved.
Wall time and process CPU time are both printed (the machine may be shared; the load average is shown).

    .venv/bin/python bench/bench_faces.py [--limit N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import data_root  # noqa: E402
from core.faces import align_batch, detect_faces, embed_chips, image_to_tensor  # noqa: E402
from core.faces.collection import photos_from_folder  # noqa: E402
from core.images import open_image  # noqa: E402
from core.models import load_model  # noqa: E402


def pipeline(images: list, long_side: int | None) -> tuple[float, float, int, list]:
    """(wall s, CPU s, faces, detections) for detect + align + embed on every image; long_side None = full size."""
    wall, cpu = time.perf_counter(), time.process_time()
    found, detections = 0, []
    for image in images:
        faces = detect_faces(image, long_side=long_side or max(image.size))
        detections.append(faces)
        if faces:
            with torch.inference_mode():
                chips = align_batch(image_to_tensor(image), [f.landmarks for f in faces])
                embed_chips(chips)
            found += len(faces)
    return time.perf_counter() - wall, time.process_time() - cpu, found, detections


def landmark_shift(ours: list, baseline: list) -> float:
    """Median distance between matching landmarks of the two detectors, in face widths."""
    shifts = []
    for mine, theirs in zip(ours, baseline, strict=True):
        for face in mine:
            if theirs:
                nearest = min(theirs, key=lambda f: np.abs(f.box - face.box).sum())
                shifts.append(
                    np.linalg.norm(nearest.landmarks - face.landmarks, axis=1).mean() / (face.box[2] - face.box[0])
                )
    return float(np.median(shifts))


def embedding_throughput(batch: int, chips_total: int = 64) -> float:
    """Chips per second through dlib ResNet-29 under inference_mode at a given batch size."""
    chips = torch.rand(batch, 3, 150, 150) * 255
    with torch.inference_mode():
        embed_chips(chips)  # warm-up
        start = time.perf_counter()
        for _ in range(max(1, chips_total // batch)):
            embed_chips(chips)
    return max(1, chips_total // batch) * batch / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos")
    parser.add_argument("--repeat", type=int, default=1, help="repeat each pipeline and keep the fastest run")
    args = parser.parse_args()
    photos = photos_from_folder(data_root() / "faces")[: args.limit]
    images = [open_image(p.data, name=p.name) for p in photos]
    load_model("mtcnn"), load_model("dlib_resnet29")
    big = sum(max(i.size) > 1000 for i in images)
    print(
        f"{len(images)} photos ({big} with a long side over 1000 px), torch threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}"
    )

    runs = {"ours (detect at <=1000 px)": 1000, "baseline (MTCNN at full size)": None}
    results = {}
    for name, side in runs.items():
        best = min((pipeline(images, side) for _ in range(args.repeat)), key=lambda r: r[0])
        results[name] = best
        wall, cpu, faces, _ = best
        print(f"{name:<32} {faces:4d} faces  {wall:7.1f} s wall  {cpu:7.1f} s CPU  {faces / wall:6.2f} faces/s")
    (ours_wall, ours_cpu, *_), (base_wall, base_cpu, *_) = results.values()
    print(f"speed-up (baseline time / ours): {base_wall / ours_wall:.2f}x wall, {base_cpu / ours_cpu:.2f}x CPU")
    print(
        f"median landmark shift between the two: {landmark_shift(results[next(iter(runs))][3], list(results.values())[1][3]):.3f} face widths"
    )

    one, thirty_two = embedding_throughput(1), embedding_throughput(32)
    print(
        f"embedding throughput: batch 1 {one:.1f} chips/s, batch 32 {thirty_two:.1f} chips/s ({thirty_two / one:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
