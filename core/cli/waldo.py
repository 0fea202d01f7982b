"""``python -m core waldo train|find|eval``: train the Waldo detector, find Waldo on pages, score it on annotated pages."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from core.cli import CliError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("waldo", help="find Waldo: train, find on pages, evaluate on annotated pages")
    actions = parser.add_subparsers(dest="waldo_command", required=True)

    train = actions.add_parser("train", help="train the Mask R-CNN on real pages (training split) + synthetic crowds")
    train.add_argument("--data", type=Path, help="folder with annotations.json and pages/ (omit: synthetic only)")
    train.add_argument("--out", type=Path, required=True, help="where to write the fp16 state dict")
    train.add_argument("--iterations", type=int, default=3000)
    train.add_argument("--batch", type=int, default=4, help="tiles per step")
    train.add_argument("--tile", type=int, default=256, help="tile side in page pixels")
    train.add_argument("--lr", type=float, default=0.02)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--checkpoint-every", type=int, default=250)
    train.add_argument("--resume", action="store_true", help="continue from OUT.train.pt")
    train.add_argument("--threads", type=int, help="torch CPU threads (1 is fastest on a busy shared machine)")
    train.set_defaults(func=run_train)


def _threads(count: int | None) -> None:
    if count:
        torch.set_num_threads(count)


def run_train(args: argparse.Namespace) -> int:
    from core.waldo.train import train

    if args.data is not None and not (args.data / "annotations.json").is_file():
        raise CliError(f"{args.data}: no annotations.json there")
    if args.iterations < 1 or args.batch < 1 or args.tile < 64:
        raise CliError("--iterations and --batch must be positive and --tile at least 64")
    _threads(args.threads)
    out = train(
        args.data,
        args.out,
        iterations=args.iterations,
        batch=args.batch,
        tile=args.tile,
        lr=args.lr,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
    )
    print(f"wrote {out} and {out.with_suffix('.losses.csv')}")
    return 0
