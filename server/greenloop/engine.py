"""The engine: one project's check pipeline and its memory between runs.

save -> select tests -> run them (and the type checker) -> diagnose -> current findings. The language server and
the CLI both drive this class; it knows nothing about LSP. It remembers which tests failed and which files their
failures touched, so a later save re-runs them even where the import graph cannot see the link, and so a passing
run clears exactly the diagnostics it is responsible for.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from greenloop import config, project
from greenloop.diagnose.placement import place_all, touched_files
from greenloop.records import Finding, RunResult, Selection, Severity
from greenloop.run.pytest_runner import run_tests
from greenloop.select import selector
from greenloop.select.graph import ImportGraph
from greenloop.typecheck import check_types
from greenloop.typecheck.checkers import TypeReport

log = logging.getLogger(__name__)
CODING_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


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

    @property
    def failed(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


def _owner_file(owner: str) -> str:
    return owner.split("::", 1)[0]


class Engine:
    def __init__(self, root: Path, settings: config.Settings | None = None) -> None:
        self.root = root.resolve()
        self.settings = settings or config.Settings()
        self.graph = ImportGraph(self.root)
        self._graph_built = False
        self._lock = asyncio.Lock()
        self._test_findings: dict[str, list[Finding]] = {}  # by owner: test node id or collected file
        self._type_findings: dict[Path, list[Finding]] = {}
        self._types_from = self.settings.type_checker  # the checker that produced _type_findings
        self._file_notes: dict[Path, list[Finding]] = {}  # encoding problems and similar, by file

    # -- state --------------------------------------------------------------------------------------------

    @property
    def interpreter(self) -> project.Interpreter:
        return project.find_interpreter(self.root, self.settings.python)

    def findings(self) -> list[Finding]:
        everything = [f for group in self._test_findings.values() for f in group]
        everything += [f for group in self._type_findings.values() for f in group]
        everything += [f for group in self._file_notes.values() for f in group]
        return sorted(everything, key=Finding.sort_key)

    def last_failed(self) -> dict[str, set[Path]]:
        """Node id -> files its failure touched (test file, frames, placements)."""
        result = {}
        for owner, group in self._test_findings.items():
            if "::" in owner:
                result[owner] = touched_files(group) | {(self.root / _owner_file(owner)).resolve()}
        return result

    def ensure_graph(self) -> None:
        if not self._graph_built:
            started = time.monotonic()
            self.graph.build()
            self._graph_built = True
            log.info("import graph: %d files in %.2f s", len(self.graph.files), time.monotonic() - started)

    def file_changed(self, path: Path) -> None:
        """Keep the import graph current for a file changed outside a check (the watcher calls this)."""
        if self._graph_built:
            self.graph.update(path)

    # -- the pipeline -------------------------------------------------------------------------------------

    async def check(
        self,
        changed: Iterable[Path] | None = None,
        *,
        run_types: bool = True,
        on_update: Callable[[CheckReport], None] | None = None,
    ) -> CheckReport:
        """Check what `changed` can affect; `None` checks the whole project. Never raises for project faults.

        `on_update` receives the report so far each time one of several jobs (tests, types) finishes."""
        async with self._lock:
            paths = None if changed is None else [Path(p).resolve() for p in changed]
            return await self._check(paths, run_types, on_update)

    async def _check(
        self, changed: list[Path] | None, run_types: bool, on_update: Callable[[CheckReport], None] | None
    ) -> CheckReport:
        started = time.monotonic()
        self.ensure_graph()
        before = {f.path for f in self.findings()}
        if self.settings.type_checker != self._types_from:  # switched checker (or off): its findings are stale
            self._type_findings.clear()
            self._types_from = self.settings.type_checker
        existing = [p for p in changed or [] if p.is_file()]
        gone = [p for p in changed or [] if not p.is_file()]
        for path in existing:
            self.graph.update(path)
        if changed is None:
            selection = Selection(whole_project=True, reasons={"<project>": "running every test: the whole project was asked for"})
        else:
            selection = selector.select(self.graph, changed, self.last_failed())
        for path in gone:  # after selecting, so tests that imported a deleted file are still found
            self.graph.update(path)
            self._forget(path)

        interpreter = self.interpreter
        report = CheckReport(changed=changed or [], selection=selection, explanation=selector.explain(selection),
                             interpreter=interpreter)
        report.problems += [f"{project.relpath(self.root, p)} no longer exists" for p in gone]
        self._note_encodings(existing)

        # Source files whose lines the tests' call phase traces, for failures without a frame in source.
        if changed is None:
            focus = [p for p in project.iter_python_files(self.root) if not project.is_test_file(p)
                     and not project.is_conftest(p)]
        else:
            focus = [p for p in existing if p.suffix == ".py" and not project.is_test_file(p)]
        type_files = self._type_targets(changed, existing)
        jobs = []
        if not selection.empty:
            jobs.append(run_tests(self.root, interpreter.path, selection, self.settings.test_timeout, focus))
        if run_types and type_files and self.settings.type_checker != "off":
            jobs.append(check_types(self.settings.type_checker, self.root, interpreter.path, type_files))
        # Tests and type checks run side by side; each result is absorbed as soon as it arrives, and while the
        # other job still runs `on_update` gets the report so far (an editor shows test failures at once rather
        # than after the slower type checker).
        tasks = [asyncio.ensure_future(job) for job in jobs]
        try:
            for finished, next_done in enumerate(asyncio.as_completed(tasks), start=1):
                outcome = await next_done
                if isinstance(outcome, RunResult):
                    report.run = outcome
                    self._absorb_run(selection, outcome, focus, best_only=changed is None)
                else:
                    report.types = outcome
                    self._absorb_types(outcome)
                if outcome.problem:
                    report.problems.append(outcome.problem)
                self._refresh(report, before, started)
                if finished < len(tasks) and on_update is not None:
                    on_update(report)
        finally:  # cancelled: cancel the jobs too, which kills their process groups
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._refresh(report, before, started)
        return report

    def _refresh(self, report: CheckReport, before: set[Path], started: float) -> None:
        report.findings = self.findings()
        report.affected = before | {f.path for f in report.findings}
        report.duration = time.monotonic() - started

    def _type_targets(self, changed: list[Path] | None, existing: list[Path]) -> list[Path]:
        if changed is None:
            return list(project.iter_python_files(self.root))
        return [p for p in existing if p.suffix == ".py" and project.is_project_file(self.root, p)]

    def _absorb_run(self, selection: Selection, run: RunResult, focus: list[Path], best_only: bool) -> None:
        """Replace the findings this run is responsible for, and only those."""
        if run.problem and not run.results:
            return  # nothing ran: keep what we knew
        files = {project.relpath(self.root, p) for p in selection.paths}
        for owner in list(self._test_findings):
            covered = (
                selection.whole_project
                or owner in selection.nodeids
                or _owner_file(owner) in files
                or "::" not in owner and "conftest" in owner  # a conftest error is re-judged by every run
            )
            if covered:
                del self._test_findings[owner]
        for result in run.results:
            self._test_findings.pop(result.nodeid, None)
        for finding in place_all(self.root, run.results, focus, best_only):
            self._test_findings.setdefault(finding.owner, []).append(finding)

    def _absorb_types(self, types: TypeReport) -> None:
        for path in types.checked:
            self._type_findings.pop(path.resolve(), None)
        for finding in types.findings:
            self._type_findings.setdefault(finding.path.resolve(), []).append(finding)

    def _note_encodings(self, paths: list[Path]) -> None:
        for path in paths:
            if path.suffix != ".py":
                continue
            self._file_notes.pop(path, None)
            try:
                data = path.read_bytes()
            except OSError:
                continue
            _, problem = project.decode(data, path.name)
            if problem and not any(CODING_COOKIE.match(line) for line in data.splitlines()[:2]):
                self._file_notes[path] = [Finding(path=path, line=1, message=problem, severity=Severity.ERROR,
                                                  code="encoding", owner=f"encoding:{path}")]

    def _forget(self, path: Path) -> None:
        self._type_findings.pop(path, None)
        self._file_notes.pop(path, None)
        for owner, group in list(self._test_findings.items()):
            kept = [f for f in group if f.path != path]
            if kept:
                self._test_findings[owner] = kept
            else:
                del self._test_findings[owner]
