"""The on-disk array cache computes once, survives torn files and never pickles."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from core.cache import _array_path, cached_array, content_hash, pixels_hash


def test_second_call_is_served_from_disk() -> None:
    calls = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(2, 3)

    first = cached_array("test", "key-a", compute)
    second = cached_array("test", "key-a", compute)
    assert len(calls) == 1 and np.array_equal(first, second) and second.dtype == np.float32


def test_torn_cache_file_is_recomputed() -> None:
    _array_path("test", "key-b").write_bytes(b"not an npy file")
    assert cached_array("test", "key-b", lambda: np.ones(3)).tolist() == [1.0, 1.0, 1.0]


def test_content_hash_of_bytes_and_file_agree(tmp_path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"hide and seek")
    assert content_hash(path) == content_hash(b"hide and seek")


def test_concurrent_writers_of_one_key_all_succeed() -> None:
    """Sessions or training processes that miss the same key at once each write their own temporary file."""
    writers = 8
    barrier = threading.Barrier(writers)
    key = f"key-concurrent-{time.time_ns()}"

    def compute() -> np.ndarray:
        barrier.wait(timeout=10)  # everyone misses the cache, then everyone writes
        return np.ones((256, 256), np.float32)

    with ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(lambda _: cached_array("test", key, compute), range(writers)))
    assert all(np.array_equal(r, np.ones((256, 256))) for r in results)
    assert not list(_array_path("test", key).parent.glob("*.tmp"))


def test_pixels_hash_follows_pixels_not_containers() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    assert pixels_hash(Image.fromarray(pixels)) == pixels_hash(pixels.copy())
    assert pixels_hash(pixels.reshape(8, 6, 3)) != pixels_hash(pixels)  # same bytes, another picture
    changed = pixels.copy()
    changed[0, 0, 0] ^= 1
    assert pixels_hash(changed) != pixels_hash(pixels)
