"""Where data, caches and models live, and the rule that keeps server-side paths inside data roots."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = REPO_ROOT / "assets"
MODELS_DIR = ASSETS_DIR / "models"


def data_root() -> Path:
    """The demo/test data folder: $HIDESEEK_DATA, else ../shared/data beside the checkout."""
    env = os.environ.get("HIDESEEK_DATA")
    return Path(env).expanduser().resolve() if env else (REPO_ROOT.parent / "shared" / "data").resolve()


def data_roots() -> list[Path]:
    """Every folder the dashboard may read server-side: the data root, the demo pack, and $HIDESEEK_EXTRA_ROOTS
    (an os.pathsep list)."""
    roots = [data_root(), ASSETS_DIR / "demo"]  # the demo pack (core/demo.py) is ours to read
    extra = os.environ.get("HIDESEEK_EXTRA_ROOTS", "")
    roots += [Path(p).expanduser().resolve() for p in extra.split(os.pathsep) if p]
    return roots


def cache_dir() -> Path:
    """On-disk cache for embeddings and other content-hashed results: $HIDESEEK_CACHE or ~/.cache/hideseek."""
    env = os.environ.get("HIDESEEK_CACHE")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "hideseek"
    path.mkdir(parents=True, exist_ok=True)
    return path


PUBLIC_ENV = "HIDESEEK_PUBLIC"


def public_mode() -> bool:
    """HIDESEEK_PUBLIC=1 (the Dockerfile sets it): a hosted demo for strangers. Server-side folders are not offered
    (uploads and the built-in demos only), uploads are smaller, each visitor's heavy jobs are rate-limited, no file
    system path is shown, nothing derived from an upload is written to disk, and shared results expire."""
    return os.environ.get(PUBLIC_ENV, "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class Limits:
    """What one visitor may ask of the server; ``limits()`` picks the set for the current mode."""

    upload_max_side: int  # uploads are downscaled to this long side when opened
    upload_max_files: int  # photos or zip members taken from one multi-file upload
    heavy_jobs: int | None  # heavy jobs one session may start per ``window_seconds`` (None: no limit)
    window_seconds: float
    result_max_age: float | None  # seconds a shared in-memory result lives (None: until evicted)


LOCAL_LIMITS = Limits(
    upload_max_side=4096, upload_max_files=2000, heavy_jobs=None, window_seconds=600.0, result_max_age=None
)
PUBLIC_LIMITS = Limits(
    upload_max_side=2048, upload_max_files=200, heavy_jobs=12, window_seconds=600.0, result_max_age=3600.0
)


def limits() -> Limits:
    return PUBLIC_LIMITS if public_mode() else LOCAL_LIMITS


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


def inside_data_roots(path: Path, roots: list[Path] | None = None) -> bool:
    """Whether ``path``, with every symlink resolved, lies inside one of ``roots`` (default: the data roots)."""
    resolved = Path(path).resolve()
    return any(resolved == root or root in resolved.parents for root in roots or data_roots())


def hidden_name(relative: PurePosixPath) -> bool:
    """Hidden files and folders (``.name``) and macOS resource forks (``__MACOSX``): never listed as content."""
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


@dataclass
class FolderFiles:
    """What a folder holds: (relative POSIX name, resolved path) per file, sorted by name, and the entries that were
    refused as (relative name, why): a link that leads outside the data roots, a folder that cannot be read."""

    files: list[tuple[PurePosixPath, Path]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """One line per refused entry: "name: why"."""
        return [f"{name}: {why}" for name, why in self.refused]


def folder_files(
    folder: str | Path, suffixes: Collection[str], *, depth: int | None = None, confine: bool = True
) -> FolderFiles:
    """The one way to list a folder's files: those whose suffix (lower-cased) is in ``suffixes``, in ``folder`` and
    ``depth`` levels of sub-folders below it (None: every level), hidden entries left out.

    Symlinks are followed and every file is returned as its resolved path, so what is read later is what was checked.
    With ``confine`` (server-side folders) a file or sub-folder that resolves outside the data roots is refused with a
    reason instead, so a link inside the data root cannot expose the rest of the server. ``confine=False`` is for the
    command line, whose user may read any of their own files."""
    root, roots = Path(folder).resolve(), data_roots()
    found = FolderFiles()
    if confine and not inside_data_roots(root, roots):
        found.refused.append((str(folder), "outside the configured data roots"))
        return found
    wanted = {suffix.lower() for suffix in suffixes}
    visited: set[Path] = set()

    def walk(directory: Path, relative: PurePosixPath, level: int) -> None:
        visited.add(directory)
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as err:
            where = relative.as_posix() if relative.parts else str(folder)
            found.refused.append((where, f"cannot read this folder ({err.strerror or err})"))
            return
        for entry in entries:
            name = relative / entry.name
            if hidden_name(name):
                continue
            target = Path(entry.path).resolve()
            is_dir = target.is_dir()
            if not is_dir and (Path(entry.name).suffix.lower() not in wanted or not target.is_file()):
                continue
            if is_dir and (target in visited or (depth is not None and level >= depth)):
                continue  # a link back up the tree, or deeper than asked
            if confine and not inside_data_roots(target, roots):
                kind = "folder" if is_dir else "file"
                found.refused.append((name.as_posix(), f"a link to a {kind} outside the data roots"))
            elif is_dir:
                walk(target, name, level + 1)
            else:
                found.files.append((name, target))

    walk(root, PurePosixPath(), 0)
    found.files.sort(key=lambda pair: pair[0].parts)
    return found
