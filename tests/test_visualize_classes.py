"""Class models and fooling images on the real MobileNetV2: the figures are re-measured here on the saved PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from core.visualize import ClassSettings, FoolSettings, Network, class_model, fool, network
from core.visualize.network import classifiers
from core.visualize.parametrize import FourierImage, from_uint8

# goldfish, flamingo, golden retriever, bee, balloon, basketball, convertible, banana
EIGHT_CLASSES = (1, 130, 207, 309, 417, 430, 511, 954)


@pytest.fixture(scope="module")
def net() -> Network:
    return network("mobilenet_v2")


def png_probabilities(net: Network, pixels: np.ndarray) -> torch.Tensor:
    """The classifier's probabilities for the image after a real PNG round trip (what a user saves)."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    reread = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return net.probabilities(from_uint8(reread))[0]


def test_robust_class_models_of_eight_classes_reach_probability_09_from_a_fixed_seed(net: Network) -> None:
    fractions: list[float] = []
    results = class_model(net, EIGHT_CLASSES, ClassSettings(seed=0), lambda f, _text: fractions.append(f))
    assert [r.title.split(":")[0] for r in results] == [f"class {c}" for c in EIGHT_CLASSES]
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    for target, result in zip(EIGHT_CLASSES, results, strict=True):
        probabilities = png_probabilities(net, result.image)
        assert int(probabilities.argmax()) == target, result.title
        assert float(probabilities[target]) >= 0.9, result.title
        assert result.figures["target_probability"] == pytest.approx(float(probabilities[target]), abs=1e-4)
        assert len(result.curve) == ClassSettings.steps and result.curve[-1] > result.curve[0] + 10
        assert result.image.shape == (128, 128, 3) and result.image.std() > 10  # a picture, not a flat field


def test_simonyan_class_model_from_zeros_and_its_l2_penalty(net: Network) -> None:
    settings = ClassSettings(recipe="simonyan", size=96, steps=24, lr=0.02, start="zeros")
    grey = from_uint8(np.full((96, 96, 3), np.round(np.array(net.mean) * 255), dtype=np.uint8))
    (free,) = class_model(net, [130], ClassSettings(**{**settings.__dict__, "l2": 0.0}))
    (penalised,) = class_model(net, [130], ClassSettings(**{**settings.__dict__, "l2": 0.02}))
    assert float(net.probabilities(grey)[0, 130]) < 0.01
    assert free.figures["target_probability"] >= 0.9
    # the penalty keeps the image closer to the grey start (zeros in the normalised input)
    distance = [
        float(np.abs(r.image.astype(float) - grey[0].permute(1, 2, 0).numpy() * 255).mean()) for r in (free, penalised)
    ]
    assert distance[1] < 0.8 * distance[0]


def test_fooling_image_stays_noise_but_is_labelled_with_high_confidence(net: Network) -> None:
    settings = FoolSettings(seed=3)
    result = fool(net, 954, settings)
    probabilities = png_probabilities(net, result.image)
    assert float(probabilities[954]) >= 0.9 and result.figures["start_probability"] < 0.01
    noise = (torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(3)) * 255).round()[0]
    change = np.abs(result.image.astype(float) - noise.permute(1, 2, 0).numpy()).max()
    assert change <= settings.epsilon * 255 + 1
    assert result.figures["ssim_to_noise"] > 0.9


def test_fourier_image_is_decorrelated_and_low_frequency(net: Network) -> None:
    image = FourierImage(1, 64, torch.Generator().manual_seed(0))
    with torch.no_grad():
        image.spectrum.normal_(0, 1.0, generator=torch.Generator().manual_seed(1))
        pixels = image()[0]
    assert float(pixels.min()) >= 0 and float(pixels.max()) <= 1
    # neighbouring pixels are strongly correlated (1/f spectrum), unlike white noise
    flat = pixels - pixels.mean()
    neighbour = float((flat[:, :, 1:] * flat[:, :, :-1]).mean() / flat.pow(2).mean())
    assert neighbour > 0.5


def test_bad_requests_are_refused(net: Network) -> None:
    assert classifiers() == ["mobilenet_v2"]
    with pytest.raises(ValueError, match="outside 0..999"):
        class_model(net, [1000])
    with pytest.raises(ValueError, match="recipe"):
        ClassSettings(recipe="dream")
    with pytest.raises(ValueError, match="not a registry image classifier"):
        network("mtcnn")
    with pytest.raises(ValueError, match="no layer"):
        net.layer(torch.zeros(1, 3, 64, 64), "features.99")
