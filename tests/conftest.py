"""Shared fixtures: the real data folder and a per-test cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from core.config import data_root
from core.images import open_image
from core.models import load_model


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    assert root.is_dir(), f"the shared data folder is missing: {root} (set HIDESEEK_DATA)"
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read or write the user's cache."""
    monkeypatch.setenv("HIDESEEK_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def panda(data_dir: Path) -> Image.Image:
    """The classic adversarial-example photo: a real ImageNet giant panda."""
    return open_image(data_dir / "imagenet_samples" / "images" / "n02510455_giant_panda.JPEG")


@pytest.fixture(scope="module")
def mobilenet() -> torch.nn.Module:
    return load_model("mobilenet_v2").model
