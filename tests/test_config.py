"""Server-side paths stay inside the configured data roots."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import PathNotAllowed, data_root, resolve_data_path


def test_relative_paths_resolve_under_the_data_root(data_dir: Path) -> None:
    assert resolve_data_path("faces") == data_dir / "faces"


@pytest.mark.parametrize("path", ["/etc", "../../..", "faces/../../.."])
def test_paths_outside_the_roots_are_refused(path: str) -> None:
    with pytest.raises(PathNotAllowed, match="outside the configured data roots"):
        resolve_data_path(path)


def test_missing_folder_inside_the_root_says_so() -> None:
    with pytest.raises(PathNotAllowed, match="no such file"):
        resolve_data_path("no_such_folder")


def test_extra_roots_are_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIDESEEK_EXTRA_ROOTS", str(tmp_path))
    assert resolve_data_path(tmp_path) == tmp_path.resolve()
    assert data_root() != tmp_path
