"""User text (file names, folder labels, error messages that quote them) made safe to show where Streamlit renders
Markdown: headings, alerts, captions. Pages pass such text through ``plain_markdown`` so that a file named
``[x](https://example.com)`` or ``**b**`` shows those characters instead of a live link or bold type."""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation; these are the ones Markdown, GitHub's extensions and
# Streamlit's additions (:emoji:, :color[text], $math$) give a meaning to.
_MARKDOWN_CHARACTERS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&=^\"'])")


def plain_markdown(text: str) -> str:
    """``text`` escaped so that Markdown shows it literally, on one line (line breaks become spaces)."""
    return _MARKDOWN_CHARACTERS.sub(r"\\\1", " ".join(str(text).splitlines()))


# An absolute POSIX path's folders (``/srv/app/data/``), up to the last slash: what ``hide_paths`` removes.
_FOLDERS = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"`()\[\]]+/)+")


def hide_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part (``/srv/app/data/faces/x.jpg`` becomes ``x.jpg``):
    a public demo's messages say which file, never where the server keeps it."""
    return _FOLDERS.sub("", str(text))
