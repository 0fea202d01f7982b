"""The driver of a batch: list the folder, skip what a previous run finished, hand the rest to an engine in batches,
record every row as it arrives, draw one progress bar (items per second, ETA), and sum it up."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from core.batch.engines import EngineOptions
from core.batch.files import Input, check_layout, list_inputs, remove_partials
from core.batch.jobs import Task, problem
from core.batch.manifest import MANIFEST, STATUSES, Manifest
from core.cli import CliError, writable_output
from core.images import IMAGE_SUFFIXES


def run_batch(job, folder: Path, out: Path, options: EngineOptions, show_progress: bool = True) -> dict:
    """Run ``job`` over every file in ``folder`` into ``out``; the summary: counts per status over all inputs, what
    this run processed and skipped, seconds, items per second, and every input not done with its reason."""
    check_layout(folder, out)
    writable_output(out, folder=True)
    inputs = list_inputs(folder)
    if not inputs:
        raise CliError(f"{folder}: no files to process")
    start = time.perf_counter()
    with Manifest(out, {**job.describe(), "folder": str(Path(folder).resolve())}) as manifest:
        removed = remove_partials(out)
        pending = [item for item in inputs if not manifest.finished(item)]
        images = {item.name: item for item in pending if PurePosixPath(item.name).suffix.lower() in IMAGE_SUFFIXES}
        for item in pending:
            if item.name not in images:
                manifest.record(item, problem("unreadable", f"{item.name}: not an image file (by its suffix)"))
        tasks = [Task(item.name, str(item.path), str(Path(out).resolve())) for item in images.values()]
        size = options.batch_size or job.batch_size
        batches = [tasks[i : i + size] for i in range(0, len(tasks), size)]
        new_rows, first = _record_all(manifest, images, options.run(job, batches), show_progress)
        rows = manifest.compact(inputs)
    seconds = time.perf_counter() - start
    summary = {"job": job.kind, "engine": options.engine, **_counts(rows, len(inputs) - len(pending))}
    return {
        **summary,
        "processed": len(images),
        "workers_used": len({row["worker"] for row in new_rows if "worker" in row}),
        "seconds": round(seconds, 3),
        "seconds_to_first_result": None if first is None else round(first, 3),
        "items_per_second": round(len(images) / seconds, 3) if images else None,
        "partial_files_removed": removed,
        "manifest": str(Path(out) / MANIFEST),
        "problems": [
            {"input": row["input"], "status": row["status"], "reason": row.get("reason", "")}
            for row in rows
            if row["status"] != "done"
        ],
    }


def _record_all(
    manifest: Manifest, items: dict[str, Input], results: Iterable[list[dict]], show_progress: bool
) -> tuple[list[dict], float | None]:
    """Record each batch's rows the moment they arrive; the rows, and the seconds until the first (start-up)."""
    start, first, recorded = time.perf_counter(), None, []
    with tqdm(total=len(items), unit="photo", file=sys.stderr, disable=not show_progress, smoothing=0.1) as bar:
        for rows in results:
            first = time.perf_counter() - start if first is None else first
            results = [(items[row["input"]], {k: v for k, v in row.items() if k != "input"}) for row in rows]
            recorded += manifest.record_batch(results)
            bar.update(len(rows))
    return recorded, first


def _counts(rows: list[dict], skipped: int) -> dict:
    counts = Counter(row["status"] for row in rows)
    return {
        "inputs": len(rows),
        **{status: counts.get(status, 0) for status in STATUSES},
        "skipped_already_finished": skipped,
    }
