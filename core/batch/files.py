"""What a batch reads and writes: every file of the input folder (a row each, images or not), a stable output name
per input, and writes that never leave a half-written file behind."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.cli import CliError
from core.config import hidden_name

PARTIAL_SUFFIX = ".partial"  # a write in progress; a crashed run's leftovers are removed by the next run


@dataclass(frozen=True)
class Input:
    """One input file: its name relative to the input folder (POSIX), where it is, and its size and modification
    time, which tell a resumed run whether a finished row still describes the file."""

    name: str
    path: Path
    size: int
    mtime_ns: int

    @property
    def label(self) -> str:
        return label_of(self.name)


def label_of(name: str) -> str:
    """The top sub-folder of an input's relative name ("" at the folder's root): its label on the image grid, as
    for a folder collection."""
    parts = PurePosixPath(name).parts
    return parts[0] if len(parts) > 1 else ""


def list_inputs(folder: Path) -> list[Input]:
    """Every regular, non-hidden file under ``folder`` (any suffix: a non-image gets its manifest row too), sorted
    by name. Links to folders are not followed, so a link back up the tree cannot repeat files."""
    root = Path(folder)
    if not root.is_dir():
        raise CliError(f"not a folder: {folder}")
    found = []
    for directory, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith(".") and name != "__MACOSX")
        for name in files:
            path = Path(directory, name)
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if hidden_name(relative) or not path.is_file():
                continue
            stat = path.stat()
            found.append(Input(relative.as_posix(), path, stat.st_size, stat.st_mtime_ns))
    return sorted(found, key=lambda item: PurePosixPath(item.name).parts)


def check_layout(folder: Path, out: Path) -> None:
    """Refuse an output folder that is, holds or lies inside the input folder: a batch never writes into its input,
    and a re-run must not read its own outputs as inputs."""
    source, target = Path(folder).resolve(), Path(out).resolve()
    if source == target or source in target.parents or target in source.parents:
        raise CliError(f"--out {out} overlaps the input folder {folder}; choose a folder outside it")


def output_path(out: Path, name: str, suffix: str) -> Path:
    """``OUT/<input name><suffix>``: the input's relative path, file name and all, so names never collide and a
    re-run finds the same file (``cat/0001.jpg`` -> ``cat/0001.jpg.cloaked.png``)."""
    return Path(out, *PurePosixPath(name).parts[:-1], PurePosixPath(name).name + suffix)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary name beside ``path``, flush it to disk, then rename it over ``path``: a worker
    killed at any moment leaves either the whole file or none (plus a ``.partial`` file the next run removes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_partials(out: Path) -> int:
    """Delete the temporary files of writes that a killed run never finished; how many there were."""
    leftovers = list(Path(out).rglob(f"*{PARTIAL_SUFFIX}"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return len(leftovers)
