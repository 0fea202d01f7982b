"""Maximally activating patches: real collection images, ranked by the unit's activation, cropped at a receptive
field that is checked by perturbing pixels inside and outside it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.grid.collections import Collection, cifar10
from core.visualize import Network, network, top_patches
from core.visualize.parametrize import from_uint8
from core.visualize.patches import receptive_field, view_pixels

LAYER, CHANNEL = "features.6", 5


@pytest.fixture(scope="module")
def net() -> Network:
    return network("mobilenet_v2")


@pytest.fixture(scope="module")
def collection(data_dir) -> Collection:
    return cifar10().subset(list(range(0, 500, 10)))  # 50 real images, 5 of each class


def test_top_patches_are_the_collections_highest_activations(net: Network, collection: Collection) -> None:
    found = top_patches(net, collection, LAYER, CHANNEL, k=6)
    assert found.images_seen == len(collection) and not found.skipped
    scores = [p.score for p in found.patches]
    assert scores == sorted(scores, reverse=True) and len(scores) == 6
    # brute force, one image at a time: the same six images, the same scores and positions
    every = []
    for index in range(len(collection)):
        with torch.no_grad():
            maps = net.layer(from_uint8(view_pixels(collection, index)), LAYER)[0, CHANNEL]
        every.append((float(maps.max()), index, divmod(int(maps.argmax()), maps.shape[1])))
    best = sorted(every, key=lambda entry: -entry[0])[:6]
    assert [p.index for p in found.patches] == [index for _, index, _ in best]
    assert scores == pytest.approx([score for score, _, _ in best], abs=1e-4)
    assert [p.position for p in found.patches] == [position for _, _, position in best]
    for patch in found.patches:
        assert patch.name == collection.names[patch.index]
        x0, y0, x1, y1 = patch.box
        assert np.array_equal(patch.crop, view_pixels(collection, patch.index)[y0:y1, x0:x1])


def test_receptive_field_is_where_the_unit_looks(net: Network, collection: Collection) -> None:
    rf = receptive_field(net, LAYER)
    assert rf.stride == 8 and 30 < rf.side < 224
    pixels = from_uint8(view_pixels(collection, 0))
    row, col = rf.centre
    x0, y0, x1, y1 = rf.box
    with torch.no_grad():
        base = net.layer(pixels, LAYER)[0, :, row, col]
        outside = pixels.clone()
        keep = torch.zeros_like(outside, dtype=torch.bool)
        keep[:, :, y0:y1, x0:x1] = True
        outside[~keep] = 1.0 - outside[~keep]
        inside = pixels.clone()
        inside[:, :, y0:y1, x0:x1] = 1.0 - inside[:, :, y0:y1, x0:x1]
        assert torch.allclose(net.layer(outside, LAYER)[0, :, row, col], base, atol=1e-5)
        assert not torch.allclose(net.layer(inside, LAYER)[0, :, row, col], base, atol=1e-2)


def test_bad_channel_is_refused(net: Network, collection: Collection) -> None:
    with pytest.raises(ValueError, match="has 32 channels"):
        top_patches(net, collection.subset([0, 1]), LAYER, 99)
