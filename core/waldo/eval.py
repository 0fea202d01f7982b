"""Scoring Waldo finds against annotated pages: AP at IoU 0.5, the top-1 hit rate, and the same split by box kind.

- ``ap50``: average precision (all-point interpolated, VOC 2010+) over all pages' Waldo boxes; each detection
  matches at most one unmatched box with IoU >= 0.5, best score first.
- ``top1_hit_rate``: share of pages (with at least one box) whose highest-scoring detection overlaps a true box
  with IoU >= 0.3 or has its centre inside one.
- by kind (``core.waldo.data.box_kind``): ``hidden`` and ``icon`` each get their own AP50 (detections that match
  a box of the other kind are neither hits nor false alarms) and top-1 hit rate over pages that have that kind.
- ``ci95``: 95 % intervals for ``ap50`` and ``top1_hit_rate`` by a page-level percentile bootstrap (pages drawn with
  replacement, seeded), because a dozen pages is a small sample: one page moves the top-1 rate by several points.
  Cross-validation (``cross_validate``) resamples whole artwork clusters instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from core.boxes import box_iou
from core.images import open_image, to_array
from core.progress import Progress
from core.waldo.data import PageAnnotation, page_path
from core.waldo.folds import artwork_clusters
from core.waldo.infer import Detection, find_waldo

HIT_IOU = 0.3
AP_IOU = 0.5
BOOTSTRAP_SAMPLES = 2000
CALIBRATION_EDGES = (0.5, 0.8, 0.95)  # top-find score bands for ``calibration``


def is_hit(box, truth) -> bool:
    """The top-1 rule: IoU >= 0.3 with the true box, or the detection's centre inside it."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return box_iou(box, truth) >= HIT_IOU or (truth[0] <= cx <= truth[2] and truth[1] <= cy <= truth[3])


def answer_ranks(detections: list[Detection], truth: np.ndarray) -> list[int | None]:
    """Per true box, the 1-based rank of the best find that hits it by the top-1 rule; None when no find does."""
    return [next((rank for rank, d in enumerate(detections, start=1) if is_hit(d.box, box)), None) for box in truth]


def average_precision(pages: list[tuple[list[Detection], np.ndarray, list[bool]]]) -> float | None:
    """AP50 over (detections, true boxes, counted?) per page; uncounted boxes swallow their matches silently."""
    total = sum(int(np.sum(counted)) for _, _, counted in pages)
    if total == 0:
        return None
    scored = []
    for page_index, (detections, _, _) in enumerate(pages):
        scored += [(d.score, page_index, d.box) for d in detections]
    scored.sort(key=lambda s: -s[0])
    matched = [np.zeros(len(boxes), bool) for _, boxes, _ in pages]
    outcomes = []
    for _, page_index, box in scored:
        _, boxes, counted = pages[page_index]
        ious = [box_iou(box, t) if not matched[page_index][k] else -1.0 for k, t in enumerate(boxes)]
        best = int(np.argmax(ious)) if ious else -1
        if best >= 0 and ious[best] >= AP_IOU:
            matched[page_index][best] = True
            if counted[best]:
                outcomes.append(True)
            continue
        outcomes.append(False)
    hits = np.cumsum(outcomes)
    recall = hits / total
    precision = hits / np.arange(1, len(outcomes) + 1)
    envelope = np.maximum.accumulate(np.concatenate([precision, [0.0]])[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope[:-1])) if len(outcomes) else 0.0


def evaluate(
    model: torch.nn.Module,
    folder: Path,
    pages: list[PageAnnotation],
    *,
    progress: Progress | None = None,
    **find_options,
) -> dict:
    """Run ``find_waldo`` on every annotated page and score it (see the module docstring)."""
    records = []
    for index, page in enumerate(pages):
        records.append(_record(model, folder, page, find_options))
        if progress:
            progress((index + 1) / len(pages), f"page {index + 1}/{len(pages)}")
    return summarise(records)


def cross_validate(
    folder: Path,
    folds: list[list[PageAnnotation]],
    fold_model: Callable[[int], torch.nn.Module],
    *,
    progress: Progress | None = None,
    **find_options,
) -> dict:
    """Score fold ``i``'s pages with ``fold_model(i)`` (a model that never trained on them) for every fold: the
    per-fold figures, their mean and spread, and the figures pooled over every page with an interval that
    resamples whole artwork clusters."""
    per_fold, records = [], []
    total = sum(len(fold) for fold in folds)
    for index, fold in enumerate(folds):
        if not fold:  # every page of this fold was left out (``--only``)
            continue
        model = fold_model(index)
        fold_records = []
        for page in fold:
            fold_records.append(_record(model, folder, page, find_options))
            if progress:
                progress((len(records) + len(fold_records)) / total, f"fold {index + 1}/{len(folds)}: {page.file}")
        records += fold_records
        summary = summarise(fold_records)
        per_fold.append({key: summary[key] for key in ("pages", "ap50", "top1_hit_rate", "mean_seconds_per_page")})
        per_fold[-1].update(fold=index + 1, files=[page.file for page in fold])
    return _cross_validation_summary(len(folds), per_fold, records, _search(find_options))


def pool(results: list[dict]) -> dict:
    """One cross-validation summary from saved ``cross_validate`` summaries (``eval --folds --fold K --json``) of
    different folds, for folds scored in separate runs. Per-fold figures are kept as saved; the pooled ones are
    recomputed from the saved finds (boxes to 0.1 px, scores to 4 decimals), so AP50 can differ from a single
    run's in the last digit."""
    if not results:
        raise ValueError("nothing to pool")
    if len({r["folds"] for r in results}) > 1 or len({json.dumps(r.get("search")) for r in results}) > 1:
        raise ValueError("these results come from different fold counts or search options: they do not pool")
    per_fold = sorted((f for r in results for f in r["per_fold"]), key=lambda f: f["fold"])
    folds = [f["fold"] for f in per_fold]
    if len(set(folds)) < len(folds):
        raise ValueError(f"fold {next(f for f in folds if folds.count(f) > 1)} appears in more than one result")
    in_fold_order = sorted(results, key=lambda r: min(f["fold"] for f in r["per_fold"]))
    records = [_saved_record(page) for r in in_fold_order for page in r["pooled"]["per_page"]]
    return _cross_validation_summary(results[0]["folds"], per_fold, records, results[0].get("search"))


def _cross_validation_summary(k: int, per_fold: list[dict], records: list, search: dict | None) -> dict:
    clusters = artwork_clusters(page.file for page, *_ in records)
    groups = {name: index for index, cluster in enumerate(clusters) for name in cluster}
    pooled = summarise(records, groups=[groups[page.file] for page, *_ in records])
    return {
        "folds": k,
        "search": search,
        "calibration": calibration(pooled["per_page"]),
        "mean": {key: _mean(per_fold, key) for key in ("ap50", "top1_hit_rate")},
        "spread": {key: _spread(per_fold, key) for key in ("ap50", "top1_hit_rate")},
        "per_fold": per_fold,
        "pooled": pooled,
    }


def _search(find_options: dict) -> dict:
    """The options that change what ``find_waldo`` finds (not its progress callback), so saved results say how
    they were searched."""
    return {key: value for key, value in sorted(find_options.items()) if key != "progress"}


@dataclass(frozen=True)
class _SavedFind:
    """A find read back from a saved summary: what scoring needs (box, score) and what it printed."""

    box: tuple[float, ...]
    score: float
    saved: dict

    def as_dict(self) -> dict:
        return self.saved


class _SavedResult(NamedTuple):
    detections: list[_SavedFind]
    seconds: float


def _saved_record(page: dict) -> tuple:
    """A ``summarise`` record rebuilt from one saved ``per_page`` entry."""
    finds = [_SavedFind(tuple(f["box"]), f["score"], f) for f in page["finds"]]
    annotation = PageAnnotation(page["file"], None, None, np.array(page["boxes"], float).reshape(-1, 4))
    return annotation, None, _SavedResult(finds, page["seconds"]), page["kinds"]


def calibration(per_page: list[dict], edges: tuple[float, ...] = CALIBRATION_EDGES) -> list[dict]:
    """How often the top find was Waldo, by the score it had: per score band, pages and top-1 hits. Measured on
    pages the model never trained on, this is what a score means (the detector's scores are not probabilities)."""
    bands = list(zip((0.0, *edges), (*edges, 1.0), strict=True))
    table = [{"from": low, "to": high, "pages": 0, "waldo": 0} for low, high in bands]
    for page in per_page:
        if not page["boxes"] or page["top"] is None:
            continue
        score = page["top"]["score"]
        band = next(row for row in reversed(table) if score >= row["from"])
        band["pages"] += 1
        band["waldo"] += int(page["top1_hit"])
    return table


def _mean(per_fold: list[dict], key: str) -> float | None:
    values = [f[key] for f in per_fold if f[key] is not None]
    return round(float(np.mean(values)), 4) if values else None


def _spread(per_fold: list[dict], key: str) -> dict | None:
    """The folds' standard deviation, lowest and highest."""
    values = [f[key] for f in per_fold if f[key] is not None]
    if not values:
        return None
    return {
        "sd": round(float(np.std(values, ddof=1)), 4) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def _record(model: torch.nn.Module, folder: Path, page: PageAnnotation, find_options: dict) -> tuple:
    image = to_array(open_image(page_path(folder, page), max_side=None))
    result = find_waldo(model, image, **find_options)
    return page, image.shape, result, page.box_kinds(image.shape[1], image.shape[0])


def summarise(records: list, groups: list | None = None) -> dict:
    per_page, seconds = [], []
    for page, _, result, kinds in records:
        top = result.detections[0] if result.detections else None
        hits = [bool(top is not None and is_hit(top.box, t)) for t in page.boxes]
        per_page.append(
            {
                "file": page.file,
                "boxes": page.boxes.tolist(),
                "kinds": kinds,
                "top": top.as_dict() if top else None,
                "top1_hit": any(hits),
                "top1_hit_kind": kinds[hits.index(True)] if any(hits) else None,
                "detections": len(result.detections),
                # best first (bench/waldo_verifier_probe.py reads them)
                "finds": [d.as_dict() for d in result.detections],
                "seconds": round(result.seconds, 3),
            }
        )
        seconds.append(result.seconds)
    summary = {
        "pages": len(records),
        "ap50": _ap(records, None),
        "top1_hit_rate": _top1(per_page, None),
        "mean_seconds_per_page": round(float(np.mean(seconds)), 3) if seconds else None,
    }
    for kind in ("hidden", "icon"):
        summary[kind] = {
            "boxes": sum(k.count(kind) for *_, k in records),
            "ap50": _ap(records, kind),
            "top1_hit_rate": _top1(per_page, kind),
        }
    summary["ci95"] = bootstrap_ci(records, per_page, groups)
    summary["per_page"] = per_page
    return summary


def bootstrap_ci(
    records: list, per_page: list[dict], groups: list | None = None, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> dict:
    """Percentile 95 % intervals of AP50 and the top-1 hit rate over ``samples`` resamplings of the pages, or of
    whole groups of pages (``groups``: one label per record, such as its artwork cluster) when given, since pages
    of one artwork stand or fall together."""
    rng = np.random.default_rng(seed)
    labels = list(range(len(records))) if groups is None else groups
    members = {label: [i for i, g in enumerate(labels) if g == label] for label in dict.fromkeys(labels)}
    units = list(members.values())
    draws = rng.integers(0, len(units), size=(samples, len(units))) if records else np.empty((0, 0), int)
    ap50, top1 = [], []
    for draw in draws:
        pages = [i for unit in draw for i in units[unit]]
        ap50.append(_ap([records[i] for i in pages], None))
        top1.append(_top1([per_page[i] for i in pages], None))
    result = {"ap50": _interval(ap50), "top1_hit_rate": _interval(top1), "samples": samples, "seed": seed}
    return {**result, "resampled": "pages" if groups is None else "artwork clusters"}


def _interval(values: list[float | None]) -> list[float] | None:
    """The 2.5th and 97.5th percentiles; resamples with nothing to score (no boxes drawn) are left out."""
    kept = [v for v in values if v is not None]
    return [round(float(q), 4) for q in np.percentile(kept, [2.5, 97.5])] if kept else None


def _ap(records: list, kind: str | None) -> float | None:
    value = average_precision(
        [
            (result.detections, page.boxes, [kind is None or k == kind for k in kinds])
            for page, _, result, kinds in records
        ]
    )
    return None if value is None else round(value, 4)


def _top1(per_page: list[dict], kind: str | None) -> float | None:
    eligible = [p for p in per_page if p["boxes"] and (kind is None or kind in p["kinds"])]
    if not eligible:
        return None
    hits = [p["top1_hit"] if kind is None else p["top1_hit_kind"] == kind for p in eligible]
    return round(float(np.mean(hits)), 4)
