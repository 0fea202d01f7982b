"""The one optimisation loop every visualisation runs, and the result it reports.

A visualisation maximises an objective of an image (a class score, a channel's activation, minus a feature
distance) by gradient ascent on the image's parametrisation. Gradients are taken w.r.t. the image only
(``torch.autograd.grad``), so the shared model's weights are neither updated nor given ``.grad`` buffers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from core.progress import Progress, silent

# The objective: (N,3,H,W) images on 0..1 -> (N,) values to maximise, one per image.
Objective = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Optimisation:
    """What every optimised image shares: its side, the steps and Adam's rate, the seed of its start and transforms.
    Each kind's settings extend this (frozen, so they are cache keys)."""

    size: int = 128
    steps: int = 64
    lr: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        check_common(self.size, self.steps, self.lr)


def check_common(size: int, steps: int, lr: float) -> None:
    """The bounds every kind shares: an image the network can read, at least one step, a positive rate."""
    if not 32 <= size <= 512:
        raise ValueError(f"the image size must lie in 32..512 px, got {size}")
    if steps < 1:
        raise ValueError(f"at least one step is needed, got {steps}")
    if lr <= 0:
        raise ValueError(f"the learning rate must be positive, got {lr}")


@dataclass(frozen=True)
class Visualisation:
    """One result: the image (H,W,3 uint8, the pixels a PNG of it holds), the objective per step (``curve``, with
    ``objective`` saying what it measures) and the figures measured on the final uint8 image."""

    kind: str
    title: str
    image: np.ndarray = field(repr=False)
    curve: tuple[float, ...]
    objective: str
    figures: dict[str, float]
    seconds: float

    def summary(self) -> dict:
        """JSON-ready: what was made, the figures, the curve's first and last value, the time."""
        return {
            "kind": self.kind,
            "title": self.title,
            "objective": self.objective,
            "figures": {key: round(value, 5) for key, value in self.figures.items()},
            "curve_start": round(self.curve[0], 5) if self.curve else None,
            "curve_end": round(self.curve[-1], 5) if self.curve else None,
            "steps": len(self.curve),
            "seconds": round(self.seconds, 2),
        }


def ascend(
    image: torch.nn.Module,
    objective: Objective,
    steps: int,
    lr: float,
    progress: Progress = silent,
    label: str = "Optimising",
) -> np.ndarray:
    """Adam ascent of ``objective(image())`` for ``steps`` steps, projecting the parametrisation after each
    (``image.project()``); returns the objective per step and image, shape (steps, N)."""
    parameters = [p for p in image.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=lr)
    curve = []
    for step in range(steps):
        values = objective(image())
        gradients = torch.autograd.grad(-values.sum(), parameters)
        for parameter, gradient in zip(parameters, gradients, strict=True):
            parameter.grad = gradient
        optimizer.step()
        image.project()
        curve.append(values.detach().numpy().copy())
        progress((step + 1) / steps, f"{label}: step {step + 1}/{steps}, objective {float(values.detach().mean()):.3f}")
    return np.stack(curve) if curve else np.zeros((0, 0))


def timer() -> Callable[[], float]:
    """Seconds since this call, as a function."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))
