"""``python -m core visualize class|channel|dream|invert|fool|patches ... --out PNG``: what the classifier's classes,
channels and layers respond to, saved as a PNG, with the figures (and the objective curve with ``--json``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from core.attribution.classifier import resolve_class
from core.cli import CliError, print_json, writable_output
from core.grid.collections import DATASETS, from_folder, load_dataset
from core.images import open_image
from core.visualize import (
    ChannelSettings,
    ClassSettings,
    DreamSettings,
    FoolSettings,
    InvertSettings,
    Network,
    Visualisation,
    channel,
    class_model,
    dream,
    fool,
    invert,
    network,
    top_patches,
)
from core.visualize.classes import RECIPES
from core.visualize.patches import patch_sheet

T = TypeVar("T")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "visualize", help="see inside the classifier: class models, channels, DeepDream, ..."
    )
    kinds = parser.add_subparsers(dest="kind", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", default="mobilenet_v2", help="registry classifier (default mobilenet_v2)")
    common.add_argument("--out", type=Path, required=True, help="the PNG to write")
    common.add_argument("--json", action="store_true", help="print the figures and the objective curve as JSON")

    one = kinds.add_parser("class", parents=[common], help="class model visualisation (Simonyan 2014 / Lucid)")
    one.add_argument("--target", required=True, help="class index or name; several comma-separated")
    one.add_argument("--recipe", choices=RECIPES, default=ClassSettings.recipe)
    one.add_argument("--start", choices=("zeros", "noise"), default=ClassSettings.start, help="simonyan's start")
    one.add_argument("--l2", type=float, default=ClassSettings.l2, help="simonyan's L2 weight")
    _optimiser_options(one, ClassSettings)
    one.set_defaults(func=run_class)

    unit = kinds.add_parser("channel", parents=[common], help="an image that excites one channel or neuron")
    unit.add_argument("--layer", default=ChannelSettings.layer)
    unit.add_argument("--channel", type=int, default=ChannelSettings.channel)
    unit.add_argument("--neuron", action="store_true", help="only the unit at the centre of the channel's map")
    _optimiser_options(unit, ChannelSettings)
    unit.set_defaults(func=run_channel)

    deep = kinds.add_parser("dream", parents=[common], help="DeepDream on a photo, with octaves")
    deep.add_argument("image", type=Path)
    deep.add_argument("--layer", default=DreamSettings.layer)
    deep.add_argument("--octaves", type=int, default=DreamSettings.octaves)
    deep.add_argument("--steps", type=int, default=DreamSettings.steps, help="steps per octave")
    deep.add_argument("--step-size", type=float, default=DreamSettings.step_size)
    deep.add_argument("--max-side", type=int, default=DreamSettings.max_side)
    deep.set_defaults(func=run_dream)

    back = kinds.add_parser("invert", parents=[common], help="reconstruct a photo from its code at a layer")
    back.add_argument("image", type=Path)
    back.add_argument("--layer", default=InvertSettings.layer)
    back.add_argument("--tv", type=float, default=InvertSettings.tv, help="total-variation weight")
    _optimiser_options(back, InvertSettings)
    back.set_defaults(func=run_invert)

    noise = kinds.add_parser("fool", parents=[common], help="noise the classifier labels with high confidence")
    noise.add_argument("--target", required=True, help="class index or name")
    noise.add_argument("--epsilon", type=float, default=round(FoolSettings.epsilon * 255), help="max change, of 255")
    _optimiser_options(noise, FoolSettings)
    noise.set_defaults(func=run_fool)

    top = kinds.add_parser("patches", parents=[common], help="the top-k image patches of a collection for a channel")
    source = top.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=[d for d in DATASETS if d != "digits"])
    source.add_argument("--folder", type=Path, help="a folder of images under the data roots")
    top.add_argument("--layer", default=ChannelSettings.layer)
    top.add_argument("--channel", type=int, default=ChannelSettings.channel)
    top.add_argument("-k", type=int, default=9)
    top.add_argument("--limit", type=int, help="read at most this many images")
    top.set_defaults(func=run_patches)


def _optimiser_options(parser: argparse.ArgumentParser, settings: type) -> None:
    parser.add_argument("--size", type=int, default=settings.size, help="image side in px")
    parser.add_argument("--steps", type=int, default=settings.steps)
    parser.add_argument("--lr", type=float, default=settings.lr)
    parser.add_argument("--seed", type=int, default=settings.seed)


def _optimisation(args: argparse.Namespace) -> dict:
    """The shared optimisation flags (see _optimiser_options) as Optimisation's fields."""
    return {"size": args.size, "steps": args.steps, "lr": args.lr, "seed": args.seed}


def _checked(make: Callable[[], T]) -> T:
    """``make()``, its ValueErrors (settings out of range, an unknown class, layer or channel) as user errors."""
    try:
        return make()
    except ValueError as err:
        raise CliError(str(err)) from err


def _classes(text: str) -> list[int]:
    classes = _checked(lambda: [resolve_class(part) for part in text.split(",") if part.strip()])
    if not classes:
        raise CliError("--target: give a class index or name")
    return classes


def _output(args: argparse.Namespace) -> Path:
    """The checked output PNG: writable, and never the input image."""
    source = getattr(args, "image", None)
    if source is not None and Path(args.out).resolve() == Path(source).resolve():
        raise CliError(f"refusing to overwrite the input image {source}")
    return writable_output(args.out, folder=False)


def _finish(args: argparse.Namespace, out: Path, results: list[Visualisation]) -> int:
    Image.fromarray(np.concatenate([r.image for r in results], axis=1)).save(out, format="PNG")
    payload = {"out": str(out), "results": [r.summary() | {"curve": [round(v, 5) for v in r.curve]} for r in results]}
    if args.json:
        print_json(payload)
    else:
        for result in results:
            figures = ", ".join(f"{key} {value:.4g}" for key, value in result.figures.items())
            print(f"{result.title}: {figures} ({result.seconds:.1f} s)")
        print(f"wrote {out}")
    return 0


def _network(args: argparse.Namespace) -> Network:
    return _checked(lambda: network(args.model))


def run_class(args: argparse.Namespace) -> int:
    classes = _classes(args.target)
    settings = _checked(lambda: ClassSettings(recipe=args.recipe, l2=args.l2, start=args.start, **_optimisation(args)))
    out = _output(args)
    return _finish(args, out, _checked(lambda: class_model(_network(args), classes, settings)))


def run_channel(args: argparse.Namespace) -> int:
    settings = _checked(
        lambda: ChannelSettings(layer=args.layer, channel=args.channel, neuron=args.neuron, **_optimisation(args))
    )
    out = _output(args)
    return _finish(args, out, _checked(lambda: [channel(_network(args), settings)]))


def run_dream(args: argparse.Namespace) -> int:
    settings = _checked(
        lambda: DreamSettings(
            layer=args.layer, octaves=args.octaves, steps=args.steps, step_size=args.step_size, max_side=args.max_side
        )
    )
    out = _output(args)
    photo = np.asarray(open_image(args.image))
    return _finish(args, out, _checked(lambda: [dream(_network(args), photo, settings)]))


def run_invert(args: argparse.Namespace) -> int:
    settings = _checked(lambda: InvertSettings(layer=args.layer, tv=args.tv, **_optimisation(args)))
    out = _output(args)
    photo = np.asarray(open_image(args.image))
    return _finish(args, out, _checked(lambda: [invert(_network(args), photo, settings)]))


def run_fool(args: argparse.Namespace) -> int:
    classes = _classes(args.target)
    if len(classes) != 1:
        raise CliError("--target: a fooling image has one class")
    settings = _checked(lambda: FoolSettings(epsilon=args.epsilon / 255, **_optimisation(args)))
    out = _output(args)
    return _finish(args, out, _checked(lambda: [fool(_network(args), classes[0], settings)]))


def run_patches(args: argparse.Namespace) -> int:
    out = _output(args)
    collection = load_dataset(args.dataset, args.limit) if args.dataset else from_folder(args.folder, args.limit)
    found = _checked(lambda: top_patches(_network(args), collection, args.layer, args.channel, args.k))
    patch_sheet(found).save(out, format="PNG")
    payload = {
        "out": str(out),
        "layer": found.layer,
        "channel": found.channel,
        "receptive_field_px": found.receptive.side,
        "images_seen": found.images_seen,
        "skipped": found.skipped,
        "patches": [{"name": p.name, "score": round(p.score, 5), "box": list(p.box)} for p in found.patches],
        "seconds": round(found.seconds, 2),
    }
    if args.json:
        print_json(payload)
    else:
        for p in found.patches:
            print(f"{p.score:8.3f}  {p.name}  box {p.box}")
        print(f"wrote {out}")
    return 0
