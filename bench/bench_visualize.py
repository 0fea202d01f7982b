"""Benchmark: two speed choices of the visualisations, each against its baseline in one run, on one torch thread.

1. Class models of eight classes optimised as one batch (``class_model(net, eight)``) against the same eight one at a
   time (eight calls), same steps and seed: wall seconds, the ratio, and each side's lowest target probability
   (the random draws differ between the two, so the images do too).
2. A layer's output by a forward pass that stops at the layer (``Network.layer``, used by channel visualisation,
   DeepDream, inversion and patches) against the full pass with the layer tapped: seconds for ``--steps`` forward +
   backward steps of the inversion objective at features.2, and the ratio.

The machine may be shared: the load average is printed with the times.

    .venv/bin/python bench/bench_visualize.py [--steps 32]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.visualize import ClassSettings, class_model, network  # noqa: E402

EIGHT = (1, 130, 207, 309, 417, 430, 511, 954)


def timed(run):
    start = time.perf_counter()
    value = run()
    return value, time.perf_counter() - start


def batch_against_one_by_one(net, steps: int) -> None:
    settings = ClassSettings(steps=steps, seed=0)
    batched, batch_seconds = timed(lambda: class_model(net, EIGHT, settings))
    single, single_seconds = timed(lambda: [class_model(net, [c], settings)[0] for c in EIGHT])
    lowest = [min(r.figures["target_probability"] for r in results) for results in (batched, single)]
    print(f"class models, 8 classes x {steps} steps, 128 px:")
    print(f"  one batch   {batch_seconds:7.2f} s   lowest P(target) {lowest[0]:.4f}")
    print(f"  one by one  {single_seconds:7.2f} s   lowest P(target) {lowest[1]:.4f}")
    print(f"  ratio one-by-one / batch: {single_seconds / batch_seconds:.2f}")


def stopped_against_full_pass(net, steps: int, layer: str = "features.2") -> None:
    images = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(0)).requires_grad_(True)

    def stopped() -> None:
        for _ in range(steps):
            torch.autograd.grad(net.layer(images, layer).pow(2).sum(), [images])

    def full() -> None:
        for _ in range(steps):
            with net.tap(layer) as seen:
                net.logits(images)
            torch.autograd.grad(seen[0].pow(2).sum(), [images])

    _, stop_seconds = timed(stopped)
    _, full_seconds = timed(full)
    print(f"{layer} objective, {steps} forward+backward steps, 128 px:")
    print(f"  pass stopped at the layer {stop_seconds:7.2f} s")
    print(f"  full pass, layer tapped   {full_seconds:7.2f} s")
    print(f"  ratio full / stopped: {full_seconds / stop_seconds:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = network("mobilenet_v2")
    print(f"load average before: {os.getloadavg()}")
    batch_against_one_by_one(net, args.steps)
    stopped_against_full_pass(net, args.steps)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
