"""Is a map faithful to the model? Deletion and insertion curves (RISE, Petsiuk et al. 2018).

Deletion removes pixels in the order the map ranks them (most important first) and tracks the target's
probability: a faithful map makes it collapse early, so a *lower* area under the curve is better. Insertion
starts from a blurred copy and reveals pixels in the same order: a *higher* area is better. Both are compared
with a random pixel order, the baseline a map has to beat. All step images are evaluated in batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torchvision.transforms.functional as TF

from core.attribution.classifier import probabilities

DEFAULT_STEPS = 24
BLUR_KERNEL, BLUR_SIGMA = 11, 5.0  # RISE's insertion start: a strongly blurred copy of the image


@dataclass(frozen=True)
class Curve:
    """``probabilities[i]`` is the target's probability after ``fractions[i]`` of the pixels were changed."""

    fractions: np.ndarray
    probabilities: np.ndarray

    @property
    def auc(self) -> float:
        return float(np.trapezoid(self.probabilities, self.fractions))


@dataclass(frozen=True)
class Faithfulness:
    name: str
    deletion: Curve
    insertion: Curve


def pixel_order(heatmap: np.ndarray, seed: int = 0) -> np.ndarray:
    """Flat pixel indices from most to least important; ties (flat regions of Grad-CAM, occlusion) in random
    order, so a map is never rewarded or punished for the scan order of its plateaus."""
    shuffle = np.random.default_rng(seed).permutation(heatmap.size)
    ranked = np.argsort(-heatmap.ravel()[shuffle], kind="stable")
    return shuffle[ranked]


def _curve(
    model: torch.nn.Module,
    start: torch.Tensor,
    finish: torch.Tensor,
    order: np.ndarray,
    target: int,
    steps: int,
    batch_size: int,
) -> Curve:
    """Move pixels from ``start`` to ``finish`` in ``order``, ``steps`` equal chunks, and track the target."""
    height, width = start.shape[-2:]
    rank = torch.empty(height * width, dtype=torch.long)
    rank[torch.as_tensor(order)] = torch.arange(height * width)
    rank = rank.view(1, 1, height, width)
    counts = np.round(np.linspace(0, height * width, steps + 1)).astype(int)
    scores = []
    for chunk in np.array_split(counts, int(np.ceil(len(counts) / batch_size))):
        changed = rank < torch.as_tensor(chunk).view(-1, 1, 1, 1)
        batch = torch.where(changed, finish, start)
        scores.append(probabilities(model, batch)[:, target])
    return Curve(counts / (height * width), torch.cat(scores).numpy())


def blurred(inputs: torch.Tensor) -> torch.Tensor:
    return TF.gaussian_blur(inputs, [BLUR_KERNEL, BLUR_KERNEL], [BLUR_SIGMA, BLUR_SIGMA])


def deletion_insertion(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    target: int,
    order: np.ndarray,
    name: str,
    steps: int = DEFAULT_STEPS,
    batch_size: int = 25,
) -> Faithfulness:
    """Both curves for one pixel order. Deleted pixels become 0 in the model's normalised input space (the
    dataset's mean colour); inserted pixels replace a blurred copy."""
    removed = torch.zeros_like(inputs)
    deletion = _curve(model, inputs, removed, order, target, steps, batch_size)
    insertion = _curve(model, blurred(inputs), inputs, order, target, steps, batch_size)
    return Faithfulness(name, deletion, insertion)


def score_map(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    target: int,
    heatmap: np.ndarray,
    name: str,
    steps: int = DEFAULT_STEPS,
) -> Faithfulness:
    if heatmap.shape != tuple(inputs.shape[-2:]):
        raise ValueError(f"map {heatmap.shape} does not match the input {tuple(inputs.shape[-2:])}")
    return deletion_insertion(model, inputs, target, pixel_order(heatmap), name, steps)


def random_baseline(
    model: torch.nn.Module, inputs: torch.Tensor, target: int, steps: int = DEFAULT_STEPS, repeats: int = 3
) -> Faithfulness:
    """Mean curves of ``repeats`` random pixel orders (seeded, so the baseline is reproducible)."""
    size = inputs.shape[-2] * inputs.shape[-1]
    runs = [
        deletion_insertion(model, inputs, target, np.random.default_rng(seed).permutation(size), "random", steps)
        for seed in range(repeats)
    ]

    def mean_curve(curves: list[Curve]) -> Curve:
        return Curve(curves[0].fractions, np.mean([c.probabilities for c in curves], axis=0))

    return Faithfulness("random", mean_curve([r.deletion for r in runs]), mean_curve([r.insertion for r in runs]))


def rank_by_deletion(results: list[Faithfulness]) -> list[Faithfulness]:
    """Most faithful first: lowest deletion AUC."""
    return sorted(results, key=lambda r: r.deletion.auc)
