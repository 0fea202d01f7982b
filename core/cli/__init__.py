"""Command-line dispatcher. Each tool has a module here with ``add_parser(subparsers)`` that sets ``func``.

Handlers return an exit code; user-facing failures (bad images, missing models, wrong paths) raise CliError or
one of the project's user-error types, which main() prints as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from core.config import PathNotAllowed
from core.images import ImageError
from core.models import ModelUnavailable

COMMANDS = ["models", "grid", "waldo", "attribute", "faces", "cloak"]  # each tool appends its subcommand module here


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


def print_json(payload: Any) -> None:
    """Print ``payload`` as indented JSON (numpy scalars and paths converted)."""
    print(json.dumps(payload, indent=2, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
