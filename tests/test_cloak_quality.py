"""Image-quality metrics on a region: exact values on constructed changes of a real photo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage import data

from core.cloak.quality import amplified_difference, region_quality


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return data.astronaut()[:200, :200]


def test_unchanged_image_is_perfect(photo) -> None:
    quality = region_quality(photo, photo.copy())
    assert quality.ssim == 1.0 and quality.dssim == 0.0 and quality.linf == 0.0 and math.isinf(quality.psnr)


def test_sign_noise_has_the_expected_psnr_linf_and_l2(photo) -> None:
    rng = np.random.default_rng(0)
    base = np.clip(photo.astype(np.int16), 8, 247)
    noisy = base + rng.choice([-8, 8], size=base.shape)
    quality = region_quality(base.astype(np.uint8), noisy.astype(np.uint8))
    assert quality.linf == 8
    assert quality.psnr == pytest.approx(20 * math.log10(255 / 8), abs=1e-6)
    assert quality.l2 == pytest.approx(8 / 255 * math.sqrt(base.size), rel=1e-6)
    assert quality.dssim == pytest.approx((1 - quality.ssim) / 2)
    assert 0.5 < quality.ssim < 0.99


def test_region_only_sees_changes_inside_the_box(photo) -> None:
    changed = photo.copy()
    changed[150:, 150:] = 0
    assert region_quality(photo, changed, np.array([0, 0, 100, 100])).linf == 0
    assert region_quality(photo, changed, np.array([100, 100, 200, 200])).linf > 0


def test_bad_regions_and_sizes_raise_clear_errors(photo) -> None:
    with pytest.raises(ValueError, match="outside"):
        region_quality(photo, photo, np.array([300, 300, 400, 400]))
    with pytest.raises(ValueError, match="differ in size"):
        region_quality(photo, photo[:100])


def test_amplified_difference_is_grey_where_nothing_changed(photo) -> None:
    changed = photo.copy()
    changed[:10] = np.clip(photo[:10].astype(int) + 3, 0, 255)
    view = amplified_difference(photo, changed, gain=10)
    assert (view[50:] == 128).all()
    assert view[:10].mean() > 140
