"""FGSM, PGD (I-FGSM with random start) and MI-FGSM behind one Captum-style call: ``Attack(...).perturb(inputs, loss_fn)``.

Transfer techniques (for recognizers the attack never sees) are named options of the same call:
``translation_sigma`` smooths each step's gradient with a Gaussian (translation invariance, Dong et al. 2019), and
``input_diversity`` is the probability that ``Attack.diversify`` randomly shrinks and pads the model's input in a step
(Xie et al. 2019); callers apply ``diversify`` where the model input is formed (the face chips, the classifier input).
``feature_weight`` weighs a feature-level term for callers whose models expose intermediate activations (the face
cloak): mid-depth features are shared across networks more than final embeddings are, so moving them transfers.

The attacker *maximises* ``loss_fn(adversarial)``; every caller (dodging, impersonation, classifier) only has to say what
"worse for the model" means. Pixels are on 0..255 and ``eps``/``step_size`` are in grey levels, so eps=8 means 8/255.
A mask (0..1, broadcastable to the inputs) scales the perturbation per pixel: 0 keeps a pixel untouched, a soft edge
fades the cloak into the untouched surroundings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from core.cloak.transforms import gaussian_blur

METHODS = ("fgsm", "pgd", "mifgsm")
PIXEL_MAX = 255.0

LossFn = Callable[[torch.Tensor], torch.Tensor]
# callback(step, steps, loss) is called after every step; returning True stops the attack early.
ProgressFn = Callable[[int, int, float], bool | None]


@dataclass(frozen=True)
class Attack:
    """An L-infinity attack. ``step_size`` defaults to 2.5 * eps / steps (Madry et al.), FGSM always takes one eps step."""

    method: str = "pgd"
    eps: float = 8.0
    steps: int = 40
    step_size: float | None = None
    momentum: float = 1.0
    random_start: bool = True
    seed: int = 0
    input_diversity: float = 0.0
    translation_sigma: float = 0.0
    feature_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown attack method {self.method!r}; choose one of {', '.join(METHODS)}")
        if not 0 < self.eps <= PIXEL_MAX:
            raise ValueError(f"eps must be in (0, 255] grey levels, got {self.eps}")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if not 0 <= self.input_diversity <= 1:
            raise ValueError(f"input_diversity is a probability in [0, 1], got {self.input_diversity}")
        if self.translation_sigma < 0:
            raise ValueError(f"translation_sigma must be >= 0 pixels, got {self.translation_sigma}")
        if self.feature_weight < 0:
            raise ValueError(f"feature_weight must be >= 0, got {self.feature_weight}")

    @property
    def n_steps(self) -> int:
        return 1 if self.method == "fgsm" else self.steps

    @property
    def alpha(self) -> float:
        if self.method == "fgsm":
            return self.eps
        return self.step_size if self.step_size is not None else 2.5 * self.eps / self.steps

    def perturb(
        self,
        inputs: torch.Tensor,
        loss_fn: LossFn,
        *,
        mask: torch.Tensor | None = None,
        callback: ProgressFn | None = None,
    ) -> torch.Tensor:
        """Adversarial version of ``inputs`` (0..255, any shape) with |change| <= eps * mask, clamped to 0..255."""
        clean = inputs.detach()
        weight = torch.ones_like(clean) if mask is None else mask.detach().to(clean.dtype).expand_as(clean)
        delta = self._initial_delta(clean)
        velocity = torch.zeros_like(clean)
        for step in range(1, self.n_steps + 1):
            delta.requires_grad_(True)
            loss = loss_fn(_apply(clean, delta, weight))
            (grad,) = torch.autograd.grad(loss, delta)
            with torch.no_grad():
                grad = smooth_gradient(grad, self.translation_sigma)
                direction = self._direction(grad, velocity)
                delta = (delta + self.alpha * direction).clamp(-self.eps, self.eps)
            if callback is not None and callback(step, self.n_steps, float(loss.detach())):
                break
        return _apply(clean, delta.detach(), weight)

    def diversify(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """With probability ``input_diversity``, shrink (N, C, H, W) model inputs to a random 85-100% of their size
        and zero-pad them back at a random offset, so the perturbation cannot rely on one exact placement."""
        if self.input_diversity <= 0 or float(torch.rand((), generator=generator)) >= self.input_diversity:
            return images
        height, width = images.shape[-2:]
        scale = 0.85 + 0.15 * float(torch.rand((), generator=generator))
        small = (max(1, round(height * scale)), max(1, round(width * scale)))
        resized = F.interpolate(images, size=small, mode="bilinear", align_corners=False, antialias=True)
        top = int(torch.randint(height - small[0] + 1, (), generator=generator))
        left = int(torch.randint(width - small[1] + 1, (), generator=generator))
        return F.pad(resized, (left, width - small[1] - left, top, height - small[0] - top))

    def _initial_delta(self, clean: torch.Tensor) -> torch.Tensor:
        if self.method != "pgd" or not self.random_start:
            return torch.zeros_like(clean)
        generator = torch.Generator().manual_seed(self.seed)
        return (torch.rand(clean.shape, generator=generator, dtype=clean.dtype) * 2 - 1) * self.eps

    def _direction(self, grad: torch.Tensor, velocity: torch.Tensor) -> torch.Tensor:
        """Sign of the gradient; MI-FGSM first accumulates L1-normalised gradients with momentum (Dong et al. 2018)."""
        if self.method != "mifgsm":
            return grad.sign()
        velocity.mul_(self.momentum).add_(grad / grad.abs().sum().clamp_min(1e-12))
        return velocity.sign()


def smooth_gradient(grad: torch.Tensor, sigma: float) -> torch.Tensor:
    """The gradient of an image (..., H, W) blurred by a Gaussian of ``sigma`` pixels per channel (TI-FGSM): the
    step then also fools the model for slightly shifted copies of the input, which is what transfers."""
    if sigma <= 0:
        return grad
    height, width = grad.shape[-2:]
    if min(height, width) <= max(1, math.ceil(2.5 * sigma)):
        return grad  # too small for the kernel's reflection padding; nothing to smooth over
    planes = grad.reshape(-1, 1, height, width)
    return gaussian_blur(planes, sigma).reshape(grad.shape)


def _apply(clean: torch.Tensor, delta: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (clean + weight * delta).clamp(0.0, PIXEL_MAX)
