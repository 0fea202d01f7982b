"""Feature inversion of a real photo: an early layer keeps it (SSIM >= 0.5), the last layer keeps far less."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.visualize import InvertSettings, Network, invert, network, square_view


@pytest.fixture(scope="module")
def net() -> Network:
    return network("mobilenet_v2")


def test_early_layers_keep_the_photo_and_the_last_layer_does_not(net: Network, panda: Image.Image) -> None:
    photo = np.asarray(panda)
    early = invert(net, photo, InvertSettings(layer="features.2"))
    last = invert(net, photo, InvertSettings(layer="features.18"))
    assert early.figures["ssim"] >= 0.5
    assert last.figures["ssim"] < early.figures["ssim"] - 0.3
    original = square_view(photo, 128)
    for result in (early, last):
        assert result.image.shape == original.shape
        # the curve is the objective being minimised, and the inversion made real progress on it
        assert result.curve[-1] < 0.5 * result.curve[0]
        assert result.figures["feature_distance"] < 0.5
    # SSIM re-measured here, independently of the module's figure
    from skimage.metrics import structural_similarity

    ssim = structural_similarity(original, early.image, channel_axis=2, data_range=255, win_size=7)
    assert ssim == pytest.approx(early.figures["ssim"], abs=1e-6)


def test_a_random_start_alone_is_not_the_photo(net: Network, panda: Image.Image) -> None:
    """The SSIM bar means something: one step from the noise start is nowhere near the photo."""
    barely = invert(net, np.asarray(panda), InvertSettings(layer="features.2", steps=1))
    assert barely.figures["ssim"] < 0.2
