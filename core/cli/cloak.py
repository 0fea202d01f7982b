"""``python -m core cloak IN... --out DIR``: cloak every face of each photo against face recognizers, write one PNG per
input (never over an input) and report what the recognizers see in the written files."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import CliError, print_json
from core.cloak.attacks import METHODS, Attack
from core.cloak.face_cloak import DEFAULT_RECOGNIZER, NoFaceError, cloak_faces
from core.cloak.report import measure
from core.faces import available_recognizers
from core.images import ImageError, open_image


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cloak", help="adversarial cloaks that stop face recognizers matching a photo")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="photos to cloak")
    parser.add_argument("--out", type=Path, required=True, help="folder for the cloaked PNGs (created if missing)")
    parser.add_argument("--method", choices=METHODS, default="pgd")
    parser.add_argument("--eps", type=float, default=8.0, help="L-inf budget in grey levels (1/255), 1-16")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--step-size", type=float, default=None, help="grey levels per step (default 2.5*eps/steps)")
    parser.add_argument("--random-start", action="store_true", help="PGD's uniform start in the eps-ball (lowers SSIM)")
    parser.add_argument("--target", type=Path, help="impersonate the person in this photo instead of dodging")
    parser.add_argument("--reference", type=Path, action="append", default=[], help="a clean photo of the same person")
    parser.add_argument(
        "--robust", action="store_true", help="expectation over resize/blur/JPEG, to survive re-encoding"
    )
    parser.add_argument("--ensemble", action="store_true", help="attack every available recognizer at once")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every input was cloaked, 1 when some had no face or could not be read (reported per input)."""
    if not 1 <= args.eps <= 16:
        raise CliError(f"--eps must be between 1 and 16 grey levels, got {args.eps}")
    if not 1 <= args.steps <= 200:
        raise CliError(f"--steps must be between 1 and 200, got {args.steps}")
    attack = Attack(
        method=args.method, eps=args.eps, steps=args.steps, step_size=args.step_size, random_start=args.random_start
    )
    recognizers = available_recognizers() if args.ensemble else [DEFAULT_RECOGNIZER]
    references = [open_image(path) for path in args.reference]
    target = open_image(args.target) if args.target else None
    outputs = _output_paths(args.inputs, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    reports = [
        _cloak_one(path, output, attack, recognizers, references, target, args.robust)
        for path, output in zip(args.inputs, outputs, strict=True)
    ]
    if args.json:
        print_json(reports)
    else:
        for report in reports:
            print(_summary(report))
    return 0 if all("error" not in report for report in reports) else 1


def _output_paths(inputs: list[Path], out: Path) -> list[Path]:
    """``OUT/<stem>_cloaked.png`` per input; refuses names that collide with an input or with each other."""
    outputs = [out / f"{path.stem}_cloaked.png" for path in inputs]
    resolved_inputs = {path.resolve() for path in inputs}
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise CliError("two inputs share a file name stem; their cloaked files would overwrite each other")
    for output in outputs:
        if output.resolve() in resolved_inputs:
            raise CliError(f"{output} is one of the inputs; choose another --out folder")
    return outputs


def _cloak_one(path: Path, output: Path, attack: Attack, recognizers, references, target, robust: bool) -> dict:
    try:
        image = open_image(path)
        cloak = cloak_faces(image, attack, recognizers=recognizers, references=references, target=target, robust=robust)
    except (ImageError, NoFaceError) as err:
        return {"image": str(path), "faces_found": 0, "error": str(err)}
    output.write_bytes(cloak.png)
    return {"image": str(path), "output": str(output), **measure(cloak)}


def _summary(report: dict) -> str:
    if "error" in report:
        return f"{report['image']}: {report['error']}"
    lines = [f"{report['image']} -> {report['output']} ({report['faces_found']} face(s), {report['seconds']} s)"]
    for row in report["faces"]:
        lines.append(
            f"  face {row['face']} {row['recognizer']}: distance {row['distance_before']} -> {row['distance_after']}"
            f" (threshold {row['threshold']}) protected={row['protected']} after JPEG75={row['protected_after_jpeg75']}"
            f" SSIM {row['ssim']} PSNR {row['psnr']} dB"
        )
    return "\n".join(lines)
