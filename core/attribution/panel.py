"""The classifier panel shared by the page, the CLI and the benchmark: every chosen method on one image, each
scored by deletion/insertion against the random baseline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from core.attribution.faithfulness import DEFAULT_STEPS, Faithfulness, random_baseline, score_map
from core.attribution.methods import METHODS, Attribution, Settings, attribute

Progress = Callable[[float, str], None]


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
    progress: Progress | None = None,
) -> Panel:
    """Attribute ``target`` with each method, then (if ``score``) its deletion/insertion curves and the baseline."""
    methods = check_methods(methods)
    report = progress or (lambda fraction, label: None)
    total = len(methods) * (2 if score else 1) + (1 if score else 0)
    attributions, scores = [], []
    for i, name in enumerate(methods):
        report(i / total, f"{METHODS[name].title}…")
        attributions.append(attribute(model, inputs, target, name, settings))
    if score:
        for i, result in enumerate(attributions):
            report((len(methods) + i) / total, f"deletion/insertion for {METHODS[result.method].title}…")
            scores.append(score_map(model, inputs, target, result.map, result.method, steps))
        report((total - 1) / total, "random baseline…")
    baseline = random_baseline(model, inputs, target, steps) if score else None
    report(1.0, "done")
    return Panel(attributions, scores, baseline)
