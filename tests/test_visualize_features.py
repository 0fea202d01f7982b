"""Channel visualisation and DeepDream on the real MobileNetV2 and a real photo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.visualize import ChannelSettings, DreamSettings, Network, channel, channel_count, dream, network
from core.visualize.features import unit_activation
from core.visualize.parametrize import from_uint8


@pytest.fixture(scope="module")
def net() -> Network:
    return network("mobilenet_v2")


@pytest.mark.parametrize("neuron", [False, True])
def test_channel_image_excites_its_channel_more_than_a_real_photo(
    net: Network, panda: Image.Image, neuron: bool
) -> None:
    settings = ChannelSettings(layer="features.6", channel=5, neuron=neuron, steps=48)
    result = channel(net, settings)
    with torch.no_grad():
        reached = float(unit_activation(net.layer(from_uint8(result.image), "features.6"), 5, neuron)[0])
        photo = from_uint8(np.asarray(panda.resize((128, 128))))
        on_photo = float(unit_activation(net.layer(photo, "features.6"), 5, neuron)[0])
    assert reached == pytest.approx(result.figures["activation"], abs=1e-4)
    assert result.figures["activation_increase"] > 1.0
    assert reached > on_photo + 1.0


def test_channel_count_and_bad_channel(net: Network) -> None:
    assert channel_count(net, "features.6") == 32 and channel_count(net, "features.18") == 1280
    with pytest.raises(ValueError, match="has 32 channels"):
        channel(net, ChannelSettings(layer="features.6", channel=32))


def test_dream_boosts_the_layer_at_every_octave(net: Network, panda: Image.Image) -> None:
    photo = np.asarray(panda)
    fractions: list[float] = []
    result = dream(net, photo, DreamSettings(octaves=3, steps=6, max_side=192), lambda f, _t: fractions.append(f))
    height, width = photo.shape[:2]
    assert result.image.shape == (round(height * 192 / width), 192, 3)
    assert len(result.curve) == 18 and fractions[-1] == 1.0
    assert result.figures["activation_gain"] > 1.5
    # the photo is still there: DeepDream adds patterns, it does not replace the image
    base = np.asarray(panda.resize((192, result.image.shape[0]), Image.Resampling.BILINEAR)).astype(float)
    correlation = np.corrcoef(base.ravel(), result.image.astype(float).ravel())[0, 1]
    assert correlation > 0.5
    # each octave starts lower than it ends (the objective rises within each octave)
    for octave in range(3):
        steps = result.curve[octave * 6 : (octave + 1) * 6]
        assert steps[-1] > steps[0]
