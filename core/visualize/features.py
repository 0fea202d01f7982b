"""What one unit of a layer responds to: channel and neuron visualisation, and DeepDream on a photo.

- ``channel``: the robust recipe (decorrelated Fourier image, random transforms) ascending the mean activation of
  one channel of a layer, or, for a neuron, the channel's activation at the centre of the map.
- ``dream``: DeepDream (Mordvintsev et al. 2015) on a photo: ascend the layer's mean squared activation with
  normalised gradient steps, from a small copy up to full size (octaves), so patterns appear at several scales.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.progress import Progress, silent
from core.visualize.network import Network
from core.visualize.optimize import (
    Optimisation,
    Visualisation,
    ascend,
    check_common,
    seeded,
    timer,
)
from core.visualize.parametrize import FourierImage, from_uint8, robust_transforms, to_uint8


@dataclass(frozen=True)
class ChannelSettings(Optimisation):
    layer: str = "features.10"
    channel: int = 0
    neuron: bool = False  # True: only the unit at the centre of the channel's map

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.channel < 0:
            raise ValueError(f"the channel must be >= 0, got {self.channel}")


@dataclass(frozen=True)
class DreamSettings:
    layer: str = "features.7"
    octaves: int = 3
    octave_scale: float = 1.4
    steps: int = 10  # per octave
    step_size: float = 0.01  # per step, on 0..1 pixels, after dividing the gradient by its mean magnitude
    max_side: int = 256

    def __post_init__(self) -> None:
        check_common(self.max_side, self.steps, self.step_size)
        if not 1 <= self.octaves <= 6:
            raise ValueError(f"octaves must lie in 1..6, got {self.octaves}")
        if not 1.0 < self.octave_scale <= 2.0:
            raise ValueError(f"the octave scale must lie in (1, 2], got {self.octave_scale}")


def channel_count(network: Network, layer: str) -> int:
    """How many channels ``layer`` has (one small forward pass)."""
    return int(network.layer(torch.full((1, 3, 64, 64), 0.5), layer).shape[1])


def unit_activation(activations: torch.Tensor, channel: int, neuron: bool) -> torch.Tensor:
    """(N,) the channel's mean activation, or with ``neuron`` its activation at the map's centre."""
    maps = activations[:, channel]
    if neuron:
        return maps[:, maps.shape[1] // 2, maps.shape[2] // 2]
    return maps.mean((1, 2))


def channel(
    network: Network, settings: ChannelSettings = ChannelSettings(), progress: Progress = silent
) -> Visualisation:
    """An image that excites one channel (or neuron) of a layer; the figures compare its activation with the
    starting image's."""
    channels = channel_count(network, settings.layer)
    if settings.channel >= channels:
        raise ValueError(f"{settings.layer} has {channels} channels (0..{channels - 1}), not {settings.channel}")
    elapsed, generator = timer(), seeded(settings.seed)
    image = FourierImage(1, settings.size, generator)
    start = to_uint8(image())

    def activation(images: torch.Tensor) -> torch.Tensor:
        return unit_activation(network.layer(images, settings.layer), settings.channel, settings.neuron)

    curve = ascend(
        image,
        lambda x: activation(robust_transforms(x, generator)),
        settings.steps,
        settings.lr,
        progress,
        "Channel visualisation",
    )
    pixels = to_uint8(image())
    with torch.no_grad():
        reached, initial = float(activation(from_uint8(pixels))[0]), float(activation(from_uint8(start))[0])
    unit = "neuron at the centre of" if settings.neuron else "mean of"
    return Visualisation(
        kind="channel",
        title=f"{settings.layer} channel {settings.channel}" + (" (centre neuron)" if settings.neuron else ""),
        image=pixels[0],
        curve=tuple(float(v) for v in curve[:, 0]),
        objective=f"{unit} channel {settings.channel} of {settings.layer} (under random transforms)",
        figures={"activation": reached, "start_activation": initial, "activation_increase": reached - initial},
        seconds=elapsed(),
    )


def dream(
    network: Network, photo: np.ndarray, settings: DreamSettings = DreamSettings(), progress: Progress = silent
) -> Visualisation:
    """DeepDream of ``photo`` (H,W,3 uint8; its long side is brought to ``max_side``); the figures give the
    layer's root-mean-square activation before and after, and their ratio."""
    elapsed = timer()
    base = _fit(from_uint8(photo), settings.max_side)
    sizes = [
        tuple(max(32, round(side / settings.octave_scale**k)) for side in base.shape[-2:])
        for k in reversed(range(settings.octaves))
    ]
    detail = torch.zeros_like(F.interpolate(base, size=sizes[0], mode="bilinear", align_corners=False))
    curve: list[float] = []
    total = settings.octaves * settings.steps
    for octave, size in enumerate(sizes):
        scaled = F.interpolate(base, size=size, mode="bilinear", align_corners=False)
        detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        image = (scaled + detail).clamp(0, 1)
        for step in range(settings.steps):
            image, value = _dream_step(network, image, settings)
            curve.append(value)
            done = octave * settings.steps + step + 1
            progress(
                done / total,
                f"DeepDream: octave {octave + 1}/{settings.octaves}, step {step + 1}, objective {value:.3f}",
            )
        detail = image - scaled
    pixels = to_uint8(image)
    with torch.no_grad():
        before = _rms(network, base, settings.layer)
        after = _rms(network, from_uint8(pixels), settings.layer)
    return Visualisation(
        kind="dream",
        title=f"DeepDream at {settings.layer}",
        image=pixels[0],
        curve=tuple(curve),
        objective=f"mean squared activation of {settings.layer} (at each octave's size)",
        figures={"rms_activation_before": before, "rms_activation_after": after, "activation_gain": after / before},
        seconds=elapsed(),
    )


def _dream_step(network: Network, image: torch.Tensor, settings: DreamSettings) -> tuple[torch.Tensor, float]:
    image = image.detach().requires_grad_(True)
    value = network.layer(image, settings.layer).pow(2).mean()
    (gradient,) = torch.autograd.grad(value, [image])
    stepped = image.detach() + settings.step_size * gradient / (gradient.abs().mean() + 1e-8)
    return stepped.clamp(0, 1), float(value.detach())


def _rms(network: Network, images: torch.Tensor, layer: str) -> float:
    return float(network.layer(images, layer).pow(2).mean().sqrt())


def _fit(images: torch.Tensor, max_side: int) -> torch.Tensor:
    """Images resized so their long side is ``max_side`` (aspect kept)."""
    height, width = images.shape[-2:]
    scale = max_side / max(height, width)
    size = (max(32, round(height * scale)), max(32, round(width * scale)))
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
