"""Server-side paths stay inside the configured data roots."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from core.config import PathNotAllowed, data_root, folder_files, inside_data_roots, resolve_data_path
from core.images import IMAGE_SUFFIXES


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


def test_folder_files_follow_links_inside_the_roots_and_refuse_the_others(linked_root: Path) -> None:
    listing = folder_files(linked_root / "cifar10", IMAGE_SUFFIXES)
    names = [relative.as_posix() for relative, _ in listing.files]
    assert names == [*(f"cat/000{i}.jpg" for i in range(3)), *(f"dog/000{i}.jpg" for i in range(3)), "dog/alias.jpg"]
    assert all(inside_data_roots(path) and not path.is_symlink() for _, path in listing.files)
    assert dict(listing.files)[PurePosixPath("dog/alias.jpg")] == linked_root / "cifar10" / "dog" / "0000.jpg"
    assert listing.refused == [
        ("cat/secret.jpg", "a link to a file outside the data roots"),
        ("ships", "a link to a folder outside the data roots"),
    ]  # and dog/loop, a link back up to cifar10/, is not walked again
    assert listing.reasons[0] == "cat/secret.jpg: a link to a file outside the data roots"


def test_folder_files_unconfined_and_by_depth(linked_root: Path) -> None:
    everything = folder_files(linked_root / "cifar10", IMAGE_SUFFIXES, confine=False)
    assert {"cat/secret.jpg", "ships/ship.jpg"} <= {r.as_posix() for r, _ in everything.files}
    assert not everything.refused
    assert folder_files(linked_root / "cifar10", IMAGE_SUFFIXES, depth=0).files == []
    outside = folder_files(linked_root.parent / "outside", IMAGE_SUFFIXES)
    assert outside.files == [] and outside.refused[0][1] == "outside the configured data roots"
