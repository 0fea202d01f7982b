"""The classifier panel shared by the page, the CLI and the benchmark: every chosen method on one image, each
scored by deletion/insertion against the random baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from core.attribution.faithfulness import DEFAULT_STEPS, Faithfulness, random_baseline, score_map
from core.attribution.methods import METHODS, Attribution, Settings, attribute
from core.progress import Progress, part, silent


@dataclass(frozen=True)
class Panel:
    attributions: list[Attribution]
    faithfulness: list[Faithfulness]  # same order as attributions; empty when not scored
    random: Faithfulness | None


def check_methods(methods: Sequence[str]) -> list[str]:
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    if not methods:
        raise ValueError("choose at least one attribution method")
    return list(dict.fromkeys(methods))


def run_panel(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    target: int,
    methods: Sequence[str],
    settings: Settings | None = None,
    score: bool = True,
    steps: int = DEFAULT_STEPS,
    progress: Progress = silent,
) -> Panel:
    """Attribute ``target`` with each method, then (if ``score``) its deletion/insertion curves and the baseline."""
    methods = check_methods(methods)
    share = len(methods) / (2 * len(methods) + 1) if score else 1.0  # the maps' part of the work
    attributions = attribute_all(model, inputs, target, methods, settings, part(progress, 0.0, share))
    if not score:
        return Panel(attributions, [], None)
    scores, baseline = score_all(model, inputs, target, attributions, steps, part(progress, share, 1.0))
    return Panel(attributions, scores, baseline)


def attribute_all(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    target: int,
    methods: Sequence[str],
    settings: Settings | None = None,
    progress: Progress = silent,
) -> list[Attribution]:
    """One map per method, in the order given."""
    methods = check_methods(methods)
    attributions = []
    for i, name in enumerate(methods):
        progress(i / len(methods), f"{METHODS[name].title}…")
        attributions.append(attribute(model, inputs, target, name, settings))
    progress(1.0, "done")
    return attributions


def score_all(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    target: int,
    attributions: Sequence[Attribution],
    steps: int = DEFAULT_STEPS,
    progress: Progress = silent,
) -> tuple[list[Faithfulness], Faithfulness]:
    """Each map's deletion/insertion curves, and the random-order baseline they are judged against."""
    total = len(attributions) + 1
    scores = []
    for i, result in enumerate(attributions):
        progress(i / total, f"deletion/insertion for {METHODS[result.method].title}…")
        scores.append(score_map(model, inputs, target, result.map, result.method, steps))
    progress((total - 1) / total, "random baseline…")
    baseline = random_baseline(model, inputs, target, steps)
    progress(1.0, "done")
    return scores, baseline
