"""What the classifier thinks a class looks like: class model visualisation, and fooling images.

- ``class_model``: start from grey (zeros in the network's normalised input) or noise and ascend the class's
  unnormalised score. Recipe "simonyan" (Simonyan et al. 2014) optimises pixels with an L2 penalty; recipe "robust"
  (Olah et al. 2017, Lucid) optimises a decorrelated Fourier image under random jitter, scale and rotation.
- ``fool``: an image people see as noise that the classifier labels with high confidence (Nguyen et al. 2015, their
  gradient-ascent variant): uniform noise changed by at most ``epsilon`` per pixel towards the target class.
The figures are measured on the final uint8 image, without transforms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from core.cloak.quality import region_quality
from core.progress import Progress, silent
from core.visualize.network import Network
from core.visualize.optimize import Optimisation, Visualisation, ascend, seeded, timer
from core.visualize.parametrize import FourierImage, PixelImage, from_uint8, robust_transforms, to_uint8

RECIPES = ("robust", "simonyan")
STARTS = ("zeros", "noise")


@dataclass(frozen=True)
class ClassSettings(Optimisation):
    recipe: str = "robust"
    l2: float = 0.005  # weight of the squared L2 norm of the normalised image (simonyan: S_c(I) - l2 ||I||^2)
    start: str = "zeros"  # simonyan's start; the robust recipe starts from a small random spectrum

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; choose from {', '.join(RECIPES)}")
        if self.start not in STARTS:
            raise ValueError(f"unknown start {self.start!r}; choose from {', '.join(STARTS)}")
        if self.l2 < 0:
            raise ValueError(f"the L2 weight must be >= 0, got {self.l2}")


@dataclass(frozen=True)
class FoolSettings(Optimisation):
    steps: int = 32
    lr: float = 0.01
    epsilon: float = 16 / 255

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.epsilon <= 1:
            raise ValueError(f"epsilon must lie in (0, 1], got {self.epsilon}")


def class_model(
    network: Network,
    classes: Sequence[int],
    settings: ClassSettings = ClassSettings(),
    progress: Progress = silent,
) -> list[Visualisation]:
    """One image per class in ``classes``, optimised together (one batch), each for its own class."""
    check_classes(network, classes)
    elapsed, generator = timer(), seeded(settings.seed)
    targets = torch.tensor(list(classes))
    count, size = len(classes), settings.size
    if settings.recipe == "robust":
        image = FourierImage(count, size, generator)
        view = lambda images: robust_transforms(images, generator)  # noqa: E731
        penalty = lambda images: torch.zeros(len(images))  # noqa: E731
    else:
        grey = torch.tensor(network.mean).view(1, 3, 1, 1).expand(count, 3, size, size)
        noise = torch.rand(count, 3, size, size, generator=generator)
        image = PixelImage(grey if settings.start == "zeros" else noise)
        view = lambda images: images  # noqa: E731
        penalty = lambda images: settings.l2 * network.normalise(images).pow(2).sum((1, 2, 3))  # noqa: E731

    def objective(images: torch.Tensor) -> torch.Tensor:
        scores = network.logits(view(images)).gather(1, targets[:, None])[:, 0]
        return scores - penalty(images)

    curve = ascend(image, objective, settings.steps, settings.lr, progress, "Class visualisation")
    pixels = to_uint8(image())
    probabilities = network.probabilities(from_uint8(pixels))
    return [
        Visualisation(
            kind="class",
            title=f"class {target}: {network.categories[target]} ({settings.recipe})",
            image=pixels[i],
            curve=tuple(float(v) for v in curve[:, i]),
            objective=f"score of {network.categories[target]}"
            + (" - L2 penalty" if settings.recipe != "robust" else ""),
            figures={
                "target_probability": float(probabilities[i, target]),
                "top1_class": float(probabilities[i].argmax()),
                "top1_probability": float(probabilities[i].max()),
            },
            seconds=elapsed(),
        )
        for i, target in enumerate(classes)
    ]


def fool(
    network: Network, target: int, settings: FoolSettings = FoolSettings(), progress: Progress = silent
) -> Visualisation:
    """Uniform noise, changed by at most ``epsilon`` per pixel so the classifier gives ``target`` a high probability;
    the figures say how sure it became and how little the noise changed (SSIM to the starting noise)."""
    check_classes(network, [target])
    elapsed, generator = timer(), seeded(settings.seed)
    noise = torch.rand(1, 3, settings.size, settings.size, generator=generator)
    image = PixelImage(noise, settings.epsilon)

    def objective(images: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(network.logits(images), dim=1)[:, target]

    curve = ascend(image, objective, settings.steps, settings.lr, progress, "Fooling image")
    pixels, start = to_uint8(image())[0], to_uint8(noise)[0]
    probabilities = network.probabilities(from_uint8(pixels))[0]
    return Visualisation(
        kind="fool",
        title=f"noise labelled {network.categories[target]}",
        image=pixels,
        curve=tuple(float(v) for v in curve[:, 0]),
        objective=f"log-probability of {network.categories[target]}",
        figures={
            "target_probability": float(probabilities[target]),
            "start_probability": float(network.probabilities(from_uint8(start))[0, target]),
            "top1_class": float(probabilities.argmax()),
            "linf_from_noise": float(abs(pixels.astype(int) - start.astype(int)).max()) / 255,
            "ssim_to_noise": region_quality(start, pixels).ssim,
        },
        seconds=elapsed(),
    )


def check_classes(network: Network, classes: Sequence[int]) -> None:
    if not classes:
        raise ValueError("choose at least one class")
    for target in classes:
        if not 0 <= int(target) < len(network.categories):
            raise ValueError(f"class {target} is outside 0..{len(network.categories) - 1}")
