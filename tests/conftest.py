"""Shared fixtures: the real data folder and a per-test cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import data_root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    assert root.is_dir(), f"the shared data folder is missing: {root} (set HIDESEEK_DATA)"
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read or write the user's cache."""
    monkeypatch.setenv("HIDESEEK_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
