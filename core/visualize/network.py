"""A registry classifier as the visualisations see it: images in 0..1, normalised inside, and any layer's output.

Every visualisation optimises or reads images on 0..1 (what a person sees); the network's own input normalisation
is applied here, so the same code drives any registry classifier that documents its mean and std.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import torch

from core.models import REGISTRY, get_spec, load_model
from core.models.builders import imagenet_categories, imagenet_transforms

CLASSIFIER_TASK = "image classification"


class _Reached(Exception):
    """Raised by the layer hook to stop the forward pass once the wanted layer has run (no wasted compute)."""


@dataclass(frozen=True)
class Network:
    """A classifier with its input normalisation and class names; ``name`` is its registry name."""

    name: str
    model: torch.nn.Module
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    categories: tuple[str, ...]

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """(N,3,H,W) images on 0..1 as the network's input."""
        mean = torch.tensor(self.mean, dtype=images.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=images.dtype).view(1, 3, 1, 1)
        return (images - mean) / std

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(self.normalise(images))

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return torch.softmax(self.logits(images), dim=1)

    def layer(self, images: torch.Tensor, layer: str) -> torch.Tensor:
        """The output of ``layer`` (a name from ``layer_names``) for (N,3,H,W) images on 0..1; the rest of the
        network is not run."""
        with self.tap(layer, stop=True) as seen, suppress(_Reached):
            self.logits(images)
        return seen[0]

    @contextmanager
    def tap(self, layer: str, *, stop: bool = False) -> Iterator[list[torch.Tensor]]:
        """Within the block, every forward pass of this thread appends ``layer``'s output to the yielded list (and,
        with ``stop``, ends the pass there). The model is shared by the server's pages: passes run by other threads
        meanwhile (another visitor's attribution, say) go through untouched."""
        try:
            module = self.model.get_submodule(layer)
        except AttributeError as err:
            raise ValueError(f"{self.name} has no layer {layer!r}; choose from {', '.join(self.layers)}") from err
        seen: list[torch.Tensor] = []
        owner = threading.get_ident()

        def hook(_module: torch.nn.Module, _inputs: object, output: torch.Tensor) -> None:
            if threading.get_ident() != owner:
                return
            seen.append(output)
            if stop:
                raise _Reached

        handle = module.register_forward_hook(hook)
        try:
            yield seen
        finally:
            handle.remove()

    @property
    def layers(self) -> list[str]:
        return layer_names(self.model)


def layer_names(model: torch.nn.Module) -> list[str]:
    """The layers worth visualising, input to output: the blocks of a ``features`` trunk (torchvision's
    MobileNet/VGG/EfficientNet layout), else the top-level children before the classifier head."""
    features = getattr(model, "features", None)
    if isinstance(features, torch.nn.Sequential):
        return [f"features.{name}" for name, _ in features.named_children()]
    return [name for name, _ in model.named_children()][:-1]


def classifiers() -> list[str]:
    """Registry names of the image classifiers (whether or not their weights are present)."""
    return [name for name, spec in REGISTRY.items() if str(spec.meta.get("task", "")).startswith(CLASSIFIER_TASK)]


def network(name: str = "mobilenet_v2") -> Network:
    """The registry classifier ``name`` with its real weights (ModelUnavailable when they are missing); its
    visualisations take gradients w.r.t. images only (torch.autograd.grad), so the shared model is left as is."""
    if name not in classifiers():
        raise ValueError(f"{name!r} is not a registry image classifier; choose from {', '.join(classifiers())}")
    return from_model(name, load_model(name).model)


def from_model(name: str, model: torch.nn.Module) -> Network:
    """Wrap an already loaded registry classifier (the page's cached one) without loading it again."""
    if get_spec(name).meta.get("output_size") != 1000:
        raise ValueError(f"{name}: only ImageNet-1k classifiers are supported")
    preset = imagenet_transforms()
    return Network(name, model.eval(), tuple(preset.mean), tuple(preset.std), tuple(imagenet_categories()))
