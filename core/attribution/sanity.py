"""Sanity check for saliency maps (Adebayo et al. 2018): does a map depend on what the model learned?

Re-initialise the classifier's top layers on a deep copy and attribute the same target again. A map that
barely changes (high rank correlation with the original) is explaining the image, not the model: flagged.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from core.attribution.methods import Attribution, Settings, attribute

TOP_LAYERS = ("classifier", "features.18", "features.17")  # MobileNetV2: the head and the last two blocks
FLAG_CORRELATION = 0.5  # Spearman rho above this after randomisation: the map ignores the weights


@dataclass(frozen=True)
class SanityResult:
    method: str
    rank_correlation: float
    randomized_map: np.ndarray

    @property
    def flagged(self) -> bool:
        return self.rank_correlation > FLAG_CORRELATION


def randomized_copy(model: nn.Module, layers: Sequence[str] = TOP_LAYERS, seed: int = 0) -> nn.Module:
    """A deep copy whose named sub-modules get fresh random weights (their own ``reset_parameters``), seeded.
    Batch norms are reset too (unit scale, zero shift, fresh running statistics). The original is untouched."""
    clone = copy.deepcopy(model).eval()
    names = dict(clone.named_modules())
    missing = [name for name in layers if name not in names]
    if missing:
        raise ValueError(f"no such layers to randomise: {', '.join(missing)}")
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(seed)
        for name in layers:
            for module in names[name].modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.reset_running_stats()
                if hasattr(module, "reset_parameters") and not list(module.children()):
                    module.reset_parameters()
    return clone


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    rho = spearmanr(a.ravel(), b.ravel()).statistic
    return 0.0 if np.isnan(rho) else float(rho)


def sanity_check(
    model: nn.Module,
    inputs: torch.Tensor,
    originals: Sequence[Attribution],
    settings: Settings | None = None,
    layers: Sequence[str] = TOP_LAYERS,
) -> list[SanityResult]:
    """For each original map, the Spearman correlation with the same method's map on the randomised model."""
    randomized = randomized_copy(model, layers)
    results = []
    for original in originals:
        again = attribute(randomized, inputs, original.target, original.method, settings)
        results.append(SanityResult(original.method, rank_correlation(original.map, again.map), again.map))
    return results
