"""Short test videos made from one real photo: a camera that pans and zooms over it, every frame degraded the way
cheap video is (downscaled, noisy, JPEG-compressed at a varying low quality), then encoded as H.264 mp4.

The demo data has no video; this is how the video pipeline is tested and measured on real faces. Degradation varies
per frame, so single frames disagree and averaging over a track has something to fix.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image

from core.images import to_rgb


@dataclass(frozen=True)
class VideoRecipe:
    """How a test video is made (frozen: also a cache key). Zoom 1 shows the photo's largest centred square;
    ``pan`` moves the crop centre by that fraction of the photo's short side, from one corner to the other."""

    seconds: float = 3.0
    fps: int = 8
    size: int = 160
    zoom: tuple[float, float] = (1.0, 1.5)
    pan: float = 0.08
    blur_scale: float = 0.25  # each frame is shrunk to this fraction and enlarged back (soft, low-resolution look)
    noise: float = 6.0  # grey levels of Gaussian sensor noise
    jpeg_quality: tuple[int, int] = (5, 20)  # drawn per frame
    seed: int = 0


def camera_frames(photo: Image.Image, recipe: VideoRecipe = VideoRecipe()) -> list[Image.Image]:
    """The degraded frames of the pan and zoom, each ``recipe.size`` square."""
    photo = to_rgb(photo)
    rng = np.random.default_rng(recipe.seed)
    count = max(1, round(recipe.seconds * recipe.fps))
    short = min(photo.size)
    frames = []
    for step in np.linspace(0.0, 1.0, count):
        zoom = recipe.zoom[0] + (recipe.zoom[1] - recipe.zoom[0]) * step
        half = short / zoom / 2
        shift = (step - 0.5) * recipe.pan * short
        cx, cy = photo.width / 2 + shift, photo.height / 2 + shift * 0.5
        crop = photo.crop((cx - half, cy - half, cx + half, cy + half)).resize(
            (recipe.size, recipe.size), Image.Resampling.BILINEAR
        )
        frames.append(_degrade(crop, recipe, rng))
    return frames


def _degrade(frame: Image.Image, recipe: VideoRecipe, rng: np.random.Generator) -> Image.Image:
    small = max(8, round(recipe.size * recipe.blur_scale))
    frame = frame.resize((small, small), Image.Resampling.BOX).resize(frame.size, Image.Resampling.BILINEAR)
    pixels = np.asarray(frame, dtype=np.float64) + rng.normal(0.0, recipe.noise, (*frame.size[::-1], 3))
    buffer = io.BytesIO()
    quality = int(rng.integers(recipe.jpeg_quality[0], recipe.jpeg_quality[1] + 1))
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    return Image.open(buffer).convert("RGB")


def encode_mp4(frames: list[Image.Image], fps: int) -> bytes:
    """H.264 mp4 bytes of the frames, the same bytes on every run (PyAV's own ffmpeg; no system ffmpeg needed)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        # Reproducible bytes: with B-frames x264 gave different bytes on each run, and its thread count follows the
        # machine's cores.
        stream = container.add_stream("libx264", rate=fps, options={"threads": "1", "bf": "0"})
        stream.width, stream.height = frames[0].size
        stream.pix_fmt = "yuv420p"
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_image(frame)
            picture.pts = index
            container.mux(stream.encode(picture))
        container.mux(stream.encode())
    return buffer.getvalue()


def pan_zoom_video(photo: Image.Image, recipe: VideoRecipe = VideoRecipe()) -> bytes:
    """A test video (mp4 bytes) of ``photo``: pan and zoom, per-frame degradation, H.264."""
    return encode_mp4(camera_frames(photo, recipe), recipe.fps)
