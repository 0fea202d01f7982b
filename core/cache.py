"""The one cache layer for expensive results: content hashes and a pickle-free on-disk array store."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from core.config import cache_dir


def content_hash(data: bytes | Path | str) -> str:
    """sha256 of bytes, or of a file's contents (streamed)."""
    digest = hashlib.sha256()
    if isinstance(data, bytes):
        digest.update(data)
    else:
        with open(data, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def pixels_hash(image: Image.Image | np.ndarray) -> str:
    """Hash of decoded pixels and their shape, not of the file: the same picture in another container (or re-saved)
    hits the same cache entry, and equal bytes in another shape do not."""
    pixels = np.ascontiguousarray(np.asarray(image))
    return content_hash(f"{pixels.shape}".encode() + pixels.tobytes())


def cached_array(namespace: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Return the array stored under (namespace, key), computing and saving it (as .npy, no pickle) on a miss."""
    path = _array_path(namespace, key)
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # a torn write from an interrupted run: recompute
    value = np.asarray(compute())
    _save_atomically(path, value)
    return value


def _save_atomically(path: Path, value: np.ndarray) -> None:
    """Write through a temporary file of this writer's own, so concurrent writers (sessions, processes) never clash."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as fh:
            np.save(fh, value, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _array_path(namespace: str, key: str) -> Path:
    folder = cache_dir() / namespace
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npy"
