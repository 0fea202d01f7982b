"""Streamlit glue shared by the pages: the one place models are cached, and uniform error display.

Pages stay thin: they call ``core`` for every computation and use these helpers for caching and errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import TypeVar

import streamlit as st
from PIL import Image

from core import models, progress
from core.cache import ResultCache
from core.config import PathNotAllowed, limits, public_mode, resolve_data_path
from core.images import ImageError, open_image
from core.scheduler import HeavyJobs, configure_threads, rate_wait
from core.text import hide_paths


@st.cache_resource(show_spinner="Loading model weights…")
def load_model(name: str) -> models.LoadedModel:
    """Each model is built once per server process; raises ModelUnavailable (not cached) when it cannot load."""
    return models.load_model(name)


T = TypeVar("T")
RESULTS_MAX_ENTRIES, RESULTS_MAX_BYTES = 4096, 1 << 30  # the byte bound is the one that binds
_MISSING = object()
DECODED_MAX_AGE = 3600.0  # seconds a decoded upload stays in Streamlit's cache
# What a stage reports while it runs (core.progress): the fraction done (0..1) and a line of text.
Progress = progress.Progress


@st.cache_resource
def results() -> ResultCache:
    """The server's one store of expensive results (attacks, sweeps), shared by every session and bounded."""
    return ResultCache(max_entries=RESULTS_MAX_ENTRIES, max_bytes=RESULTS_MAX_BYTES, max_age=limits().result_max_age)


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
    _count_heavy_job()
    bar = st.progress(0.0, text=label)

    def progress(fraction: float, text: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=text)

    def queued(position: int) -> None:
        bar.progress(0.0, text=_queued(position))

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


def cached_each(stage: str, jobs: list[tuple[Hashable, str, Callable[[], T]]], label: str) -> list[T]:
    """Many small results at once, each cached like ``cached_stage`` under (stage, key): the ones not cached yet run
    under one progress bar in one heavy-job slot, each job a (key, text shown while it runs, compute) triple."""
    store = results()
    values = [store.get((stage, key), _MISSING) for key, _, _ in jobs]
    missing = [index for index, value in enumerate(values) if value is _MISSING]
    if not missing:
        return values
    _count_heavy_job()
    bar = st.progress(0.0, text=label)
    try:
        with heavy_jobs().slot(on_wait=lambda position: bar.progress(0.0, text=_queued(position))):
            for done, index in enumerate(missing):
                key, text, compute = jobs[index]
                bar.progress(done / len(missing), text=f"{label} {done + 1}/{len(missing)}: {text}")
                values[index] = store.get_or_compute((stage, key), compute)
    finally:
        bar.empty()
    return values


def _queued(position: int) -> str:
    return f"Waiting for another visitor's job (position {position} in the queue)…"


def _count_heavy_job() -> None:
    """Public mode's per-visitor rate limit on heavy jobs (results already computed never count): past it, the page
    says when the next job may start and stops there."""
    allowed = limits()
    if allowed.heavy_jobs is None:
        return
    started = st.session_state.setdefault("_heavy_job_starts", [])
    now = time.monotonic()
    wait = rate_wait(started, allowed.heavy_jobs, allowed.window_seconds, now)
    if wait > 0:
        st.error(
            f"This public demo runs at most {allowed.heavy_jobs} new computations per visitor every "
            f"{allowed.window_seconds / 60:.0f} minutes, so that every visitor gets a turn. The next one can start in "
            f"{int(wait // 60)} min {int(wait % 60)} s; results already computed still show."
        )
        st.stop()
    started[:] = [t for t in started if t > now - allowed.window_seconds] + [now]


def error(message: str) -> None:
    """st.error for a message that may quote server paths: public mode cuts them to file names."""
    st.error(hide_paths(message) if public_mode() else message)


def privacy_note() -> str:
    """What happens to an upload, exactly (each sentence is what the code does; see core/config.Limits)."""
    allowed = limits()
    expiry = (
        f"for at most {allowed.result_max_age / 3600:.0f} hour" if allowed.result_max_age else "until it is evicted"
    )
    disk = (
        "Nothing derived from an upload is written to disk."
        if public_mode()
        else "Embeddings, thumbnails and face detections are also kept on this machine's disk cache "
        "(HIDESEEK_CACHE), keyed by content hash, so a second run is fast."
    )
    return (
        "Your uploads stay in this server's memory while your session uses them and are not stored: Streamlit drops "
        "them when you remove them or close the tab. Results computed from them (faces found, embeddings, cloaked "
        f"photos, maps) are kept in memory in a cache shared by all visitors {expiry} and at most "
        f"{RESULTS_MAX_ENTRIES} results ({RESULTS_MAX_BYTES >> 20} MB), keyed by a hash of the content, so only "
        f"someone with the very same file gets them back. Decoded images are kept for at most "
        f"{DECODED_MAX_AGE / 3600:.0f} hour (the last 64). {disk} "
        "Everything is gone when the server restarts. The models run on this server: nothing is sent anywhere else."
    )


def model_or_error(name: str) -> models.LoadedModel | None:
    """The loaded model, or None after showing why it is unavailable."""
    try:
        return load_model(name)
    except models.ModelUnavailable as err:
        error(f"{models.get_spec(name).title} is unavailable: {err}")
        return None


@st.cache_data(show_spinner=False, max_entries=64, ttl=DECODED_MAX_AGE)
def _open_bytes(data: bytes, name: str, max_side: int | None) -> Image.Image:
    return open_image(data, name=name, max_side=max_side)


def open_upload(uploaded, max_side: int | None = None) -> Image.Image | None:
    """Open a ``st.file_uploader`` file (cached by content), downscaled to the mode's upload side unless ``max_side``
    says otherwise; show st.error and return None if it is not an image."""
    try:
        return _open_bytes(uploaded.getvalue(), uploaded.name, max_side or limits().upload_max_side)
    except ImageError as err:
        error(str(err))
        return None


def limited_uploads(files: list) -> list:
    """The first files of a multi-file upload the mode allows, with a warning when some were left out."""
    allowed = limits().upload_max_files
    if len(files) > allowed:
        st.warning(f"{len(files)} files uploaded; this server takes the first {allowed}.")
    return files[:allowed]


def open_uploads(files: Iterable) -> list[tuple[str, Image.Image]]:
    """Open several uploads, listing each unreadable one with st.error and keeping the rest."""
    images = []
    for uploaded in limited_uploads(list(files)):
        image = open_upload(uploaded)
        if image is not None:
            images.append((uploaded.name, image))
    return images


def data_folder(path: str) -> Path | None:
    """Resolve a server-side folder the user typed, only inside the configured data roots; st.error otherwise."""
    try:
        return resolve_data_path(path)
    except PathNotAllowed as err:
        error(str(err))
        return None


def folder_inputs() -> bool:
    """Whether pages may offer server-side folders typed by the visitor (never in public mode)."""
    return not public_mode()
