"""Benchmark: faces per second for detect + align + embed over ../shared/data/faces, and embedding throughput.

Ours: MTCNN on a copy downscaled to a long side of 1000 px (boxes and landmarks mapped back), differentiable
alignment on the full-resolution tensor, dlib ResNet-29 (PyTorch port). Baseline, in the same run: facenet-pytorch's
MTCNN (detect_face) on the full-size photo, then the same alignment and embedding. Nothing is cached; the two run photo by photo, alternating which goes first, after a warm-up. Also printed:
embedding throughput at batch 1 vs batch 32, how many faces each detector found, and how far the landmarks moved.
Wall time and process CPU time are both printed (the machine may be shared; the load average is shown).

    .venv/bin/python bench/bench_faces.py [--limit N] [--min-side 1000]
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
from core.faces.detect import match_by_overlap  # noqa: E402
from core.images import open_image  # noqa: E402
from core.models import load_model  # noqa: E402


def run_once(image, long_side: int) -> tuple[float, float, list]:
    """Wall s, CPU s and the faces for detect + align + embed of one image, detecting at ``long_side``."""
    wall, cpu = time.perf_counter(), time.process_time()
    faces = detect_faces(image, long_side=long_side)
    if faces:
        with torch.inference_mode():
            embed_chips(align_batch(image_to_tensor(image), [f.landmarks for f in faces]))
    return time.perf_counter() - wall, time.process_time() - cpu, faces


def interleaved(images: list, sides: dict[str, int | None]) -> dict[str, tuple[list[float], list[float], list[list]]]:
    """Every pipeline on every image, alternating which goes first, so both see the same machine load."""
    measured = {name: ([], [], []) for name in sides}
    for index, image in enumerate(images):
        names = list(sides) if index % 2 == 0 else list(reversed(sides))
        for name in names:
            wall, cpu, faces = run_once(image, sides[name] or max(image.size))
            for store, value in zip(measured[name], (wall, cpu, faces), strict=True):
                store.append(value)
    return measured


def landmark_shift(ours: list, baseline: list) -> float:
    """Median distance between the landmarks of the same face (boxes overlapping by IoU > 0.5) found by the two
    detectors, in face widths."""
    shifts = []
    for mine, theirs in zip(ours, baseline, strict=True):
        for face, other in match_by_overlap(mine, theirs, min_iou=0.5):
            shifts.append(np.linalg.norm(other.landmarks - face.landmarks, axis=1).mean() / (face.box[2] - face.box[0]))
    return float(np.median(shifts)) if shifts else float("nan")


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
    parser.add_argument("--min-side", type=int, default=0, help="only photos whose long side exceeds this")
    args = parser.parse_args()
    photos = photos_from_folder(data_root() / "faces")[: args.limit]
    images = [image for image in (open_image(p.data, name=p.name) for p in photos) if max(image.size) > args.min_side]
    load_model("mtcnn"), load_model("dlib_resnet29")
    big = sum(max(i.size) > 1000 for i in images)
    print(
        f"{len(images)} photos ({big} with a long side over 1000 px), torch threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}"
    )

    runs = {"ours (detect at <=1000 px)": 1000, "baseline (MTCNN at full size)": None}
    run_once(images[0], 1000), run_once(images[0], max(images[0].size))  # warm-up: first calls build kernels
    measured = interleaved(images, runs)
    subsets = {"all photos": [True] * len(images), "long side > 1000 px": [max(i.size) > 1000 for i in images]}
    for subset, chosen in subsets.items():
        print(f"-- {subset} ({sum(chosen)})")
        totals = {}
        for name, (walls, cpus, detections) in measured.items():
            wall = sum(w for w, keep in zip(walls, chosen, strict=True) if keep)
            cpu = sum(c for c, keep in zip(cpus, chosen, strict=True) if keep)
            faces = sum(len(d) for d, keep in zip(detections, chosen, strict=True) if keep)
            totals[name] = (wall, cpu)
            print(f"{name:<32} {faces:4d} faces  {wall:7.1f} s wall  {cpu:7.1f} s CPU  {faces / wall:6.2f} faces/s")
        (ours_wall, ours_cpu), (base_wall, base_cpu) = totals.values()
        print(f"speed-up (baseline time / ours): {base_wall / ours_wall:.2f}x wall, {base_cpu / ours_cpu:.2f}x CPU")
    big = [i for i, keep in enumerate(subsets["long side > 1000 px"]) if keep]
    (_, _, ours_faces), (_, _, base_faces) = measured.values()
    shift = landmark_shift([ours_faces[i] for i in big], [base_faces[i] for i in big])
    print(f"landmarks on the large photos, ours vs full size: median shift {shift:.3f} face widths")

    one, thirty_two = embedding_throughput(1), embedding_throughput(32)
    print(
        f"embedding throughput: batch 1 {one:.1f} chips/s, batch 32 {thirty_two:.1f} chips/s ({thirty_two / one:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
