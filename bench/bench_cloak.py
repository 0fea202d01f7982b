"""Benchmark: does a cloak stop face recognizers it never saw from matching a photo to the person's other photos?

For every person in ../shared/data/faces with at least two photos, the first photo is cloaked (dodging; the attack
sees only that photo) and the other photos are the held-out gallery. The saved PNG is decoded again and the whole
pipeline (detect, align, embed) runs on it, plain and after JPEG 75. A photo counts as protected against a recognizer
when its face's distance to the clean original and to every gallery photo is above that recognizer's threshold; only
photos whose clean face matched the gallery on that recognizer are scored (protecting an unmatched photo is trivial).

Leave-one-out, per preset: for each recognizer R the photo is cloaked against all the others and measured on R, which
that cloak never saw (black-box), and on the others (white-box). Baseline row, in the same run: today's default
before this change, a dlib-only PGD (eps 8, 40 steps, robust), measured on dlib (white-box) and on every other
recognizer (black-box).

The people are split in two by sorted name: "tune" (even positions) is what presets were chosen on, so its figures
are validation figures; "test" (odd positions) was never looked at while choosing and gives the headline figures.
Timing: seconds per cloak for the leave-one-out runs, and for the full ensemble (every recognizer, as the page and
CLI cloak) on the first --time-photos photos; the load average is printed beside them.

    .venv/bin/python bench/bench_cloak.py [--split test] [--presets low,mid,high] [--people N] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cloak.attacks import Attack  # noqa: E402
from core.cloak.face_cloak import Anchors, FaceCloak, cloak_faces, embed_photo_faces  # noqa: E402
from core.cloak.presets import PRESETS  # noqa: E402
from core.cloak.report import measure  # noqa: E402
from core.config import data_root  # noqa: E402
from core.faces import available_recognizers, detect_faces  # noqa: E402
from core.images import open_image  # noqa: E402

BASELINE = ("baseline: dlib-only PGD", Attack("pgd", eps=8.0, steps=40), True, 0.25)


def people_with_several_photos(split: str, limit: int | None) -> list[list[Path]]:
    folders = sorted(p for p in (data_root() / "faces").iterdir() if p.is_dir())
    groups = [g for g in (sorted(f.glob("*.jpg")) for f in folders) if len(g) >= 2]
    if split != "all":
        groups = groups[0::2] if split == "tune" else groups[1::2]
    return groups[:limit] if limit else groups


def gallery_embeddings(paths: list[Path], recognizers: list[str]) -> dict[str, list[np.ndarray]]:
    """Per recognizer, the most probable face of each held-out photo (photos without a face are skipped)."""
    gallery: dict[str, list[np.ndarray]] = {name: [] for name in recognizers}
    for path in paths:
        image = open_image(path)
        faces = detect_faces(image)[:1]
        for name in recognizers if faces else ():
            gallery[name].append(embed_photo_faces(image, faces, name)[0])
    return gallery


def with_gallery(cloak: FaceCloak, gallery: dict[str, list[np.ndarray]]) -> FaceCloak:
    """The same cloak (face 0), judged against its clean face plus the held-out photos on every recognizer."""
    own = {name: [np.stack([anchors[0][0], *gallery[name]])] for name, anchors in cloak.anchors.own.items()}
    return dataclasses.replace(cloak, faces=cloak.faces[:1], anchors=Anchors(own=own))


def judged_rows(cloak: FaceCloak, gallery: dict, config: str, photo: str, held_out: str | None) -> list[dict]:
    report = measure(with_gallery(cloak, gallery))
    keys = ("recognizer", "attacked", "threshold", "distance_before", "distance_after", "protected")
    return [
        {
            **{key: row[key] for key in keys},
            "protected_jpeg75": row["protected_after_jpeg75"],
            "ssim": row["ssim"],
            "config": config,
            "photo": photo,
            "held_out": held_out,
            "seconds": cloak.seconds,
        }
        for row in report["faces"]
    ]


def run_config(name: str, attack: Attack, robust: bool, margin: float, group: list[Path], gallery: dict, recognizers):
    image, photo = open_image(group[0]), f"{group[0].parent.name}/{group[0].name}"
    options = {"robust": robust, "margin": margin}
    if name == BASELINE[0]:
        others = [r for r in recognizers if r != "dlib_resnet29"]
        cloak = cloak_faces(image, attack, recognizers=["dlib_resnet29"], observers=others, **options)
        return judged_rows(cloak, gallery, name, photo, None)
    rows = []
    for held_out in recognizers:
        attacked = [r for r in recognizers if r != held_out]
        cloak = cloak_faces(image, attack, recognizers=attacked, observers=[held_out], **options)
        rows += judged_rows(cloak, gallery, name, photo, held_out)
    return rows


def rate(rows: list[dict], key: str = "protected") -> float:
    scored = [r for r in rows if r["distance_before"] <= r["threshold"]]
    return 100 * float(np.mean([r[key] for r in scored])) if scored else float("nan")


def summarise(rows: list[dict], configs: list[str], recognizers: list[str], full_seconds: dict) -> None:
    held = " | ".join(f"black-box {name}" for name in recognizers)
    print(
        f"\n| config | white-box | {held} | black-box mean | black-box mean after JPEG 75 | face SSIM mean, min "
        "| s per cloak (leave-one-out runs, median) | s per face, full ensemble (median) |"
    )
    print("| --- " * (8 + len(recognizers)) + "|")
    for config in configs:
        mine = [r for r in rows if r["config"] == config]
        white = [r for r in mine if r["attacked"]]
        black = {name: [r for r in mine if not r["attacked"] and r["recognizer"] == name] for name in recognizers}
        per = [rate(black[name]) for name in recognizers]
        per_jpeg = [rate(black[name], "protected_jpeg75") for name in recognizers]
        cloaks = {(r["photo"], r["held_out"]): r for r in mine}.values()
        ssim = [r["ssim"] for r in cloaks]
        full = full_seconds.get(config)
        print(
            f"| {config} | {rate(white):.0f}% | "
            + " | ".join(f"{p:.0f}%" for p in per)
            + f" | {np.nanmean(per):.0f}% | {np.nanmean(per_jpeg):.0f}% | {np.mean(ssim):.3f}, {min(ssim):.3f}"
            + f" | {np.median([r['seconds'] for r in cloaks]):.1f} | {'n/a' if not full else f'{np.median(full):.1f}'} |"
        )
    counts = {
        name: len({r["photo"] for r in rows if r["recognizer"] == name and r["distance_before"] <= r["threshold"]})
        for name in recognizers
    }
    print(f"photos scored per recognizer (clean photo matched its gallery): {counts}")
    print(f"load average now {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("tune", "test", "all"), default="test")
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets to run")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--people", type=int, default=None, help="only the first N people of the split")
    parser.add_argument("--time-photos", type=int, default=2, help="photos timed with the full ensemble per preset")
    parser.add_argument("--time-only", action="store_true", help="only time the full ensemble (no leave-one-out)")
    parser.add_argument(
        "--custom", default=None, help='an extra config: Attack fields as JSON, e.g. {"method": "mifgsm", "eps": 8}'
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recognizers = available_recognizers()
    if len(recognizers) < 2:
        sys.exit(f"leave-one-out needs two or more recognizers; available: {recognizers}")
    configs = [] if args.no_baseline else [BASELINE]
    configs += [
        (name, p.attack, p.robust, p.margin) for name in args.presets.split(",") if name for p in [PRESETS[name]]
    ]
    if args.custom:
        fields = json.loads(args.custom)
        margin = fields.pop("margin", 0.25)
        configs.append((f"custom {args.custom}", Attack(**fields), True, margin))
    people = people_with_several_photos(args.split, args.people)
    print(f"split {args.split}: {len(people)} people; recognizers {recognizers}; torch threads {args.threads}")
    print(f"load average {os.getloadavg()}")
    rows, full_seconds = [], {}
    for group in [] if args.time_only else people:
        gallery = gallery_embeddings(group[1:], recognizers)
        for name, attack, robust, margin in configs:
            start = time.perf_counter()
            rows += run_config(name, attack, robust, margin, group, gallery, recognizers)
            print(f"{group[0].parent.name:<24} {name:<28} {time.perf_counter() - start:6.1f} s", flush=True)
    for name, attack, robust, margin in configs:
        if name == BASELINE[0]:
            continue
        for group in people[: args.time_photos]:
            cloak = cloak_faces(open_image(group[0]), attack, recognizers=recognizers, robust=robust, margin=margin)
            full_seconds.setdefault(name, []).append(cloak.seconds)
    if args.time_only:
        for name, seconds in full_seconds.items():
            print(
                f"{name}: seconds per face, full ensemble: median {np.median(seconds):.1f}, each {np.round(seconds, 1)}"
            )
        print(f"load average now {os.getloadavg()}")
        return
    summarise(rows, [name for name, *_ in configs], recognizers, full_seconds)


if __name__ == "__main__":
    main()
