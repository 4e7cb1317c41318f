"""Keeping the coverage store up to date with what each run's tests executed, without slowing a check down.

- On Python 3.12+ a save's run records functions as it goes (`sys.monitoring` is nearly free); the records are
  written on the engine's index thread after the check has ended. That thread also does every selection, in
  submission order, so the next save's selection always sees them.
- Older interpreters pay 2-3x for the profile hook, so their saves run unrecorded, and the tests they ran are
  queued for a low-priority background re-run that records them (`rerecord`), coalesced: one at a time.
- A failed write loses coverage, never the session: selection then falls back to the import graph.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from greenloop.records import Selection, TestResult
from greenloop.run import process
from greenloop.run.pytest_runner import run_tests
from greenloop.select.coverage import CoverageStore
from greenloop.select.recording import records

log = logging.getLogger(__name__)
RERECORD_AFTER = 1.0  # seconds after a check before its tests are recorded in the background (Python < 3.12)
_MONITORING: dict[str, bool] = {}  # interpreter -> has sys.monitoring


class CoverageRecorder:
    """One project's coverage writes: inline records written after the check, background re-runs otherwise."""

    def __init__(self, root: Path, index: ThreadPoolExecutor, store: Callable[[], CoverageStore | None],
                 code_cache: Callable[[], Path | None] = lambda: None) -> None:
        self.root = root
        self._code_cache = code_cache
        self._index = index
        self._store = store  # the engine's store, read when a write runs (None once closed)
        self._writes: list[Future[None]] = []
        self._to_record: set[str] = set()
        self._rerun: asyncio.Task[None] | None = None

    async def records_cheaply(self, python: str) -> bool:
        """Whether recording functions during a save's run is nearly free: `sys.monitoring` (Python 3.12+)."""
        if python not in _MONITORING:
            try:
                done = await process.run([python, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                                         cwd=self.root, timeout=30)
                _MONITORING[python] = done.stdout.strip() == "True"
            except OSError:
                _MONITORING[python] = False
        return _MONITORING[python]

    def write(self, results: list[TestResult], started_ns: int) -> None:
        """Store a finished run's records on the index thread, in order with every other index job."""
        self.after(self._write, results, started_ns)

    def after(self, work: Callable[..., None], *args: object) -> None:
        """Queue another store write (module skeletons) behind the records, without waiting for it."""
        self._writes = [w for w in self._writes if not w.done()]
        self._writes.append(self._index.submit(work, *args))

    def rerecord(self, python: str, nodeids: list[str], timeout: float) -> None:
        """Queue tests for a background, low-priority recorded re-run (coalesced: one such run at a time)."""
        self._to_record.update(nodeids)
        if self._rerun is None or self._rerun.done():
            self._rerun = asyncio.get_running_loop().create_task(self._rerecord(python, timeout))

    async def _rerecord(self, python: str, timeout: float) -> None:
        await asyncio.sleep(RERECORD_AFTER)  # let a burst of saves settle first
        while self._to_record:
            batch, self._to_record = sorted(self._to_record), set()
            started_ns = time.time_ns()
            run = await run_tests(self.root, python, Selection(nodeids=batch), timeout,
                                  record_functions=True, nice=True, code_cache=self._code_cache())
            if run.results:
                self.write(run.results, started_ns)

    def _write(self, results: list[TestResult], started_ns: int) -> None:
        store = self._store()
        if store is None:  # closed meanwhile
            return
        started = time.monotonic()
        try:
            stored = store.record(records(self.root, results, started_ns))
        except Exception:  # noqa: BLE001 - a failed write loses coverage, not the session
            log.exception("coverage: recording failed")
            return
        log.info("coverage: recorded %d test(s) in %.2f s", stored, time.monotonic() - started)

    async def settled(self) -> None:
        """Wait until every queued re-run and write has finished."""
        while self._rerun is not None and not self._rerun.done():
            await asyncio.gather(self._rerun, return_exceptions=True)
        writes, self._writes = self._writes, []
        await asyncio.gather(*(asyncio.wrap_future(w) for w in writes), return_exceptions=True)

    async def close(self) -> None:
        if self._rerun is not None and not self._rerun.done():
            self._rerun.cancel()
            await asyncio.gather(self._rerun, return_exceptions=True)
