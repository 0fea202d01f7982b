"""Eight attribution methods behind one call, all computed by Captum.

``attribute(model, inputs, target, method)`` returns an ``Attribution``: an (H, W) map over the input's pixels,
the seconds it took and the target it explains. Gradients are always enabled inside (attribution *is* gradients:
a caller's ``no_grad`` would silently give zero maps), and every model is first turned into an
``attribution_copy`` so that Captum's ReLU hooks see what they need (see its docstring).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import nn

ForwardFunc = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Attribution:
    """One method's answer: ``map`` (H, W) float32, larger = more evidence for ``target``."""

    method: str
    target: int | None
    map: np.ndarray
    seconds: float


@dataclass(frozen=True)
class Settings:
    """Knobs of the methods; the defaults keep the full panel of eight under 10 s on 2 CPU cores (bench)."""

    ig_steps: int = 32
    ig_internal_batch_size: int = 8
    smoothgrad_samples: int = 16
    smoothgrad_batch_size: int = 8
    smoothgrad_noise: float = 0.15  # noise std as a fraction of the input's value range (Smilkov et al.: 10-20 %)
    occlusion_window: int = 32
    occlusion_stride: int = 16
    occlusion_batch_size: int = 8  # perturbations per forward pass (larger batches measured slower on 2 cores)
    occlusion_fill: float = 0.0  # in the model's input space: 0 is the mean colour of a normalised classifier input


class ReLU6Hookable(nn.ReLU):
    """ReLU6 as an ``nn.ReLU`` subclass, computed out of place.

    Captum's Guided Backprop and Deconvolution hook every ``nn.ReLU`` module and rewrite the gradient it passes
    back. MobileNetV2 uses ``nn.ReLU6(inplace=True)``: ReLU6 is not an ``nn.ReLU`` (so it would be skipped and the
    methods would silently degrade to plain gradients), and an in-place output breaks full backward hooks.
    This module computes the same ``clamp(x, 0, 6)`` out of place, so the forward pass is unchanged and the hooks
    fire: Guided Backprop keeps the positive part of the masked gradient, Deconvolution the positive part of the
    incoming gradient, exactly as for a ReLU.
    """

    def __init__(self) -> None:
        super().__init__(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, 0.0, 6.0)


@lru_cache(maxsize=8)
def attribution_copy(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` for attribution: ReLU6 -> ``ReLU6Hookable``, no in-place ReLUs, eval mode and
    frozen parameters (we need gradients w.r.t. the input only, which also halves the backward cost).
    The caller's model is never modified."""
    clone = copy.deepcopy(model).eval().requires_grad_(False)
    for parent in list(clone.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.ReLU6):
                setattr(parent, name, ReLU6Hookable())
            elif isinstance(child, nn.ReLU):
                child.inplace = False
    return clone


def last_conv_block(model: nn.Module) -> nn.Module:
    """The layer Grad-CAM explains: torchvision-style ``features[-1]`` (MobileNetV2: the 7x7x1280 block)."""
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential):
        return features[-1]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("Grad-CAM needs a convolutional layer and this model has none")
    return convs[-1]


def _channel_abs_max(attr: torch.Tensor) -> torch.Tensor:
    return attr.abs().amax(dim=1)


def _channel_sum(attr: torch.Tensor) -> torch.Tensor:
    return attr.sum(dim=1)


def _saliency(model: nn.Module, inputs: torch.Tensor, target: int | None, s: Settings) -> torch.Tensor:
    return _channel_abs_max(Saliency(model).attribute(inputs, target=target, abs=True))


def _integrated_gradients(model: nn.Module, inputs: torch.Tensor, target: int | None, s: Settings) -> torch.Tensor:
    """Straight-line path from a zero baseline (the dataset mean colour for a normalised classifier input)."""
    attr = IntegratedGradients(model).attribute(
        inputs, target=target, n_steps=s.ig_steps, internal_batch_size=s.ig_internal_batch_size
    )
    return _channel_sum(attr)


def _smoothgrad(model: nn.Module, inputs: torch.Tensor, target: int | None, s: Settings) -> torch.Tensor:
    value_range = float(inputs.max() - inputs.min()) or 1.0
    attr = NoiseTunnel(Saliency(model)).attribute(
        inputs,
        nt_type="smoothgrad",
        nt_samples=s.smoothgrad_samples,
        nt_samples_batch_size=s.smoothgrad_batch_size,
        stdevs=s.smoothgrad_noise * value_range,
        target=target,
        abs=True,
    )
    return _channel_abs_max(attr)


def _guided_backprop(model: nn.Module, inputs: torch.Tensor, target: int | None, s: Settings) -> torch.Tensor:
    return _channel_abs_max(GuidedBackprop(model).attribute(inputs, target=target))


def _deconvolution(model: nn.Module, inputs: torch.Tensor, target: int | None, s: Settings) -> torch.Tensor:
    return _channel_abs_max(Deconvolution(model).attribute(inputs, target=target))


def _occlusion(model: nn.Module | ForwardFunc, inputs: torch.Tensor, target: int | None, s: Settings) -> torch.Tensor:
    """Drop in the score when a window is filled with ``occlusion_fill`` (Zeiler & Fergus). A network's logits
    become class probabilities first; a plain scoring function is used as it is."""

    def probabilities(batch: torch.Tensor) -> torch.Tensor:
        return torch.softmax(model(batch), dim=1)

    score = probabilities if isinstance(model, nn.Module) else model
    return occlusion_map(score, inputs, target, s, baseline=s.occlusion_fill)


def _gradcam(model: nn.Module, inputs: torch.Tensor, target: int | None, s: Settings) -> torch.Tensor:
    cam = LayerGradCam(model, last_conv_block(model)).attribute(inputs, target=target, relu_attributions=True)
    upsampled = LayerAttribution.interpolate(cam, tuple(inputs.shape[-2:]), interpolate_mode="bilinear")
    return upsampled[:, 0]


def _guided_gradcam(model: nn.Module, inputs: torch.Tensor, target: int | None, s: Settings) -> torch.Tensor:
    attr = GuidedGradCam(model, last_conv_block(model)).attribute(inputs, target=target, interpolate_mode="bilinear")
    return _channel_abs_max(attr)


def occlusion_map(
    forward: ForwardFunc, inputs: torch.Tensor, target: int | None, settings: Settings, baseline: float
) -> torch.Tensor:
    """Captum Occlusion with square windows over all channels, evaluated ``occlusion_batch_size`` at a time.
    ``forward`` may be any function of a batch (it is only queried, never differentiated)."""
    channels = inputs.shape[1]
    window, stride = settings.occlusion_window, settings.occlusion_stride
    attr = Occlusion(forward).attribute(
        inputs,
        sliding_window_shapes=(channels, window, window),
        strides=(channels, stride, stride),
        baselines=baseline,
        target=target,
        perturbations_per_eval=settings.occlusion_batch_size,
    )
    return attr.mean(dim=1)


@dataclass(frozen=True)
class Method:
    name: str
    title: str
    compute: Callable[[nn.Module | ForwardFunc, torch.Tensor, int | None, Settings], torch.Tensor]
    needs_module: bool = False  # rewrites module gradients or reads a layer: an nn.Module only


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("saliency", "Saliency", _saliency),
        Method("ig", "Integrated Gradients", _integrated_gradients),
        Method("smoothgrad", "SmoothGrad", _smoothgrad),
        Method("guided-backprop", "Guided Backprop", _guided_backprop, needs_module=True),
        Method("deconvolution", "Deconvolution", _deconvolution, needs_module=True),
        Method("occlusion", "Occlusion", _occlusion),
        Method("gradcam", "Grad-CAM", _gradcam, needs_module=True),
        Method("guided-gradcam", "Guided Grad-CAM", _guided_gradcam, needs_module=True),
    )
}


def attribute(
    model: nn.Module | ForwardFunc,
    inputs: torch.Tensor,
    target: int | None,
    method: str,
    settings: Settings | None = None,
) -> Attribution:
    """Explain ``model(inputs)[0, target]`` (or a scalar-per-image function when ``target`` is None) with ``method``.

    ``inputs`` is one image as (1, C, H, W) in the model's own input space. An ``nn.Module`` is replaced by its
    ``attribution_copy``; a plain function works for the methods that only need gradients or queries."""
    spec = METHODS.get(method)
    if spec is None:
        raise ValueError(f"unknown attribution method {method!r}; known: {', '.join(METHODS)}")
    if inputs.ndim != 4 or inputs.shape[0] != 1:
        raise ValueError(f"attribute() takes one image as (1, C, H, W), got {tuple(inputs.shape)}")
    if isinstance(model, nn.Module):
        model = attribution_copy(model)
    elif spec.needs_module:
        raise ValueError(f"{spec.title} rewrites a network's gradients and needs an nn.Module, not a function")
    start = time.perf_counter()
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU", category=UserWarning)
        heat = spec.compute(model, inputs.detach().clone().requires_grad_(True), target, settings or Settings())
    seconds = time.perf_counter() - start
    return Attribution(method, target, heat[0].detach().float().numpy().copy(), seconds)


def blackbox_occlusion(
    score_images: Callable[[np.ndarray], np.ndarray],
    pixels: np.ndarray,
    settings: Settings | None = None,
    fill: float = 128.0,
) -> Attribution:
    """Occlusion for a model you can only query (Zeiler & Fergus / Clarifai style): ``score_images`` takes a batch
    of images (N, H, W, 3) uint8 and returns one score per image; the map is the score's drop when a grey
    window covers each place. No gradients, no access to the model: Captum only calls the function."""
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"black-box occlusion takes one (H, W, 3) image, got {pixels.shape}")
    inputs = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].float()

    def query(batch: torch.Tensor) -> torch.Tensor:
        images = batch.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        return torch.as_tensor(np.asarray(score_images(images), dtype=np.float32)).reshape(len(images))

    start = time.perf_counter()
    heat = occlusion_map(query, inputs, None, settings or Settings(), baseline=fill)
    return Attribution("occlusion", None, heat[0].numpy().copy(), time.perf_counter() - start)
