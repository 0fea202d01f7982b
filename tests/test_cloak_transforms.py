"""Robustness transforms: the differentiable JPEG behaves like a real JPEG, gradients pass through, shapes hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from core.cloak.transforms import (
    differentiable_jpeg,
    gaussian_blur,
    half_size,
    jpeg_reencode,
    random_degradation,
    resize_round_trip,
)
from core.faces import image_to_tensor


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(data.astronaut()).resize((256, 256))


@pytest.mark.parametrize("quality", [90, 75, 50])
def test_differentiable_jpeg_is_closer_to_real_jpeg_than_the_original_is(astronaut, quality) -> None:
    real = np.asarray(jpeg_reencode(astronaut, quality), dtype=np.float64)
    ours = differentiable_jpeg(image_to_tensor(astronaut)[None], quality)[0].permute(1, 2, 0).numpy()
    original = np.asarray(astronaut, dtype=np.float64)
    assert np.abs(ours - real).mean() < 0.8 * np.abs(original - real).mean()
    assert np.abs(ours - original).mean() > 1.0  # it really degrades


def test_gradients_pass_through_every_transform(astronaut) -> None:
    pixels = image_to_tensor(astronaut)[None].requires_grad_(True)
    for transform in (
        lambda x: differentiable_jpeg(x, 75),
        lambda x: gaussian_blur(x, 0.8),
        lambda x: resize_round_trip(x, 0.5),
    ):
        (grad,) = torch.autograd.grad(transform(pixels)[..., 100:110, 100:110].sum(), pixels)
        assert grad.abs().sum() > 0
        assert grad[..., :50, :50].abs().sum() == 0  # local operations stay local


def test_shapes_are_kept_even_when_not_multiples_of_the_block(astronaut) -> None:
    pixels = image_to_tensor(astronaut.crop((0, 0, 101, 77)))[None]
    for output in (differentiable_jpeg(pixels, 60), gaussian_blur(pixels, 1.0), resize_round_trip(pixels, 0.7)):
        assert output.shape == pixels.shape


def test_blur_keeps_the_mean_and_lowers_the_detail(astronaut) -> None:
    pixels = image_to_tensor(astronaut)[None]
    blurred = gaussian_blur(pixels, 1.0)
    assert abs(blurred.mean() - pixels.mean()) < 0.5
    assert blurred.diff(dim=-1).abs().mean() < 0.8 * pixels.diff(dim=-1).abs().mean()


def test_random_degradation_is_reproducible_with_a_seed(astronaut) -> None:
    pixels = image_to_tensor(astronaut)[None]
    first = [random_degradation(pixels, torch.Generator().manual_seed(s)) for s in range(6)]
    second = [random_degradation(pixels, torch.Generator().manual_seed(s)) for s in range(6)]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert len({round(float((a - pixels).abs().mean()), 3) for a in first}) > 1  # different draws differ


def test_half_size_halves(astronaut) -> None:
    assert half_size(astronaut).size == (128, 128)
