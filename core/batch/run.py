"""The driver of a batch: list the folder, skip what a previous run finished, hand the rest to an engine in batches,
record every row as it arrives, draw one progress bar (items per second, ETA), and sum it up."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from core.batch.engines import local_engine, machine_cores, ray_engine
from core.batch.files import Input, check_layout, list_inputs, remove_partials
from core.batch.jobs import Task, problem
from core.batch.manifest import MANIFEST, STATUSES, Manifest
from core.cli import CliError, writable_output
from core.images import IMAGE_SUFFIXES


def run_batch(
    job,
    folder: Path,
    out: Path,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    show_progress: bool = True,
) -> dict:
    """Run ``job`` over every file in ``folder`` into ``out``; the summary (counts per status over all inputs, this
    run's processed and skipped counts, seconds, items per second, the inputs that were not done and why)."""
    check_layout(folder, out)
    writable_output(out, folder=True)
    inputs = list_inputs(folder)
    if not inputs:
        raise CliError(f"{folder}: no files to process")
    start = time.perf_counter()
    with Manifest(out, {**job.describe(), "folder": str(Path(folder).resolve())}) as manifest:
        removed = remove_partials(out)
        pending = [item for item in inputs if not manifest.finished(item)]
        images = [item for item in pending if PurePosixPath(item.name).suffix.lower() in IMAGE_SUFFIXES]
        for item in pending:
            if item not in images:
                manifest.record(item, problem("unreadable", f"{item.name}: not an image file (by its suffix)"))
        by_name = {item.name: item for item in images}
        tasks = [Task(item.name, str(item.path), str(Path(out).resolve())) for item in images]
        batches = [tasks[i : i + job.batch_size] for i in range(0, len(tasks), job.batch_size)]
        count = workers or max(1, int(machine_cores() // cpus_per_worker))
        first = _record_all(
            manifest,
            by_name,
            _engine(job, batches, engine, count, address, cpus_per_worker, gpus_per_worker),
            show_progress,
        )
        rows = manifest.compact(inputs)
    seconds = time.perf_counter() - start
    return _summary(job, engine, count, inputs, pending, images, rows, seconds, first, removed, Path(out))


def _engine(job, batches, engine, workers, address, cpus_per_worker, gpus_per_worker):
    if not batches:
        return iter(())
    if engine == "ray":
        return ray_engine(
            job,
            batches,
            workers=workers,
            address=address,
            cpus_per_worker=cpus_per_worker,
            gpus_per_worker=gpus_per_worker,
        )
    threads = max(1, machine_cores() // workers)  # as a Ray actor holding cores // workers CPUs
    return local_engine(job, batches, min(workers, len(batches)), threads)


def _record_all(manifest: Manifest, by_name: dict[str, Input], results, show_progress: bool) -> float | None:
    """Record each batch's rows the moment they arrive; seconds until the first result (the engine's start-up)."""
    start, first = time.perf_counter(), None
    with tqdm(total=len(by_name), unit="photo", file=sys.stderr, disable=not show_progress, smoothing=0.1) as bar:
        for rows in results:
            first = time.perf_counter() - start if first is None else first
            for row in rows:
                manifest.record(by_name[row["input"]], {key: value for key, value in row.items() if key != "input"})
            bar.update(len(rows))
    return first


def _summary(job, engine, workers, inputs, pending, images, rows, seconds, first, removed, out: Path) -> dict:
    counts = Counter(row["status"] for row in rows)
    return {
        "job": job.kind,
        "engine": engine,
        "workers": workers,
        "inputs": len(inputs),
        **{status: counts.get(status, 0) for status in STATUSES},
        "skipped_already_finished": len(inputs) - len(pending),
        "processed": len(images),
        "seconds": round(seconds, 3),
        "seconds_to_first_result": None if first is None else round(first, 3),
        "items_per_second": round(len(images) / seconds, 3) if images else None,
        "partial_files_removed": removed,
        "manifest": str(out / MANIFEST),
        "problems": [
            {"input": row["input"], "status": row["status"], "reason": row.get("reason", "")}
            for row in rows
            if row["status"] != "done"
        ],
    }
