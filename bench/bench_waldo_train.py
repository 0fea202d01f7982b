"""Benchmark: seconds per Waldo training step with channels-last weights (ours) against NCHW (the baseline).

Both train a fresh detector (``core.waldo.train.new_model``, seed 0) on the same batches of 8 tiles of 256 px drawn
once from the real training pages, with the shipped recipe's optimiser and learning rate; only the memory layout
differs. The two layouts alternate, one run of --steps steps each per round; the figure is the median step time
over the rounds, after --warmup steps of each run. Each run's last loss is printed too: the layouts differ only by
float rounding, so the losses track each other. The machine may be shared: the load average is printed.

    .venv/bin/python bench/bench_waldo_train.py [--threads 2] [--rounds 2] [--steps 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.waldo.data import waldo_dir  # noqa: E402
from core.waldo.train import (  # noqa: E402
    TileStream,
    batches,
    learning_rate,
    load_train_pages,
    make_optimizer,
    new_model,
    train_step,
)


def run(batches_: list, layout: torch.memory_format, warmup: int) -> tuple[list[float], float]:
    """Step seconds after ``warmup`` steps, and the last total loss, for one fresh model in ``layout``."""
    torch.manual_seed(0)
    model = new_model().to(memory_format=layout)
    optimizer = make_optimizer(model, 0.02)
    seconds, total = [], 0.0
    for step, batch in enumerate(batches_):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, 10_000, 0.02)
        began = time.perf_counter()
        total = train_step(model, optimizer, batch)["total"]
        if step >= warmup:
            seconds.append(time.perf_counter() - began)
    return seconds, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    stream = batches(TileStream(load_train_pages(waldo_dir()), 256, 8, 0, 0), 0)
    drawn = [next(stream) for _ in range(args.warmup + args.steps)]
    print(f"{args.threads} threads, {args.steps} timed steps of 8 tiles, load average {os.getloadavg()[0]:.1f}")
    layouts = {"baseline: NCHW": torch.contiguous_format, "ours: channels-last": torch.channels_last}
    steps: dict[str, list[float]] = {name: [] for name in layouts}
    losses: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, layout in layouts.items():
            seconds, losses[name] = run(drawn, layout, args.warmup)
            steps[name] += seconds
    medians = {name: statistics.median(values) for name, values in steps.items()}
    print(f"{'layout':<24} {'s/step':>8} {'last loss':>10}")
    for name in layouts:
        print(f"{name:<24} {medians[name]:8.3f} {losses[name]:10.4f}")
    print(f"speed-up (baseline / ours): {medians['baseline: NCHW'] / medians['ours: channels-last']:.2f}x")


if __name__ == "__main__":
    main()
