"""End to end in a real browser: start the dashboard, open every page in Debian's Chromium, fail on any exception box.

Marked ``e2e`` so it can be run alone (``pytest -m e2e``). Saves one screenshot per page under assets/screenshots/,
which the README and the home page show.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_FLAGS, PAGE_TIMEOUT_MS, REPO, serve, start_visitor, wait_until_idle

pytestmark = pytest.mark.e2e


IMAGE_APP = os.environ.get("HIDESEEK_E2E_APP")  # an image file system built by scripts/test_image_fs.sh
SCREENSHOTS = Path(IMAGE_APP or REPO) / "assets" / "screenshots"  # the image's own go into its copy


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This checkout's app, or the image file system's (its own venv and files) when HIDESEEK_E2E_APP is set."""
    workspace = tmp_path_factory.mktemp("e2e")
    if IMAGE_APP:
        where = {"python": str(Path(IMAGE_APP) / ".venv" / "bin" / "python"), "app_dir": Path(IMAGE_APP)}
    else:
        where = {}
    with serve(workspace, **where) as server:
        yield server.url


def _page_paths() -> list[str]:
    """Every page script under pages/; st.navigation serves each at /<file stem>, the default (home) at /.

    Home goes first, as a visitor arrives: until a session has run app.py's st.navigation, Streamlit treats a
    deep link into a fresh server as a legacy pages/ app (see README, Troubleshooting)."""
    return sorted((path.stem for path in (REPO / "pages").glob("*.py")), key=lambda stem: (stem != "home", stem))


def _no_exception(tab) -> None:
    exceptions = tab.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def _screenshot(tab, name: str) -> None:
    tab.wait_for_timeout(1500)  # dataframes and plotly charts paint after the run ends
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def _show(tab, text: str) -> None:
    """Wait for ``text``, then for the run to end, with it in view."""
    tab.wait_for_selector(f"text={text}", timeout=PAGE_TIMEOUT_MS)
    wait_until_idle(tab)
    _no_exception(tab)
    tab.get_by_text(text).first.scroll_into_view_if_needed()


def _run_the_cloak(tab) -> None:
    tab.get_by_role("button", name="Run attack").click()
    _show(tab, "Black box:")


# Pages whose screenshot shows them in use: what to do on them first.
USED_BEFORE_SCREENSHOT = {"cloak": _run_the_cloak}


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
            wait_until_idle(tab)
            _no_exception(tab)
            if page in USED_BEFORE_SCREENSHOT:
                USED_BEFORE_SCREENSHOT[page](tab)
            _screenshot(tab, page)
        finally:
            browser.close()


def test_faces_video_mode_names_the_demo_video_track(dashboard: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            tab = start_visitor(browser, dashboard, "faces", None)
            wait_until_idle(tab)
            tab.locator('[data-testid="stSidebar"]').get_by_text("Video", exact=True).click()
            _show(tab, "Track 0:")
            _screenshot(tab, "faces_video")
        finally:
            browser.close()


# What each page's default shows once its result is there, and how a visitor starts it (None: on opening).
DEFAULT_RESULTS = {
    "cloak": ("Black box:", "Run attack"),
    "faces": ("Recognizers side by side", None),
    "attributions": ("Why “", None),
    "grid": ("images on a", None),
    "waldo": ("Searched ", None),
}


def _headings(tab) -> list[str]:
    return tab.locator('[data-testid="stMainBlockContainer"] :is(h1, h2, h3)').all_inner_texts()


def _finish(tab, marker: str) -> list[str]:
    """Wait for a visitor's run; fail on an exception box; the page's headings (its result, in words)."""
    tab.wait_for_selector(f"text={marker}", timeout=PAGE_TIMEOUT_MS)
    wait_until_idle(tab)
    exceptions = tab.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    return _headings(tab)


@pytest.mark.parametrize("page", list(DEFAULT_RESULTS))
def test_visitors_at_once_then_one_after_all_get_the_same_result(tmp_path: Path, page: str) -> None:
    """On a fresh server, two visitors start a page's default at the same moment, then three, then one more comes
    after they are done (the path that replays a cached result, where the cross-session crash was): no exception
    anywhere, and every visitor sees the same result as the first."""
    from playwright.sync_api import sync_playwright

    marker, button = DEFAULT_RESULTS[page]
    with serve(tmp_path) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            seen = []
            for visitors in (2, 3, 1):
                tabs = [start_visitor(browser, server.url, page, button) for _ in range(visitors)]
                seen += [_finish(tab, marker) for tab in tabs]
                for tab in tabs:
                    tab.context.close()
            assert all(headings == seen[0] for headings in seen), seen
            assert any(marker in heading for heading in seen[0]) or page in ("grid", "waldo")
        finally:
            browser.close()
