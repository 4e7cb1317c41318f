"""Per-test timeouts inside the test process: a SIGALRM fails the one test that overran, and the run goes on.

Part of greenloop's pytest plugin (project interpreter, standard library and pytest only). The alarm is armed
around each phase (setup, call, teardown) with what is left of the test's budget, so it can only fire inside the
phase, where pytest records the exception as that phase's failure; between phases pytest's own bookkeeping runs
unarmed. The exception derives from pytest's outcome exceptions (BaseException), so `except Exception` in the
code under test cannot swallow it.

It stays out of the way when it cannot work or would fight someone: not POSIX, not the main thread, or another
SIGALRM handler or interval timer already set (pytest-timeout, the code under test). What an alarm cannot stop
(SIGALRM blocked, a hang in C code) is greenloop's job: it watches the report and kills the process.
"""

import signal
import threading
import time

import pytest

TEARDOWN_FLOOR = 0.5  # seconds a teardown gets even when the test spent its budget: let fixtures clean up


class TestTimeout(pytest.fail.Exception):  # type: ignore[name-defined]  # documented alias of Failed
    """The test did not finish within its budget."""

    __test__ = False


def slow_message(seconds):
    return "slow: did not finish within %g s (test_timeout); the other tests still ran" % seconds


class Alarm:
    def __init__(self, seconds):
        self.seconds = seconds
        self.deadline = None
        self.armed = False
        self.fired = None  # the phase in which the current test ran out of time
        self._previous = None
        self.usable = hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM") and 0 < seconds < float("inf")

    def begin(self):
        """A test starts: its budget covers setup, call and teardown together."""
        self.deadline = time.monotonic() + self.seconds
        self.fired = None

    def arm(self, phase):
        if not self.usable or self.deadline is None or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
            return  # another handler owns SIGALRM
        if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            return  # someone else's timer is running
        remaining = self.deadline - time.monotonic()
        if phase == "teardown":
            remaining = max(remaining, min(TEARDOWN_FLOOR, self.seconds))
        self._phase = phase
        self._previous = signal.signal(signal.SIGALRM, self._fire)
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001))

    def disarm(self):
        if not self.armed:
            return
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
        self._previous = None

    def _fire(self, signum, frame):
        if not self.armed:
            return
        if self.fired is None:
            self.fired = self._phase
        raise TestTimeout(slow_message(self.seconds))
