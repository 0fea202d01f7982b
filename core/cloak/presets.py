"""Strength presets for face cloaks: named points on the protection / visibility trade-off.

Each is an ``Attack`` (MI-FGSM with the transfer options) plus robustness to re-encoding; the page and the CLI start
from one and every parameter stays free to move. The figures each preset reaches are measured by
``bench/bench_cloak.py`` (leave-one-out black-box protection, face SSIM, seconds per face) and listed in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.cloak.attacks import Attack


@dataclass(frozen=True)
class Preset:
    name: str
    attack: Attack
    robust: bool = True
    summary: str = ""


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "low",
            Attack("mifgsm", eps=4.0, steps=40, step_size=0.5, input_diversity=0.5, translation_sigma=1.0),
            summary="faint: the highest SSIM, protects mainly against the recognizers attacked",
        ),
        Preset(
            "mid",
            Attack("mifgsm", eps=8.0, steps=60, step_size=0.5, input_diversity=0.5, translation_sigma=1.0),
            summary="balanced: face SSIM about 0.95",
        ),
        Preset(
            "high",
            Attack("mifgsm", eps=16.0, steps=100, step_size=1.0, input_diversity=0.5, translation_sigma=1.0),
            summary="strong: visible on close inspection, the best protection against unseen recognizers",
        ),
    )
}
DEFAULT_PRESET = "mid"


def preset_attack(name: str, **overrides) -> Attack:
    """The preset's attack with any parameters the user moved (``None`` keeps the preset's value)."""
    try:
        attack = PRESETS[name].attack
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
    return replace(attack, **{key: value for key, value in overrides.items() if value is not None})
