"""Find what blocks the event loop: with GREENLOOP_STALLS=<milliseconds> in the server's environment, every stall
longer than that is written to stderr with the stack the loop was stuck in.

Why: the server must answer every request within 100 ms, whatever a check on a large project is doing. A stall is
found by a heartbeat the loop stamps every few milliseconds and a thread that watches the stamp; when the stamp is
late, the thread takes the stacks (`sys._current_frames`: the loop thread's, then the others', since a thread
holding the GIL stalls the loop too) at once, while the culprit is still running, and reports them with the
stall's length when the loop comes back. Off by default: the heartbeat wakes the
loop 50 times a second.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import threading
import time
import traceback

log = logging.getLogger(__name__)
BEAT = 0.02  # seconds between heartbeats


def from_environment() -> float | None:
    """The threshold in seconds GREENLOOP_STALLS asks for, or None (off, or not a number of milliseconds)."""
    raw = os.environ.get("GREENLOOP_STALLS", "").strip()
    try:
        milliseconds = float(raw)
    except ValueError:
        return None
    return milliseconds / 1000 if milliseconds > 0 else None


class StallWatch:
    """Report event-loop stalls longer than `threshold` seconds, with the stack that caused them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold: float) -> None:
        self.loop = loop
        self.threshold = threshold
        self.stamp = time.monotonic()
        self.reports: list[tuple[float, str]] = []  # (seconds, stack) of each stall seen
        self.collections: list[tuple[float, int]] = []  # (seconds, generation) of each long garbage collection
        self._collecting = 0.0
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()

    def start(self) -> StallWatch:
        gc.callbacks.append(self._collection)
        self.loop.call_soon(self._beat)
        threading.Thread(target=self._watch, name="greenloop-stall-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._collection in gc.callbacks:
            gc.callbacks.remove(self._collection)

    def _collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = time.monotonic()
            return
        seconds = time.monotonic() - self._collecting
        if seconds > self.threshold:
            self.collections.append((seconds, info["generation"]))
            log.warning("garbage collection of generation %d took %.0f ms (%d objects freed)", info["generation"],
                        1000 * seconds, info["collected"])

    def _stacks(self) -> str:
        """The loop thread's stack, then every other thread's but this one's: a loop waiting in `select` is
        stalled by a thread holding the GIL (a long call into C), and that thread's stack names it."""
        frames = sys._current_frames()
        order = [self._loop_thread] + [t for t in frames if t not in (self._loop_thread, threading.get_ident())]
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        return "\n".join(f"[thread {names.get(ident, ident)}]\n" + "".join(traceback.format_stack(frames[ident]))
                         for ident in order if ident in frames)

    def _beat(self) -> None:
        self.stamp = time.monotonic()
        if not self._stop.is_set():
            self.loop.call_later(BEAT, self._beat)

    def _watch(self) -> None:
        stack: str | None = None
        stalled_since = 0.0
        while not self._stop.wait(BEAT / 2):
            stamp = self.stamp  # read once: the loop may stamp again while the stacks are being formatted
            late = time.monotonic() - stamp - BEAT
            if late > self.threshold and stack is None:
                stack = self._stacks()
                stalled_since = stamp
            elif stack is not None and late < BEAT:
                seconds = stamp - stalled_since - BEAT
                self.reports.append((seconds, stack))
                log.warning("event loop stalled for %.0f ms in:\n%s", 1000 * seconds, stack)
                stack = None
