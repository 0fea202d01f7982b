"""Batch throughput on one folder, in one run: the single-photo command in a shell loop (the baseline a user would
write), ``batch`` on the local engine, and ``batch --engine ray`` on a two-node Ray cluster on this machine.

Prints items per second (wall, as the user waits for it, Python start-up included), the start-up part (seconds to
the first result) and the time after it, the workers' own seconds per item, Ray's overhead per item against the
local engine (in all and after start-up), and each worker's peak memory; ``os.getloadavg()`` beside every figure. Every run gets a fresh cache folder, so no
run reads another's embeddings.

    .venv/bin/python bench/bench_batch.py [--photos 24] [--job embed|cloak]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.config import data_root  # noqa: E402

PEOPLE = ("Colin_Powell", "George_W_Bush", "Tony_Blair", "Hugo_Chavez", "Ariel_Sharon", "Jacques_Chirac")
SMALL = {"object_store_memory": 200 << 20}  # per node: the rows are small; the default takes 30% of RAM
CLOAK = ["--preset", "low", "--steps", "5", "--recognizers", "mobileface"]


def load() -> str:
    return "load " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def make_folder(root: Path, count: int) -> Path:
    """``count`` 250x250 LFW photos, spread over PEOPLE."""
    folder = root / "photos"
    folder.mkdir()
    per_person = -(-count // len(PEOPLE))
    photos = [p for person in PEOPLE for p in sorted((data_root() / "faces" / person).glob("*.jpg"))[:per_person]]
    for path in photos[:count]:
        shutil.copy(path, folder / path.name)
    return folder


def run(command: list[str], cache: Path) -> tuple[float, str]:
    env = {**os.environ, "HIDESEEK_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:6])}... failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start, done.stdout


def shell_loop(folder: Path, job: str, root: Path) -> float:
    """One ``python -m core`` per photo, as a user's shell loop would run it."""
    if job == "embed":
        step = '"$PY" -m core faces embed "$f" --model dlib_resnet29 --json > /dev/null'
    else:
        step = f'"$PY" -m core cloak "$f" --out "{root / "loop_out"}" {" ".join(CLOAK)} --json > /dev/null'
    script = f'PY="{sys.executable}"; for f in "{folder}"/*.jpg; do {step} || exit 2; done'
    seconds, _ = run(["bash", "-c", script], root / "cache_loop")
    return seconds


def batch(folder: Path, job: str, root: Path, name: str, extra: list[str]) -> tuple[float, dict, list[dict]]:
    out = root / f"out_{name}"
    command = [sys.executable, "-m", "core", "batch", job, str(folder), "--out", str(out), "--json", "--no-progress"]
    command += ["--model", "dlib_resnet29"] if job == "embed" else CLOAK
    seconds, stdout = run([*command, *extra], root / f"cache_{name}")
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return seconds, json.loads(stdout), rows


def describe(name: str, seconds: float, count: int, summary: dict | None, rows: list[dict], baseline: float) -> dict:
    row = {"run": name, "wall_s": round(seconds, 2), "items_per_s": round(count / seconds, 3)}
    row["speedup_vs_loop"] = round(baseline / seconds, 2)
    if summary:
        first = summary["seconds_to_first_result"]
        row["startup_s"] = first
        row["after_startup_s"] = round(summary["seconds"] - first, 2)
        row["worker_seconds_per_item"] = round(sum(r.get("seconds", 0) for r in rows) / count, 3)
        memory: dict[str, float] = {}
        for r in rows:
            memory[r["worker"]] = max(memory.get(r["worker"], 0), r["peak_rss_mb"])
        row["workers"] = len(memory)
        row["peak_rss_mb_per_worker"] = sorted(memory.values())
    row["load"] = load()
    print(json.dumps(row), flush=True)
    return row


def driver_costs(root: Path, rows: int = 500) -> None:
    """What the one driver does per input whatever the cluster's size: list the file, and append and fsync its
    manifest row (the ceiling on items per second that no number of workers lifts)."""
    from core.batch.files import Input, list_inputs
    from core.batch.manifest import Manifest

    out = root / "driver"
    out.mkdir()
    items = [Input(f"photo_{i:05d}.jpg", out / "x", 12_000, i) for i in range(rows)]
    row = {"status": "done", "output": "x.npz", "faces": 1, "seconds": 0.1, "worker": "w", "peak_rss_mb": 1000.0}
    with Manifest(out, {"job": "bench"}) as manifest:
        start = time.perf_counter()
        for item in items:
            manifest.record(item, row)
        one_by_one = time.perf_counter() - start
        start = time.perf_counter()
        for first in range(0, rows, 16):
            manifest.record_batch([(item, row) for item in items[first : first + 16]])
        batched = time.perf_counter() - start
    start = time.perf_counter()
    listed = len(list_inputs(data_root()))
    listing = time.perf_counter() - start
    print(
        json.dumps(
            {
                "driver_manifest_rows_per_s_fsync_each": round(rows / one_by_one, 1),
                "driver_manifest_rows_per_s_fsync_per_16": round(rows / batched, 1),
                "driver_listing_files_per_s": round(listed / listing, 1),
                "files_listed": listed,
                "load": load(),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--job", choices=("embed", "cloak"), default="embed")
    parser.add_argument("--skip-loop", action="store_true", help="leave out the shell loop (slow for cloak)")
    parser.add_argument("--driver-only", action="store_true", help="only the driver's per-input costs")
    args = parser.parse_args()
    if args.driver_only:
        with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
            driver_costs(Path(tmp))
        return
    from ray.cluster_utils import Cluster

    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        root = Path(tmp)
        folder = make_folder(root, args.photos)
        print(f"{args.photos} photos, job {args.job}, {os.cpu_count()} cores; {load()}", flush=True)
        loop = None if args.skip_loop else shell_loop(folder, args.job, root)
        local_s, local, local_rows = batch(folder, args.job, root, "local", [])
        start = time.perf_counter()
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False, **SMALL})
        cluster.add_node(num_cpus=1, **SMALL)
        cluster.wait_for_nodes()
        print(json.dumps({"ray_cluster_start_s": round(time.perf_counter() - start, 2), "load": load()}), flush=True)
        try:
            ray_s, ray, ray_rows = batch(
                folder, args.job, root, "ray", ["--engine", "ray", "--address", cluster.address]
            )
        finally:
            cluster.shutdown()
        baseline = loop if loop is not None else local_s
        if loop is not None:
            describe("shell loop of the single-photo command", loop, args.photos, None, [], baseline)
        described_local = describe("batch, local engine", local_s, args.photos, local, local_rows, baseline)
        described_ray = describe("batch, Ray, 2-node local cluster", ray_s, args.photos, ray, ray_rows, baseline)
        print(
            json.dumps(
                {
                    "ray_over_local_wall": round(ray_s / local_s, 3),
                    "ray_overhead_s_per_item": round((ray_s - local_s) / args.photos, 3),
                    "ray_overhead_s_per_item_after_startup": round(
                        (described_ray["after_startup_s"] - described_local["after_startup_s"]) / args.photos, 3
                    ),
                    "ray_extra_startup_s": round(described_ray["startup_s"] - described_local["startup_s"], 2),
                    "load": load(),
                }
            ),
            flush=True,
        )
        driver_costs(root)


if __name__ == "__main__":
    main()
