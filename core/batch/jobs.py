"""What a worker does with one batch of inputs: the single-photo commands' own per-photo functions
(``core.cloak.photo.cloak_photo``, the faces CLI's ``analyze_photos``, the grid's ``embed``), each result written
atomically and turned into a manifest row. Bad input never raises out of a batch: it becomes a row with its reason.

A job is a frozen dataclass of plain values: it travels to process-pool and Ray workers by pickling, and every
worker loads its models once (``prepare``; ``core.models.load_model`` keeps them for the process).
"""

from __future__ import annotations

import io
import resource
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np

from core.batch.files import output_path, write_atomically
from core.batch.results import GRID_MODEL
from core.cloak.face_cloak import NoFaceError
from core.cloak.photo import CloakSettings, cloak_photo
from core.faces.collection import analyze_photos, photos_from_paths
from core.grid.collections import Collection, Item
from core.grid.embed import embed
from core.images import ImageError
from core.models import RECOGNIZERS, load_model

EMBED_MODELS = (*RECOGNIZERS, GRID_MODEL)
FACE_BATCH = 16  # photos whose faces share embedding batches (as core.faces.collection.analyze_photos chunks them)
GRID_BATCH = 32  # as core.grid.embed batches the network


@dataclass(frozen=True)
class Task:
    """One input as a worker sees it: its relative name, where to read it and the batch's output folder."""

    name: str
    path: str
    out: str


def worker_facts(worker: str) -> dict:
    """Which worker produced a row and its peak memory so far (for the benchmark's memory per worker)."""
    return {"worker": worker, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def problem(status: str, err: BaseException | str) -> dict:
    """A row for an input that was not done: its status and the reason in one line."""
    reason = (
        err if isinstance(err, str) else (str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}")
    )
    return {"status": status, "reason": reason}


@dataclass(frozen=True)
class CloakJob:
    """``batch cloak``: one cloaked PNG per photo, with the cloak CLI's report as the row's figures."""

    settings: CloakSettings
    suffix: str = ".cloaked.png"
    batch_size: int = 1  # a cloak optimises one photo at a time

    @property
    def kind(self) -> str:
        return "cloak"

    def describe(self) -> dict:
        """The job.json record: everything that decides the outputs."""
        settings = asdict(self.settings)
        settings["references"] = [str(path) for path in self.settings.references]
        settings["target"] = str(self.settings.target) if self.settings.target else None
        return {"job": "cloak", **settings}

    def prepare(self) -> None:
        for name in ("mtcnn", *self.settings.recognizers):
            load_model(name)
        _cloak_options(self.settings)

    def process(self, tasks: list[Task], worker: str) -> list[dict]:
        return [{"input": task.name, **self._one(task), **worker_facts(worker)} for task in tasks]

    def _one(self, task: Task) -> dict:
        start = time.perf_counter()
        output = output_path(Path(task.out), task.name, self.suffix)
        try:
            report, png = cloak_photo(Path(task.path), output, self.settings, _cloak_options(self.settings))
            write_atomically(output, png)
        except ImageError as err:
            row = problem("unreadable", err)
        except NoFaceError as err:
            row = problem("no_face", err)
        except Exception as err:  # any other failure is this input's row, never the batch's end
            row = problem("failed", err)
        else:
            row = {"status": "done", "output": output.relative_to(task.out).as_posix(), "report": report}
        return {**row, "seconds": round(time.perf_counter() - start, 3)}


@cache
def _cloak_options(settings: CloakSettings) -> dict:
    """The reference and target photos, opened once per worker."""
    return settings.options()


@dataclass(frozen=True)
class EmbedJob:
    """``batch embed``: one ``.npz`` per photo. A face recognizer gives every face's embedding, box, probability and
    landmarks (as ``faces embed``); MobileNetV2 gives the image grid's 1280-d vector (as ``grid``)."""

    model: str

    @property
    def kind(self) -> str:
        return "embed"

    @property
    def suffix(self) -> str:
        return f".{self.model}.npz"

    @property
    def batch_size(self) -> int:
        return GRID_BATCH if self.model == GRID_MODEL else FACE_BATCH

    def describe(self) -> dict:
        return {"job": "embed", "model": self.model}

    def prepare(self) -> None:
        for name in (GRID_MODEL,) if self.model == GRID_MODEL else ("mtcnn", self.model):
            load_model(name)

    def process(self, tasks: list[Task], worker: str) -> list[dict]:
        start = time.perf_counter()
        try:
            rows = self._grid(tasks) if self.model == GRID_MODEL else self._faces(tasks)
        except Exception as err:  # a failure of the whole batch: each input gets it
            rows = [problem("failed", err) for _ in tasks]
        share = round((time.perf_counter() - start) / len(tasks), 3)  # batched: each input's share of the batch
        return [
            {"input": task.name, **row, "seconds": share, **worker_facts(worker)}
            for task, row in zip(tasks, rows, strict=True)
        ]

    def _faces(self, tasks: list[Task]) -> list[dict]:
        photos = photos_from_paths([Path(task.path) for task in tasks])
        rows = []
        for task, result in zip(tasks, analyze_photos(photos, self.model), strict=True):
            if result.error:
                rows.append(problem("unreadable", result.error))
            elif not result.faces:
                rows.append(problem("no_face", f"no face found in {task.name}"))
            else:
                arrays = {
                    "embeddings": np.stack([row.embedding for row in result.faces]).astype(np.float32),
                    "boxes": np.stack([row.face.box for row in result.faces]),
                    "probabilities": np.array([row.face.prob for row in result.faces]),
                    "landmarks": np.stack([row.face.landmarks for row in result.faces]),
                }
                rows.append({**self._write(task, arrays), "faces": len(result.faces)})
        return rows

    def _grid(self, tasks: list[Task]) -> list[dict]:
        collection = Collection("batch", [Item(task.name, "", Path(task.path)) for task in tasks])
        try:
            embedded = embed(collection, load_model(GRID_MODEL).model, self.model)
        except ImageError as err:
            if len(tasks) == 1:
                return [problem("unreadable", err)]
            return [row for task in tasks for row in self._grid([task])]  # none opened: each one's own reason
        vectors = dict(zip(embedded.collection.names, embedded.features, strict=True))
        reasons = {reason.split(": ", 1)[0]: reason for reason in embedded.skipped}
        return [
            {**self._write(task, {"embedding": vectors[task.name]}), "dimension": len(vectors[task.name])}
            if task.name in vectors
            else problem("unreadable", reasons.get(task.name, f"{task.name}: could not be opened"))
            for task in tasks
        ]

    def _write(self, task: Task, arrays: dict[str, np.ndarray]) -> dict:
        output = output_path(Path(task.out), task.name, self.suffix)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_atomically(output, buffer.getvalue())
        return {"status": "done", "output": output.relative_to(task.out).as_posix()}
