"""``python -m core batch`` on the local engine, on real photos: bad inputs become manifest rows with their reasons,
results equal the single-photo commands', a run killed part-way resumes with every input done exactly once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from core.batch.engines import local_engine, machine_cores
from core.batch.files import PARTIAL_SUFFIX, Input, check_layout, list_inputs, write_atomically
from core.batch.jobs import Task
from core.batch.manifest import MANIFEST, Manifest, read_rows
from core.batch.results import embedded_collection
from core.cli import CliError, main
from core.config import REPO_ROOT
from core.grid.collections import Collection
from core.grid.embed import embed

LFW = ("Colin_Powell", "George_W_Bush", "Tony_Blair")
WORKERS = str(machine_cores())  # one torch thread per worker, as this test process runs (conftest)


def _faces(data_dir: Path, each: int) -> list[Path]:
    return [path for person in LFW for path in sorted((data_dir / "faces" / person).glob("*.jpg"))[:each]]


@pytest.fixture
def mixed(data_dir: Path, tmp_path: Path) -> Path:
    """Two face photos, two CIFAR pictures without a face, a truncated JPEG, text named .jpg, a text file and a
    hidden file (not an input)."""
    folder = tmp_path / "photos"
    (folder / "people").mkdir(parents=True)
    (folder / "things").mkdir()
    for path in _faces(data_dir, 1)[:2]:
        shutil.copy(path, folder / "people" / path.name)
    for name in ("cat", "ship"):
        shutil.copy(data_dir / "cifar10" / name / "0000.jpg", folder / "things" / f"{name}.jpg")
    whole = (data_dir / "faces" / "Tony_Blair" / "Tony_Blair_0002.jpg").read_bytes()
    (folder / "people" / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    (folder / "notes.jpg").write_text("not a picture")
    (folder / "notes.txt").write_text("not a picture either")
    (folder / ".DS_Store").write_bytes(b"\0\1")
    return folder


def test_list_inputs_takes_every_visible_file_and_check_layout_refuses_overlap(mixed: Path, tmp_path: Path) -> None:
    names = [item.name for item in list_inputs(mixed)]
    assert names == [
        "notes.jpg",
        "notes.txt",
        "people/Colin_Powell_0001.jpg",
        "people/George_W_Bush_0001.jpg",
        "people/truncated.jpg",
        "things/cat.jpg",
        "things/ship.jpg",
    ]
    for out in (mixed, mixed / "people", tmp_path):
        with pytest.raises(CliError, match="overlaps the input folder"):
            check_layout(mixed, out)
    check_layout(mixed, tmp_path / "elsewhere")


def test_write_atomically_leaves_the_old_file_or_the_new_one(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.bin"
    write_atomically(target, b"first")
    with pytest.raises(TypeError):
        write_atomically(target, "text is not bytes")  # fails mid-write
    assert target.read_bytes() == b"first"
    assert list(tmp_path.rglob(f"*{PARTIAL_SUFFIX}")) == []


def test_manifest_resume_rule_torn_lines_compaction_and_lock(tmp_path: Path) -> None:
    (tmp_path / "a.jpg.x").write_bytes(b"output")
    items = {name: Input(name, tmp_path / name, 10, 1) for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg")}
    job = {"job": "embed", "model": "m", "recognizers": ("a", "b")}
    with Manifest(tmp_path, job) as manifest:
        manifest.record(items["a.jpg"], {"status": "done", "output": "a.jpg.x"})
        manifest.record(items["b.jpg"], {"status": "done", "output": "b.jpg.x"})  # its output is missing
        manifest.record(items["c.jpg"], {"status": "failed", "reason": "boom"})
        manifest.record(items["d.jpg"], {"status": "no_face", "reason": "no face"})
        manifest.record(items["e.jpg"], {"status": "unreadable", "reason": "bad"})
        with pytest.raises(CliError, match="another batch is writing"):
            Manifest(tmp_path, job)
    with open(tmp_path / MANIFEST, "a") as fh:
        fh.write('{"input": "c.jpg", "status": "do')  # a crash mid-line
    changed = Input("e.jpg", tmp_path / "e.jpg", 11, 2)
    with Manifest(tmp_path, job) as manifest:
        assert [manifest.finished(items[name]) for name in sorted(items)] == [True, False, False, True, True]
        assert not manifest.finished(changed)  # the file changed since its row was written
        manifest.record(items["c.jpg"], {"status": "done", "output": "a.jpg.x"})
        rows = manifest.compact(items.values())
    assert [row["input"] for row in rows] == sorted(items)
    assert len((tmp_path / MANIFEST).read_text().splitlines()) == 5
    assert read_rows(tmp_path)["c.jpg"]["status"] == "done"
    with pytest.raises(CliError, match="holds a batch of another job"):
        Manifest(tmp_path, {"job": "embed", "model": "other"})


def test_batch_embed_gives_every_input_one_row_and_the_faces_commands_embeddings(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["batch", "embed", str(mixed), "--model", "dlib_resnet29", "--out", str(out), "--workers", WORKERS]
    assert main([*args, "--batch-size", "3", "--json"]) == 1  # some inputs were not done
    summary = json.loads(capsys.readouterr().out)
    rows = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    statuses = {row["input"]: row["status"] for row in rows}
    assert len(rows) == len(statuses) == summary["inputs"] == 7
    assert statuses == {
        "notes.jpg": "unreadable",
        "notes.txt": "unreadable",
        "people/Colin_Powell_0001.jpg": "done",
        "people/George_W_Bush_0001.jpg": "done",
        "people/truncated.jpg": "unreadable",
        "things/cat.jpg": "no_face",
        "things/ship.jpg": "no_face",
    }
    reasons = {row["input"]: row["reason"] for row in rows if row["status"] != "done"}
    assert "damaged or truncated" in reasons["people/truncated.jpg"]
    assert "not a recognised image file" in reasons["notes.jpg"]
    assert "not an image file" in reasons["notes.txt"]
    assert summary["done"] == 2 and summary["no_face"] == 2 and summary["unreadable"] == 3
    assert {problem["input"] for problem in summary["problems"]} == set(reasons)

    assert main(["faces", "embed", str(mixed / "people"), "--json"]) == 1  # the truncated photo
    single = {face["image"]: face for face in json.loads(capsys.readouterr().out)["faces"]}
    for row in rows:
        if row["status"] == "done":
            arrays = np.load(out / row["output"], allow_pickle=False)
            reference = single[Path(row["input"]).name]
            assert arrays["embeddings"].shape == (1, 128) and row["faces"] == 1
            np.testing.assert_allclose(arrays["embeddings"][0], reference["embedding"], atol=2e-6)
            np.testing.assert_allclose(arrays["boxes"][0], reference["box"], atol=0.01)

    assert main([*args, "--json"]) == 1  # nothing left to do: every row is a finished outcome
    again = json.loads(capsys.readouterr().out)
    assert again["processed"] == 0 and again["skipped_already_finished"] == 7
    assert [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()] == rows


def test_batch_cloak_writes_the_cloak_commands_file(data_dir: Path, tmp_path: Path) -> None:
    photo = _faces(data_dir, 1)[0]
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(photo, folder / photo.name)
    shutil.copy(data_dir / "cifar10" / "cat" / "0001.jpg", folder / "cat.jpg")
    attack = ["--preset", "low", "--steps", "2", "--recognizers", "mobileface"]
    out = tmp_path / "batch"
    assert main(["batch", "cloak", str(folder), "--out", str(out), "--workers", WORKERS, *attack]) == 1
    assert main(["cloak", str(photo), "--out", str(tmp_path / "single"), *attack]) == 0
    rows = read_rows(out)
    assert rows["cat.jpg"]["status"] == "no_face"
    done = rows[photo.name]
    assert done["status"] == "done" and done["report"]["faces_found"] == 1
    single = (tmp_path / "single" / f"{photo.stem}_cloaked.png").read_bytes()
    assert (out / done["output"]).read_bytes() == single  # same seed, same function, same thread count


def test_a_killed_batch_resumes_with_every_input_done_exactly_once(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for path in _faces(data_dir, 4):
        shutil.copy(path, folder / path.name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "core", "batch", "embed", str(folder), "--model", "dlib_resnet29"]
    command += ["--out", str(out), "--workers", "1", "--batch-size", "2", "--no-progress"]
    job = subprocess.Popen(command, cwd=REPO_ROOT, start_new_session=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and job.poll() is None and len(read_rows(out)) < 2:
        time.sleep(0.02)
    os.killpg(job.pid, signal.SIGKILL)  # the driver and its worker die at once, as on a lost machine
    job.wait()
    before = read_rows(out)
    assert 2 <= len(before) < 12, f"the kill came too late to test anything ({len(before)} rows)"
    (out / f".Tony_Blair_0004.jpg.dlib_resnet29.npz.k2j{PARTIAL_SUFFIX}").write_bytes(b"half a file")
    with open(out / MANIFEST, "a") as fh:
        fh.write('{"input": "torn')

    assert main(["batch", "embed", str(folder), "--model", "dlib_resnet29", "--out", str(out), "--no-progress"]) == 0
    lines = (out / MANIFEST).read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert sorted(row["input"] for row in rows) == sorted(path.name for path in folder.iterdir())
    assert all(row["status"] == "done" for row in rows)
    assert all(rows_before == row for name, rows_before in before.items() for row in rows if row["input"] == name)
    assert list(out.rglob(f"*{PARTIAL_SUFFIX}")) == []
    for row in rows:
        assert np.load(out / row["output"], allow_pickle=False)["embeddings"].shape == (1, 128)


def test_grid_lays_out_the_vectors_a_batch_wrote(
    data_dir: Path, tmp_path: Path, mobilenet: torch.nn.Module, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    for label in ("cat", "ship"):
        (folder / label).mkdir(parents=True)
        for path in sorted((data_dir / "cifar10" / label).glob("*.jpg"))[:5]:
            shutil.copy(path, folder / label / path.name)
    (folder / "ship" / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    out = tmp_path / "vectors"
    batch = ["batch", "embed", str(folder), "--model", "mobilenet_v2", "--out", str(out), "--workers", WORKERS]
    assert main([*batch, "--no-progress"]) == 1  # broken.jpg
    capsys.readouterr()
    collection = embedded_collection(out)
    assert len(collection) == 10 and set(collection.labels) == {"cat", "ship"}
    assert collection.skipped == ["ship/broken.jpg: " + read_rows(out)["ship/broken.jpg"]["reason"]]
    reference = embed(Collection("the same photos", collection.items), mobilenet).features  # as `grid DIR` does
    np.testing.assert_allclose(collection.pixels, reference, atol=1e-5)

    csv = tmp_path / "layout.csv"
    grid = ["grid", "--embeddings", str(out), "--perplexity", "3", "--out", str(tmp_path / "grid.png")]
    assert main([*grid, "--csv", str(csv), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 10 and report["grid"] == [3, 4] and report["skipped"] == collection.skipped
    layout = pd.read_csv(csv)
    assert sorted(layout["file"]) == sorted(item.name for item in collection.items)
    assert not layout[["row", "col"]].duplicated().any()
    assert main(["grid", "--embeddings", str(tmp_path), "--out", str(tmp_path / "g.png")]) == 2
    assert "holds no batch" in capsys.readouterr().err


@dataclass(frozen=True)
class _DiesOnPoison:
    """A job whose worker process dies (as in an out-of-memory kill) on the input named poison.jpg."""

    def prepare(self) -> None:
        pass

    def process(self, tasks: list[Task], worker: str) -> list[dict]:
        if any(task.name == "poison.jpg" for task in tasks):
            os._exit(9)
        return [{"input": task.name, "status": "done", "worker": worker} for task in tasks]


def test_a_worker_that_dies_fails_only_its_own_batch_and_the_rest_goes_on(tmp_path: Path) -> None:
    names = ["a.jpg", "poison.jpg", "b.jpg", "c.jpg"]
    batches = [[Task(name, str(tmp_path / name), str(tmp_path))] for name in names]
    rows = [row for rows in local_engine(_DiesOnPoison(), batches, workers=1, threads=1) for row in rows]
    assert sorted(row["input"] for row in rows) == sorted(names)  # each batch's rows exactly once
    status = {row["input"]: row["status"] for row in rows}
    assert status == {"a.jpg": "done", "poison.jpg": "failed", "b.jpg": "done", "c.jpg": "done"}
    assert "worker process died" in next(row["reason"] for row in rows if row["input"] == "poison.jpg")
