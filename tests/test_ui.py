"""ui.cached_stage as visitors meet it: results shared across sessions, and public mode's per-visitor rate limit."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import config


def _page() -> None:
    import streamlit as st

    import ui

    number = st.number_input("n", value=1, key="n")
    st.markdown(str(ui.cached_stage("ui-test-square", number, lambda progress: number * number, "Squaring…")))


def _shown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def test_public_mode_rate_limits_new_computations_but_never_computed_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIDESEEK_PUBLIC", "1")
    monkeypatch.setattr(config, "PUBLIC_LIMITS", config.Limits(2048, 200, 2, 600.0, 3600.0))
    at = AppTest.from_function(_page, default_timeout=30).run()
    assert _shown(at) == ["1"] and not at.error
    at.number_input(key="n").set_value(2).run()
    assert _shown(at) == ["4"] and not at.error
    at.number_input(key="n").set_value(3).run()  # a third new computation within the window: refused
    assert not at.exception and "at most 2 new computations per visitor" in at.error[0].value
    assert _shown(at) == []
    at.number_input(key="n").set_value(2).run()  # computed before: shows at once, whatever the limit
    assert _shown(at) == ["4"] and not at.error

    other = AppTest.from_function(_page, default_timeout=30)  # another visitor has a budget of their own
    other.session_state["n"] = 3
    other.run()
    assert _shown(other) == ["9"] and not other.error


def test_without_public_mode_there_is_no_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIDESEEK_PUBLIC", raising=False)
    at = AppTest.from_function(_page, default_timeout=30).run()
    for n in range(10, 30):
        at.number_input(key="n").set_value(n).run()
        assert _shown(at) == [str(n * n)] and not at.error


@pytest.mark.parametrize("page", ["waldo", "faces", "grid", "attributions"])
def test_every_page_default_twice_from_two_sessions_sharing_the_cache(page: str) -> None:
    """The second session is served from the cache the first filled: nothing a cached stage drew may be replayed
    into it (Streamlit's CacheReplayClosureError), and it sees what the first saw."""
    path = str(config.REPO_ROOT / "pages" / f"{page}.py")
    first = AppTest.from_file(path, default_timeout=600).run()
    second = AppTest.from_file(path, default_timeout=600).run()
    for at in (first, second):
        assert not at.exception and not at.error
    assert [h.value for h in second.subheader] == [h.value for h in first.subheader]
    assert [c.value for c in second.caption] == [c.value for c in first.caption]
