"""Image quality of a cloak, measured where it lives (the face region): PSNR, SSIM, DSSIM, L-inf and L2.

DSSIM = (1 - SSIM) / 2 is the perceptual budget Fawkes uses; L-inf is in grey levels (the attack's eps units) and
L2 is the Euclidean norm of the change on the 0..1 scale, the convention of the adversarial-examples literature.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


@dataclass(frozen=True)
class Quality:
    psnr: float
    ssim: float
    dssim: float
    linf: float
    l2: float

    def as_dict(self) -> dict[str, float]:
        return {key: round(value, 4) for key, value in asdict(self).items()}


def region_quality(original: np.ndarray, changed: np.ndarray, box: np.ndarray | None = None) -> Quality:
    """Quality of ``changed`` against ``original`` (HxWx3 uint8) inside ``box`` (x0,y0,x1,y1; whole image if None)."""
    if original.shape != changed.shape:
        raise ValueError(f"images differ in size: {original.shape} vs {changed.shape}")
    a, b = _crop(original, box), _crop(changed, box)
    difference = b.astype(np.float64) - a.astype(np.float64)
    linf = float(np.abs(difference).max()) if difference.size else 0.0
    if linf == 0:
        return Quality(psnr=float("inf"), ssim=1.0, dssim=0.0, linf=0.0, l2=0.0)
    win = min(7, *a.shape[:2])
    win -= 1 - win % 2  # SSIM needs an odd window no larger than the region
    ssim = float(structural_similarity(a, b, channel_axis=2, data_range=255, win_size=win))
    return Quality(
        psnr=float(peak_signal_noise_ratio(a, b, data_range=255)),
        ssim=ssim,
        dssim=(1 - ssim) / 2,
        linf=linf,
        l2=float(np.linalg.norm(difference / 255.0)),
    )


def _crop(image: np.ndarray, box: np.ndarray | None) -> np.ndarray:
    if box is None:
        return image
    height, width = image.shape[:2]
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"the region {list(box)} lies outside the {width}x{height} image")
    return image[y0:y1, x0:x1]


def amplified_difference(original: np.ndarray, changed: np.ndarray, gain: float = 10.0) -> np.ndarray:
    """HxWx3 uint8 view of the change: mid-grey where nothing changed, +-``gain`` times the change elsewhere."""
    difference = changed.astype(np.float64) - original.astype(np.float64)
    return np.clip(128 + gain * difference, 0, 255).round().astype(np.uint8)
