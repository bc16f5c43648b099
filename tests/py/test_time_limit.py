"""time_limit.TimeLimit: stops a runaway `re` search, and leaves the process's SIGALRM
handler and any running timer as they were."""

from __future__ import annotations

import re
import signal
import threading
import time

import pytest
from gpt_oss_suite.time_limit import TimeLimit, TimeLimitExceeded


def test_a_backtracking_search_is_stopped_and_the_previous_timer_goes_on() -> None:
    fired: list[float] = []

    def outer(signum: int, frame: object) -> None:
        fired.append(time.monotonic())

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 2.0)  # someone else's timer
        started = time.monotonic()
        with pytest.raises(TimeLimitExceeded), TimeLimit(0.2):
            re.search(r"(a|aa)+$", "a" * 40 + "!")
        assert time.monotonic() - started < 1.5
        assert signal.getsignal(signal.SIGALRM) is outer
        assert 1.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 2.0
        while not fired and time.monotonic() - started < 5:
            time.sleep(0.05)
        assert fired  # the outer timer still fired, about when it was due
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_quick_block_leaves_no_timer_and_no_handler() -> None:
    before = signal.getsignal(signal.SIGALRM)
    with TimeLimit(5):
        assert re.search("b", "abc")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is before
    with pytest.raises(TimeLimitExceeded), TimeLimit(0):
        pass  # no time left at all: not even started


def test_off_the_main_thread_the_block_runs_without_a_limit() -> None:
    seen: list[bool] = []

    def work() -> None:
        seen.append(TimeLimit.available())
        with TimeLimit(0.01):
            time.sleep(0.05)
        seen.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(5)
    assert seen == [False, True]
    assert TimeLimit.available()
