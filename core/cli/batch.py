"""``python -m core batch cloak|embed DIR --out OUT``: the single-photo commands over whole folders, on a local
process pool (default) or on Ray (``--engine ray``, ``--address`` for an existing cluster); resumable, one output
and one manifest row per input. Exit 0 when every input was done, 1 when some were not (each has its row)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.batch.engines import ENGINES, EngineOptions
from core.batch.jobs import EMBED_MODELS, CloakJob, EmbedJob
from core.batch.run import run_batch
from core.cli import CliError, print_json
from core.cli.cloak import add_cloak_options, cloak_settings
from core.models import ModelUnavailable, availability


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("batch", help="cloak or embed whole folders, locally or on a Ray cluster")
    jobs = parser.add_subparsers(dest="batch_command", required=True)

    cloak = jobs.add_parser("cloak", help="one cloaked PNG per photo (the options of `cloak`)")
    _common(cloak)
    add_cloak_options(cloak)
    cloak.set_defaults(func=run_cloak)

    embed = jobs.add_parser("embed", help="one .npz of embeddings per photo (faces, or the image grid's vector)")
    _common(embed)
    embed.add_argument(
        "--model", required=True, choices=EMBED_MODELS, help="a face recognizer, or mobilenet_v2 for the image grid"
    )
    embed.set_defaults(func=run_embed)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="DIR", help="every file under it is an input")
    parser.add_argument("--out", type=Path, required=True, help="outputs and manifest.jsonl (re-run to resume)")
    parser.add_argument("--engine", choices=ENGINES, default="local", help="local process pool, or Ray Data")
    parser.add_argument("--workers", type=int, help="worker processes / Ray actors (default: one per core)")
    parser.add_argument("--batch-size", type=int, help="inputs per task (default: cloak 1, faces 16, grid 32)")
    parser.add_argument("--address", help="Ray: the cluster to join (e.g. ray://head:10001 or auto)")
    parser.add_argument("--cpus-per-worker", type=float, default=1.0, help="Ray: CPUs per actor (its torch threads)")
    parser.add_argument("--gpus-per-worker", type=float, default=0.0, help="Ray: GPUs reserved per actor")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run_cloak(args: argparse.Namespace) -> int:
    return _run(CloakJob(cloak_settings(args)), args)


def run_embed(args: argparse.Namespace) -> int:
    available, reason = availability(args.model)
    if not available:
        raise ModelUnavailable(f"{args.model}: {reason}")
    return _run(EmbedJob(args.model), args)


def _run(job, args: argparse.Namespace) -> int:
    _check_engine(args)
    options = EngineOptions(
        engine=args.engine,
        workers=args.workers,
        batch_size=args.batch_size,
        address=args.address,
        cpus_per_worker=args.cpus_per_worker,
        gpus_per_worker=args.gpus_per_worker,
    )
    summary = run_batch(job, args.folder, args.out, options, show_progress=not args.no_progress)
    if args.json:
        print_json(summary)
    else:
        print(_text(summary))
    return 0 if summary["done"] == summary["inputs"] else 1


def _check_engine(args: argparse.Namespace) -> None:
    for option in ("workers", "batch_size"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise CliError(f"--{option.replace('_', '-')} must be at least 1, got {value}")
    if args.cpus_per_worker <= 0 or args.gpus_per_worker < 0:
        raise CliError("--cpus-per-worker must be above 0 and --gpus-per-worker at least 0")
    if args.engine == "local" and (args.address or args.gpus_per_worker or args.cpus_per_worker != 1.0):
        raise CliError("--address, --cpus-per-worker and --gpus-per-worker are Ray options: add --engine ray")


def _text(summary: dict) -> str:
    lines = [
        f"{summary['inputs']} inputs: {summary['done']} done, {summary['no_face']} no face, {summary['unreadable']}"
        f" unreadable, {summary['failed']} failed ({summary['skipped_already_finished']} finished before this run)",
        f"{summary['processed']} processed in {summary['seconds']} s by {summary['workers_used']} {summary['engine']}"
        f" worker(s) ({summary['items_per_second']} per second); manifest: {summary['manifest']}",
    ]
    lines += [f"  {row['input']}: {row['status']}: {row['reason']}" for row in summary["problems"]]
    return "\n".join(lines)
