"""Fair compute for a server many visitors share: at most ``slots`` heavy jobs (attacks, sweeps) run at once, the
rest wait in first-come order and can be told their place in the queue.

Torch jobs whose thread pools together ask for more threads than there are cores do not share them: they fight over
the cores and all slow down many times over (one competing process made a 1.7 s attack take 31.7 s). So at most one
heavy job per core runs, each with the threads its share of the cores allows (one), and a waiting visitor sees
"position N" instead of a server that seems frozen. One job per core beat one per two cores with two threads each in
bench/bench_sessions.py: a lone attack took the same time, and two visitors together finished sooner (README). A waiter that gives up (its session ended, or it pressed Stop, which raises inside its
``on_wait``) leaves the queue, and a finished or failed job frees its slot, so no slot is held for nobody.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch

SLOTS_ENV = "HIDESEEK_HEAVY_JOBS"
THREADS_ENV = "HIDESEEK_THREADS_PER_JOB"
WAIT_POLL_SECONDS = 0.5


def default_slots(cores: int | None = None) -> int:
    """$HIDESEEK_HEAVY_JOBS if set, else one heavy job per core."""
    if os.environ.get(SLOTS_ENV):
        return max(1, int(os.environ[SLOTS_ENV]))
    return max(1, cores or os.cpu_count() or 1)


class HeavyJobs:
    """A first-come, first-served queue in front of ``slots`` concurrent heavy jobs."""

    def __init__(self, slots: int | None = None) -> None:
        self.slots = slots or default_slots()
        self._condition = threading.Condition()
        self._queue: deque[object] = deque()
        self._running = 0

    @property
    def threads_per_job(self) -> int:
        """Torch threads a job may use without taking cores another job is using ($HIDESEEK_THREADS_PER_JOB
        overrides it, e.g. to measure what oversubscribed cores cost: bench/bench_sessions.py)."""
        if os.environ.get(THREADS_ENV):
            return max(1, int(os.environ[THREADS_ENV]))
        return max(1, (os.cpu_count() or 1) // self.slots)

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @contextmanager
    def slot(self, on_wait: Callable[[int], None] | None = None) -> Iterator[None]:
        """Hold one slot for the body. ``on_wait(position)`` (1 = next in line) is called when this job must wait,
        and again whenever its position changes; an exception from it abandons the wait."""
        ticket = object()
        with self._condition:
            self._queue.append(ticket)
            told = None
            try:
                while not (self._queue[0] is ticket and self._running < self.slots):
                    position = self._queue.index(ticket) + 1
                    if on_wait is not None and position != told:
                        told = position
                        on_wait(position)
                    self._condition.wait(WAIT_POLL_SECONDS)
            except BaseException:
                self._queue.remove(ticket)
                self._condition.notify_all()
                raise
            self._queue.popleft()
            self._running += 1
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify_all()


def configure_threads(jobs: HeavyJobs) -> None:
    """Give torch the thread count one job may use, so concurrent jobs do not oversubscribe the cores."""
    torch.set_num_threads(jobs.threads_per_job)


def rate_wait(started: Sequence[float], jobs: int, window: float, now: float) -> float:
    """Seconds until one more heavy job may start for a visitor who started jobs at ``started`` (a sliding window of
    ``jobs`` per ``window`` seconds); 0 when it may start now."""
    recent = sorted(t for t in started if t > now - window)
    if len(recent) < jobs:
        return 0.0
    return recent[len(recent) - jobs] + window - now
