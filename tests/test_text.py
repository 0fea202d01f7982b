"""User text shown where Streamlit renders Markdown: every character that Markdown would act on is escaped."""

from __future__ import annotations

import re

from core.text import plain_markdown


def test_links_emphasis_and_streamlit_directives_are_escaped() -> None:
    assert plain_markdown("[x](https://example.com).png") == r"\[x\]\(https\://example\.com\)\.png"
    assert plain_markdown("**b**") == r"\*\*b\*\*"
    assert plain_markdown(":red[alert] $x^2$ :smile:") == r"\:red\[alert\] \$x\^2\$ \:smile\:"
    assert plain_markdown("# title\n- item") == r"\# title \- item"  # one line: no headings or lists
    assert plain_markdown("<b>tag</b> &amp;") == r"\<b\>tag\</b\> \&amp;"


def test_escaping_only_adds_backslashes_before_punctuation() -> None:
    text = "cat/0000.jpg: the file is empty (0 bytes) ~ `code` _under_ !not| {x} + =y 'q' \"d\" \\"
    escaped = plain_markdown(text)
    assert re.sub(r"\\(.)", r"\1", escaped) == text
    assert plain_markdown("plain words 123") == "plain words 123"
