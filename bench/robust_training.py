"""Worked example: does adversarial augmentation make a head-only fine-tune of MobileNetV2 more robust?

MobileNetV2 (ImageNet weights from the registry, backbone frozen) gets a new 10-class head, trained twice on the same
CIFAR-10 demo images with the same schedule: once on clean images, once with adversarial augmentation (each image,
with probability ``--probability``, replaced when drawn by a PGD example against the head as it is then:
``core.robustness.AdversarialDataset``). Both are then measured on held-out images, clean and under FGSM and PGD per
eps (``core.robustness.evaluate``, RobustBench's robust accuracy). The baseline is the clean fine-tune.

Split (per class, files sorted by name): the first ``--train`` images train, the last ``--test`` are held out.
The attack reaches the network through the 32 px image upsampled by the model's own preprocessing (resize 232,
crop 224), so eps is in grey levels of the 32x32 image.

    OMP_NUM_THREADS=1 .venv/bin/python bench/robust_training.py [--train 30] [--test 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cloak.attacks import Attack  # noqa: E402
from core.config import data_root  # noqa: E402
from core.models import load_model  # noqa: E402
from core.robustness import (  # noqa: E402
    AdversarialDataset,
    LabelledImages,
    LabelledSet,
    evaluate,
    labelled_folder,
    train_head,
    with_new_head,
)


def split(dataset: LabelledSet, train: int, test: int) -> tuple[LabelledSet, LabelledSet]:
    """Per class: the first ``train`` images and the last ``test`` (disjoint when train + test <= the class size)."""
    by_class: dict[int, list] = {}
    for image in dataset.images:
        by_class.setdefault(image.label, []).append(image)
    if any(train + test > len(images) for images in by_class.values()):
        raise SystemExit(f"--train {train} + --test {test} is more than a class holds")
    first = [image for images in by_class.values() for image in images[:train]]
    last = [image for images in by_class.values() for image in images[len(images) - test :]]
    return replace(dataset, images=tuple(first)), replace(dataset, images=tuple(last))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=data_root() / "cifar10")
    parser.add_argument("--train", type=int, default=30, help="training images per class")
    parser.add_argument("--test", type=int, default=10, help="held-out images per class")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-eps", type=float, default=4.0, help="PGD eps of the augmentation, grey levels")
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--probability", type=float, default=0.5, help="share of items replaced by their attack")
    parser.add_argument("--eps", default="1,2,4,8", help="evaluation eps, grey levels")
    parser.add_argument("--pgd-steps", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    backbone = load_model("mobilenet_v2").model
    classes = sorted(path.name for path in args.data.iterdir() if path.is_dir())
    train, test = split(labelled_folder(args.data, classes), args.train, args.test)
    eps = [float(e) for e in args.eps.split(",")]
    attacks = [Attack("fgsm", eps=e) for e in eps] + [Attack("pgd", eps=e, steps=args.pgd_steps) for e in eps]
    augmentation = Attack("pgd", eps=args.train_eps, steps=args.train_steps)
    print(
        f"{len(train.images)} training, {len(test.images)} held-out images; {len(classes)} classes; load {os.getloadavg()}"
    )

    results = {}
    for name, probability in (("clean fine-tune (baseline)", 0.0), ("adversarial augmentation", args.probability)):
        start = time.perf_counter()
        model = with_new_head(backbone, classes)
        data = AdversarialDataset(LabelledImages(train), model, augmentation, probability=probability)
        losses = train_head(model, data, epochs=args.epochs)
        trained = time.perf_counter() - start
        report = evaluate(model, test, attacks)
        results[name] = {
            **report.as_dict(),
            "final_losses": [round(loss, 4) for loss in losses],
            "train_seconds": round(trained, 1),
            "eval_seconds": round(time.perf_counter() - start - trained, 1),
        }
        print(f"{name}: trained in {trained:.0f} s, losses {results[name]['final_losses']}, load {os.getloadavg()}")

    print_table(results, eps)
    if args.json:
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        args.json.write_text(json.dumps({"settings": settings, "results": results}, indent=2))


def print_table(results: dict, eps: list[float]) -> None:
    """One Markdown row per model: clean accuracy, then robust accuracy per attack and eps."""
    columns = [f"{method} {e:g}" for method in ("fgsm", "pgd") for e in eps]
    print("| model | clean | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for name, result in results.items():
        robust = [f"{row['robust_accuracy']:.2f}" for row in result["robust"]]
        print(f"| {name} | {result['clean_accuracy']:.2f} | " + " | ".join(robust) + " |")


if __name__ == "__main__":
    main()
