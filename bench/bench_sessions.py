"""Visitors at once against one server: one Cloak attack alone vs 2 and 4 simultaneous attacks from separate browser
contexts, each on a photo of its own (so no result is shared), with and without the heavy-job scheduler.

Baseline "no queue": every attack starts at once with torch's default thread count (all cores), which is how the
server behaved before core/scheduler.py. "1 job per 2 cores": the scheduler's first default (two threads per job).
"scheduler (default)": one heavy job per core with one thread each, the others wait.
Per visitor: seconds from pressing Run attack to the result; throughput: attacks finished per minute. Target (#16):
with 2 visitors each waits at most 2.5x the single-visitor time, and throughput is no lower than one at a time.

``--memory``: the server's resident memory (VmRSS) after 50 mixed page runs (every page's default and new attacks),
to check that the bounded caches hold it.

Run on a quiet machine: .venv/bin/python bench/bench_sessions.py [--visitors 1,2,4] [--memory]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import data_root  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_FLAGS, PAGE_TIMEOUT_MS, serve, start_visitor, wait_until_idle  # noqa: E402

CORES = os.cpu_count() or 1
MODES = {
    "no queue (before)": {"HIDESEEK_HEAVY_JOBS": "64", "HIDESEEK_THREADS_PER_JOB": str(CORES)},
    "1 job per 2 cores": {"HIDESEEK_HEAVY_JOBS": str(max(1, CORES // 2))},
    "scheduler (default)": {},
}
RESULT = "Goal "  # the classifier attack's result heading


def sample_photos() -> list[Path]:
    with open(data_root() / "imagenet_samples" / "labels.csv", newline="") as fh:
        return [data_root() / "imagenet_samples" / row["file"] for row in csv.DictReader(fh)]


def prepare_attack(browser, url: str, photo: Path):
    """A visitor on the Cloak page in classifier mode with ``photo`` uploaded, ready to press Run attack."""
    tab = start_visitor(browser, url, "cloak", None)
    wait_until_idle(tab)
    tab.get_by_text("ImageNet classifier", exact=True).click()
    wait_until_idle(tab)
    tab.locator('input[type="file"]').first.set_input_files(str(photo))
    wait_until_idle(tab)
    return tab


def run_round(browser, url: str, photos: list[Path]) -> list[float]:
    """Everyone presses Run attack at once; each visitor's seconds until its result."""
    tabs = [prepare_attack(browser, url, photo) for photo in photos]
    started = []
    for tab in tabs:
        tab.get_by_role("button", name="Run attack").click()
        started.append(time.monotonic())
    finished: dict[int, float] = {}
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000 * 2
    while len(finished) < len(tabs) and time.monotonic() < deadline:
        for index, tab in enumerate(tabs):
            if index not in finished and tab.get_by_role("heading").filter(has_text=RESULT).count():
                finished[index] = time.monotonic()
        time.sleep(0.05)
    for tab in tabs:
        assert tab.locator('[data-testid="stException"]').count() == 0
        tab.context.close()
    if len(finished) < len(tabs):
        raise TimeoutError("some visitors never got their result")
    return [finished[i] - started[i] for i in range(len(tabs))]


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def bench_visitors(playwright, counts: list[int], modes: list[str]) -> None:
    photos = iter(sample_photos()[1::7])
    print(f"{'mode':<20} {'visitors':>8} {'s per visitor (min/median/max)':>32} {'x single':>9} {'attacks/min':>12}")
    for mode in modes:
        env = MODES[mode]
        with tempfile.TemporaryDirectory() as workspace, serve(Path(workspace), **env) as server:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            run_round(browser, server.url, [next(photos)])  # warm-up: models loaded, threads started
            single = None
            for count in counts:
                seconds = sorted(run_round(browser, server.url, list(itertools.islice(photos, count))))
                single = single or seconds[0]
                per_minute = 60 * count / max(seconds)
                spread = f"{seconds[0]:.1f}/{seconds[len(seconds) // 2]:.1f}/{seconds[-1]:.1f}"
                print(f"{mode:<20} {count:>8} {spread:>32} {seconds[-1] / single:>9.2f} {per_minute:>12.1f}")
            browser.close()
    print(f"load average {os.getloadavg()}, {os.cpu_count()} cores")


def bench_memory(playwright, runs: int) -> None:
    pages = ["home", "waldo", "grid", "attributions", "faces", "cloak"]
    photos = iter(sample_photos()[3::5])
    with tempfile.TemporaryDirectory() as workspace, serve(Path(workspace)) as server:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        print(f"server RSS at start: {resident_mb(server.pid):.0f} MB")
        for run, page in zip(range(1, runs + 1), itertools.cycle(pages), strict=False):
            if page == "cloak":
                run_round(browser, server.url, [next(photos)])
            else:
                tab = start_visitor(browser, server.url, page, None)
                wait_until_idle(tab)
                tab.context.close()
            if run % 10 == 0:
                print(f"after {run} page runs: {resident_mb(server.pid):.0f} MB")
        browser.close()
    print(f"load average {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", default="1,2,4", help="simultaneous visitors per round")
    parser.add_argument("--memory", action="store_true", help="RSS after --runs mixed page runs instead")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--modes", default=",".join(MODES), help="which server settings to compare")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        if args.memory:
            bench_memory(playwright, args.runs)
        else:
            bench_visitors(playwright, [int(n) for n in args.visitors.split(",")], args.modes.split(","))


if __name__ == "__main__":
    main()
