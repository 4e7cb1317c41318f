"""The lines a failing test executed, for failures whose traceback has no frame in project source.

Such a failure is placed by Ochiai over executed lines (`diagnose/suspicious.py`), and lines come only from a second
run of just those tests (and a few passing ones) with the line tracer on: tracing every test would make call-heavy
suites several times slower.

That second run used to start when the whole check ended, so a failure in the first, warm batch waited for the
bulk and then for its own re-run. `Retrace` watches the results as they stream: once the first batch is done (the
scheduler says so while the bulk still runs), the frameless failures known by then are re-run at once, beside the
bulk, with the tests that passed so far as helpers. At the end only failures it has not traced yet are re-run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from greenloop import project
from greenloop.records import Outcome, RunResult, Selection, TestResult

TRACE_HELPERS = 10  # passing tests re-run with the tracer beside the failing ones, for the Ochiai ranking
RunTraced = Callable[[Selection], Awaitable[RunResult]]
# (failures to place, every result with traced lines) -> placed and published
Place = Callable[[list[TestResult], list[TestResult]], Awaitable[None]]


class Retrace:
    """One check's traced re-runs: `absorb` each result, `first_batch_done` when the warm batch ends, then
    `finish` with the whole run; `cancel` if the check is cancelled. `place` is called with what to place and the
    lines to place it by: after the early re-run (those failures) and at the end (every frameless failure)."""

    def __init__(self, root: Path, focus: list[Path], run_traced: RunTraced, place: Place) -> None:
        self.root = root
        self.focus = focus
        self.run_traced = run_traced
        self.place = place
        self.frameless: list[TestResult] = []
        self.passed: list[TestResult] = []
        self.lines: dict[str, dict[Path, list[int]]] = {}  # node id -> what it executed in a traced re-run
        self._early: asyncio.Future[None] | None = None

    def is_frameless(self, result: TestResult) -> bool:
        return (result.outcome.is_failure and result.when == "call" and result.outcome is not Outcome.TIMEOUT
                and not any(project.is_source_file(self.root, f.path) for f in result.frames))

    def absorb(self, result: TestResult) -> None:
        if self.is_frameless(result):
            self.frameless.append(result)
        elif result.outcome is Outcome.PASSED and len(self.passed) < TRACE_HELPERS:
            self.passed.append(result)

    def first_batch_done(self) -> None:
        """The warm batch ended and the bulk goes on: re-run the frameless failures known so far beside it."""
        if self._early is None and self.frameless and self.focus:
            self._early = asyncio.ensure_future(self._early_run(list(self.frameless), list(self.passed)))

    async def finish(self, run: RunResult) -> None:
        """Trace the frameless failures of `run` not traced yet, give every result the lines it executed in a
        traced re-run (none if it was not re-run), and place the frameless failures by them."""
        early, self._early = self._early, None
        if early is not None:
            await early
        frameless = [r for r in run.results if self.is_frameless(r)]
        if not frameless or not self.focus:
            return
        missing = [r.nodeid for r in frameless if r.nodeid not in self.lines]
        if missing:
            early_helpers = any(r.nodeid in self.lines for r in self.passed)
            helpers = [] if early_helpers else [r.nodeid for r in run.results
                                                if r.outcome is Outcome.PASSED][:TRACE_HELPERS]
            await self._trace(missing, helpers)
        await self.place(frameless, self._with_lines(run.results))

    async def cancel(self) -> None:
        early, self._early = self._early, None
        if early is not None:
            early.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await early

    async def _early_run(self, frameless: list[TestResult], passed: list[TestResult]) -> None:
        await self._trace([r.nodeid for r in frameless], [r.nodeid for r in passed])
        await self.place(frameless, self._with_lines(frameless + passed))

    async def _trace(self, failing: list[str], helpers: list[str]) -> None:
        traced = await self.run_traced(Selection(nodeids=failing + [n for n in helpers if n not in failing]))
        for result in traced.results:
            self.lines[result.nodeid] = result.covered

    def _with_lines(self, results: list[TestResult]) -> list[TestResult]:
        for result in results:
            result.covered = self.lines.get(result.nodeid, {})
        return [r for r in results if r.covered]
