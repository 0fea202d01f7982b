"""Reading what a batch wrote: the grid vectors of a ``batch embed --model mobilenet_v2`` job, as a collection the
image grid lays out without running the network again."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.batch.files import label_of
from core.batch.manifest import read_job, read_rows
from core.cli import CliError
from core.grid.collections import Collection, Item

GRID_MODEL = "mobilenet_v2"


def load_embedding(path: Path) -> np.ndarray:
    """The grid vector an ``EmbedJob(GRID_MODEL)`` wrote (read without pickle)."""
    with np.load(path, allow_pickle=False) as arrays:
        return arrays["embedding"]


def embedded_collection(out: Path, limit: int | None = None) -> Collection:
    """The photos a ``batch embed --model mobilenet_v2`` job in ``out`` embedded, first ``limit`` of them, with their
    vectors as the collection's features (the grid then needs no network) and the inputs not done in ``skipped``."""
    job = read_job(out)
    if job is None or job.get("job") != "embed" or job.get("model") != GRID_MODEL:
        found = "no batch" if job is None else f"a {job.get('job')} batch ({job.get('model', '-')})"
        raise CliError(f"{out}: holds {found}; run `batch embed DIR --model {GRID_MODEL} --out {out}` first")
    if limit is not None and limit < 1:
        raise CliError(f"the image limit must be at least 1, got {limit}")
    rows = sorted(read_rows(out).values(), key=lambda row: row["input"])
    done = [row for row in rows if row["status"] == "done"][:limit]
    if not done:
        raise CliError(f"{out}: no embedded photos in its manifest")
    folder = Path(job["folder"])
    items = [Item(row["input"], label_of(row["input"]), folder / row["input"]) for row in done]
    features = np.stack([load_embedding(Path(out) / row["output"]) for row in done])
    skipped = [f"{row['input']}: {row.get('reason', row['status'])}" for row in rows if row["status"] != "done"]
    return Collection(Path(out).name, items, pixels=features, skipped=skipped)
