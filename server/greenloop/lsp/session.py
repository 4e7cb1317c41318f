"""One workspace folder as the server sees it: its engine, its settings, its watcher, its queue of checks.

Saves arrive faster than tests run. Checks for one folder never overlap: while one runs, further changes are
collected and checked together as soon as it ends. Files the editor just saved are not checked a second time
when the file watcher reports the same write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenloop import config, project
from greenloop.engine import CheckReport, Engine
from greenloop.watch import Watcher

log = logging.getLogger(__name__)


@dataclass
class Channel:
    """How a session talks back to the editor; the server supplies these, tests can supply their own."""

    publish: Callable[[CheckReport], None]
    show: Callable[[str, str], None]  # (level "error" | "warning" | "info", message)
    log: Callable[[str], None]


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class ProjectSession:
    def __init__(self, root: Path, channel: Channel, layers: list[tuple[Any, str]] | None = None) -> None:
        self.root = root.resolve()
        self.channel = channel
        self.engine = Engine(self.root)
        self.watcher: Watcher | None = None
        self._pending: set[Path] | None = set()  # None = the whole project is due
        self._task: asyncio.Task[None] | None = None
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
        self._sync_watcher()

    def _sync_watcher(self) -> None:
        wanted = self.engine.settings.watch
        if wanted and self.watcher is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop yet (constructed outside the server); started again on the next configure
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
        """Queue a check of `paths` (None: the whole project) and make sure the queue is being drained."""
        if paths is None or self._pending is None:
            self._pending = None
        else:
            self._pending |= paths
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending is None or self._pending:
            batch, self._pending = self._pending, set()
            try:
                report = await self.engine.check(None if batch is None else sorted(batch),
                                                 on_update=self.channel.publish)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug of ours: say so, keep serving
                log.exception("check failed")
                self._show_once("error", f"greenloop: internal error while checking: {exc!r}")
                continue
            self._report(report)

    def _report(self, report: CheckReport) -> None:
        for line in report.explanation:
            self.channel.log(line)
        current = {f"greenloop: {p}" for p in report.problems}
        for problem in sorted(current - self._run_problems):  # each problem once, until it goes away
            self.channel.show("warning", problem)
        self._run_problems = current
        self.channel.log(f"check done in {report.duration:.2f} s: {len(report.findings)} finding(s)")
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
        if self._task is not None and not self._task.done():
            self._task.cancel()  # cancels the running pytest: its process group is killed
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
