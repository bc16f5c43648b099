"""A time limit on pure-Python work such as a model's regex, without threads or
subprocesses: Python's `re` engine checks for signals while it backtracks, so a SIGALRM
timer stops a search that would run for minutes (`(a|aa)+$` on 40 `a`s).

The standard library only (the Harmony path runs without site-packages). Outside a Unix
process's main thread (or with a SIGALRM handler set outside Python) the block runs
without a limit; the suite's tool loop runs in the main thread.
"""

from __future__ import annotations

import signal
import time


class TimeLimitExceeded(Exception):
    """The `with TimeLimit(...)` block ran out of time."""


class TimeLimit:
    """`with TimeLimit(0.5): ...` raises TimeLimitExceeded after 0.5 s of the block."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._armed = False
        self._previous_handler: object = None
        self._previous_timer = (0.0, 0.0)
        self._started = 0.0

    @staticmethod
    def available() -> bool:
        """A timer can be armed here: a Unix process's main thread."""
        if not hasattr(signal, "setitimer"):
            return False
        current = signal.getsignal(signal.SIGALRM)
        if current is None:  # a handler set outside Python: not ours to swap
            return False
        try:  # only the main thread may set a handler (no `threading` import needed)
            signal.signal(signal.SIGALRM, current)
        except ValueError:
            return False
        return True

    def _on_alarm(self, signum: int, frame: object) -> None:
        if self._armed:  # a late alarm, after the block ended, is ignored
            raise TimeLimitExceeded

    def __enter__(self) -> TimeLimit:
        if self.seconds <= 0:
            raise TimeLimitExceeded
        if not self.available():
            return self
        self._started = time.monotonic()
        self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
        self._armed = True
        try:
            self._previous_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds)
        except BaseException:  # an alarm at once: clean up, since __exit__ will not run
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._armed:
            return
        try:
            self._armed = False
        finally:
            # Also reached when the alarm struck just before the line above.
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous_handler)  # type: ignore[arg-type]
            delay, interval = self._previous_timer
            if delay > 0:
                left = delay - (time.monotonic() - self._started)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)
