"""``python -m core cloak IN... --out DIR``: cloak every face of each photo against face recognizers, write one PNG per
input (never over an input) and report what the recognizers see in the written files."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import CliError, print_json, writable_output
from core.cloak.attacks import METHODS
from core.cloak.face_cloak import NoFaceError
from core.cloak.photo import CloakSettings, cloak_photo
from core.cloak.presets import DEFAULT_PRESET, PRESETS, TUNABLE, preset_attack
from core.faces import available_recognizers
from core.images import ImageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cloak", help="adversarial cloaks that stop face recognizers matching a photo")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="photos to cloak")
    parser.add_argument("--out", type=Path, required=True, help="folder for the cloaked PNGs (created if missing)")
    add_cloak_options(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def add_cloak_options(parser: argparse.ArgumentParser) -> None:
    """The attack's options, shared by ``cloak`` and ``batch cloak`` so both read the same flags the same way."""
    parser.add_argument("--preset", choices=PRESETS, default=DEFAULT_PRESET, help="strength; the flags below override")
    parser.add_argument("--method", choices=METHODS)
    parser.add_argument("--eps", type=float, help="L-inf budget in grey levels (1/255), 1-16")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--step-size", type=float, help="grey levels per step")
    parser.add_argument("--random-start", action="store_true", default=None, help="PGD's uniform start (lowers SSIM)")
    parser.add_argument("--input-diversity", type=float, help="probability of a random shrink-and-pad per step")
    parser.add_argument("--translation-sigma", type=float, help="Gaussian smoothing of the gradient, pixels")
    parser.add_argument("--feature-weight", type=float, help="weight of the mid-depth feature term")
    parser.add_argument("--margin", type=float, help="push this far past each threshold (threshold units)")
    parser.add_argument("--target", type=Path, help="impersonate the person in this photo instead of dodging")
    parser.add_argument("--reference", type=Path, action="append", default=[], help="a clean photo of the same person")
    robust = parser.add_mutually_exclusive_group()
    robust.add_argument("--robust", action="store_true", default=None, help="expectation over resize/blur/JPEG")
    robust.add_argument("--no-robust", dest="robust", action="store_false", help="optimise for the exact pixels")
    parser.add_argument(
        "--recognizers", help="comma-separated recognizers to attack (default: every available one)", default=None
    )
    parser.add_argument(
        "--leave-one-out",
        action="store_true",
        help="also measure black-box protection: cloak once more per recognizer without it and measure on it",
    )


def cloak_settings(args: argparse.Namespace) -> CloakSettings:
    """The settings the flags of add_cloak_options ask for, checked (CliError for out-of-range values)."""
    attack = preset_attack(args.preset, **{name: getattr(args, name) for name in TUNABLE})
    if not 1 <= attack.eps <= 16:
        raise CliError(f"--eps must be between 1 and 16 grey levels, got {attack.eps}")
    if not 1 <= attack.steps <= 200:
        raise CliError(f"--steps must be between 1 and 200, got {attack.steps}")
    recognizers = _recognizers(args.recognizers)
    if args.leave_one_out and len(recognizers) < 2:
        raise CliError(f"--leave-one-out needs two or more recognizers; available here: {', '.join(recognizers)}")
    return CloakSettings(
        attack=attack,
        recognizers=tuple(recognizers),
        robust=PRESETS[args.preset].robust if args.robust is None else args.robust,
        margin=PRESETS[args.preset].margin if args.margin is None else args.margin,
        references=tuple(args.reference),
        target=args.target,
        leave_one_out=args.leave_one_out,
    )


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every input was cloaked, 1 when some had no face or could not be read (reported per input)."""
    settings = cloak_settings(args)
    options = settings.options()
    outputs = _output_paths(args.inputs, args.out)
    writable_output(args.out, folder=True)
    reports = [_cloak_one(path, output, settings, options) for path, output in zip(args.inputs, outputs, strict=True)]
    if args.json:
        print_json(reports)
    else:
        for report in reports:
            print(_summary(report))
    return 0 if all("error" not in report for report in reports) else 1


def _recognizers(names: str | None) -> list[str]:
    available = available_recognizers()
    if names is None:
        return available
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    missing = [name for name in chosen if name not in available]
    if missing or not chosen:
        raise CliError(
            f"--recognizers: {', '.join(missing) or 'none given'} not available; available: {', '.join(available)}"
        )
    return chosen


def _output_paths(inputs: list[Path], out: Path) -> list[Path]:
    """``OUT/<stem>_cloaked.png`` per input; refuses names that collide with an input or with each other."""
    outputs = [out / f"{path.stem}_cloaked.png" for path in inputs]
    resolved_inputs = {path.resolve() for path in inputs}
    if len({p.resolve() for p in outputs}) < len(outputs):
        raise CliError("two inputs share a file name stem; their cloaked files would overwrite each other")
    for output in outputs:
        if output.resolve() in resolved_inputs:
            raise CliError(f"{output} is one of the inputs; choose another --out folder")
        if output.is_dir():
            raise CliError(f"{output} is a folder, where the cloaked PNG would go; choose another --out folder")
    return outputs


def _cloak_one(path: Path, output: Path, settings: CloakSettings, options: dict) -> dict:
    try:
        report, png = cloak_photo(path, output, settings, options)
    except (ImageError, NoFaceError) as err:
        return {"image": str(path), "faces_found": 0, "error": str(err)}
    output.write_bytes(png)
    return report


def _summary(report: dict) -> str:
    if "error" in report:
        return f"{report['image']}: {report['error']}"
    lines = [f"{report['image']} -> {report['output']} ({report['faces_found']} face(s), {report['seconds']} s)"]
    for row in report["faces"]:
        kind = "white-box" if row["attacked"] else "black-box"
        lines.append(
            f"  face {row['face']} {row['recognizer']} ({kind}): distance {row['distance_before']} ->"
            f" {row['distance_after']} (threshold {row['threshold']}) protected={row['protected']}"
            f" after JPEG75={row['protected_after_jpeg75']} SSIM {row['ssim']} PSNR {row['psnr']} dB"
        )
    if "leave_one_out" in report:
        loo = report["leave_one_out"]
        lines.append(
            f"  black-box (leave-one-out): beaten {loo['unseen_recognizers_beaten']} of {loo['of']} recognizers it"
            f" never saw; mean {loo['verdict']} {loo['black_box_mean']:.0%}, after JPEG 75"
            f" {loo['black_box_mean_after_jpeg75']:.0%}"
        )
        for name, result in loo["black_box"].items():
            lines.append(
                f"    {name}, unseen (attacked {', '.join(result['attacked_with'])}): {result[loo['verdict']]:.0%}"
            )
    return "\n".join(lines)
