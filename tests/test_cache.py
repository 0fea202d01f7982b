"""The on-disk array cache computes once, survives torn files and never pickles; the in-memory result cache is
shared, bounded and computes a key once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from core.cache import ResultCache, _array_path, approximate_size, cached_array, content_hash, pixels_hash


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


def test_result_cache_computes_a_key_once_when_two_visitors_ask_at_the_same_time() -> None:
    cache, calls, waited = ResultCache(), [], []
    started = threading.Event()

    def slow() -> bytes:
        calls.append(1)
        started.set()
        time.sleep(0.3)
        return b"cloak"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get_or_compute, "key", slow)
        started.wait(5)
        second = pool.submit(cache.get_or_compute, "key", slow, lambda: waited.append(1))
        assert first.result() == second.result() == b"cloak"
    assert len(calls) == 1 and waited == [1]  # the second visitor was told it waits for the first's job


def test_result_cache_is_bounded_by_entries_and_bytes_and_evicts_the_least_recently_used() -> None:
    cache = ResultCache(max_entries=3, max_bytes=10_000)
    for key in "abc":
        cache.get_or_compute(key, lambda: b"x" * 1000)
    cache.get("a")  # a is now the most recently used
    cache.get_or_compute("d", lambda: b"x" * 1000)
    assert len(cache) == 3 and cache.get("b") is None and cache.get("a") is not None
    cache.get_or_compute("big", lambda: b"x" * 9_500)
    assert cache.nbytes <= 10_000 and cache.get("big") is not None
    assert cache.get_or_compute("huge", lambda: b"x" * 20_000) == b"x" * 20_000  # returned, never kept
    assert cache.get("huge") is None and cache.nbytes <= 10_000


def test_result_cache_does_not_keep_failures() -> None:
    cache = ResultCache()

    def fail() -> bytes:
        raise ValueError("no face found in the photo")

    with pytest.raises(ValueError, match="no face"):
        cache.get_or_compute("key", fail)
    assert cache.get("key") is None and cache.get_or_compute("key", lambda: b"ok") == b"ok"


def test_approximate_size_counts_what_a_result_holds() -> None:
    report = {"png": b"x" * 5000, "pixels": np.zeros((10, 10, 3), np.uint8), "rows": [{"ssim": 0.9}] * 3}
    assert 5300 <= approximate_size(report) <= 8000


def test_result_cache_drops_results_older_than_max_age_however_often_they_are_used() -> None:
    now = [0.0]
    cache = ResultCache(max_entries=8, max_age=3600.0, clock=lambda: now[0])
    cache.get_or_compute("old", lambda: "a")
    now[0] = 1800.0
    cache.get_or_compute("new", lambda: "b")
    now[0] = 3599.0
    assert cache.get("old") == "a"  # used just now: still its age that counts
    now[0] = 3601.0
    assert cache.get("old") is None and cache.get("new") == "b" and len(cache) == 1
    now[0] = 5401.0
    assert len(cache) == 0 and cache.nbytes == 0


def test_public_mode_keeps_nothing_on_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIDESEEK_PUBLIC", "1")
    calls = []
    for _ in range(2):
        cached_array("public-test", "k", lambda: calls.append(1) or np.arange(3))
    assert len(calls) == 2 and not _array_path("public-test", "k").exists()
