"""The fast screen for search-based proposers: a candidate against the failing targets only, stopping at the
first failure, in a warm forking pytest worker bound to the sandbox copy (cold pytest if the worker cannot run).

Screening is a filter, not the verdict: whatever passes it still faces the judge's full run (the relevant
tests, then the type checker).
"""

from __future__ import annotations

import logging
import time

from greenloop.records import Selection
from greenloop.repair.propose.context import Screen
from greenloop.repair.check.judge import Baseline, JudgeSettings
from greenloop.repair.records import Patch
from greenloop.repair.check.sandbox import Sandbox
from greenloop.run.worker import PytestWorker, WorkerUnavailable
from greenloop.select.externals import third_party_modules
from greenloop.select.graph import ImportGraph

log = logging.getLogger(__name__)


class Screener:
    def __init__(self, sandbox: Sandbox, baseline: Baseline, settings: JudgeSettings) -> None:
        self.sandbox = sandbox
        self.baseline = baseline
        self.settings = settings
        self.worker: PytestWorker | None = None
        self._worker_failed = False
        self.count = 0
        self.seconds = 0.0  # time spent screening, worker start-up included
        # A mutation can turn a loop infinite: screens get a timeout scaled to the targets' own baseline time,
        # not the full test timeout (the judge still uses the full one).
        spent = sum(baseline.results[t].duration for t in baseline.targets if t in baseline.results)
        self.timeout = min(settings.timeout, max(3.0, 10 * spent + 2.0))

    async def _worker(self) -> PytestWorker | None:
        if self.worker is None and not self._worker_failed:
            graph = ImportGraph(self.sandbox.root)
            graph.build()
            worker = PytestWorker(self.settings.python, self.sandbox.copy,
                                  wrapper=self.sandbox.wrapper(self.settings.python, self.settings.timeout * 20),
                                  preload=third_party_modules(graph),
                                  pythonpath=[self.sandbox.copy, self.sandbox.copy / "src"],
                                  scratch=self.sandbox.runs)
            try:
                await worker.start()
                self.worker = worker
            except (WorkerUnavailable, OSError) as exc:
                log.info("warm worker unavailable (%s): screening with cold pytest runs", exc)
                self._worker_failed = True
        return self.worker

    async def screen(self, patch: Patch) -> Screen:
        started = time.monotonic()
        try:
            return await self._screen(patch)
        finally:
            self.seconds += time.monotonic() - started

    async def _screen(self, patch: Patch) -> Screen:
        self.count += 1
        selection = Selection(nodeids=list(self.baseline.targets))
        self.sandbox.apply(patch)
        try:
            worker = await self._worker()
            run = None
            if worker is not None:
                try:
                    run = await worker.run(selection, self.timeout, extra=["-x"])
                except WorkerUnavailable as exc:
                    log.info("warm worker lost (%s): continuing with cold pytest runs", exc)
                    self.worker, self._worker_failed = None, True
                    await worker.close()
            if run is None:
                run = await self.sandbox.run(self.settings.python, selection, self.timeout, extra=["-x"])
        finally:
            self.sandbox.reset()
        outcome = {r.nodeid: r for r in run.results}
        passed = 0
        for target in self.baseline.targets:
            result = outcome.get(target)
            if result is None or result.outcome.is_failure:
                return Screen(False, passed, result.message if result else (run.problem or "did not run"))
            passed += 1
        return Screen(True, passed)

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.close()
            self.worker = None

