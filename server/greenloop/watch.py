"""Notice files changed outside the editor (git checkout, a formatter, another editor) and report them in batches.

watchdog's inotify observer calls us on its own thread; events are handed to the asyncio loop and debounced:
a burst (a checkout touches hundreds of files at once) becomes one batch, delivered once the burst has been
quiet for `debounce` seconds. Editors save atomically (write a temp file, rename it over), so moves count by
their destination.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from greenloop import project
from greenloop.select.selector import CONFIG_FILES

log = logging.getLogger(__name__)
DEBOUNCE = 0.3


def relevant(root: Path, path: Path) -> bool:
    """A file whose change can change test results: project Python files and pytest/project configuration."""
    if path.name in CONFIG_FILES:
        return path.parent == root
    return project.is_project_file(root, path)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self.watcher.notice(Path(raw if isinstance(raw, str) else raw.decode()))


class Watcher:
    """Watches `root` recursively; calls `on_batch(paths)` on `loop` after each debounced burst."""

    def __init__(
        self,
        root: Path,
        loop: asyncio.AbstractEventLoop,
        on_batch: Callable[[set[Path]], None],
        debounce: float = DEBOUNCE,
    ) -> None:
        self.root = root.resolve()
        self.loop = loop
        self.on_batch = on_batch
        self.debounce = debounce
        self._pending: set[Path] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._observer: Observer | None = None  # type: ignore[valid-type]

    def start(self) -> None:
        observer = Observer()
        observer.schedule(_Handler(self), str(self.root), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2)
            self._observer = None
        if self._timer is not None:
            self._timer.cancel()

    def notice(self, path: Path) -> None:
        """Called on watchdog's thread."""
        if relevant(self.root, path):
            self.loop.call_soon_threadsafe(self._add, path)

    def _add(self, path: Path) -> None:
        self._pending.add(path.resolve())
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(self.debounce, self._flush)

    def _flush(self) -> None:
        batch, self._pending, self._timer = self._pending, set(), None
        if batch:
            try:
                self.on_batch(batch)
            except Exception:  # a bug in a consumer must not kill the watcher
                log.exception("watch batch handler failed")
