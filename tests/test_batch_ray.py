"""``python -m core batch --engine ray`` on a two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``,
one CPU per node), so the work is scheduled across nodes: the same embeddings as the local engine, the same cloaked
file as the single-photo ``cloak``, every input once in the manifest. Run alone with ``pytest -m ray``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.batch.manifest import MANIFEST, read_rows
from core.cli import main

pytestmark = pytest.mark.ray
LFW = ("Colin_Powell", "Hugo_Chavez")
SMALL = {"object_store_memory": 200 << 20}  # per node: the rows are small; the default takes 30% of RAM


@pytest.fixture(scope="module")
def cluster():
    """A head node and a second node, one CPU each, as two sets of Ray processes on this machine."""
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False, **SMALL})
    nodes.add_node(num_cpus=1, **SMALL)
    nodes.wait_for_nodes()
    yield nodes
    nodes.shutdown()


@pytest.fixture(scope="module")
def photos(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    for person in LFW:
        for path in sorted((data_dir / "faces" / person).glob("*.jpg"))[:2]:
            shutil.copy(path, folder / path.name)
    shutil.copy(data_dir / "cifar10" / "dog" / "0000.jpg", folder / "dog.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


def _manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


def test_ray_on_two_nodes_gives_the_local_engines_embeddings(
    cluster, photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["batch", "embed", str(photos), "--model", "dlib_resnet29", "--batch-size", "1", "--no-progress"]
    outputs = {}
    for engine in ("local", "ray"):
        monkeypatch.setenv("HIDESEEK_CACHE", str(tmp_path / f"cache_{engine}"))  # nothing shared between the runs
        outputs[engine] = tmp_path / engine
        extra = ["--engine", "ray", "--address", cluster.address] if engine == "ray" else ["--workers", "2"]
        assert main([*common, "--out", str(outputs[engine]), *extra, "--json"]) == 1  # dog.jpg, broken.png
        summary = json.loads(capsys.readouterr().out)
        assert (summary["done"], summary["no_face"], summary["unreadable"]) == (4, 1, 1)
    local, ray_rows = _manifest(outputs["local"]), _manifest(outputs["ray"])
    assert [row["input"] for row in ray_rows] == sorted(path.name for path in photos.iterdir())
    assert [(row["input"], row["status"]) for row in ray_rows] == [(row["input"], row["status"]) for row in local]
    nodes = {row["worker"].split("/")[0] for row in ray_rows if "worker" in row}
    assert len(nodes) == 2, f"the work ran on one node only: {nodes}"
    for row in ray_rows:
        if row["status"] == "done":
            ours, theirs = (np.load(out / row["output"], allow_pickle=False) for out in outputs.values())
            for name in ("embeddings", "boxes", "landmarks", "probabilities"):
                np.testing.assert_array_equal(ours[name], theirs[name])  # same batches, same thread count


def test_ray_cloak_writes_the_cloak_commands_file_and_resumes(cluster, photos: Path, tmp_path: Path) -> None:
    photo = sorted(photos.glob("Hugo_Chavez_*.jpg"))[0]
    attack = ["--preset", "low", "--steps", "2", "--recognizers", "mobileface"]
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(photo, folder / photo.name)
    shutil.copy(photos / "dog.jpg", folder / "dog.jpg")
    out = tmp_path / "out"
    ray_args = ["batch", "cloak", str(folder), "--out", str(out), "--engine", "ray", "--address", cluster.address]
    assert main([*ray_args, *attack, "--no-progress"]) == 1  # dog.jpg has no face
    assert main(["cloak", str(photo), "--out", str(tmp_path / "single"), *attack]) == 0
    rows = read_rows(out)
    assert rows["dog.jpg"]["status"] == "no_face" and rows[photo.name]["status"] == "done"
    single = (tmp_path / "single" / f"{photo.stem}_cloaked.png").read_bytes()
    assert (out / rows[photo.name]["output"]).read_bytes() == single
    (out / rows[photo.name]["output"]).unlink()  # a lost output is computed again on the next run
    assert main([*ray_args, *attack, "--no-progress"]) == 1
    assert (out / rows[photo.name]["output"]).read_bytes() == single
    assert [row["input"] for row in _manifest(out)] == ["Hugo_Chavez_0001.jpg", "dog.jpg"]
