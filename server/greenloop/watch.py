"""Notice files changed outside the editor (git checkout, a formatter, another editor) and report them in batches.

watchdog's inotify observer calls us on its own thread; events are handed to the asyncio loop and debounced:
a burst (a checkout touches hundreds of files at once) becomes one batch, delivered once the burst has been
quiet for `debounce` seconds. Editors save atomically (write a temp file, rename it over), so moves count by
their destination.

What is watched, and why so little. A recursive watch of the whole root once covered the `.venv` README's set-up
creates (~6,000 folders) and listened to every event, opens and reads included: the inotify queue overflowed,
watchdog re-walked the tree to rebuild its watches, which overflowed it again, and an idle server burned a core
forever. So:

- only writes, creations, moves and deletions are listened to (`EVENTS`: inotify is not even asked for opens,
  reads or attribute changes, so walking a tree, ours or anyone's, produces no events);
- only source folders are watched (ignore.py's rule, the one the import graph uses): the root alone, not
  recursively (for pyproject.toml, conftest.py, top-level modules), then each source folder below it with one
  recursive watch, split further only where a skipped folder (an environment, `node_modules`, a `.gitignore`d
  folder...) lies inside it. `__pycache__` folders do not force a split: they are small, and splitting every
  package folder around them would cost a watch (and a thread) per folder;
- the plan follows the tree: a folder appearing at a split point gets its own watch, and a skipped folder (or
  a `pyvenv.cfg`, or a `.gitignore` change) appearing inside a recursive watch re-plans that watch.

All watches share one inotify instance (watchdog's observer owns one), and their number is capped by
`MAX_WATCHES`: past it, a folder is watched recursively whole (still with the event filter, so it costs no CPU
when idle, only inotify watches).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileClosedEvent, FileCreatedEvent,
                             FileDeletedEvent, FileMovedEvent, FileSystemEvent, FileSystemEventHandler)
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from greenloop import ignore, project
from greenloop.select.selector import CONFIG_FILES

log = logging.getLogger(__name__)
DEBOUNCE = 0.3
# FileClosedEvent is inotify's "closed after a write": one event per saved file, where "modified" fires per write().
EVENTS: list[type[FileSystemEvent]] = [FileCreatedEvent, FileClosedEvent, FileMovedEvent, FileDeletedEvent,
                                       DirCreatedEvent, DirMovedEvent, DirDeletedEvent]
CHEAP = frozenset({"__pycache__"})  # skipped folders a recursive watch may still cover
MAX_WATCHES = 64  # each watch is a watchdog emitter thread
_REPLAN_FILES = frozenset({".gitignore", *ignore.ENVIRONMENT_MARKERS})


def relevant(root: Path, path: Path) -> bool:
    """A file whose change can change test results: project Python files and pytest/project configuration."""
    if path.name in CONFIG_FILES:
        return path.parent == root
    return project.is_project_file(root, path)


def plan(rule: ignore.Ignorer, top: Path, split: bool = False, budget: int = MAX_WATCHES) -> list[tuple[Path, bool]]:
    """The watches, as (folder, recursive), that cover every source folder from `top` down and no skipped folder
    but `CHEAP` ones. `split`: watch `top` itself alone even if nothing below it is skipped (the root: tool
    caches such as .pytest_cache appear there at the first run)."""
    folders = {folder.path: folder for folder in rule.walk(top, suffix=None)}
    if top not in folders:
        return []
    mixed = {top} if split else set()  # folders with a skipped folder somewhere below them
    for folder in folders.values():
        if any(name not in CHEAP for name in folder.skipped):
            path = folder.path
            while path not in mixed and path in folders:
                mixed.add(path)
                path = path.parent
    watches: list[tuple[Path, bool]] = []
    pending = [top]
    while pending:
        path = pending.pop()
        children = [path / name for name in folders[path].dirs]
        if path in mixed and len(watches) + len(pending) + len(children) < budget:
            watches.append((path, False))
            pending.extend(reversed(children))
        else:
            watches.append((path, True))
    return watches


def _as_path(raw: bytes | str) -> Path | None:
    if not raw:
        return None
    return Path(raw if isinstance(raw, str) else raw.decode(errors="surrogateescape"))


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        source, destination = _as_path(event.src_path), _as_path(getattr(event, "dest_path", ""))
        try:
            if event.is_directory:
                if source is not None and event.event_type in ("deleted", "moved"):
                    self.watcher.folder_gone(source)
                if event.event_type == "created" and source is not None:
                    self.watcher.folder_appeared(source)
                elif event.event_type == "moved" and destination is not None:
                    self.watcher.folder_appeared(destination, moved_from=source)
                return
            for path in (source, destination):
                if path is not None:
                    self.watcher.file_event(path)
        except Exception:  # a bug here must not kill watchdog's thread
            log.exception("watch event %s failed", event)


class Watcher:
    """Watches the source folders of `root`; calls `on_batch(paths)` on `loop` after each debounced burst."""

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
        self.rule = ignore.ignorer(self.root)
        self._pending: set[Path] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._handler = _Handler(self)
        self._watches: dict[Path, ObservedWatch] = {}
        self._lock = threading.RLock()  # the watch plan changes on watchdog's thread and on the loop's

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Plan and start the watches. Raises OSError when inotify refuses (instance or watch limits)."""
        observer = Observer()
        observer.daemon = True
        with self._lock:
            self._observer = observer
            self._schedule(plan(self.rule, self.root, split=True))
        try:
            observer.start()  # adds the inotify watches, here, so that a refusal reaches the caller
        except OSError:
            self._observer, self._watches = None, {}
            observer.stop()
            raise
        log.info("watching %s: %s", self.root, self.describe())

    def stop(self) -> None:
        with self._lock:
            observer, self._observer = self._observer, None
            self._watches = {}
        if observer is not None:
            observer.stop()
            observer.join(timeout=2)
        if self._timer is not None:
            self._timer.cancel()

    def watched(self) -> list[tuple[Path, bool]]:
        """The current watches, as (folder, recursive)."""
        with self._lock:
            return sorted((path, watch.is_recursive) for path, watch in self._watches.items())

    def describe(self) -> str:
        return ", ".join(f"{project.relpath(self.root, path) if path != self.root else '.'}"
                         f"{' (recursive)' if recursive else ''}" for path, recursive in self.watched())

    # -- events (on watchdog's thread) ------------------------------------------------------------------------

    def notice(self, path: Path) -> None:
        if relevant(self.root, path):
            self.loop.call_soon_threadsafe(self._add, path)

    def file_event(self, path: Path) -> None:
        if path.name in _REPLAN_FILES:  # what counts as source below this folder may have changed
            self.rule.refresh()
            self._replan_around(path.parent)
        self.notice(path)

    def folder_appeared(self, path: Path, moved_from: Path | None = None) -> None:
        with self._lock:
            owner = self._owner(path.parent)
            if owner is None:
                return  # inside a folder we do not watch
            if path.name in ignore.ENVIRONMENT_MARKERS:  # conda-meta: its parent is an environment now
                self.rule.refresh()
                self._replan_around(path.parent)
            elif self._watches[owner].is_recursive:
                # watchdog watches it already; a skipped folder appearing in a recursive watch splits that watch
                if path.name not in CHEAP and self.rule.skips_dir(path):
                    self._replan(owner)
            elif path not in self._watches and not self.rule.skips_dir(path):
                self._schedule(plan(self.rule, path))
                self._notice_below(path, moved_from)  # written before its watch existed: report them

    def folder_gone(self, path: Path) -> None:
        with self._lock:
            self._unschedule_below(path)

    # -- the plan -----------------------------------------------------------------------------------------------

    def _owner(self, folder: Path) -> Path | None:
        """The watch covering `folder`: its own, or the nearest recursive one above it."""
        for candidate in (folder, *folder.parents):
            watch = self._watches.get(candidate)
            if watch is not None and (candidate == folder or watch.is_recursive):
                return candidate
            if candidate == self.root:
                return None
        return None

    def _replan_around(self, folder: Path) -> None:
        with self._lock:
            owner = self._owner(folder)
            if owner is not None:
                self._replan(owner)

    def _replan(self, top: Path) -> None:
        self._unschedule_below(top)
        if top == self.root:
            self._schedule(plan(self.rule, top, split=True))
        elif top.is_dir() and not self.rule.skips_dir(top):
            self._schedule(plan(self.rule, top, budget=max(1, MAX_WATCHES - len(self._watches))))
        log.info("watching %s: %s", self.root, self.describe())

    def _schedule(self, watches: list[tuple[Path, bool]]) -> None:
        observer = self._observer
        if observer is None:
            return
        for path, recursive in watches:
            try:
                self._watches[path] = observer.schedule(self._handler, str(path), recursive=recursive,
                                                        event_filter=EVENTS)
            except OSError as exc:  # the folder vanished meanwhile, or inotify's watch limit: keep the rest
                log.warning("cannot watch %s: %s", path, exc)

    def _unschedule_below(self, top: Path) -> None:
        observer = self._observer
        for path in [p for p in self._watches if p == top or p.is_relative_to(top)]:
            watch = self._watches.pop(path)
            if observer is not None:
                try:
                    observer.unschedule(watch)
                except KeyError:  # already gone with its emitter
                    pass

    def _notice_below(self, folder: Path, moved_from: Path | None) -> None:
        for found in self.rule.walk(folder, suffix=".py"):
            for name in found.files:
                self.notice(found.path / name)
                if moved_from is not None:  # the old path is gone: report it, so its findings go too
                    self.notice(moved_from / (found.path / name).relative_to(folder))

    # -- debouncing (on the loop) -----------------------------------------------------------------------------

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
