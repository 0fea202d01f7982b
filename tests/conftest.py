"""Shared fixtures: the real data folder and a per-test cache directory."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable
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


@pytest.fixture
def linked_root(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data root (HIDESEEK_DATA) of real images in cifar10/<class>/ and faces/<person>/, with links planted in it:
    to a file and to a folder outside the root (to be refused), to a file inside it and back up to cifar10/ itself
    (a cycle). The files outside are real photos too, so reading them would succeed."""
    root, outside = tmp_path / "data", tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    shutil.copy(data_dir / "cifar10" / "ship" / "0000.jpg", outside / "secret.jpg")
    shutil.copy(data_dir / "cifar10" / "ship" / "0001.jpg", outside / "sub" / "ship.jpg")
    for label in ("cat", "dog"):
        (root / "cifar10" / label).mkdir(parents=True)
        for path in sorted((data_dir / "cifar10" / label).glob("*.jpg"))[:3]:
            shutil.copy(path, root / "cifar10" / label / path.name)
    (root / "cifar10" / "cat" / "secret.jpg").symlink_to(outside / "secret.jpg")
    (root / "cifar10" / "ships").symlink_to(outside / "sub")
    (root / "cifar10" / "dog" / "alias.jpg").symlink_to(root / "cifar10" / "dog" / "0000.jpg")
    (root / "cifar10" / "dog" / "loop").symlink_to(root / "cifar10")
    (root / "faces" / "Colin_Powell").mkdir(parents=True)
    for path in sorted((data_dir / "faces" / "Colin_Powell").glob("*.jpg"))[:2]:
        shutil.copy(path, root / "faces" / "Colin_Powell" / path.name)
    (root / "faces" / "Colin_Powell" / "secret.jpg").symlink_to(outside / "secret.jpg")
    (root / "faces" / "Stranger").symlink_to(outside / "sub")
    monkeypatch.setenv("HIDESEEK_DATA", str(root))
    monkeypatch.delenv("HIDESEEK_EXTRA_ROOTS", raising=False)
    return root


def _zeros_zip(name: str, megabytes: int) -> bytes:
    """A zip of one member ``name`` of ``megabytes`` MB of zeros, written in 1 MB chunks: a real, highly compressed
    zip bomb (about 4.6 KB per MB at compresslevel 1)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zipped,
        zipped.open(name, "w") as member,
    ):
        chunk = bytes(1 << 20)
        for _ in range(megabytes):
            member.write(chunk)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def zeros_zip() -> Callable[[str, int], bytes]:
    return _zeros_zip


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """The whole suite runs torch at one thread, as the heavy-job queue gives each job on this 2-core machine: figures
    do not move with the machine's core count, and references computed here match what one-thread workers (the
    batch engines' processes and Ray actors) compute, bit for bit."""
    torch.set_num_threads(1)
