"""One workspace folder as the server sees it: its engine, its settings, its watcher, its queue of checks.

Saves arrive faster than tests run. Checks for one folder never overlap, and the newest text wins: a save (or an
outside change) during a check cancels it, and the changes of both are checked together at once; nothing the
cancelled check computed is published after that. Files the editor just saved are not checked a second time when
the file watcher reports the same write. In the background, once: the import graph is built, the warm pytest
worker started, and, when the project has no coverage data yet, the whole suite is run at low priority to
record it.

A *standalone* session serves one file outside any project (a scratch file in /tmp): no watcher, no scan of its
folder, nothing written there.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenloop import config, present, project
from greenloop.engine import CheckReport, Engine
from greenloop.watch import Watcher

log = logging.getLogger(__name__)
EXPLAIN_LINES = 50  # selection lines logged per check; the check report holds them all


@dataclass
class Channel:
    """How a session talks back to the editor; the server supplies these, tests can supply their own."""

    publish: Callable[[CheckReport], None]
    show: Callable[[str, str], None]  # (level "error" | "warning" | "info", message)
    log: Callable[[str], None]
    changed: Callable[[], None] = lambda: None  # a check started or ended (what a status bar shows)
    # While a check streams its results: `publish`, except that a file whose diagnostics did not change since
    # they were last sent is left alone (the stream ticks every quarter second; the check's end sends all).
    stream: Callable[[CheckReport], None] | None = None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class ProjectSession:
    def __init__(self, root: Path, channel: Channel, layers: list[tuple[Any, str]] | None = None, *,
                 standalone: bool = False) -> None:
        self.root = root.resolve()
        self.channel = channel
        self.standalone = standalone
        self.engine = Engine(self.root, standalone=standalone)
        self.watcher: Watcher | None = None
        self._pending: set[Path] | None = set()  # None = the whole project is due
        self._task: asyncio.Task[None] | None = None
        self._check: asyncio.Task[CheckReport] | None = None
        self._generation = 0  # bumped when a newer change supersedes the running check
        self._background: asyncio.Task[None] | None = None
        self._editor_stamps: dict[Path, tuple[int, int] | None] = {}
        self._shown: set[str] = set()  # settings and watcher messages already shown
        self._run_problems: set[str] = set()  # problems of the last check, shown when they first appeared
        self.layers: list[tuple[Any, str]] = []
        self.configure(layers or [])

    # -- settings -----------------------------------------------------------------------------------------

    def configure(self, layers: list[tuple[Any, str]] | None = None) -> None:
        """Apply the editor's setting layers over pyproject.toml (re-read now); None keeps the editor's last."""
        if layers is not None:
            self.layers = layers
        loaded = config.resolve(self.root, *self.layers)
        self.engine.settings = loaded.settings
        for problem in loaded.problems:
            self._show_once("warning", f"greenloop: {problem}")
        interpreter = self.engine.interpreter
        self.channel.log(f"{self.root}: settings {loaded.settings}; interpreter {interpreter.path} ({interpreter.reason})")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet (constructed outside the server); started again on the next configure
        self._sync_watcher()
        if self._background is None and not self.standalone:
            self._background = asyncio.get_running_loop().create_task(self._prepare())

    async def _prepare(self) -> None:
        """Build the index, warm the worker, and record coverage once if there is none (all in the background)."""
        try:
            await self.engine.prepare()
            # What start-up built (the server's modules, the import graph) lives as long as the server: frozen, a
            # full collection during a check scans only what the check made (networkx's index: 35 ms a collection
            # unfrozen, on the event loop's thread, longer on a busy machine).
            gc.freeze()
            if not self.engine.settings.on_save:
                return
            python = self.engine.interpreter.path
            await self.engine.scheduler.warm(python)
            if self.engine.types is not None and self.engine.settings.type_checker != "off":
                await self.engine.types.warm_up(self.engine.settings.type_checker, python)
            recorded = await self.engine.tests_recorded()
            if recorded is None:
                return
            if recorded:
                self.channel.log(f"coverage: ready ({recorded} tests recorded)")
                return
            files = len(self.engine.graph.test_files())
            if files:
                self.channel.show("info", f"greenloop: no coverage data yet for {self.root.name}: running its "
                                          f"{files} test file(s) once in the background, at low priority, to "
                                          "record which functions each test executes. Until then, saves select "
                                          "tests by imports.")
            run = await self.engine.build_coverage()
            if run is not None:
                self.channel.log(f"coverage: ready ({await self.engine.tests_recorded()} tests recorded in "
                                 f"{run.duration:.1f} s)")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug of ours: say so, keep serving (saves select by imports)
            log.exception("background preparation failed")
            self._show_once("warning", f"greenloop: could not record coverage data: {exc!r}")

    def _sync_watcher(self) -> None:
        wanted = self.engine.settings.watch and not self.standalone
        if wanted and self.watcher is None:
            loop = asyncio.get_running_loop()
            self.watcher = Watcher(self.root, loop, self.external_changes)
            try:
                self.watcher.start()
            except OSError as exc:  # e.g. inotify watch limit reached
                self.watcher = None
                self._show_once("warning", f"greenloop: cannot watch {self.root} for outside changes: {exc}")
        elif not wanted and self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    # -- events -------------------------------------------------------------------------------------------

    def _reload_if_settings(self, paths: set[Path]) -> None:
        if self.root / "pyproject.toml" in paths:
            self.configure()

    def saved(self, path: Path) -> None:
        path = path.resolve()
        self._editor_stamps[path] = _stamp(path)
        self._reload_if_settings({path})
        if self.engine.settings.on_save:
            self.request({path})

    def external_changes(self, paths: set[Path]) -> None:
        """A debounced batch from the watcher: skip writes the editor already told us about."""
        fresh = set()
        for path in paths:
            if path in self._editor_stamps and self._editor_stamps[path] == _stamp(path):
                continue
            self._editor_stamps.pop(path, None)
            fresh.add(path)
        if not fresh:
            return
        self._reload_if_settings(fresh)
        for path in fresh:
            self.engine.file_changed(path)
        self.channel.log(f"changed outside the editor: {', '.join(project.relpath(self.root, p) for p in sorted(fresh))}")
        self.request(fresh)

    def request(self, paths: set[Path] | None) -> None:
        """Queue a check of `paths` (None: the whole project); a running check is superseded by it."""
        if paths is None or self._pending is None:
            self._pending = None
        else:
            self._pending |= paths
        if self._check is not None and not self._check.done():
            self._generation += 1  # whatever the running check still says is about older text
            self._check.cancel()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        self.channel.changed()
        try:
            await self._checks()
        finally:
            self._task = None  # not busy any more: the status says so
            self.channel.changed()

    async def _checks(self) -> None:
        while self._pending is None or self._pending:
            batch, self._pending = self._pending, set()
            generation = self._generation
            self._check = asyncio.get_running_loop().create_task(self.engine.check(
                None if batch is None else sorted(batch),
                on_update=lambda report: self._publish(report, generation)))
            try:
                report = await self._check
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # the session itself is closing
                self._requeue(batch)  # superseded: check its changes again, with the newer ones
                continue
            except Exception as exc:  # a bug of ours: say so, keep serving
                log.exception("check failed")
                self._show_once("error", f"greenloop: internal error while checking: {exc!r}")
                continue
            finally:
                self._check = None
            if generation == self._generation:
                self._report(report)

    def _requeue(self, batch: set[Path] | None) -> None:
        if batch is None or self._pending is None:
            self._pending = None
        else:
            self._pending |= batch

    def _publish(self, report: CheckReport, generation: int) -> None:
        if generation == self._generation:  # never publish what a superseded check computed
            (self.channel.stream or self.channel.publish)(report)

    def _report(self, report: CheckReport) -> None:
        for line in report.explanation[:EXPLAIN_LINES]:
            self.channel.log(line)
        if len(report.explanation) > EXPLAIN_LINES:  # a networkx save selects ~600 tests: one line each is noise
            self.channel.log(f"... and {len(report.explanation) - EXPLAIN_LINES} more; the check report below, "
                             "or `greenloop check --explain`, lists every selected test and why")
        current = {f"greenloop: {p}" for p in report.problems}
        for problem in sorted(current - self._run_problems):  # each problem once, until it goes away
            self.channel.show("warning", problem)
        self._run_problems = current
        self.channel.log(f"check done in {report.duration:.2f} s: {len(report.findings)} finding(s)")
        self.channel.log("check report " + json.dumps(present.as_json(report, self.root)))
        self.channel.publish(report)

    def _show_once(self, level: str, message: str) -> None:
        if message not in self._shown:
            self._shown.add(message)
            self.channel.show(level, message)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        for task in (self._task, self._background):
            if task is not None and not task.done():
                task.cancel()  # cancels the running pytest: its process group is killed
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        await self.engine.close()
