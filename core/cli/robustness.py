"""``python -m core robustness DIR --attack fgsm,pgd --eps 1,2,4,8``: clean and robust accuracy of an ImageNet
classifier on a labelled folder per attack and eps (RobustBench's report); ``--export OUT`` also writes the adversarial
examples as an ImageFolder tree per attack and eps plus a manifest, never touching the inputs."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import CliError, print_json, writable_output
from core.cloak.attacks import METHODS, Attack
from core.models import load_model
from core.models.builders import imagenet_categories
from core.robustness import (
    IMAGENET_CLASSIFIERS,
    DatasetError,
    RobustnessReport,
    attack_grid,
    evaluate,
    export,
    export_paths,
    labelled_folder,
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "robustness", help="clean and robust accuracy of the ImageNet classifier per attack and eps; export examples"
    )
    parser.add_argument("folder", type=Path, metavar="DIR", help="labelled images: class sub-folders or a labels.csv")
    parser.add_argument("--model", choices=IMAGENET_CLASSIFIERS, default="mobilenet_v2")
    parser.add_argument("--attack", default="fgsm,pgd", help=f"comma-separated, from: {', '.join(METHODS)}")
    parser.add_argument("--eps", default="1,2,4,8", help="comma-separated L-inf budgets in grey levels (8 = 8/255)")
    parser.add_argument("--steps", type=int, default=10, help="steps of PGD and MI-FGSM (FGSM takes one)")
    parser.add_argument("--limit", type=int, help="use at most this many images, spread evenly over the folder")
    parser.add_argument("--batch-size", type=int, default=4, help="images of one size attacked together")
    parser.add_argument("--export", type=Path, metavar="OUT", help="write the adversarial examples and a manifest here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    attacks = _attacks(args.attack, args.eps, args.steps)
    if args.limit is not None and args.limit < 1:
        raise CliError(f"--limit must be at least 1, got {args.limit}")
    if args.batch_size < 1:
        raise CliError(f"--batch-size must be at least 1, got {args.batch_size}")
    try:
        dataset = labelled_folder(args.folder, imagenet_categories()).subset(args.limit)
        if args.export is not None:
            export_paths(dataset, attacks, args.export)  # refuses an export that would touch the inputs, first
            writable_output(args.export, "--export", folder=True)
        model = load_model(args.model).model
        if args.export is None:
            report, manifest = evaluate(model, dataset, attacks, batch_size=args.batch_size), None
        else:
            report, manifest = export(model, dataset, attacks, args.export, batch_size=args.batch_size)
    except DatasetError as err:
        raise CliError(str(err)) from err
    payload = {"folder": str(args.folder), "labels": dataset.source, "model": args.model, **report.as_dict()}
    if manifest is not None:
        payload["manifest"] = str(manifest)
    if args.json:
        print_json(payload)
    else:
        print(_table(report, payload))
    return 0


def _attacks(methods: str, eps: str, steps: int) -> list[Attack]:
    try:
        values = [float(value) for value in eps.split(",") if value.strip()]
        return attack_grid([m.strip() for m in methods.split(",") if m.strip()], values, steps)
    except ValueError as err:
        raise CliError(f"--attack/--eps/--steps: {err}") from err


def _table(report: RobustnessReport, payload: dict) -> str:
    lines = [
        f"{payload['folder']} ({payload['images']} images, labels from {payload['labels']}), {payload['model']}",
        f"clean accuracy {report.clean_accuracy:.3f} ({sum(report.clean)}/{len(report.clean)})",
        "attack  eps   steps  robust accuracy",
    ]
    for row in report.results:
        lines.append(f"{row.method:<7} {row.eps:<5g} {row.steps:<6} {row.accuracy:.3f}")
    if "manifest" in payload:
        lines.append(f"adversarial examples and manifest: {payload['manifest']}")
    return "\n".join(lines)
