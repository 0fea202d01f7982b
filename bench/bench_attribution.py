"""Benchmark: attribution speed on 2 CPU cores, batched vs one-at-a-time occlusion, and faithfulness on real photos.

1. Per-method seconds for one 224x224 image (scikit-image's chelsea) with the default settings, median of
   ``--repeats`` runs after a warm-up, and the full panel of eight (target: under 10 s).
2. Occlusion with perturbations evaluated in batches (``occlusion_batch_size``) against the same occlusion one
   perturbation per forward pass (Captum's default), in one run: the ratio, and a check that the maps agree.
3. Mean deletion and insertion AUC of every method over ``--images`` photos of ../shared/data/imagenet_samples
   (evenly spaced over the 500), explaining the top-1 class, against the random pixel order (target: the best
   method well below random). Deletion: lower is better; insertion: higher is better.

The machine may be shared: process CPU seconds and the load average are printed with the wall times.

    .venv/bin/python bench/bench_attribution.py [--repeats 3] [--images 100] [--steps 24] [--skip-auc | --skip-timing]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import skimage.data
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.attribution import METHODS, Settings, attribute  # noqa: E402
from core.attribution.classifier import classifier_view, top_predictions  # noqa: E402
from core.attribution.demos import imagenet_samples, open_sample  # noqa: E402
from core.attribution.faithfulness import random_baseline, score_map  # noqa: E402
from core.models import load_model  # noqa: E402

PANEL_TARGET_SECONDS = 10.0


def time_methods(
    model: torch.nn.Module, inputs: torch.Tensor, target: int, repeats: int
) -> dict[str, tuple[float, float]]:
    """Median wall seconds and median process CPU seconds per method (CPU time is what a busy machine distorts least)."""
    for name in METHODS:  # warm-up: first calls pay for allocations and the attribution copy
        attribute(model, inputs, target, name)
    timings = {}
    for name in METHODS:
        walls, cpus = [], []
        for _ in range(repeats):
            cpu_start = time.process_time()
            walls.append(attribute(model, inputs, target, name).seconds)
            cpus.append(time.process_time() - cpu_start)
        timings[name] = (statistics.median(walls), statistics.median(cpus))
    return timings


def compare_occlusion_batching(model: torch.nn.Module, inputs: torch.Tensor, target: int) -> None:
    batched_settings = Settings()
    single_settings = dataclasses.replace(batched_settings, occlusion_batch_size=1)
    single = attribute(model, inputs, target, "occlusion", single_settings)
    batched = attribute(model, inputs, target, "occlusion", batched_settings)
    agree = np.allclose(single.map, batched.map, atol=1e-5)
    windows = ((224 - batched_settings.occlusion_window) // batched_settings.occlusion_stride + 1) ** 2
    print(
        f"\nOcclusion, {windows} windows of {batched_settings.occlusion_window} px, stride "
        f"{batched_settings.occlusion_stride}: one at a time {single.seconds:.2f} s, "
        f"batched by {batched_settings.occlusion_batch_size} {batched.seconds:.2f} s -> "
        f"{single.seconds / batched.seconds:.2f}x faster; maps agree: {agree}"
    )


def faithfulness_table(model: torch.nn.Module, count: int, steps: int) -> None:
    samples = imagenet_samples()
    spread = np.linspace(0, len(samples) - 1, count).round().astype(int)
    chosen = [samples[i] for i in np.random.default_rng(0).permutation(spread)]  # any prefix is a spread sample
    deletion: dict[str, list[float]] = {name: [] for name in [*METHODS, "random"]}
    insertion: dict[str, list[float]] = {name: [] for name in deletion}
    start = time.perf_counter()
    for done, sample in enumerate(chosen, 1):
        view = classifier_view(open_sample(sample))
        target = top_predictions(model, view.inputs)[0].index
        scores = [
            score_map(model, view.inputs, target, attribute(model, view.inputs, target, name).map, name, steps)
            for name in METHODS
        ]
        scores.append(random_baseline(model, view.inputs, target, steps))
        for score in scores:
            deletion[score.name].append(score.deletion.auc)
            insertion[score.name].append(score.insertion.auc)
        print(f"  {done}/{len(chosen)} images, {time.perf_counter() - start:.0f} s", flush=True)
        if done % 10 == 0 or done == len(chosen):
            print_table(deletion, insertion, done, steps)


def print_table(deletion: dict[str, list[float]], insertion: dict[str, list[float]], count: int, steps: int) -> None:
    print(f"\nFaithfulness over {count} ImageNet sample photos (top-1 class, {steps} steps per curve)\n")
    print(
        "| method | mean deletion AUC (lower is better) | mean insertion AUC (higher is better) | images where deletion beats random |"
    )
    print("| --- | --- | --- | --- |")
    random_deletion = np.array(deletion["random"])
    for name in sorted(deletion, key=lambda n: np.mean(deletion[n])):
        title = METHODS[name].title if name in METHODS else "random order (baseline)"
        wins = "" if name == "random" else f"{int((np.array(deletion[name]) < random_deletion).sum())}/{count}"
        print(f"| {title} | {np.mean(deletion[name]):.3f} | {np.mean(insertion[name]):.3f} | {wins} |", flush=True)


def report_timings(model: torch.nn.Module, inputs: torch.Tensor, target: int, repeats: int) -> None:
    timings = time_methods(model, inputs, target, repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}")
    print(f"\nSeconds per method, chelsea 224x224, median of {repeats} (defaults: {Settings()})\n")
    print("| method | wall seconds | process CPU seconds |\n| --- | --- | --- |")
    for name, (wall, cpu) in timings.items():
        print(f"| {METHODS[name].title} | {wall:.2f} | {cpu:.2f} |")
    total = sum(wall for wall, _ in timings.values())
    total_cpu = sum(cpu for _, cpu in timings.values())
    verdict = "PASS" if total < PANEL_TARGET_SECONDS else "FAIL"
    print(f"| **all eight** | **{total:.2f}** ({verdict}: target < {PANEL_TARGET_SECONDS:.0f} s) | {total_cpu:.2f} |")
    compare_occlusion_batching(model, inputs, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--steps", type=int, default=24, help="deletion/insertion steps per curve")
    parser.add_argument("--skip-auc", action="store_true", help="timings only")
    parser.add_argument("--skip-timing", action="store_true", help="faithfulness table only")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the timing target is for 2 cores)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model("mobilenet_v2").model
    view = classifier_view(Image.fromarray(skimage.data.chelsea()))
    target = top_predictions(model, view.inputs)[0].index
    if not args.skip_timing:
        report_timings(model, view.inputs, target, args.repeats)
    if not args.skip_auc:
        faithfulness_table(model, args.images, args.steps)


if __name__ == "__main__":
    main()
