"""``python -m core grid``: embed a collection, map it to 2-D, snap it to a grid, write the mosaic, report numbers."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from core.batch.results import embedded_collection
from core.cli import CliError, print_json, writable_output
from core.grid import build_grid, layout_table, mosaic, png_bytes
from core.grid.collections import DATASETS, from_folder, load_dataset
from core.grid.reduce import REDUCERS
from core.models import load_model


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("grid", help="lay out an image collection on a grid, similar images side by side")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("folder", nargs="?", help="image folder inside the data roots (sub-folders become labels)")
    source.add_argument("--dataset", choices=sorted(DATASETS), help="a bundled collection instead of a folder")
    source.add_argument(
        "--embeddings",
        type=Path,
        metavar="BATCH_OUT",
        help="the photos and vectors a `batch embed --model mobilenet_v2` job wrote (no network needed)",
    )
    parser.add_argument("--limit", type=int, help="use only the first N images")
    parser.add_argument("--reducer", choices=REDUCERS, default="tsne")
    parser.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    parser.add_argument("--neighbors", type=int, default=15, help="UMAP n_neighbors")
    parser.add_argument("--min-dist", type=float, default=0.1, help="UMAP min_dist")
    parser.add_argument("--grid", type=_grid_arg, help="grid shape RxC (default: square)")
    parser.add_argument(
        "--assign", choices=("auto", "exact", "fast"), default="auto", help="exact: lapjv; fast: blocks"
    )
    parser.add_argument(
        "--compare-exact", action="store_true", help="also solve exactly above 32x32 to report the optimum"
    )
    parser.add_argument("--cell", type=int, default=32, help="thumbnail size in pixels")
    parser.add_argument("--out", type=Path, required=True, help="mosaic PNG to write")
    parser.add_argument("--csv", type=Path, help="also write the layout (file, label, x, y, row, col)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    writable_output(args.out, folder=False)
    if args.csv is not None:
        writable_output(args.csv, "--csv", folder=False)
    collection = _collection(args)
    _refuse_overwriting_inputs(collection, [args.out, args.csv])
    model = None if collection.pixels is not None else load_model("mobilenet_v2").model
    shape = args.grid
    if shape and shape[0] * shape[1] < len(collection):
        raise CliError(f"a {shape[0]}x{shape[1]} grid has fewer cells than the {len(collection)} images")
    try:
        result = build_grid(
            collection,
            model,
            reducer=args.reducer,
            shape=shape,
            method=args.assign,
            compare_exact=args.compare_exact,
            perplexity=args.perplexity,
            n_neighbors=args.neighbors,
            min_dist=args.min_dist,
        )
    except ValueError as err:  # too few images for a map, and the like
        raise CliError(str(err)) from err
    args.out.write_bytes(png_bytes(mosaic(result.embedded.collection, result.assignment, args.cell)))
    if args.csv:
        layout_table(result.embedded.collection, result.points, result.assignment).to_csv(args.csv, index=False)
    summary = {**result.summary(), "out": str(args.out)}
    if args.json:
        print_json(summary)
    else:
        rows, cols = result.assignment.shape
        print(
            f"{summary['n']} images on a {rows}x{cols} grid ({result.assignment.method}), cost {summary['assignment_cost']}"
            f" (exact {summary['exact_cost']}); k-NN preservation map {result.knn_map}, grid {result.knn_grid}"
        )
        print(
            "seconds: "
            + ", ".join(f"{stage} {value}" for stage, value in summary["seconds"].items())
            + f"; wrote {args.out}"
        )
    return 0


def _collection(args: argparse.Namespace):
    if args.embeddings:
        return embedded_collection(args.embeddings, args.limit)
    return load_dataset(args.dataset, args.limit) if args.dataset else from_folder(args.folder, args.limit)


def _grid_arg(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected ROWSxCOLS, e.g. 32x32")
    return int(match[1]), int(match[2])


def _refuse_overwriting_inputs(collection, outputs: list[Path | None]) -> None:
    inputs = {item.source.resolve() for item in collection.items if isinstance(item.source, Path)}
    for output in outputs:
        if output is not None and output.resolve() in inputs:
            raise CliError(f"{output} is one of the input images; choose another output path")
