"""Streamlit glue shared by the pages: the one place models are cached, and uniform error display.

Pages stay thin: they call ``core`` for every computation and use these helpers for caching and errors.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import TypeVar

import streamlit as st
from PIL import Image

from core import models
from core.cache import ResultCache
from core.config import PathNotAllowed, resolve_data_path
from core.images import ImageError, open_image
from core.scheduler import HeavyJobs, configure_threads


@st.cache_resource(show_spinner="Loading model weights…")
def load_model(name: str) -> models.LoadedModel:
    """Each model is built once per server process; raises ModelUnavailable (not cached) when it cannot load."""
    return models.load_model(name)


T = TypeVar("T")
# What a stage reports while it runs: the fraction done (0..1) and a line of text.
Progress = Callable[[float, str], None]


@st.cache_resource
def results() -> ResultCache:
    """The server's one store of expensive results (attacks, sweeps), shared by every session and bounded."""
    return ResultCache(max_entries=64, max_bytes=512 << 20)


@st.cache_resource
def heavy_jobs() -> HeavyJobs:
    """The server's one queue for heavy work; torch gets the threads one job's share of the cores allows."""
    jobs = HeavyJobs()
    configure_threads(jobs)
    return jobs


def cached_stage(stage: str, key: Hashable, compute: Callable[[Progress], T], label: str) -> T:
    """``compute(progress)`` once per (stage, key) for the whole server, its progress drawn in a bar that this call
    creates in the current session. Nothing Streamlit runs inside a cached function, so a second visitor's hit can
    never replay elements into a block of another session (Streamlit's CacheReplayClosureError). ``key`` holds
    content hashes and frozen settings. The computation waits for a slot of the heavy-job queue (its position is
    shown); a visitor asking for a result another visitor is computing waits for that one instead of repeating it."""
    store = results()
    found = store.get((stage, key))
    if found is not None:
        return found
    bar = st.progress(0.0, text=label)

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    def queued(position: int) -> None:
        bar.progress(0.0, text=f"Waiting for another visitor's job (position {position} in the queue)…")

    def run() -> T:
        with heavy_jobs().slot(on_wait=queued):
            bar.progress(0.0, text=label)
            return compute(progress)

    def same_job_running() -> None:
        bar.progress(0.0, text=f"{label} Another visitor is running the same job; waiting for its result…")

    try:
        return store.get_or_compute((stage, key), run, on_wait=same_job_running)
    finally:
        bar.empty()


def model_or_error(name: str) -> models.LoadedModel | None:
    """The loaded model, or None after showing why it is unavailable."""
    try:
        return load_model(name)
    except models.ModelUnavailable as err:
        st.error(f"{models.get_spec(name).title} is unavailable: {err}")
        return None


@st.cache_data(show_spinner=False, max_entries=64)
def _open_bytes(data: bytes, name: str, max_side: int | None) -> Image.Image:
    return open_image(data, name=name, max_side=max_side)


def open_upload(uploaded, max_side: int | None = 4096) -> Image.Image | None:
    """Open a ``st.file_uploader`` file (cached by content); show st.error and return None if it is not an image."""
    try:
        return _open_bytes(uploaded.getvalue(), uploaded.name, max_side)
    except ImageError as err:
        st.error(str(err))
        return None


def open_uploads(files: Iterable) -> list[tuple[str, Image.Image]]:
    """Open several uploads, listing each unreadable one with st.error and keeping the rest."""
    images = []
    for uploaded in files:
        image = open_upload(uploaded)
        if image is not None:
            images.append((uploaded.name, image))
    return images


def data_folder(path: str) -> Path | None:
    """Resolve a server-side folder the user typed, only inside the configured data roots; st.error otherwise."""
    try:
        return resolve_data_path(path)
    except PathNotAllowed as err:
        st.error(str(err))
        return None
