"""End to end in a real browser: start the dashboard, open every page in Debian's Chromium, fail on any exception box.

Marked ``e2e`` so it can be run alone (``pytest -m e2e``). Saves one screenshot per page under assets/screenshots/,
which the README and the home page show.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "assets" / "screenshots"
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

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, timeout: float = 90) -> None:
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


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "HIDESEEK_CACHE": str(tmp_path_factory.mktemp("e2e-cache"))}
    log = open(tmp_path_factory.mktemp("e2e-log") / "streamlit.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _page_paths() -> list[str]:
    """Every page script under pages/; st.navigation serves each at /<file stem>, the default (home) at /.

    Home goes first, as a visitor arrives: until a session has run app.py's st.navigation, Streamlit treats a
    deep link into a fresh server as a legacy pages/ app (see README, Troubleshooting)."""
    return sorted((path.stem for path in (REPO / "pages").glob("*.py")), key=lambda stem: (stem != "home", stem))


@pytest.mark.parametrize("page", _page_paths())
def test_page_renders_in_chromium_without_exceptions(dashboard: str, page: str) -> None:
    from playwright.sync_api import sync_playwright

    url = dashboard + ("/" if page == "home" else f"/{page}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.goto(url, timeout=PAGE_TIMEOUT_MS)
            tab.wait_for_selector('[data-testid="stApp"]', timeout=PAGE_TIMEOUT_MS)
            tab.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=PAGE_TIMEOUT_MS)
            _wait_until_idle(tab)
            exceptions = tab.locator('[data-testid="stException"]')
            assert exceptions.count() == 0, exceptions.first.inner_text()
            tab.wait_for_timeout(1500)  # dataframes and plotly charts paint after the run ends
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SCREENSHOTS / f"{page}.png"), full_page=False)
        finally:
            browser.close()


def _wait_until_idle(tab) -> None:
    """Wait until Streamlit has finished the script run (its status widget says nothing is running)."""
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        running = tab.locator('[data-testid="stStatusWidget"]').count() > 0
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 2.0:
            return
        tab.wait_for_timeout(250)
    raise TimeoutError("the page was still running after the timeout")
