"""The heavy-job queue: at most ``slots`` jobs at once, first come first served, waiters told their position, and a
waiter that gives up leaves no slot or place held."""

from __future__ import annotations

import threading
import time

import pytest

from core.scheduler import HeavyJobs, default_slots, rate_wait


def test_with_one_slot_two_simultaneous_jobs_both_finish_and_the_second_waits_first() -> None:
    jobs, events, positions = HeavyJobs(slots=1), [], []
    first_running = threading.Event()

    def first() -> None:
        with jobs.slot():
            events.append("first start")
            first_running.set()
            time.sleep(0.3)
            events.append("first end")

    def second() -> None:
        first_running.wait(5)
        with jobs.slot(on_wait=positions.append):
            events.append("second start")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert events == ["first start", "first end", "second start"]
    assert positions == [1]  # the second visitor saw "position 1" before its job started
    assert jobs.running == 0 and jobs.waiting == 0


def test_waiters_run_in_arrival_order_and_never_more_than_the_slots_at_once() -> None:
    jobs, order, peak, lock = HeavyJobs(slots=2), [], [0], threading.Lock()
    gate = threading.Event()

    def job(index: int) -> None:
        with jobs.slot():
            with lock:
                order.append(index)
                peak[0] = max(peak[0], jobs.running)
            gate.wait(5)
            time.sleep(0.05)

    threads = []
    for index in range(6):
        threads.append(threading.Thread(target=job, args=(index,)))
        threads[-1].start()
        time.sleep(0.05)  # arrive one after another
    gate.set()
    for thread in threads:
        thread.join(10)
    assert order[:2] == [0, 1] and sorted(order) == list(range(6)) and order == sorted(order)
    assert peak[0] == 2


def test_a_visitor_who_leaves_while_waiting_gives_up_the_place() -> None:
    jobs, started = HeavyJobs(slots=1), []
    release = threading.Event()

    class Left(Exception):
        """What Streamlit raises in a session's thread when the visitor stops the script or leaves."""

    def blocker() -> None:
        with jobs.slot():
            release.wait(5)

    def leaver(_position: int) -> None:
        raise Left

    thread = threading.Thread(target=blocker)
    thread.start()
    time.sleep(0.1)
    with pytest.raises(Left), jobs.slot(on_wait=leaver):
        started.append("leaver")
    assert jobs.waiting == 0 and not started
    release.set()
    thread.join(5)
    with jobs.slot():  # nothing is left holding a slot or a place
        started.append("next")
    assert started == ["next"] and jobs.running == 0


def test_a_failed_job_frees_its_slot() -> None:
    jobs = HeavyJobs(slots=1)
    with pytest.raises(ValueError), jobs.slot():
        raise ValueError("no face")
    assert jobs.running == 0
    with jobs.slot():
        assert jobs.running == 1


def test_default_slots_one_job_per_core_or_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HIDESEEK_HEAVY_JOBS", raising=False)
    assert default_slots(2) == 2 and default_slots(16) == 16 and default_slots(1) == 1
    monkeypatch.setenv("HIDESEEK_HEAVY_JOBS", "3")
    assert default_slots(2) == 3 and HeavyJobs().slots == 3


def test_rate_wait_is_a_sliding_window_of_jobs_per_visitor() -> None:
    assert rate_wait([], jobs=2, window=60.0, now=100.0) == 0.0
    assert rate_wait([90.0], jobs=2, window=60.0, now=100.0) == 0.0
    assert rate_wait([50.0, 90.0], jobs=2, window=60.0, now=100.0) == pytest.approx(10.0)  # the 50 s job ages out
    assert rate_wait([30.0, 90.0], jobs=2, window=60.0, now=100.0) == 0.0  # 30 s is out of the window already
    assert rate_wait([95.0, 50.0, 90.0], jobs=2, window=60.0, now=100.0) == pytest.approx(50.0)
