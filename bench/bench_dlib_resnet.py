"""Benchmark: the PyTorch port of dlib's ResNet-29 against dlib's own compute_face_descriptor, side by side.

Run from the repository root: ``.venv/bin/python bench/bench_dlib_resnet.py [--photos N] [--repeats R]``.
Both implementations embed the same dlib chips (detector + 5-point shape predictor + get_face_chip, not timed)
from the real photos in <data>/faces; prints load time, agreement over every usable photo and the time per chip
at batch 1 and batch 32, with the ratio dlib / port (> 1 means the port is faster). torch runs on one thread
like dlib's CPU build, and both are timed alternately, so a busy shared machine slows both alike; CPU time per
chip is printed beside wall time because it is the steadier of the two under load.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dlib  # noqa: E402  (test/bench-only reference implementation)
import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.config import data_root  # noqa: E402
from core.images import open_image, to_array  # noqa: E402
from core.models import get_spec  # noqa: E402
from core.models.dlib_resnet import load_dlib_resnet  # noqa: E402


def dlib_chips(photos: list[Path], models: Path) -> tuple[np.ndarray, list[str]]:
    """dlib's aligned 150x150 chip of the largest face in each photo; photos without a face are left out."""
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
    chips, used = [], []
    for photo in photos:
        image = to_array(open_image(photo))
        faces = detector(image, 1)
        if faces:
            face = max(faces, key=lambda rect: rect.area())
            chips.append(dlib.get_face_chip(image, predictor(image, face), size=150, padding=0.25))
            used.append(str(photo.relative_to(photo.parent.parent)))
    return np.stack(chips), used


def best_times(funcs: list[Callable[[], object]], repeats: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each function, best of ``repeats`` alternating rounds after one warm-up call each."""
    for func in funcs:
        func()
    best = [(math.inf, math.inf)] * len(funcs)
    for _ in range(repeats):
        for index, func in enumerate(funcs):
            wall, cpu = time.perf_counter(), time.process_time()
            func()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[index] = (min(best[index][0], wall), min(best[index][1], cpu))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=0, help="use only the first N photos (0 = all)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    photos = sorted((data_root() / "faces").glob("*/*.jpg"))[: args.photos or None]
    weights = get_spec("dlib_resnet29").weights[0].verified_path()
    chips, used = dlib_chips(photos, weights.parent)

    start = time.perf_counter()
    model = load_dlib_resnet(weights)
    port_load = time.perf_counter() - start
    start = time.perf_counter()
    recognizer = dlib.face_recognition_model_v1(str(weights))
    dlib_load = time.perf_counter() - start

    batch = torch.from_numpy(chips).permute(0, 3, 1, 2).float()
    with torch.inference_mode():
        ours = model(batch).numpy()
    theirs = np.array(recognizer.compute_face_descriptor(list(chips)))
    diff = np.abs(ours - theirs).max(axis=1)
    print(f"photos: {len(used)} usable of {len(photos)}; torch threads {torch.get_num_threads()}")
    print(
        f"max abs difference to dlib: {diff.max():.3g} (worst chip {used[int(diff.argmax())]}), mean {diff.mean():.3g}"
    )
    print(f"load: port {port_load * 1000:.0f} ms (parse + build), dlib {dlib_load * 1000:.0f} ms")

    print(
        "| batch | dlib wall ms/chip | port wall ms/chip | dlib/port wall | dlib CPU ms/chip | port CPU ms/chip | dlib/port CPU |"
    )
    print("|---|---|---|---|---|---|---|")
    for size in (1, 32):
        print(speed_row(recognizer, model, chips[np.arange(size) % len(chips)], args.repeats))


def speed_row(
    recognizer: dlib.face_recognition_model_v1, model: torch.nn.Module, chips: np.ndarray, repeats: int
) -> str:
    """One markdown table row: both implementations on the same batch of chips, per chip, and their ratios."""
    chip_list, chip_tensor = list(chips), torch.from_numpy(chips).permute(0, 3, 1, 2).float()
    with torch.inference_mode():
        (dlib_wall, dlib_cpu), (port_wall, port_cpu) = best_times(
            [lambda: recognizer.compute_face_descriptor(chip_list), lambda: model(chip_tensor)], repeats
        )
    per_chip = [f"{seconds * 1000 / len(chips):.1f}" for seconds in (dlib_wall, port_wall, dlib_cpu, port_cpu)]
    wall_ratio, cpu_ratio = dlib_wall / port_wall, dlib_cpu / port_cpu
    return f"| {len(chips)} | {per_chip[0]} | {per_chip[1]} | {wall_ratio:.1f}x | {per_chip[2]} | {per_chip[3]} | {cpu_ratio:.1f}x |"


if __name__ == "__main__":
    main()
