"""Where data, caches and models live, and the rule that keeps server-side paths inside data roots."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
MODELS_DIR = ASSETS_DIR / "models"


def data_root() -> Path:
    """The demo/test data folder: $HIDESEEK_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("HIDESEEK_DATA")
    return Path(env).expanduser().resolve() if env else (REPO_ROOT.parent / "shared" / "data").resolve()


def data_roots() -> list[Path]:
    """Every folder the dashboard may read server-side: the data root plus $HIDESEEK_EXTRA_ROOTS (os.pathsep list)."""
    roots = [data_root()]
    extra = os.environ.get("HIDESEEK_EXTRA_ROOTS", "")
    roots += [Path(p).expanduser().resolve() for p in extra.split(os.pathsep) if p]
    return roots


def cache_dir() -> Path:
    """On-disk cache for embeddings and other content-hashed results: $HIDESEEK_CACHE or ~/.cache/hideseek."""
    env = os.environ.get("HIDESEEK_CACHE")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "hideseek"
    path.mkdir(parents=True, exist_ok=True)
    return path


class PathNotAllowed(ValueError):
    """A server-side path outside the configured data roots."""


def resolve_data_path(path: str | Path) -> Path:
    """Resolve a user-given server-side path (relative paths are taken from the data root) and refuse it unless it
    lies inside one of the data roots, so a dashboard user cannot browse the server's file system."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = data_root() / candidate
    resolved = candidate.resolve()
    for root in data_roots():
        if resolved == root or root in resolved.parents:
            if not resolved.exists():
                raise PathNotAllowed(f"{path}: no such file or folder under the data root {root}")
            return resolved
    roots = ", ".join(str(r) for r in data_roots())
    raise PathNotAllowed(f"{path}: outside the configured data roots ({roots}); set HIDESEEK_EXTRA_ROOTS to allow it")
