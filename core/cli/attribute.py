"""``python -m core attribute IMG``: top-5, each method's map as a PNG, its runtime and deletion/insertion AUCs."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from core.attribution.classifier import categories, classifier_view, resolve_class, top_predictions
from core.attribution.methods import METHODS, Attribution
from core.attribution.panel import check_methods, run_panel
from core.attribution.render import overlay
from core.cli import CliError, print_json, writable_output
from core.images import open_image
from core.models import load_model

DEFAULT_METHODS = ",".join(METHODS)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "attribute", help="explain the ImageNet classifier's decision with Captum maps, scored for faithfulness"
    )
    parser.add_argument("image", type=Path, help="the image file to explain")
    parser.add_argument("--methods", default=DEFAULT_METHODS, help=f"comma-separated, from: {DEFAULT_METHODS}")
    parser.add_argument("--target", help="class index or name to explain (default: the top-1 prediction)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the heatmap PNGs (created if needed)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        methods = check_methods([m.strip() for m in args.methods.split(",") if m.strip()])
        target = resolve_class(args.target) if args.target is not None else None
    except ValueError as err:
        raise CliError(str(err)) from err
    writable_output(args.out, folder=True)
    png_paths = _png_paths(args.out, args.image, methods)
    image = open_image(args.image)
    model = load_model("mobilenet_v2").model
    view = classifier_view(image)
    top5 = top_predictions(model, view.inputs)
    target = top5[0].index if target is None else target
    panel = run_panel(model, view.inputs, target, methods)
    pngs = _write_pngs(png_paths, view.pixels, panel.attributions)
    payload = {
        "image": str(args.image),
        "top5": [{"index": p.index, "name": p.name, "probability": round(p.probability, 5)} for p in top5],
        "target": {"index": target, "name": categories()[target]},
        "methods": {
            a.method: {
                "seconds": round(a.seconds, 3),
                "deletion_auc": round(f.deletion.auc, 4),
                "insertion_auc": round(f.insertion.auc, 4),
                "png": str(png),
            }
            for a, f, png in zip(panel.attributions, panel.faithfulness, pngs, strict=True)
        },
        "random_baseline": {
            "deletion_auc": round(panel.random.deletion.auc, 4),
            "insertion_auc": round(panel.random.insertion.auc, 4),
        },
    }
    if args.json:
        print_json(payload)
    else:
        _print_table(payload)
    return 0


def _png_paths(out: Path, source: Path, methods: list[str]) -> dict[str, Path]:
    """``OUT/<stem>_<method>.png`` per method, checked before the slow part: never the input, never a folder."""
    paths = {method: out / f"{source.stem}_{method}.png" for method in methods}
    for path in paths.values():
        if path.resolve() == source.resolve():
            raise CliError(f"refusing to overwrite the input image {source}")
        if path.is_dir():
            raise CliError(f"--out {out}: {path.name} there is a folder, where the heatmap PNG would go")
    return paths


def _write_pngs(paths: dict[str, Path], pixels: np.ndarray, attributions: list[Attribution]) -> list[Path]:
    """One overlay per method, to the paths from _png_paths."""
    for attribution in attributions:
        Image.fromarray(overlay(pixels, attribution.map)).save(paths[attribution.method])
    return [paths[attribution.method] for attribution in attributions]


def _print_table(payload: dict) -> None:
    print("top-5: " + "; ".join(f"{p['name']} {p['probability']:.1%}" for p in payload["top5"]))
    print(f"explaining: {payload['target']['name']} (class {payload['target']['index']})")
    print(f"{'method':<16}{'seconds':>9}{'deletion AUC':>14}{'insertion AUC':>15}  png")
    for name, row in payload["methods"].items():
        print(
            f"{name:<16}{row['seconds']:>9.2f}{row['deletion_auc']:>14.3f}{row['insertion_auc']:>15.3f}  {row['png']}"
        )
    base = payload["random_baseline"]
    print(f"{'random order':<16}{'':>9}{base['deletion_auc']:>14.3f}{base['insertion_auc']:>15.3f}")
    print("deletion AUC: lower is better; insertion AUC: higher is better")
