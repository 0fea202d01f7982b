"""Benchmark: how often a cloak stops dlib ResNet-29 from matching a photo to the *other* photos of that person.

For every person in ../shared/data/faces with at least two photos, the first photo is cloaked (dodging, the attack
sees only that photo; the other photos are the held-out gallery). The saved PNG is decoded again and the full
pipeline runs on it, plain and after JPEG 75. A photo counts as protected when its face's distance to the clean
original and to every other photo of the person is above the threshold (0.6). Only photos whose clean version matched
at least one other photo are scored (protecting an unmatched photo is trivial).

Baseline, in the same run: uniform random +-eps sign noise under the same mask (what "just add noise" buys).
Timing: wall seconds per face for the attack (excluding the report), and process CPU seconds, since the machine may
be shared; the load average is printed with it.

    .venv/bin/python bench/bench_cloak.py [--people 17] [--eps 8] [--steps 40] [--method pgd] [--no-robust]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cloak.attacks import Attack  # noqa: E402
from core.cloak.face_cloak import DEFAULT_RECOGNIZER, Anchors, FaceCloak, cloak_faces, embed_photo_faces  # noqa: E402
from core.cloak.imageio import png_bytes, to_image  # noqa: E402
from core.cloak.report import measure  # noqa: E402
from core.config import data_root  # noqa: E402
from core.faces import detect_faces, image_to_tensor  # noqa: E402
from core.images import open_image  # noqa: E402


def people_with_several_photos(limit: int | None) -> list[list[Path]]:
    folders = sorted(p for p in (data_root() / "faces").iterdir() if p.is_dir())
    groups = [sorted(f.glob("*.jpg")) for f in folders]
    groups = [g for g in groups if len(g) >= 2]
    return groups[:limit] if limit else groups


def gallery_embeddings(paths: list[Path]) -> list[np.ndarray]:
    """The most probable face of each held-out photo (photos without a face are skipped)."""
    embeddings = []
    for path in paths:
        image = open_image(path)
        faces = detect_faces(image)[:1]
        if faces:
            embeddings.append(embed_photo_faces(image, faces, DEFAULT_RECOGNIZER)[0])
    return embeddings


def with_gallery(cloak: FaceCloak, gallery: list[np.ndarray]) -> FaceCloak:
    """The same cloak, judged against its clean face plus the held-out photos (face 0 only)."""
    clean = cloak.anchors.own[DEFAULT_RECOGNIZER][0][0]
    anchors = Anchors(own={DEFAULT_RECOGNIZER: [np.stack([clean, *gallery])]})
    return dataclasses.replace(cloak, faces=cloak.faces[:1], anchors=anchors)


def random_noise_twin(cloak: FaceCloak, eps: float, seed: int) -> FaceCloak:
    """The baseline: +-eps random sign noise under the cloak's own mask."""
    generator = torch.Generator().manual_seed(seed)
    original = image_to_tensor(cloak.original)
    signs = torch.randint(0, 2, original.shape, generator=generator).float() * 2 - 1
    noisy = to_image(original + eps * signs * torch.from_numpy(cloak.mask))
    return dataclasses.replace(cloak, image=noisy, png=png_bytes(noisy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=None, help="only the first N people (default: all 17)")
    parser.add_argument("--method", default="pgd")
    parser.add_argument("--eps", type=float, default=8.0)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--step-size", type=float, default=None)
    parser.add_argument("--random-start", action="store_true")
    parser.add_argument("--no-robust", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    attack = Attack(
        args.method, eps=args.eps, steps=args.steps, step_size=args.step_size, random_start=args.random_start
    )
    print(f"attack {attack}, robust={not args.no_robust}, torch threads {args.threads}, load {os.getloadavg()}")
    print(f"{'photo':<40} {'before':>6} {'after':>6} {'jpeg75':>6} {'noise':>6} {'ssim':>6} {'wall s':>7} {'cpu s':>6}")
    rows = []
    for group in people_with_several_photos(args.people):
        gallery = gallery_embeddings(group[1:])
        wall, cpu = time.perf_counter(), time.process_time()
        cloak = cloak_faces(open_image(group[0]), attack, robust=not args.no_robust)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        judged = with_gallery(cloak, gallery)
        ours = measure(judged)["faces"][0]
        noise = measure(random_noise_twin(judged, args.eps, seed=len(rows)))["faces"][0]
        rows.append({**ours, "noise_protected": noise["protected"], "wall": wall, "cpu": cpu})
        print(
            f"{group[0].parent.name + '/' + group[0].name:<40} {ours['distance_before']:>6.3f} {ours['distance_after']:>6.3f}"
            f" {ours['distance_after_jpeg75']:>6.3f} {noise['distance_after']:>6.3f} {ours['ssim']:>6.3f} {wall:>7.1f} {cpu:>6.1f}",
            flush=True,
        )
    summarise(rows)


def summarise(rows: list[dict]) -> None:
    scored = [r for r in rows if r["distance_before"] <= r["threshold"]]
    rate = lambda key: 100 * np.mean([r[key] for r in scored]) if scored else float("nan")  # noqa: E731
    print(f"\n{len(scored)} of {len(rows)} photos matched their gallery before cloaking (the ones scored)")
    print("| measure | cloak | random noise baseline |\n| --- | --- | --- |")
    print(f"| protected (saved PNG) | {rate('protected'):.0f}% | {rate('noise_protected'):.0f}% |")
    print(f"| protected after JPEG 90 | {rate('protected_after_jpeg90'):.0f}% | |")
    print(f"| protected after JPEG 75 | {rate('protected_after_jpeg75'):.0f}% | |")
    print(f"| protected after 0.5x resize | {rate('protected_after_resize50'):.0f}% | |")
    print(
        f"| face-region SSIM (mean, min) | {np.mean([r['ssim'] for r in rows]):.3f}, {min(r['ssim'] for r in rows):.3f} | |"
    )
    print(f"| face-region DSSIM (mean) | {np.mean([r['dssim'] for r in rows]):.4f} | |")
    print(f"| PSNR dB (mean) | {np.mean([r['psnr'] for r in rows]):.1f} | |")
    print(f"| seconds per face, wall (median) | {np.median([r['wall'] for r in rows]):.1f} | |")
    print(f"| CPU seconds per face (median) | {np.median([r['cpu'] for r in rows]):.1f} | |")
    print(f"load average now {os.getloadavg()}")


if __name__ == "__main__":
    main()
