"""Driving the dashboard from a real browser, shared by the end-to-end test and bench/bench_sessions.py: a server of
its own on a free port, Debian's Chromium with the flags this closed network needs, visitors as browser contexts,
and a reliable "the page has finished" wait."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PAGE_TIMEOUT_MS = 240_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("the dashboard did not become healthy")


class Server(NamedTuple):
    url: str
    pid: int


@contextmanager
def serve(workspace: Path, python: str = sys.executable, app_dir: Path = REPO, **env: str) -> Iterator[Server]:
    """A dashboard server of its own (fresh in-memory and disk caches) for the block. ``python`` and ``app_dir``
    choose the interpreter and checkout (the image file-system test serves a copy); ``env`` adds settings."""
    port = free_port()
    env = {**os.environ, "HIDESEEK_CACHE": str(workspace / "cache"), **env}
    log = open(workspace / "streamlit.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [python, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        yield Server(url, server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a busy server can miss its SIGTERM deadline: never leave it running
            server.kill()
            server.wait(timeout=30)
        log.close()


def wait_until_idle(tab) -> None:
    """Wait until Streamlit has finished the script run: the app root says the script is not running (it starts
    'initial', then 'running'), and no progress bar or spinner is left, for two seconds in a row."""
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        state = tab.get_attribute('[data-testid="stApp"]', "data-test-script-state")
        busy = tab.locator('[data-testid="stProgress"], [data-testid="stSpinner"]').count() > 0
        if state != "notRunning" or busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 2.0:
            return
        tab.wait_for_timeout(250)
    raise TimeoutError("the page was still running after the timeout")


def start_visitor(browser, dashboard: str, page: str, button: str | None):
    """A new visitor (a browser context of its own: its own Streamlit session) arriving at the home page, as
    visitors do (a deep link into a fresh server is not routed until one session has run st.navigation), then going
    to ``page`` and, where the page waits for one, pressing ``button``."""
    tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    tab.goto(dashboard, timeout=PAGE_TIMEOUT_MS)
    tab.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=PAGE_TIMEOUT_MS)
    tab.goto(f"{dashboard}/{page}", timeout=PAGE_TIMEOUT_MS)
    tab.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=PAGE_TIMEOUT_MS)
    if button is not None:
        wait_until_idle(tab)
        tab.get_by_role("button", name=button).click()
    return tab
