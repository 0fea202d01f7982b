"""What a layer keeps of a photo: feature inversion (Mahendran and Vedaldi 2015).

Starting from noise, find the image whose code at a layer matches the photo's, minimising the relative feature
distance ||phi(x) - phi(x0)||^2 / ||phi(x0)||^2 plus a total-variation prior. Early layers keep the photo (the
reconstruction is close to it by SSIM); deep layers keep what the class needs and little of where it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.cloak.quality import region_quality
from core.progress import Progress, silent
from core.visualize.network import Network
from core.visualize.optimize import Optimisation, Visualisation, ascend, seeded, timer
from core.visualize.parametrize import PixelImage, from_uint8, to_uint8


@dataclass(frozen=True)
class InvertSettings(Optimisation):
    steps: int = 200
    lr: float = 0.03
    layer: str = "features.3"
    tv: float = 2.0  # weight of the total-variation prior

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tv < 0:
            raise ValueError(f"the total-variation weight must be >= 0, got {self.tv}")


def square_view(photo: np.ndarray, size: int) -> np.ndarray:
    """The photo's centre square resized to ``size`` (H,W,3 uint8): what is inverted and compared."""
    height, width = photo.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = from_uint8(photo[top : top + side, left : left + side])
    return to_uint8(F.interpolate(square, size=(size, size), mode="bilinear", align_corners=False, antialias=True))[0]


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """(N,) mean squared difference between neighbouring pixels."""
    dy = (images[:, :, 1:] - images[:, :, :-1]).pow(2).mean((1, 2, 3))
    dx = (images[:, :, :, 1:] - images[:, :, :, :-1]).pow(2).mean((1, 2, 3))
    return dx + dy


def invert(
    network: Network, photo: np.ndarray, settings: InvertSettings = InvertSettings(), progress: Progress = silent
) -> Visualisation:
    """Reconstruct ``photo`` (H,W,3 uint8; its centre square at ``settings.size``) from its code at
    ``settings.layer``; the figures: the final relative feature distance and SSIM/PSNR to the photo."""
    elapsed = timer()
    original = square_view(photo, settings.size)
    with torch.no_grad():
        code = network.layer(from_uint8(original), settings.layer)
    norm = code.pow(2).sum()

    def distance(images: torch.Tensor) -> torch.Tensor:
        return (network.layer(images, settings.layer) - code).pow(2).sum((1, 2, 3)) / norm

    noise = torch.rand(1, 3, settings.size, settings.size, generator=seeded(settings.seed))
    image = PixelImage(0.5 + 0.1 * (noise - 0.5))
    curve = ascend(
        image,
        lambda x: -distance(x) - settings.tv * total_variation(x),
        settings.steps,
        settings.lr,
        progress,
        "Feature inversion",
    )
    pixels = to_uint8(image())
    with torch.no_grad():
        final = float(distance(from_uint8(pixels))[0])
    quality = region_quality(original, pixels[0])
    return Visualisation(
        kind="invert",
        title=f"reconstructed from {settings.layer}",
        image=pixels[0],
        curve=tuple(float(-v) for v in curve[:, 0]),
        objective="relative feature distance + TV prior (lower is closer)",
        figures={"feature_distance": final, "ssim": quality.ssim, "psnr": quality.psnr},
        seconds=elapsed(),
    )
