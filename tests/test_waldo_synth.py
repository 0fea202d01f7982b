"""The synthetic crowd generator: deterministic, and Waldo's mask is exactly the pixels of him that were drawn."""

from __future__ import annotations

import numpy as np
import pytest

from core.waldo.synth import WALDO_BLUE, WALDO_RED, make_page


def _near(image: np.ndarray, colour, tolerance: int = 30) -> np.ndarray:
    return (np.abs(image.astype(int) - np.asarray(colour)) <= tolerance).all(-1)


@pytest.mark.parametrize("seed", [0, 11, 2024])
def test_mask_is_exactly_what_waldo_changed_on_the_page(seed: int) -> None:
    with_waldo = make_page(seed, (320, 416))
    without = make_page(seed, (320, 416), waldo=False)
    changed = (with_waldo.image != without.image).any(-1)
    mask = with_waldo.waldo_mask
    assert not (changed & ~mask).any(), "pixels outside the mask changed"
    assert changed[mask].mean() > 0.9, "the mask claims pixels Waldo did not paint"
    x0, y0, x1, y1 = with_waldo.waldo_box
    ys, xs = np.nonzero(mask)
    assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_waldo_wears_red_stripes_and_blue_trousers() -> None:
    page = make_page(5, (320, 416))
    waldo_pixels = page.image[page.waldo_mask]
    assert _near(waldo_pixels, WALDO_RED).sum() >= 10
    assert _near(waldo_pixels, WALDO_BLUE).sum() >= 5


def test_pages_are_deterministic_with_decoys_in_waldos_colours() -> None:
    first, again, other = make_page(3, (256, 256)), make_page(3, (256, 256)), make_page(4, (256, 256))
    assert np.array_equal(first.image, again.image) and np.array_equal(first.waldo_mask, again.waldo_mask)
    assert not np.array_equal(first.image, other.image)
    big = make_page(1, (768, 1024), waldo=False)
    assert big.waldo_mask is None and big.boxes.shape == (0, 4)
    assert _near(big.image, WALDO_RED, 12).sum() > 500  # striped decoys and awnings in Waldo's red
