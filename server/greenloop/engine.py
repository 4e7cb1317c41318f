"""The engine: one project's check pipeline and its memory between runs.

save -> select tests -> run them (and the type checker) -> diagnose -> current findings. The language server and
the CLI both drive this class; it knows nothing about LSP.

- Selection is by recorded coverage (which functions each test executed, `select/coverage.py`), falling back to
  the import graph where coverage cannot decide; every run records what its tests executed.
- Results stream: each test's findings replace its old ones as it finishes, and `on_update` hears about it
  (throttled), so an editor shows the first failure while the rest still runs.
- Failures without a traceback frame in the saved source are placed by a second, traced run of just those
  tests (and a few passing ones), never by tracing every test; it starts as soon as the first batch is done,
  beside the bulk (`diagnose/retrace.py`).
- The import graph, the coverage store and fingerprinting run in one background thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from greenloop import config, project
from greenloop.diagnose.current import CurrentFindings
from greenloop.diagnose.placement import place
from greenloop.diagnose.retrace import Retrace
from greenloop.records import (
    FileNote, Finding, Outcome, RunOwner, RunResult, Selection, Severity, TestResult, run_owner,
)
from greenloop.run.pytest_runner import run_tests
from greenloop.run.scheduler import UNKNOWN_TEST_FILE, Scheduler
from greenloop.select import selector
from greenloop.select.affected import Affected, affected_tests, most_focused, read_fingerprint
from greenloop.select.coverage import CoverageStore
from greenloop.select.externals import third_party_modules
from greenloop.select.graph import ImportGraph
from greenloop.select.recorder import CoverageRecorder
from greenloop.select.recording import recordable
from greenloop.state import state_dir
from greenloop.stream import Publisher
from greenloop.typecheck import TypeChecker, check_types
from greenloop.typecheck.checkers import TypeReport

log = logging.getLogger(__name__)
CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
T = TypeVar("T")


@dataclass
class CheckReport:
    """What one check did and found."""

    changed: list[Path]
    selection: Selection
    explanation: list[str]
    interpreter: project.Interpreter
    run: RunResult | None = None
    types: TypeReport | None = None
    findings: list[Finding] = field(default_factory=list)  # all current findings of the project
    problems: list[str] = field(default_factory=list)  # things that stopped a check from running
    affected: set[Path] = field(default_factory=set)  # files whose findings may have changed
    duration: float = 0.0
    results_so_far: int = 0  # streamed test results absorbed so far
    first_result_after: float | None = None  # seconds from the start of the check to its first test result

    @property
    def failed(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


class Engine:
    def __init__(self, root: Path, settings: config.Settings | None = None, *, standalone: bool = False,
                 warm: bool = True) -> None:
        """`standalone`: `root` is a lone file's folder outside any project: check only the files named, never
        scan, watch or write anything there. `warm`: keep a forking pytest worker between checks (the server);
        a one-shot check (the CLI) runs pytest cold."""
        self.root = root.resolve()
        self.settings = settings or config.Settings()
        self.standalone = standalone
        self.graph = ImportGraph(self.root)
        self.current = CurrentFindings(self.root)
        self.scheduler = Scheduler(self.root, warm=warm)
        self.store: CoverageStore | None = None
        # basedpyright kept warm as a language server per workspace; one-shot and standalone checks run it cold
        self.types = TypeChecker(self.root) if warm and not standalone else None
        self._graph_built = False
        self._lock = asyncio.Lock()
        self._index = ThreadPoolExecutor(1, thread_name_prefix="greenloop-index")
        self._types_from = self.settings.type_checker  # the checker that produced the type findings
        self.recorder = CoverageRecorder(self.root, self._index, lambda: self.store, lambda: self.scheduler.code_cache)

    # -- state --------------------------------------------------------------------------------------------

    @property
    def interpreter(self) -> project.Interpreter:
        return project.find_interpreter(self.root, self.settings.python)

    def findings(self) -> list[Finding]:
        return self.current.all()

    async def _off_loop(self, work: Callable[..., T], *args: Any) -> T:
        """Run index work (graph, coverage store, fingerprints) on the engine's one background thread."""
        return await asyncio.get_running_loop().run_in_executor(self._index, work, *args)

    async def prepare(self) -> None:
        """Build the import graph and open the coverage store, off the event loop (once)."""
        if not self._graph_built:
            await self._off_loop(self._prepare)

    def _prepare(self) -> None:
        if self._graph_built:
            return
        started = time.monotonic()
        if not self.standalone:
            self.graph.build()
            try:
                self.store = CoverageStore.open(self.root)
                self.scheduler.code_cache = state_dir(self.root) / "code"
            except Exception as exc:  # read-only project, corrupt file: select by imports only
                log.warning("coverage data unavailable in %s: %s", self.root, exc)
        self.scheduler.preload = third_party_modules(self.graph)
        self._graph_built = True
        log.info("import graph: %d files in %.2f s", len(self.graph.files), time.monotonic() - started)

    def file_changed(self, path: Path) -> None:
        """Keep the import graph current for a file changed outside a check (the watcher calls this)."""
        if self._graph_built and not self.standalone:
            with contextlib.suppress(RuntimeError):  # closed
                self._index.submit(self.graph.update, path)
        if self.types is not None:
            self.types.files_changed([path])

    async def close(self) -> None:
        await self.recorder.close()
        await self.scheduler.close()
        if self.types is not None:
            await self.types.close()
        store, self.store = self.store, None
        if store is not None:
            await self._off_loop(store.close)
        self._index.shutdown(wait=False, cancel_futures=True)

    # -- the pipeline -------------------------------------------------------------------------------------

    async def check(
        self,
        changed: Iterable[Path] | None = None,
        *,
        run_types: bool = True,
        on_update: Callable[[CheckReport], None] | None = None,
    ) -> CheckReport:
        """Check what `changed` can affect; `None` checks the whole project. Never raises for project faults.

        `on_update` receives the report so far as test results stream in and when one of several jobs (tests,
        types) finishes. Cancelling the check stops its processes; nothing is recorded from a cancelled run."""
        paths = None if changed is None else [Path(p).resolve() for p in changed]
        if self.types is not None and paths is not None:
            self.types.files_changed(paths)  # at once: a check cancelled later must not lose the news
        async with self._lock:
            return await self._check(paths, run_types, on_update)

    async def _check(
        self, changed: list[Path] | None, run_types: bool, on_update: Callable[[CheckReport], None] | None
    ) -> CheckReport:
        started, started_ns = time.monotonic(), time.time_ns()
        await self.prepare()
        before = {f.path for f in self.findings()}
        if self.settings.type_checker != self._types_from:  # switched checker (or off): its findings are stale
            self.current.clear_types()
            self._types_from = self.settings.type_checker
        existing = [p for p in changed or [] if p.is_file()]
        gone = [p for p in changed or [] if not p.is_file()]
        interpreter = self.interpreter
        if changed is not None:  # the saved modules compile in the warm worker while the tests are selected
            self.scheduler.precompile(interpreter.path, self._sources(existing))
        if any(project.is_conftest(p) or p.name in selector.CONFIG_FILES for p in changed or []):
            self.scheduler.invalidate()
        selection, affected, focus = await self._off_loop(self._select, changed, existing, gone)
        for path in gone:
            self.current.forget(path)

        report = CheckReport(changed=changed or [], selection=selection, explanation=selector.explain(selection),
                             interpreter=interpreter)
        report.problems += [f"{project.relpath(self.root, p)} no longer exists" for p in gone]
        self._note_encodings(existing)
        publisher = Publisher(report, lambda: self._refresh(report, before, started), on_update)
        type_files = self._type_targets(changed, existing)
        jobs: list[Any] = []
        if not selection.empty:
            jobs.append(self._tests(interpreter.path, selection, focus, changed is None, report, publisher,
                                    started, started_ns))
        if run_types and type_files and self.settings.type_checker != "off":
            if self.types is not None:
                jobs.append(self.types.check(self.settings.type_checker, interpreter.path, type_files))
            else:
                jobs.append(check_types(self.settings.type_checker, self.root, interpreter.path, type_files))
        # Tests and type checks run side by side; each result is absorbed as soon as it arrives.
        tasks = [asyncio.ensure_future(job) for job in jobs]
        try:
            for finished, next_done in enumerate(asyncio.as_completed(tasks), start=1):
                outcome = await next_done
                if isinstance(outcome, RunResult):
                    report.run = outcome
                else:
                    report.types = outcome
                    self.current.absorb_types(outcome)
                    if outcome.note:
                        log.info("type check: %s", outcome.note)
                if outcome.problem:
                    report.problems.append(outcome.problem)
                if finished < len(tasks):
                    publisher.now()
        finally:  # cancelled: cancel the jobs too, which kills their process groups
            publisher.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.store is not None and affected.skeletons:  # a complete check: module-level code is now known
            self.recorder.after(self.store.set_skeletons, affected.skeletons, True)
        self._refresh(report, before, started)
        return report

    def _select(self, changed: list[Path] | None, existing: list[Path],
                gone: list[Path]) -> tuple[Selection, Affected, list[Path]]:
        """On the index thread: update the graph, ask coverage, then the import graph where coverage cannot tell.
        Also returns the focus: the source files that should show a failure even without a frame in them."""
        focus = self._focus(changed, existing)
        if changed is None:
            everything = Selection(whole_project=True,
                                   reasons={"<project>": "running every test: the whole project was asked for"})
            return everything, Affected(skeletons=self._skeletons()), focus
        if self.standalone:
            tests = [p for p in existing if project.is_test_file(p)]
            reasons = {project.relpath(self.root, p): f"{p.name} is a file outside any project, checked alone"
                       for p in tests}
            return Selection(paths=tests, reasons=reasons), Affected(), focus
        for path in existing:
            self.graph.update(path)
        affected = affected_tests(self.store, self.root, self._sources(changed))
        recorded = self.store.recorded_test_files() if self.store is not None else set()
        selection = selector.select(self.graph, changed, self.current.last_failed(), affected, recorded)
        selection.first += [n for n in most_focused(self.store, affected.tests) if n not in selection.first]
        for path in gone:  # after selecting, so tests that imported a deleted file are still found
            self.graph.update(path)
        return selection, affected, focus

    def _sources(self, paths: list[Path]) -> list[Path]:
        """The project's own source modules among `paths`: no test module, no conftest, nothing outside."""
        return [p for p in paths if p.suffix == ".py" and project.is_project_file(self.root, p)
                and not project.is_test_file(p) and not project.is_conftest(p)]

    def _skeletons(self) -> dict[str, str]:
        """Module-level fingerprints of every source file (taken before a whole-suite run)."""
        skeletons = {}
        for path in self.graph.files:
            if project.is_source_file(self.root, path):
                current = read_fingerprint(path)
                if current is not None and current.complete:
                    skeletons[project.relpath(self.root, path)] = current.skeleton
        return skeletons

    async def tests_recorded(self) -> int | None:
        """How many tests the coverage store knows (None without a store), read off the event loop: the store
        may be busy with a write, and a query would wait for it on the loop's thread."""
        store = self.store
        return None if store is None else await self._off_loop(store.test_count)

    async def build_coverage(self) -> RunResult | None:
        """When no coverage data exists yet, run the whole suite once, in the background at low priority,
        recording what each test executes. Nothing is published. None when there was nothing to do."""
        await self.prepare()
        if self.store is None or await self._off_loop(self.store.has_data):
            return None
        started_ns = time.time_ns()
        skeletons = await self._off_loop(self._skeletons)
        run = await run_tests(self.root, self.interpreter.path, Selection(whole_project=True),
                              self.settings.test_timeout, record_functions=True, nice=True, workers=2,
                              code_cache=self.scheduler.code_cache)
        if run.results and self.store is not None:
            self.recorder.write(run.results, started_ns)
            self.recorder.after(self.store.set_skeletons, skeletons, False)
            await self.recorder.settled()
        return run

    def _focus(self, changed: list[Path] | None, existing: list[Path]) -> list[Path]:
        """Source files that should show a failure even without a traceback frame in them."""
        if changed is None:
            return [p for p in self.graph.files if not project.is_test_file(p) and not project.is_conftest(p)]
        return [p for p in existing if p.suffix == ".py" and not project.is_test_file(p)
                and not project.is_conftest(p)]

    def _estimate(self, selection: Selection) -> float:
        if self.store is None:
            return 0.0
        known = self.store.durations(selection.nodeids)
        estimate = sum(known.values()) + 0.05 * (len(selection.nodeids) - len(known))
        for path in selection.paths:
            tests = self.store.tests_in(project.relpath(self.root, path))
            estimate += sum(self.store.durations(tests).values()) if tests else UNKNOWN_TEST_FILE
        if selection.whole_project:
            estimate += 0.05 * self.store.test_count()
        return estimate

    async def _tests(self, python: str, selection: Selection, focus: list[Path], whole: bool, report: CheckReport,
                     publisher: Publisher, started: float, started_ns: int) -> RunResult:
        async def run_traced(tests: Selection) -> RunResult:
            return await self.scheduler.run(python, tests, self.settings.test_timeout, estimate=0.0, record=False,
                                            trace_files=focus)

        async def place_traced(frameless: list[TestResult], with_lines: list[TestResult]) -> None:
            await self._place_by_lines(frameless, with_lines, focus, whole)
            publisher.soon(urgent=True)

        retrace = Retrace(self.root, focus, run_traced, place_traced)
        streamed: set[str] = set()

        def absorb(result: TestResult) -> None:
            if report.first_result_after is None:
                report.first_result_after = time.monotonic() - started
            report.results_so_far += 1
            streamed.add(result.nodeid)
            self._place(result, whole)
            retrace.absorb(result)
            publisher.soon(urgent=result.outcome.is_failure)

        estimate = await self._off_loop(self._estimate, selection)
        # One-shot checks (the CLI) record inline; the server records inline only where it is nearly free.
        record = self.store is not None and (not self.scheduler.use_warm or await self.recorder.records_cheaply(python))
        try:
            run = await self.scheduler.run(python, selection, self.settings.test_timeout, estimate=estimate,
                                           on_result=absorb, record=record, on_first_done=retrace.first_batch_done)
            if run.problem and not run.results:
                return run  # nothing ran: keep what we knew
            for result in run.results:  # results the stream did not carry (collection errors); placing a streamed
                if result.nodeid not in streamed:  # one again would undo what a traced re-run placed already
                    self._place(result, whole)
            self.current.settle(selection, {r.nodeid for r in run.results})
            publisher.now()
            await retrace.finish(run)
        finally:
            await retrace.cancel()
        if record:  # written on the index thread after the check ends; the next selection queues behind it
            self.recorder.write(run.results, started_ns)
        elif self.store is not None:  # a test that timed out is not run again: it would hang again, for its whole
            # budget, restarting whatever it starts; unrecorded, it stays selected by imports
            self.recorder.rerecord(python, [r.nodeid for r in run.results
                                            if recordable(r) and r.outcome is not Outcome.TIMEOUT],
                                   self.settings.test_timeout)
        return run

    def _place(self, result: TestResult, whole: bool) -> None:
        """A result's findings, from its traceback alone, in place of what its owner showed before."""
        self.current.replace(run_owner(result.nodeid), place(self.root, result, [result], (), whole))

    async def recorded(self) -> None:
        """Wait until the coverage of earlier runs is stored (tests, benchmarks)."""
        await self.recorder.settled()

    async def _place_by_lines(self, frameless: list[TestResult], with_lines: list[TestResult], focus: list[Path],
                              whole: bool) -> None:
        """Failures with no traceback frame in project source, each on its most suspicious line by Ochiai over the
        lines that `with_lines` executed in a traced re-run (`diagnose/retrace.py`)."""

        def ranked() -> list[tuple[RunOwner, list[Finding]]]:  # Ochiai over every traced line: keep it off the loop
            return [(run_owner(r.nodeid), place(self.root, r, with_lines, focus, whole)) for r in frameless]

        for owner, findings in await self._off_loop(ranked):
            self.current.replace(owner, findings)

    def _refresh(self, report: CheckReport, before: set[Path], started: float) -> None:
        report.findings = self.findings()
        report.affected = before | {f.path for f in report.findings}
        report.duration = time.monotonic() - started

    def _type_targets(self, changed: list[Path] | None, existing: list[Path]) -> list[Path]:
        if changed is None:
            return list(project.iter_python_files(self.root))
        if self.standalone:
            return [p for p in existing if p.suffix == ".py"]
        return [p for p in existing if p.suffix == ".py" and project.is_project_file(self.root, p)]

    def _note_encodings(self, paths: list[Path]) -> None:
        for path in paths:
            if path.suffix != ".py":
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            _, problem = project.decode(data, path.name)
            notes = []
            if problem and not any(CODING_COOKIE.match(line) for line in data.splitlines()[:2]):
                notes = [Finding(path=path, line=1, message=problem, severity=Severity.ERROR, code="encoding",
                                 owner=FileNote(path))]
            self.current.set_note(path, notes)
