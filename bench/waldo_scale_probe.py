"""Probe: would extra scale views help the thorough search? Top-1 and AP50 of the shipped model per set of views.

The pages are the 23 the shipped model never trained on (the 14 validation pages and the 9 of new artwork); they
have chosen things since (this search's default among them), so these are validation figures. Each set of views
replaces ``core.waldo.infer.search_views`` and runs ``core.waldo.eval.evaluate`` on the same pages; every find of
every view is merged by the search's one NMS. Printed per set: top-1 hit rate, AP50 and seconds per page.

    .venv/bin/python bench/waldo_scale_probe.py [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import core.waldo.infer as infer  # noqa: E402
from core.models import load_model  # noqa: E402
from core.waldo.data import load_annotations, split_pages, waldo_dir  # noqa: E402
from core.waldo.eval import evaluate  # noqa: E402
from core.waldo.infer import View  # noqa: E402

VIEW_SETS = {
    "the page": (View(),),
    "the page + mirror": (View(), View(flip=True)),
    "the page + 1.25x": (View(), View(scale=1.25)),
    "the page + 0.8x": (View(), View(scale=0.8)),
    "the page + 0.8x + 1.25x": (View(), View(scale=0.8), View(scale=1.25)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model("waldo_maskrcnn").model
    annotations = load_annotations(waldo_dir() / "annotations.json")
    pages = split_pages(annotations, "val") + split_pages(annotations, "new")
    print(f"{'views':<26} {'pages':>5} {'top-1':>6} {'AP50':>6} {'s/page':>7}")
    for name, views in VIEW_SETS.items():
        infer.search_views = lambda *_, views=views, **__: views
        began = time.perf_counter()
        summary = evaluate(model, waldo_dir() / "pages", pages)
        seconds = (time.perf_counter() - began) / len(pages)
        print(f"{name:<26} {len(pages):5d} {summary['top1_hit_rate']:6.3f} {summary['ap50']:6.3f} {seconds:7.2f}")


if __name__ == "__main__":
    main()
