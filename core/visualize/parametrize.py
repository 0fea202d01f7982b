"""How an optimised image is represented, and the random transforms that make a visualisation robust.

Two parametrisations produce (N,3,H,W) images on 0..1:
- ``PixelImage``: the pixels themselves, optionally kept inside an L-infinity ball around a start (projected after
  each step); Simonyan et al.'s class models and the fooling images use it.
- ``FourierImage``: Lucid's decorrelated parametrisation (Olah et al. 2017): a 2-D spectrum scaled by 1/frequency,
  so every frequency is equally easy to change, through a colour-decorrelating matrix and a sigmoid. Gradient ascent
  then finds natural-looking structure instead of high-frequency noise.
``robust_transforms`` is Lucid's ``standard_transforms`` (pad, jitter, scale, rotate, jitter) in one differentiable
``grid_sample``: the image must work under all of them, which filters out adversarial pixel patterns.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# Lucid's square root of ImageNet's colour correlation (lucid/optvis/param/color.py), columns scaled to norm <= 1.
_COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR_CORRELATION = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()


class PixelImage(torch.nn.Module):
    """Pixels on 0..1 as the parameter; ``project`` clamps them to 0..1 and, given ``epsilon``, to start +- epsilon."""

    def __init__(self, start: torch.Tensor, epsilon: float | None = None) -> None:
        super().__init__()
        self.start = start.detach().clone()
        self.epsilon = epsilon
        self.pixels = torch.nn.Parameter(self.start.clone())

    def forward(self) -> torch.Tensor:
        return self.pixels

    @torch.no_grad()
    def project(self) -> None:
        if self.epsilon is not None:
            self.pixels.copy_(
                torch.minimum(torch.maximum(self.pixels, self.start - self.epsilon), self.start + self.epsilon)
            )
        self.pixels.clamp_(0.0, 1.0)


class FourierImage(torch.nn.Module):
    """Lucid's ``fft_image`` + ``to_valid_rgb(decorrelate=True)``: a random spectrum (sd 0.01) scaled by
    1/max(frequency, 1/size), inverse real FFT, colour decorrelation, sigmoid."""

    def __init__(self, count: int, size: int, generator: torch.Generator, decay_power: float = 1.0) -> None:
        super().__init__()
        self.size = size
        fy = np.fft.fftfreq(size)[:, None]
        fx = np.fft.rfftfreq(size)[None, :]
        frequencies = np.sqrt(fx * fx + fy * fy)
        scale = 1.0 / np.maximum(frequencies, 1.0 / size) ** decay_power
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        shape = (count, 3, size, size // 2 + 1, 2)
        self.spectrum = torch.nn.Parameter(0.01 * torch.randn(shape, generator=generator))

    def forward(self) -> torch.Tensor:
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        image = torch.fft.irfftn(spectrum, s=(self.size, self.size), norm="ortho") / 4.0
        decorrelated = torch.einsum("nchw,dc->ndhw", image, COLOR_CORRELATION.to(image.dtype))
        return torch.sigmoid(decorrelated)

    def project(self) -> None:
        """Nothing to project: the sigmoid keeps every pixel on 0..1."""


def robust_transforms(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Pad 12 px with grey, jitter 8 px, scale by 0.9..1.1, rotate by -10..10 degrees, jitter 4 px (Lucid's
    standard_transforms), one draw per image, as one affine resampling."""
    count, _, height, width = images.shape
    padded = F.pad(images, (12, 12, 12, 12), value=0.5)
    scale = 1.0 + (torch.randint(0, 11, (count,), generator=generator).float() - 5.0) / 50.0
    angle = torch.deg2rad(torch.randint(-10, 11, (count,), generator=generator).float())
    shift = torch.randint(-8, 9, (count, 2), generator=generator) + torch.randint(
        -4, 5, (count, 2), generator=generator
    )
    size = padded.shape[-1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    theta[:, :, 2] = shift.float() * 2.0 / size
    grid = F.affine_grid(theta.to(images.dtype), (count, 3, size, size), align_corners=False)
    moved = F.grid_sample(padded, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return moved[:, :, 12 : 12 + height, 12 : 12 + width]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N,3,H,W) on 0..1 to (N,H,W,3) uint8, the pixels a saved PNG holds."""
    return (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def from_uint8(pixels: np.ndarray) -> torch.Tensor:
    """(N,H,W,3) or (H,W,3) uint8 to (N,3,H,W) float on 0..1."""
    array = pixels[None] if pixels.ndim == 3 else pixels
    return torch.from_numpy(np.array(array, dtype=np.uint8)).permute(0, 3, 1, 2).float() / 255.0
