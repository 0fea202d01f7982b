"""The one progress protocol of every long computation in ``core``: ``progress(fraction, text)``, the fraction done
(0..1) and a line saying what is happening. Pages draw it as a progress bar (``ui.cached_stage``), the CLI prints
it; a computation never needs to know which. (Attacks also take a per-step ``callback`` that can stop them early;
that is a control hook with the loss value, not progress.)"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]


def silent(fraction: float, text: str) -> None:
    """The progress of a caller that does not watch."""


def part(progress: Progress, start: float, end: float) -> Progress:
    """The progress of one part of a longer job: its 0..1 drawn as ``start``..``end`` of the whole."""
    return lambda fraction, text: progress(start + (end - start) * fraction, text)
