"""``python -m core models``: the model table (availability, source, hash check, load time, license)."""

from __future__ import annotations

import argparse

from core.cli import print_json
from core.models import model_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models", help="list the models, whether their real weights are available, and why not"
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--no-load", action="store_true", help="only check files and hashes, do not build the models")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = model_table(load=not args.no_load)
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        status = "available" if row["available"] else f"UNAVAILABLE: {row['reason']}"
        timing = f"  load {row['load_seconds']}s, {row['size_mb']} MB" if row["load_seconds"] is not None else ""
        print(f"{row['name']:<18} {status}{timing}\n{'':<18} {row['source']} | {row['license']}")
    return 0
