"""User text shown where Streamlit renders Markdown: every character that Markdown would act on is escaped."""

from __future__ import annotations

import re

from core.text import hide_paths, plain_markdown


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


def test_hide_paths_keeps_the_file_name_and_drops_where_the_server_keeps_it() -> None:
    assert hide_paths("weight file /srv/app/assets/models/w.pt does not match") == "weight file w.pt does not match"
    assert hide_paths("put x.pt in the torch hub cache (/root/.cache/torch/checkpoints/)") == (
        "put x.pt in the torch hub cache ()"
    )
    assert hide_paths("/data/faces/a b.jpg: not an image") == "a b.jpg: not an image"
    assert hide_paths("see https://example.com/a/b, 1/2/3 and cat/0000.jpg") == (
        "see https://example.com/a/b, 1/2/3 and cat/0000.jpg"  # URLs and relative names stay
    )
