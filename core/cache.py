"""The one cache layer for expensive results: content hashes, a pickle-free on-disk array store, and a bounded
in-memory store of results shared by every visitor of the server (``ResultCache``)."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.config import cache_dir, public_mode


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
    """Return the array stored under (namespace, key), computing and saving it (as .npy, no pickle) on a miss.
    In public mode nothing is written or read: what a stranger's upload yields never reaches the disk."""
    if public_mode():
        return np.asarray(compute())
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


_MISSING = object()


def approximate_size(value: Any) -> int:
    """Bytes a cached result holds, roughly: exact for bytes and arrays, recursive for containers and dataclasses."""
    if isinstance(value, bytes | bytearray | str):
        return len(value)
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, Image.Image):
        return value.width * value.height * len(value.getbands())
    if isinstance(value, dict):
        return sum(approximate_size(k) + approximate_size(v) for k, v in value.items()) + 64
    if isinstance(value, list | tuple | set | frozenset):
        return sum(approximate_size(item) for item in value) + 64
    if is_dataclass(value) and not isinstance(value, type):
        return sum(approximate_size(getattr(value, f.name)) for f in fields(value)) + 64
    return sys.getsizeof(value)


class ResultCache:
    """Expensive results shared by every visitor of one server process, bounded by entries and bytes (least
    recently used evicted first). Two callers of one key compute it once: the second waits for the first and gets
    its result, so simultaneous visitors doing the same thing neither race nor pay twice. A failed computation is
    not cached. Callers must treat results as read-only (they are shared). With ``max_age`` (seconds) a result is
    also dropped that long after it was computed, however often it is used: a public demo's promise that what an
    upload yields is gone within the hour."""

    def __init__(
        self,
        max_entries: int = 64,
        max_bytes: int = 512 << 20,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries, self.max_bytes, self.max_age, self._clock = max_entries, max_bytes, max_age, clock
        self._entries: OrderedDict[Hashable, tuple[Any, int, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    @property
    def nbytes(self) -> int:
        with self._lock:
            self._expire()
            return sum(size for _, size, _ in self._entries.values())

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            self._expire()
            if key not in self._entries:
                return default
            self._entries.move_to_end(key)
            return self._entries[key][0]

    def _expire(self) -> None:
        """Drop results older than ``max_age`` (the caller holds the lock)."""
        if self.max_age is None:
            return
        oldest_allowed = self._clock() - self.max_age
        for key in [k for k, (_, _, made) in self._entries.items() if made < oldest_allowed]:
            del self._entries[key]

    def get_or_compute(
        self, key: Hashable, compute: Callable[[], Any], on_wait: Callable[[], None] | None = None
    ) -> Any:
        """The cached value of ``key``, else ``compute()`` stored under it. ``on_wait`` is called (once) when another
        caller is already computing the same key and this one has to wait for it."""
        with self._lock:
            key_lock = self._computing.setdefault(key, threading.Lock())
        if not key_lock.acquire(blocking=False):
            if on_wait is not None:
                on_wait()
            key_lock.acquire()
        try:
            value = self.get(key, _MISSING)
            if value is _MISSING:
                value = compute()
                self._store(key, value)
            return value
        finally:
            key_lock.release()
            with self._lock:
                if self._computing.get(key) is key_lock and not key_lock.locked():
                    del self._computing[key]

    def _store(self, key: Hashable, value: Any) -> None:
        size = approximate_size(value)
        with self._lock:
            if size > self.max_bytes:
                return  # larger than the whole budget: hand it back without keeping it
            self._entries[key] = (value, size, self._clock())
            self._entries.move_to_end(key)
            self._expire()
            total = sum(s for _, s, _ in self._entries.values())
            while len(self._entries) > self.max_entries or total > self.max_bytes:
                _, (_, evicted, _) = self._entries.popitem(last=False)
                total -= evicted
