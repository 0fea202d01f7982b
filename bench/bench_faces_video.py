"""Benchmark: identification accuracy of faces in video, each frame alone (baseline) vs the averaged track (ours).

Test videos are made from real photos (core/faces/synth_video.py: pan, zoom, per-frame shrink, noise and JPEG at a
random low quality): the ten LFW people of ../shared/data/faces, from each person's photos 0, 4 and 5, at two
degradation levels. The gallery holds each person's photos 1-3, so no video frame comes from an enrolled photo.
Accuracy is scored on each sampled frame's largest face (core.faces.video.accuracy). Both methods see the same
faces in the same run; the time per video (read, sample, detect, embed, track) and the load average are printed.
The disk cache is pointed at a fresh folder, so nothing measured comes from an earlier run.

    .venv/bin/python bench/bench_faces_video.py [--samples 12] [--people 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import data_root  # noqa: E402
from core.faces import threshold  # noqa: E402
from core.faces.collection import Photo, analyze_photos, labelled_faces  # noqa: E402
from core.faces.gallery import Gallery, enroll  # noqa: E402
from core.faces.synth_video import VideoRecipe, pan_zoom_video  # noqa: E402
from core.faces.video import accuracy, analyze_video, identify_tracks  # noqa: E402
from core.images import open_image  # noqa: E402

MODEL = "dlib_resnet29"
LFW_PEOPLE = sorted(
    path.name for path in (data_root() / "faces").iterdir() if len(list(path.glob(f"{path.name}_*.jpg"))) >= 6
)
SOURCES, ENROLLED = (0, 4, 5), slice(1, 4)
LEVELS = {"heavy (default)": VideoRecipe(), "mild": VideoRecipe(blur_scale=0.45, jpeg_quality=(8, 30))}


def build_gallery(people: list[str]) -> Gallery:
    photos = [
        Photo(f"{person}/{path.name}", person, path.read_bytes())
        for person in people
        for path in sorted((data_root() / "faces" / person).glob("*.jpg"))[ENROLLED]
    ]
    rows, _ = labelled_faces(analyze_photos(photos, MODEL))
    return enroll(np.stack([row.embedding for row in rows]), [row.identity for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--people", type=int, default=len(LFW_PEOPLE))
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ["HIDESEEK_CACHE"] = tempfile.mkdtemp(prefix="bench_faces_video_")
    people = LFW_PEOPLE[: args.people]
    gallery, cutoff = build_gallery(people), threshold(MODEL)
    print(f"gallery: {len(gallery.identities)} faces of {len(people)} people; {MODEL}, threshold {cutoff}")
    print(
        f"{'degradation':<16}{'videos':>7}{'frames':>8}{'per frame':>11}{'averaged':>10}{'errors ratio':>14}{'s/video':>9}"
    )
    failures = []
    for level, recipe in LEVELS.items():
        scored, seconds = [], []
        for person in people:
            photos = sorted((data_root() / "faces" / person).glob("*.jpg"))
            for index in SOURCES:
                video = pan_zoom_video(open_image(photos[index]), recipe)
                start = time.perf_counter()
                analysis = analyze_video(video, MODEL, cutoff, samples=args.samples)
                seconds.append(time.perf_counter() - start)
                scored.append(accuracy(identify_tracks(analysis, gallery, cutoff), person))
                if scored[-1].averaged < 1:
                    failures.append(f"{level}: {photos[index].name} {scored[-1]}")
        frames = sum(s.frames for s in scored)
        per_frame = sum(s.per_frame * s.frames for s in scored) / frames
        averaged = sum(s.averaged * s.frames for s in scored) / frames
        ratio = (1 - averaged) / (1 - per_frame) if per_frame < 1 else float("nan")
        print(
            f"{level:<16}{len(scored):>7}{frames:>8}{per_frame:>11.3f}{averaged:>10.3f}{ratio:>14.3f}"
            f"{np.median(seconds):>9.2f}"
        )
    print("\n".join(["videos whose averaged track is wrong on some frame:", *failures]))
    print(f"errors ratio: averaged-track errors / per-frame errors; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
