"""The manifest of a batch: ``OUT/manifest.jsonl``, one JSON row per input (status, reason, seconds, output and
report figures), appended and flushed to disk as each result arrives, so a crash loses no finished result.

Resume rule: a re-run with the same OUT skips an input whose latest row is finished (done with its output present,
no face, unreadable) and still describes the file (same size and modification time); it retries failed inputs and
inputs without a row. At the end of a run the manifest is rewritten with exactly one row per input, in input order.
``OUT/job.json`` records what the job computes; a different job cannot resume into the same OUT. One run at a time
holds ``OUT/.lock``.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path

from core.batch.files import Input, write_atomically
from core.cli import CliError

MANIFEST = "manifest.jsonl"
JOB_FILE = "job.json"
LOCK_FILE = ".lock"
STATUSES = ("done", "no_face", "unreadable", "failed")
FINISHED = frozenset({"done", "no_face", "unreadable"})  # outcomes a re-run keeps; "failed" is retried


def read_rows(out: Path) -> dict[str, dict]:
    """The latest row of each input in ``OUT/manifest.jsonl`` (a line torn by a crash is ignored)."""
    rows: dict[str, dict] = {}
    path = Path(out) / MANIFEST
    if not path.exists():
        return rows
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "input" in row:
                rows[row["input"]] = row
    return rows


def read_job(out: Path) -> dict | None:
    """What the batch in ``out`` computes (its job.json), or None when there is none."""
    path = Path(out) / JOB_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


class Manifest:
    """The manifest of one run, open for appending; use as a context manager (it holds the folder's lock)."""

    def __init__(self, out: Path, job: dict) -> None:
        self.out = Path(out)
        self._lock = open(self.out / LOCK_FILE, "w")  # noqa: SIM115 (held for the whole run, closed in close())
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise CliError(f"--out {out}: another batch is writing there now") from None
        try:
            self._claim(job)
        except BaseException:
            self._lock.close()
            raise
        self.rows = read_rows(self.out)
        self._file = open(self.out / MANIFEST, "a+", encoding="utf-8")  # noqa: SIM115
        self._end_torn_line()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _claim(self, job: dict) -> None:
        job = json.loads(json.dumps(job))  # compared as stored: tuples become lists
        recorded = read_job(self.out)
        if recorded is not None and recorded != job:
            raise CliError(
                f"--out {self.out} holds a batch of another job ({json.dumps(recorded, sort_keys=True)});"
                " choose another folder to run this one"
            )
        if recorded is None:
            write_atomically(self.out / JOB_FILE, json.dumps(job, indent=2, sort_keys=True).encode())

    def _end_torn_line(self) -> None:
        """A crash can cut the last line short: start the next row on a line of its own."""
        self._file.seek(0, os.SEEK_END)
        if self._file.tell() == 0:
            return
        self._file.seek(self._file.tell() - 1)
        if self._file.read(1) != "\n":
            self._file.write("\n")

    def finished(self, item: Input) -> bool:
        """Whether a re-run can skip ``item``: its latest row is finished and still describes the file."""
        row = self.rows.get(item.name)
        if row is None or row.get("status") not in FINISHED:
            return False
        if (row.get("bytes"), row.get("mtime_ns")) != (item.size, item.mtime_ns):
            return False
        return row["status"] != "done" or (self.out / row["output"]).is_file()

    def record(self, item: Input, row: dict) -> dict:
        """Append ``row`` for ``item`` (with the file's size and time) and force it to disk before returning."""
        return self.record_batch([(item, row)])[0]

    def record_batch(self, results: list[tuple[Input, dict]]) -> list[dict]:
        """record() for a finished batch's rows, with one fsync for them all (the driver's cost per input)."""
        rows = [{"input": item.name, **row, "bytes": item.size, "mtime_ns": item.mtime_ns} for item, row in results]
        self._file.write("".join(json.dumps(row) + "\n" for row in rows))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.rows.update((row["input"], row) for row in rows)
        return rows

    def compact(self, inputs: Iterable[Input]) -> list[dict]:
        """Rewrite the manifest atomically with one row per input that has one, in input order; those rows."""
        rows = [self.rows[item.name] for item in inputs if item.name in self.rows]
        self._file.close()
        write_atomically(self.out / MANIFEST, "".join(json.dumps(row) + "\n" for row in rows).encode())
        self._file = open(self.out / MANIFEST, "a", encoding="utf-8")  # noqa: SIM115
        return rows

    def close(self) -> None:
        self._file.close()
        self._lock.close()
