"""Watching a pytest run: results as they arrive, hung tests killed, the remaining tests resumed.

One implementation for cold runs (a `python -m pytest` process) and warm runs (a child forked by the worker):
both are an `Attempt` that can be polled and killed, started by a `Launch` function given the report file to
write and the node ids to skip. The supervisor tails the report while the attempt runs and hands each result to
`on_result` at once. The plugin fails a slow test itself (a per-test alarm); the supervisor is the backstop for
what an alarm cannot stop (SIGALRM blocked, a hang in C code, a stopped process): a test that started and has no
result `timeout + GRACE` seconds later gets its process group killed, is reported as a timeout, and the tests
that had not finished run in a fresh attempt that skips every test already reported. A crash that takes the
process down while a test runs is handled the same way, with the test reported as an error.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from greenloop.records import Outcome, RunResult, TestResult
from greenloop.run.events import Event, Ledger, ReportTail
from greenloop.run.request import RunRequest

GRACE = 2.0  # seconds past the per-test timeout before the backstop kills (the alarm should have fired)
POLL = 0.02  # seconds between reads of the report: a new failure waits up to this long to be seen
IDLE_LIMIT = 20.0  # at least this long (and 4 test timeouts) without any event outside a test is a hang
LINGER = 2.0  # seconds a process may take to exit after its last event (a leftover non-daemon thread...)


class Attempt(Protocol):
    """One pytest process (or forked child) writing one report."""

    @property
    def returncode(self) -> int | None: ...

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; True once the attempt has ended."""
        ...

    def kill(self) -> None:
        """Kill the attempt's whole process group (it then ends soon)."""
        ...

    async def close(self) -> str:
        """After it ended or was killed: reap it; return the tail of its output, for messages."""
        ...

    async def abandon(self) -> None:
        """The caller was cancelled: kill it and leave nothing running."""
        ...


Launch = Callable[[Path, Collection[str]], Awaitable[Attempt]]


@dataclass
class _End:
    """How one attempt ended."""

    kind: Literal["finished", "exited", "hung", "idle"]  # exited: no finish event; hung: a test; idle: no progress
    running: list[Event] = field(default_factory=list)  # start events of tests without a result
    hung: list[Event] = field(default_factory=list)
    exitstatus: int | None = None


class Supervisor:
    def __init__(self, request: RunRequest, cwd: Path, scratch: Path) -> None:
        self.request = request
        self.scratch = scratch
        self.ledger = Ledger(cwd)
        limited = 0 < request.timeout < math.inf  # 0 or inf: no per-test timeout
        self.idle_limit = max(4 * request.timeout if limited else 0.0, IDLE_LIMIT)
        self.test_limit = request.timeout + GRACE if limited else math.inf

    async def run(self, launch: Launch) -> RunResult:
        """Run attempts until every selected test reported (or nothing more can be learnt)."""
        started = time.monotonic()
        run = RunResult()
        attempts = 0
        while True:
            report = self.scratch / f"report-{attempts}.jsonl"
            report.touch()
            attempt = await launch(report, set(self.ledger.done))
            attempts += 1
            try:
                end = await self._watch(attempt, ReportTail(report))
            except BaseException:
                await attempt.abandon()
                raise
            output = await attempt.close()
            run.output_tail = output[-4000:] if output else run.output_tail
            run.exit_code = end.exitstatus if end.exitstatus is not None else attempt.returncode
            if end.kind in ("hung", "idle"):
                run.exit_code = None  # we killed it: its exit code says nothing about the tests
            if not self._settle(end, run, attempt.returncode, output):
                break
        run.results = list(self.ledger.results)
        run.duration = time.monotonic() - started
        run.timed_out = run.timed_out or any(r.outcome is Outcome.TIMEOUT for r in run.results)
        if (attempts > 1 or end.kind == "hung") and run.exit_code in (None, 0, 5) and run.failures:
            run.exit_code = 1  # as pytest says "tests failed": a killed process could not say it
        return run

    def _settle(self, end: _End, run: RunResult, returncode: int | None, output: str) -> bool:
        """Record how the attempt ended; True when the remaining tests should run in a new attempt."""
        if end.kind == "finished" or (end.kind == "exited" and self.ledger.conftest_failed):
            return False
        if end.kind == "idle":
            run.timed_out = True
            if self.ledger.collected is None:
                run.problem = f"pytest hung during collection: timed out after {self.idle_limit:g} s without progress"
            else:
                run.problem = f"pytest made no progress for {self.idle_limit:g} s outside any test"
            return False
        if end.kind == "hung":
            message = (f"slow: did not finish within {self.request.timeout:g} s (test_timeout) and could not be "
                       f"interrupted, so its process was stopped; the other tests still ran")
            for start in end.hung:
                self._notify(self.ledger.add(self.ledger.unfinished(start, Outcome.TIMEOUT, message)))
        else:  # exited without finishing
            for start in end.running:
                message = f"the test process died while running this test (exit code {returncode})"
                self._notify(self.ledger.add(self.ledger.unfinished(start, Outcome.ERROR, message)))
            tail = output.strip().splitlines()[-3:]
            run.problem = f"pytest stopped unexpectedly (exit code {returncode}): " + " | ".join(tail)
            if not end.running:
                return False  # nothing to blame and skip: running again would die again
        return not self.request.stops_early and self.ledger.remaining

    async def _watch(self, attempt: Attempt, tail: ReportTail) -> _End:
        running: dict[str, tuple[float, Event]] = {}
        last_event = time.monotonic()
        finished_at: float | None = None
        exitstatus: int | None = None
        while True:
            exited = await attempt.wait(POLL)
            now = time.monotonic()
            # Reading and decoding the events is the thread's: a burst of results carrying what each test executed
            # (thousands of records on a large project) would otherwise hold up the server's event loop.
            for event, known, result in await asyncio.to_thread(self._read, tail):
                last_event = now
                kind = event.get("event")
                if kind == "start" and not known:
                    # One test at a time per process: an earlier test of the same process is over, even if its
                    # result never came (it then runs again if the run is resumed).
                    for nodeid in [n for n, (_, e) in running.items() if e.get("pid") == event.get("pid")]:
                        del running[nodeid]
                    running[event["nodeid"]] = (now, event)
                elif kind == "finish":
                    finished_at, exitstatus = now, event.get("exitstatus")
                if result is not None:
                    running.pop(result.nodeid, None)
                    self._notify(result)
            starts = [event for _, event in running.values()]
            if exited:
                return _End("finished" if finished_at is not None else "exited", starts, exitstatus=exitstatus)
            if finished_at is not None:
                if now - finished_at > LINGER:  # done, but something keeps the process alive
                    attempt.kill()
                    return _End("finished", exitstatus=exitstatus)
                continue
            hung = [event for began, event in running.values() if now - began > self.test_limit]
            if hung:
                attempt.kill()
                return _End("hung", starts, hung)
            if not running and now - last_event > self.idle_limit:
                attempt.kill()
                return _End("idle")

    def _read(self, tail: ReportTail) -> list[tuple[Event, bool, TestResult | None]]:
        """The events that arrived, in order, each with whether its test had a result before it, and the new
        result it carries (the ledger is this run's own: only `_watch` touches it, and it waits for this)."""
        read = []
        for event in tail.read():
            known = event.get("nodeid") in self.ledger.done
            read.append((event, known, self.ledger.feed(event)))
        return read

    def _notify(self, result: TestResult) -> None:
        if self.request.on_result is not None:
            self.request.on_result(result)
