"""``python -m core faces embed|matrix|calibrate|identify|video``: the face pipeline from the command line."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.cli import CliError, print_json
from core.faces import threshold
from core.faces.calibrate import calibrate
from core.faces.collection import analyze_photos, face_rows, labelled_faces, photos_from_paths
from core.faces.gallery import Gallery, Identification, enroll, identify
from core.faces.metrics import METRICS, distance_matrix
from core.faces.video import DEFAULT_SAMPLES, MAX_SAMPLES, accuracy, analyze_video, identify_tracks
from core.models import ModelUnavailable, availability

DEFAULT_MODEL = "dlib_resnet29"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "faces", help="detect, align and embed faces; distance matrices; threshold calibration"
    )
    commands = parser.add_subparsers(dest="faces_command", required=True)

    embed = commands.add_parser("embed", help="per face: image, box, probability, landmarks, embedding")
    embed.add_argument("images", nargs="+", type=Path, help="image files or folders")
    _common(embed)
    embed.set_defaults(func=run_embed)

    matrix = commands.add_parser("matrix", help="labels and the pairwise distance matrix of every face found")
    matrix.add_argument("inputs", nargs="+", type=Path, help="image files or folders (folder/<identity>/* also works)")
    _common(matrix)
    matrix.set_defaults(func=run_matrix)

    calib = commands.add_parser("calibrate", help="ROC AUC, best threshold and TAR at fixed FAR on DIR/<identity>/*")
    calib.add_argument("folder", type=Path)
    calib.add_argument("--seed", type=int, default=0, help="seed for drawing the different-identity pairs")
    _common(calib)
    calib.set_defaults(func=run_calibrate)

    ident = commands.add_parser("identify", help="name the faces in query photos from a gallery DIR/<identity>/*")
    ident.add_argument("gallery", type=Path)
    ident.add_argument("queries", nargs="+", type=Path)
    _threshold_option(ident)
    _common(ident)
    ident.set_defaults(func=run_identify)

    video = commands.add_parser(
        "video", help="track the faces of a short video and name each track from a gallery DIR/<identity>/*"
    )
    video.add_argument("video", type=Path, help=f"mp4, webm or mov (at most {MAX_SAMPLES} frames are sampled)")
    video.add_argument("--gallery", type=Path, required=True, help="folder of <identity>/<photo> to enroll")
    video.add_argument(
        "--samples", type=int, default=DEFAULT_SAMPLES, help=f"frames to sample (default {DEFAULT_SAMPLES})"
    )
    video.add_argument(
        "--expect", default=None, help="the identity of the video's person: also print per-frame vs averaged accuracy"
    )
    _threshold_option(video)
    _common(video)
    video.set_defaults(func=run_video)


def _threshold_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold", type=float, default=None, help="unknown above this distance (default: the model's)"
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", "--recognizer", dest="model", default=DEFAULT_MODEL, help=f"recognizer (default {DEFAULT_MODEL})"
    )
    parser.add_argument("--metric", choices=METRICS, default="l2")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _analyze(paths: list[Path], model: str) -> list:
    available, reason = availability(model)
    if not available:
        raise ModelUnavailable(f"{model}: {reason}")
    photos = photos_from_paths(paths)
    if not photos:
        raise CliError(f"no images found in {', '.join(map(str, paths))}")
    return analyze_photos(photos, model)


def _report_unreadable(results: list) -> list[dict]:
    return [{"image": r.name, "error": r.error} for r in results if r.error]


def _exit_code(results: list) -> int:
    """1 when some inputs could not be read (each is named on stderr), so scripts notice; the rest is still output."""
    unreadable = _report_unreadable(results)
    for entry in unreadable:
        print(f"error: {entry['error']}", file=sys.stderr)
    return 1 if unreadable else 0


def run_embed(args: argparse.Namespace) -> int:
    results = _analyze(args.images, args.model)
    faces = [
        {"image": row.photo, "face": row.index, **row.face.to_dict(), "embedding": row.embedding.round(6).tolist()}
        for row in face_rows(results)
    ]
    no_face = [r.name for r in results if not r.faces and not r.error]
    if args.json:
        print_json({"model": args.model, "faces": faces, "no_face": no_face, "unreadable": _report_unreadable(results)})
        return _exit_code(results)
    for face in faces:
        print(
            f"{face['image']} face {face['face']}: p={face['probability']:.3f} box={face['box']} embedding[{len(face['embedding'])}]"
        )
    for name in no_face:
        print(f"{name}: no face found")
    return _exit_code(results)


def run_matrix(args: argparse.Namespace) -> int:
    results = _analyze(args.inputs, args.model)
    rows = face_rows(results)
    if not rows:
        raise CliError("no faces found")
    labels = [row.label for row in rows]
    matrix = distance_matrix(np.stack([row.embedding for row in rows]), args.metric)
    if args.json:
        print_json({"model": args.model, "metric": args.metric, "labels": labels, "matrix": matrix.round(5).tolist()})
        return _exit_code(results)
    width = max(len(label) for label in labels)
    for label, values in zip(labels, matrix, strict=True):
        print(f"{label:<{width}} " + " ".join(f"{v:5.3f}" for v in values))
    return _exit_code(results)


def run_calibrate(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise CliError(f"not a folder: {args.folder}")
    results = _analyze([args.folder], args.model)
    rows, missing = labelled_faces(results)
    try:
        result = calibrate(
            np.stack([r.embedding for r in rows]),
            [r.identity for r in rows],
            args.metric,
            threshold(args.model, args.metric),
            args.seed,
        )
    except ValueError as err:
        raise CliError(f"{args.folder}: {err}") from err
    payload = {
        "model": args.model,
        "photos": sum(r.identity is not None for r in results),
        "faces_used": len(rows),
        "faces_not_found": len(missing),
        "photos_without_face": missing,
        "unreadable": _report_unreadable(results),
        **result.summary(),
    }
    if args.json:
        print_json(payload)
        return _exit_code(results)
    for key, value in payload.items():
        print(f"{key}: {value}")
    return _exit_code(results)


def _gallery(args: argparse.Namespace) -> tuple[Gallery, float]:
    """The gallery enrolled from ``args.gallery`` and the threshold in use."""
    if not args.gallery.is_dir():
        raise CliError(f"not a folder: {args.gallery}")
    enrolled, _ = labelled_faces(_analyze([args.gallery], args.model))
    if not enrolled:
        raise CliError(f"{args.gallery}: no faces to enroll (expected {args.gallery}/<identity>/<photo>)")
    gallery = enroll(np.stack([r.embedding for r in enrolled]), [r.identity for r in enrolled])
    return gallery, args.threshold if args.threshold is not None else threshold(args.model, args.metric)


def _answer(match: Identification) -> dict:
    return {"identity": match.identity, "nearest": match.nearest, "distance": round(match.distance, 4)}


def run_identify(args: argparse.Namespace) -> int:
    gallery, cutoff = _gallery(args)
    answers = []
    queries = _analyze(args.queries, args.model)
    for row in face_rows(queries):
        answers.append(
            {"image": row.photo, "face": row.index, **_answer(identify(gallery, row.embedding, cutoff, args.metric))}
        )
    if args.json:
        print_json(
            {
                "model": args.model,
                "metric": args.metric,
                "threshold": cutoff,
                "enrolled": gallery.names,
                "answers": answers,
            }
        )
        return _exit_code(queries)
    for answer in answers:
        print(
            f"{answer['image']} face {answer['face']}: {answer['identity']} (nearest {answer['nearest']}, distance {answer['distance']})"
        )
    return _exit_code(queries)


def run_video(args: argparse.Namespace) -> int:
    if not args.video.is_file():
        raise CliError(f"not a file: {args.video}")
    data = args.video.read_bytes()
    link = threshold(args.model, args.metric)  # tracks link at the model's own threshold (a bad video fails first)
    analysis = analyze_video(data, args.model, link, args.metric, args.samples, args.video.name)
    gallery, cutoff = _gallery(args)
    results = identify_tracks(analysis, gallery, cutoff, args.metric)
    tracks = [
        {
            "track": number,
            **_answer(result.averaged),
            "frames_agreeing": round(result.agreement, 4),
            "frames": [
                {"time": round(face.time, 3), "box": face.face.box.round(1).tolist(), **_answer(alone)}
                for face, alone in zip(result.track.faces, result.per_frame, strict=True)
            ],
        }
        for number, result in enumerate(results)
    ]
    payload = {
        "model": args.model,
        "metric": args.metric,
        "threshold": cutoff,
        "video": {**asdict(analysis.info), "sampled": len(analysis.times)},
        "enrolled": gallery.names,
        "tracks": tracks,
    }
    if args.expect is not None:
        payload["expect"] = args.expect
        payload["accuracy"] = asdict(accuracy(results, args.expect))
    if args.json:
        print_json(payload)
        return 0
    info = analysis.info
    print(f"{args.video.name}: {info.width}x{info.height}, {info.seconds:g} s, {len(analysis.times)} frames sampled")
    for track in tracks:
        print(
            f"track {track['track']}: {track['identity']} (nearest {track['nearest']}, distance {track['distance']}), "
            f"{len(track['frames'])} frames, {track['frames_agreeing']:.0%} of them alone agree"
        )
    if args.expect is not None:
        scored = payload["accuracy"]
        print(
            f"accuracy on {scored['frames']} frames: per frame {scored['per_frame']:.3f}, averaged track {scored['averaged']:.3f}"
        )
    return 0
