"""Streamlit glue shared by the pages: the one place models are cached, and uniform error display.

Pages stay thin: they call ``core`` for every computation and use these helpers for caching and errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import streamlit as st
from PIL import Image

from core import models
from core.config import PathNotAllowed, resolve_data_path
from core.images import ImageError, open_image


@st.cache_resource(show_spinner="Loading model weights…")
def load_model(name: str) -> models.LoadedModel:
    """Each model is built once per server process; raises ModelUnavailable (not cached) when it cannot load."""
    return models.load_model(name)


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
