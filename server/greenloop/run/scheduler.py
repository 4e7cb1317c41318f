"""How one check's tests are run: warm for the first results, on both cores for the bulk.

- The tests most likely to matter (those that failed last time, then the test modules mirroring the saved
  modules) run first, in the warm forking worker, so the first diagnostic arrives in a fraction of a second.
- The rest runs in the warm worker too when it is small; when the recorded durations say it is large, it is
  spread over the cores with pytest-xdist (when the project has it). The warm worker forks that pytest process
  and its xdist workers too (`Spawn`: execnet starts `greenloop_xdist_shim` as their interpreter), so none of
  them imports pytest, its plugins and the project's packages again.
- A cold `python -m pytest` process is the fallback whenever the warm worker cannot run (not fork-safe, died).

Every run keeps compiled project modules in `code_cache` (by their text; see plugin/greenloop_codecache.py), so
a run compiles only what changed since an earlier run met it.

The warm worker belongs to the scheduler: started once, restarted when the interpreter's packages, a conftest.py
or the pytest configuration change (`invalidate`), or when the interpreter setting changes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from greenloop import project
from greenloop.records import RunResult, Selection, TestResult
from greenloop.run.pytest_runner import run_tests
from greenloop.run.request import Spawn
from greenloop.run.worker import PytestWorker, WorkerUnavailable

log = logging.getLogger(__name__)
SPREAD_AT = 4.0  # seconds of estimated test time from which the bulk is spread over the cores
UNKNOWN_TEST_FILE = 1.0  # estimated seconds for a test file with no recorded durations


@dataclass
class Plan:
    """One check's tests, split into what runs first (warm) and the bulk."""

    first: Selection
    rest: Selection
    estimate: float  # seconds, from recorded durations
    spread: bool = False  # run the bulk with pytest-xdist
    notes: list[str] = field(default_factory=list)


def _leads(nodeid: str, firsts: set[str]) -> bool:
    """Whether `nodeid` is one of `firsts` or inside one (a test file, a class, a folder). Looked up by the
    node id's own prefixes, not by comparing with each entry: a networkx save selects ~600 tests and puts ~100
    first, and the pairwise way cost the event loop 60 ms a check."""
    if nodeid in firsts:
        return True
    path, _, rest = nodeid.partition("::")
    if path in firsts:
        return True
    parts = rest.split("::") if rest else []
    for end in range(1, len(parts)):  # a class (or a class inside a class) named in `first`
        if f"{path}::{'::'.join(parts[:end])}" in firsts:
            return True
    folders = path.split("/")[:-1]
    return any("/".join(folders[:end]) in firsts or "/".join(folders[:end]) + "/" in firsts
               for end in range(1, len(folders) + 1))


def plan(root: Path, selection: Selection, estimate: float, cores: int | None = None) -> Plan:
    """Split `selection` by its `first` list; mark the bulk for xdist when it is long enough to pay for it."""
    cores = cores or os.cpu_count() or 1
    spread = cores > 1 and estimate >= SPREAD_AT
    if selection.whole_project or not spread or not selection.first:
        return Plan(Selection(), selection, estimate, spread)
    firsts = set(selection.first)
    first_ids = [n for n in selection.nodeids if _leads(n, firsts)]
    first_paths = [p for p in selection.paths if project.relpath(root, p) in firsts]
    if not first_ids and not first_paths:
        return Plan(Selection(), selection, estimate, spread)
    head = Selection(paths=first_paths, nodeids=first_ids, reasons=selection.reasons, first=selection.first)
    taken_ids, taken_paths = set(first_ids), set(first_paths)
    tail = replace(selection, paths=[p for p in selection.paths if p not in taken_paths],
                   nodeids=[n for n in selection.nodeids if n not in taken_ids])
    return Plan(head, tail, estimate, spread)


def merge(runs: Sequence[RunResult]) -> RunResult:
    merged = RunResult()
    for run in runs:
        merged.results.extend(run.results)
        merged.duration += run.duration
        merged.timed_out = merged.timed_out or run.timed_out
        merged.problem = merged.problem or run.problem
        merged.output_tail = run.output_tail or merged.output_tail
        merged.exit_code = run.exit_code if merged.exit_code in (None, 0, 5) else merged.exit_code
        merged.notes.extend(run.notes)
    return merged


class Scheduler:
    def __init__(self, root: Path, warm: bool = True) -> None:
        self.root = root
        self.use_warm = warm
        self.preload: list[str] = []
        self.code_cache: Path | None = None  # set by the engine once the project's state folder exists
        self._worker: PytestWorker | None = None
        self._python: str | None = None
        self._broken: str | None = None  # why the warm worker cannot run for this interpreter
        self._starting: asyncio.Lock = asyncio.Lock()

    def invalidate(self) -> None:
        """A conftest, the configuration or the environment changed: the next run starts a fresh worker."""
        worker, self._worker = self._worker, None
        self._broken = None
        if worker is not None:
            asyncio.get_running_loop().create_task(worker.close())

    async def warm(self, python: str) -> PytestWorker | None:
        async with self._starting:
            if self._python != python:
                self.invalidate()
                self._python = python
            if self._worker is not None and not self._worker.fresh():
                self.invalidate()
            if self._worker is None and self._broken is None:
                worker = PytestWorker(python, self.root, preload=self.preload, pythonpath=[self.root],
                                      code_cache=self.code_cache, spawn=True)
                try:
                    await worker.start()
                    self._worker = worker
                except (WorkerUnavailable, OSError) as exc:
                    self._broken = str(exc)
                    log.info("warm pytest worker unavailable for %s (%s): cold pytest runs", python, exc)
            return self._worker

    def precompile(self, python: str, files: Sequence[Path]) -> None:
        """Saved modules, compiled into the code cache by the warm worker while the check selects its tests (only
        when that worker is already up for `python`: starting one is the run's business)."""
        worker = self._worker
        if files and self.use_warm and worker is not None and self._python == python:
            worker.precompile(files)

    async def run(
        self,
        python: str,
        selection: Selection,
        timeout: float,
        *,
        estimate: float,
        on_result: Callable[[TestResult], None] | None = None,
        record: bool = True,
        trace_files: Iterable[Path] = (),
        on_first_done: Callable[[], None] | None = None,
    ) -> RunResult:
        """Run `selection`, streaming each result to `on_result`; never raises for anything the project does.
        `on_first_done` hears when the first, warm batch has ended while the bulk still runs (not otherwise)."""
        steps = plan(self.root, selection, estimate)

        async def part(tests: Selection, spread: bool, behind: bool) -> RunResult:
            started = time.monotonic()
            run = await self._one(python, tests, timeout, on_result, record, trace_files, spread, behind)
            log.info("ran %d test(s) %s in %.2f s", len(run.results),
                     "over the cores with pytest-xdist" if spread else "in one process", time.monotonic() - started)
            if tests is steps.first and not steps.rest.empty and on_first_done is not None:
                on_first_done()
            return run

        parts = [(tests, spread) for tests, spread in ((steps.first, False), (steps.rest, steps.spread))
                 if not tests.empty]
        # Side by side: the bulk starts its processes (imports, collection) while the first tests run; at the
        # lowest priority, so it takes only the CPU the first tests leave.
        behind = len(parts) > 1
        return merge(await asyncio.gather(*(part(tests, spread, behind and spread) for tests, spread in parts)))

    async def _one(self, python: str, selection: Selection, timeout: float,
                   on_result: Callable[[TestResult], None] | None, record: bool, trace_files: Iterable[Path],
                   spread: bool, behind: bool = False) -> RunResult:
        order = list(selection.first)
        if not spread and self.use_warm:
            worker = await self.warm(python)
            if worker is not None:
                try:
                    return await worker.run(selection, timeout, trace_files, on_result=on_result,
                                            record_functions=record, order=order)
                except WorkerUnavailable as exc:
                    log.info("warm pytest worker lost (%s): running cold", exc)
                    self.invalidate()
        return await run_tests(self.root, python, selection, timeout, trace_files, on_result=on_result,
                               record_functions=record, order=order, workers=2 if spread else 1, nice=behind,
                               code_cache=self.code_cache, spawn=await self._spawn(python) if spread else None)

    async def _spawn(self, python: str) -> Spawn | None:
        """The warm worker, to fork the bulk's pytest process and its xdist workers (each would otherwise import
        pytest, its plugins and the project's packages again, on the cores the tests need)."""
        if not self.use_warm:
            return None
        worker = await self.warm(python)
        socket = worker.spawn_socket if worker is not None else None
        return Spawn(python, socket) if socket is not None else None

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            await worker.close()
