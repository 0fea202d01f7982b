"""Command-line dispatcher. Each tool has a module here with ``add_parser(subparsers)`` that sets ``func``.

Handlers return an exit code; user-facing failures (bad images, missing models, wrong paths) raise CliError or
one of the project's user-error types, which main() prints as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from core.config import PathNotAllowed
from core.images import ImageError
from core.models import ModelUnavailable

# Every module in this package is one subcommand: a tool adds its command by adding its module, nothing else.
COMMANDS = sorted(module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_"))


class CliError(RuntimeError):
    """A failure to report to the user as one line, exiting with status 2."""


USER_ERRORS = (CliError, ImageError, ModelUnavailable, PathNotAllowed, FileNotFoundError)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; given a known ``command``, only that tool's module is imported (the others' libraries stay out)."""
    parser = argparse.ArgumentParser(prog="python -m core", description="Hide & Seek command line")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in [command] if command in COMMANDS else COMMANDS:
        importlib.import_module(f"core.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the file system failed mid-run (disk full, a folder removed): still one line
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2


def writable_output(path: Path, option: str = "--out", *, folder: bool) -> Path:
    """The one check of a command's output path, before any slow work: ``folder`` outputs are created if missing,
    file outputs get their parent folder created; either must then be writable. CliError with the reason otherwise
    (an existing file where a folder is expected or the other way round, a read-only file system, no permission)."""
    path = Path(path)
    directory = path if folder else path.parent
    if folder and path.exists() and not path.is_dir():
        raise CliError(f"{option} {path}: exists and is not a folder")
    if not folder and path.is_dir():
        raise CliError(f"{option} {path}: is a folder; give a file name")
    if directory.exists() and not directory.is_dir():
        raise CliError(f"{option} {path}: {directory} is not a folder")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CliError(f"{option} {path}: cannot create the folder {directory} ({err.strerror or err})") from err
    try:  # what counts is writing (os.access says yes to root on a read-only file system): try a scratch file
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as err:
        raise CliError(f"{option} {path}: cannot write there ({err.strerror or err})") from err
    if not folder and path.exists() and not os.access(path, os.W_OK):
        raise CliError(f"{option} {path}: cannot write there (the file is read-only)")
    return path


def print_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON (numpy scalars and paths converted)."""
    print(json.dumps(payload, indent=2, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
