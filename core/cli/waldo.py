"""``python -m core waldo train|bank|find|eval|pool``: train the Waldo detector, find Waldo on pages, score it on
annotated pages, and pool cross-validation folds scored in separate runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from core.cli import CliError, print_json, writable_output
from core.images import open_image, to_array
from core.models import get_spec, load_model
from core.waldo.data import load_annotations, page_path, split_pages
from core.waldo.eval import cross_validate, evaluate, pool
from core.waldo.folds import make_folds
from core.waldo.infer import DEFAULT_TILE, find_waldo
from core.waldo.model import load_waldo_model


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
    train.add_argument("--device", default="auto", help="torch device: auto (a GPU if there is one), cpu, cuda, ...")
    train.add_argument("--workers", type=int, default=0, help="processes drawing training tiles (0: in the main one)")
    train.add_argument("--init", type=Path, help="start from this trained checkpoint instead of ImageNet weights")
    train.add_argument(
        "--mine-decoys", action="store_true", help="with --init: train against its false finds on the training pages"
    )
    train.add_argument("--bank", type=Path, help="train on this feature bank (waldo bank): frozen backbone, cheaper")
    _fold_arguments(train)
    train.add_argument("--fold", type=int, help="with --folds: hold out this fold's pages (1..K), train on the rest")
    train.set_defaults(func=run_train)

    bank = actions.add_parser("bank", help="draw training tiles once and store their frozen backbone features")
    bank.add_argument("--data", type=Path, required=True, help="folder with annotations.json and pages/")
    bank.add_argument("--out", type=Path, required=True, help="where to write the bank")
    bank.add_argument("--tiles", type=int, default=8000)
    bank.add_argument("--cut", type=int, default=14, help="first MobileNetV2 block that trains (4..14)")
    bank.add_argument("--tile", type=int, default=256, help="tile side in page pixels")
    bank.add_argument("--seed", type=int, default=0)
    bank.add_argument("--threads", type=int, help="torch CPU threads")
    bank.set_defaults(func=run_bank)
    add_find_and_eval(actions)


def _fold_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--folds", type=int, help="cross-validation by artwork: K folds of whole artwork clusters (core/waldo/folds.py)"
    )


def _threads(count: int | None) -> None:
    if count:
        torch.set_num_threads(count)


def _train_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.empty(0, device=name)
    except (RuntimeError, AssertionError) as err:
        raise CliError(f"--device {name}: not usable here ({err})") from err
    return name


def run_train(args: argparse.Namespace) -> int:
    from core.waldo.train import train

    if args.data is not None and not (args.data / "annotations.json").is_file():
        raise CliError(f"{args.data}: no annotations.json there")
    if args.init is not None and not args.init.is_file():
        raise CliError(f"--init {args.init}: no such checkpoint")
    if args.mine_decoys and args.init is None:
        raise CliError("--mine-decoys needs --init: the decoys are a trained model's own false finds")
    if args.iterations < 1 or args.batch < 1 or args.tile < 64 or args.workers < 0:
        raise CliError("--iterations and --batch must be positive, --tile at least 64 and --workers not negative")
    if args.bank is not None and (args.init or args.mine_decoys or args.resume or args.workers):
        raise CliError(
            "--bank trains from ImageNet on banked tiles: --init, --mine-decoys, --resume, --workers do not apply"
        )
    held_out = _held_out(args)
    writable_output(args.out, folder=False)
    _threads(args.threads)
    if args.bank is not None:
        return _train_on_bank(args, held_out)
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
        device=_train_device(args.device),
        workers=args.workers,
        init=args.init,
        decoys=args.mine_decoys,
        held_out=held_out,
    )
    _write_fold_record(args, held_out, {"recipe": "full", "iterations": args.iterations, "batch": args.batch})
    print(f"wrote {out} and {out.with_suffix('.losses.csv')}")
    return 0


def _held_out(args: argparse.Namespace) -> list[str]:
    """The pages of fold ``--fold`` of ``--folds`` (none without them)."""
    if (args.folds is None) != (args.fold is None):
        raise CliError("--folds and --fold go together: K folds, and which one (1..K) to hold out")
    if args.folds is None:
        return []
    if args.data is None:
        raise CliError("--folds needs --data: the folds are made from its annotations.json")
    if not 1 <= args.fold <= args.folds:
        raise CliError(f"--fold must lie in 1..{args.folds}")
    return page_folds(args.data / "annotations.json", args.folds)[args.fold - 1]


def page_folds(annotations: Path, k: int) -> list[list[str]]:
    try:
        pages = load_annotations(annotations)
        return make_folds({name: len(page.boxes) for name, page in pages.items()}, k)
    except ValueError as err:
        raise CliError(str(err)) from err


def _train_on_bank(args: argparse.Namespace, held_out: list[str]) -> int:
    from core.waldo.bank import FeatureBank, train_on_bank

    if not args.bank.is_file():
        raise CliError(f"--bank {args.bank}: no such bank (make one with: python -m core waldo bank)")
    bank = FeatureBank.load(args.bank)
    out = train_on_bank(
        bank, args.out, held_out=held_out, iterations=args.iterations, batch=args.batch, lr=args.lr, seed=args.seed
    )
    recipe = {"recipe": "bank", "bank": args.bank.name, "cut": bank.cut, "tiles": len(bank.pages)}
    _write_fold_record(args, held_out, {**recipe, "iterations": args.iterations, "batch": args.batch, "lr": args.lr})
    print(f"wrote {out} and {out.with_suffix('.losses.csv')}")
    return 0


def _write_fold_record(args: argparse.Namespace, held_out: list[str], recipe: dict) -> None:
    """OUT.json: the pages this model never saw, so ``eval --folds`` can check it scores only those."""
    record = {"folds": args.folds, "fold": args.fold, "held_out": held_out, "seed": args.seed, **recipe}
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")


def run_bank(args: argparse.Namespace) -> int:
    from core.waldo.bank import build_bank
    from core.waldo.train import load_train_pages

    if not (args.data / "annotations.json").is_file():
        raise CliError(f"{args.data}: no annotations.json there")
    if args.tiles < 16 or not 4 <= args.cut <= 14:
        raise CliError("--tiles must be at least 16 and --cut lie in 4..14")
    writable_output(args.out, folder=False)
    _threads(args.threads)
    pages = load_train_pages(args.data, split="all")
    build_bank(pages, args.tiles, cut=args.cut, tile=args.tile, seed=args.seed).save(args.out)
    print(f"wrote {args.out}: {args.tiles} tiles from {len(pages)} pages, blocks below {args.cut} frozen")
    return 0


def add_find_and_eval(actions: argparse._SubParsersAction) -> None:
    find = actions.add_parser("find", help="find Waldo on page images")
    find.add_argument("pages", nargs="+", type=Path, help="page image files")
    find.add_argument("--threshold", type=float, default=None, help="minimum score (default: the model's 0.5)")
    _common_inference(find)
    find.set_defaults(func=run_find)

    evaluate = actions.add_parser("eval", help="AP50 and top-1 hit rate on annotated pages")
    evaluate.add_argument("folder", type=Path, help="folder with the page images (or their pages/ subfolder)")
    evaluate.add_argument("--annotations", type=Path, required=True, help="annotations.json or a VIA project JSON")
    evaluate.add_argument(
        "--split",
        choices=("all", "val", "new", "train"),
        default="all",
        help="which pages (val: the fixed validation split; new: the pages of new artwork no choice looked at)",
    )
    evaluate.add_argument("--only", nargs="+", metavar="FILE", help="restrict to these page files")
    _fold_arguments(evaluate)
    evaluate.add_argument(
        "--fold", type=int, nargs="+", metavar="K", help="with --folds: score only these folds (a partial run)"
    )
    evaluate.add_argument(
        "--fold-weights", type=Path, help="with --folds: folder of fold1.pt .. foldK.pt, each trained with --fold"
    )
    _common_inference(evaluate)
    evaluate.set_defaults(func=run_eval)

    pooled = actions.add_parser(
        "pool", help="one cross-validation summary from eval --folds --json runs of other folds"
    )
    pooled.add_argument("results", nargs="+", type=Path, help="saved eval --folds ... --json outputs")
    pooled.add_argument("--json", action="store_true", help="print JSON")
    pooled.set_defaults(func=run_pool)


def _common_inference(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, help="a checkpoint to use instead of the shipped model")
    parser.add_argument("--tile", type=int, default=DEFAULT_TILE, help="inference tile side in page pixels")
    parser.add_argument("--mirror", action="store_true", help="test-time augmentation: also search the mirror image")
    parser.add_argument(
        "--coarse", action="store_true", help="also search the page shrunk to ~2 tiles across (poster-sized Waldos)"
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _model(args: argparse.Namespace) -> torch.nn.Module:
    _threads(args.threads)
    if args.weights is None:
        return load_model("waldo_maskrcnn").model
    return _checkpoint(args.weights)


def _checkpoint(path: Path) -> torch.nn.Module:
    if not path.is_file():
        raise CliError(f"{path}: no such weights file")
    try:
        return load_waldo_model(path)
    except (RuntimeError, ValueError, OSError) as err:
        raise CliError(f"{path}: not a Waldo checkpoint ({type(err).__name__})") from err


def run_find(args: argparse.Namespace) -> int:
    threshold = get_spec("waldo_maskrcnn").meta["threshold"] if args.threshold is None else args.threshold
    images = [(path, to_array(open_image(path, max_side=None))) for path in args.pages]  # fail on a bad page first
    model = _model(args)
    report = []
    for path, image in images:
        result = find_waldo(model, image, tile=args.tile, mirror=args.mirror, coarse=args.coarse)
        finds = [d.as_dict() for d in result.above(threshold)]
        report.append(
            {
                "page": str(path),
                "width": result.width,
                "height": result.height,
                "detections": finds,
                "seconds": round(result.seconds, 3),
            }
        )
        if not args.json:
            summary = ", ".join(f"{d['score']:.2f} at {d['box']}" for d in finds) or "no Waldo found"
            print(f"{path}: {summary} ({result.seconds:.1f} s)")
    if args.json:
        print_json(report)
    return 0


def run_eval(args: argparse.Namespace) -> int:
    try:
        annotations = load_annotations(args.annotations)
    except ValueError as err:
        raise CliError(str(err)) from err
    if args.folds is not None or args.fold_weights is not None or args.fold is not None:
        return _run_cross_validation(args, annotations)
    pages = split_pages(annotations, args.split)
    if args.only:
        unknown = sorted(set(args.only) - {p.file for p in pages})
        if unknown:
            raise CliError(f"not in the {args.split} split of {args.annotations}: {', '.join(unknown)}")
        pages = [p for p in pages if p.file in args.only]
    if not pages:
        raise CliError(f"{args.annotations}: no annotated pages in the {args.split} split")
    for page in pages:
        page_path(args.folder, page)  # every image must exist before the slow part starts
    model = _model(args)
    summary = evaluate(model, args.folder, pages, **_search_options(args))
    if args.json:
        print_json(summary)
    else:
        for key in ("pages", "ap50", "top1_hit_rate", "ci95", "mean_seconds_per_page", "hidden", "icon"):
            print(f"{key}: {summary[key]}")
    return 0


def _search_options(args: argparse.Namespace) -> dict:
    """The find_waldo options of ``eval``, and progress on stderr unless the output is JSON."""
    progress = None if args.json else _print_progress
    return {"tile": args.tile, "mirror": args.mirror, "coarse": args.coarse, "progress": progress}


def _run_cross_validation(args: argparse.Namespace, annotations: dict) -> int:
    """Score each fold's pages with the model trained without them, checked against the record it was trained with."""
    if args.folds is None or args.fold_weights is None:
        raise CliError("--folds and --fold-weights go together")
    if args.split != "all" or args.weights:
        raise CliError("--folds scores each page with its own fold's model: drop --split and --weights")
    folds = page_folds(args.annotations, args.folds)
    unknown = sorted(set(args.only or ()) - set(annotations))
    if unknown:
        raise CliError(f"not in {args.annotations}: {', '.join(unknown)}")
    chosen = set(args.fold or range(1, args.folds + 1))
    if not chosen <= set(range(1, args.folds + 1)):
        raise CliError(f"--fold must lie in 1..{args.folds}")
    scored = [
        [name for name in fold if index in chosen and (not args.only or name in args.only)]
        for index, fold in enumerate(folds, start=1)
    ]
    for index, (fold, names) in enumerate(zip(folds, scored, strict=True), start=1):
        if not names:
            continue  # a fold with no page to score needs no model
        weights = args.fold_weights / f"fold{index}.pt"
        record = weights.with_suffix(".json")
        if not weights.is_file() or not record.is_file():
            raise CliError(f"{weights} (and its .json): missing; train it with --folds {args.folds} --fold {index}")
        if sorted(json.loads(record.read_text()).get("held_out", [])) != fold:
            raise CliError(f"{weights}: was not trained holding out fold {index} of these annotations")
        for name in names:
            page_path(args.folder, annotations[name])
    _threads(args.threads)
    summary = cross_validate(
        args.folder,
        [[annotations[name] for name in names] for names in scored],
        lambda index: _checkpoint(args.fold_weights / f"fold{index + 1}.pt"),
        **_search_options(args),
    )
    _print_cross_validation(summary, args.json)
    return 0


def run_pool(args: argparse.Namespace) -> int:
    results = []
    for path in args.results:
        try:
            results.append(json.loads(path.read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CliError(f"{path}: not a saved eval --folds --json output ({type(err).__name__})") from err
        if not isinstance(results[-1], dict) or not {"folds", "per_fold", "pooled"} <= results[-1].keys():
            raise CliError(f"{path}: not a saved eval --folds --json output")
    try:
        summary = pool(results)
    except (ValueError, KeyError, TypeError) as err:
        raise CliError(f"these results do not pool: {err}") from err
    _print_cross_validation(summary, args.json)
    return 0


def _print_cross_validation(summary: dict, as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    for figures in summary["per_fold"]:
        print(
            f"fold {figures['fold']}: {figures['pages']} pages, top-1 {figures['top1_hit_rate']}, AP50 {figures['ap50']}"
        )
    for key in ("mean", "spread"):
        print(f"{key} over folds: {summary[key]}")
    pooled = summary["pooled"]
    print(f"pooled: top-1 {pooled['top1_hit_rate']}, AP50 {pooled['ap50']}, 95% interval {pooled['ci95']}")


def _print_progress(fraction: float, text: str) -> None:
    print(text, file=sys.stderr)
