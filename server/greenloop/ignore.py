"""What in a project is not source: one rule for the import graph's file listing and for the file watcher.

Why one rule, kept here: a workspace holds far more than its source. README's own set-up puts a `.venv` of about
6,000 folders next to the code; there are `.git`, `node_modules`, build output, caches and whatever the project's
`.gitignore` files name. Scanning them slows the import graph; watching them kept an idle server at 100% of a core
(the inotify queue overflowed and watchdog rebuilt its watches in a loop). If the graph and the watcher each had
their own list, a folder would be skipped by one and not the other.

A folder is not source when its name says so (`SKIP_NAMES`, `*.egg-info`), when it is a virtual environment
(it holds `pyvenv.cfg`, or `conda-meta` for conda), or when a `.gitignore` names it. `.gitignore` files are read
from the repository's top (the nearest ancestor with `.git`, else the project root) down to each folder, with
git's precedence (a deeper file overrides a shallower one; `.git/info/exclude` counts least) and git's rule that
nothing inside an ignored folder can be re-included. Parsed files are cached and re-read when their size or
modification time changes, so editing `.gitignore` takes effect without a restart (for single-path questions,
within `FRESH_FOR` seconds, or at once after `refresh`).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pathspec import GitIgnoreSpec

SKIP_NAMES = frozenset({
    # version control
    ".git", ".hg", ".svn", ".bzr",
    # environments
    ".venv", "venv", "env", ".env", ".virtualenvs", "__pypackages__", "site-packages",
    # caches and tool state
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".pytype", ".pyre", ".tox",
    ".nox", ".greenloop",
    # build output and other ecosystems
    "build", "dist", ".eggs", "node_modules",
})
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")  # a folder holding one of these is an environment
# Verdicts on single paths are remembered this long (seconds): placing diagnostics asks about thousands of stack
# frames in one check. `walk` never uses them, and the watcher calls `refresh` when a .gitignore changes.
FRESH_FOR = 2.0
_MEMORY = 50_000
_IGNORE_FILE = ".gitignore"
_EXCLUDE_FILE = Path(".git", "info", "exclude")


def skipped_name(name: str) -> bool:
    """A folder name that never holds the project's own source, wherever it appears."""
    return name in SKIP_NAMES or name.endswith(".egg-info")


def is_environment(path: Path) -> bool:
    return any(os.path.exists(os.path.join(path, marker)) for marker in ENVIRONMENT_MARKERS)


@dataclass(frozen=True)
class Folder:
    """One folder of a walk: the subfolders the walk enters, those it skips, and the files it lists."""

    path: Path
    dirs: list[str]
    skipped: list[str]
    files: list[str]


@dataclass(frozen=True)
class _Rules:
    """The `.gitignore` specs that apply inside one folder, shallowest first, each with the folder it is relative to."""

    specs: tuple[tuple[Path, GitIgnoreSpec], ...] = ()

    def ignores(self, path: Path, is_dir: bool) -> bool:
        ignored = False
        for base, spec in self.specs:
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            verdict = spec.check_file(rel + "/" if is_dir else rel).include
            if verdict is not None:  # the deepest file with a matching pattern decides
                ignored = verdict
        return ignored


@dataclass
class _Parsed:
    stamp: tuple[int, int, int] | None
    spec: GitIgnoreSpec | None


@dataclass
class Ignorer:
    """The rule for one project root. `skips_dir`/`skips_file` answer for one path (checking its ancestors too);
    `walk` lists what is left, pruning skipped folders without entering them."""

    root: Path
    _top: Path = field(init=False)
    _parsed: dict[Path, _Parsed] = field(default_factory=dict, init=False)
    _folders: dict[Path, tuple[float, bool, _Rules]] = field(default_factory=dict, init=False)
    _files: dict[Path, tuple[float, bool]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self._top = _repository_top(self.root)

    # -- single paths ---------------------------------------------------------------------------------------

    def skips_dir(self, path: Path) -> bool:
        """Whether the folder `path` is not source: it, or a folder between the root and it, is skipped. Folders
        outside the root are skipped (they are not the project's)."""
        folder = _absolute(Path(path))
        if not folder.is_relative_to(self.root):
            return True
        return self._state(folder)[0]

    def skips_file(self, path: Path) -> bool:
        """Whether the file `path` is not source: a folder holding it is skipped, or a `.gitignore` names it."""
        path = _absolute(Path(path))
        if not path.parent.is_relative_to(self.root):
            return True
        now = time.monotonic()
        cached = self._files.get(path)
        if cached is not None and now - cached[0] < FRESH_FOR:
            return cached[1]
        skipped, rules = self._state(path.parent)
        verdict = skipped or rules.ignores(path, is_dir=False)
        self._remember(self._files, path, (now, verdict))
        return verdict

    def refresh(self) -> None:
        """Forget remembered verdicts now (a `.gitignore` or an environment appeared or changed)."""
        self._folders.clear()
        self._files.clear()

    # -- walking --------------------------------------------------------------------------------------------

    def walk(self, top: Path | None = None, suffix: str | None = ".py") -> Iterator[Folder]:
        """Every source folder from `top` (default: the root; the caller makes sure `top` itself is not skipped),
        sorted, with its files ending in `suffix` that no `.gitignore` names (`suffix=None`: list no files)."""
        start = _absolute(Path(top)) if top is not None else self.root
        rules_of = {start: self._extend(self._rules(start.parent), start) if start != self.root
                    else self._rules(self.root)}
        for dirpath, dirnames, filenames in os.walk(start):
            here = Path(dirpath)
            rules = rules_of.pop(here)
            kept, skipped = [], []
            for name in sorted(dirnames):
                child = here / name
                if os.path.islink(child):
                    continue  # not followed, as os.walk and watchdog do not follow links either
                if self._skips_child(rules, child):
                    skipped.append(name)
                else:
                    kept.append(name)
                    rules_of[child] = self._extend(rules, child)
            dirnames[:] = kept
            files = [] if suffix is None else [
                name for name in sorted(filenames)
                if name.endswith(suffix) and not rules.ignores(here / name, is_dir=False)
            ]
            yield Folder(here, list(kept), skipped, files)

    # -- internals ------------------------------------------------------------------------------------------

    def _state(self, folder: Path) -> tuple[bool, _Rules]:
        """(skipped, the rules in force inside) for a folder at or below the root, remembered for `FRESH_FOR`."""
        now = time.monotonic()
        cached = self._folders.get(folder)
        if cached is not None and now - cached[0] < FRESH_FOR:
            return cached[1], cached[2]
        if folder == self.root:
            skipped, rules = False, self._rules(self.root)
        else:
            parent_skipped, parent_rules = self._state(folder.parent)
            skipped = parent_skipped or self._skips_child(parent_rules, folder)
            rules = parent_rules if skipped else self._extend(parent_rules, folder)
        self._remember(self._folders, folder, (now, skipped, rules))
        return skipped, rules

    @staticmethod
    def _remember(memory: dict[Path, Any], key: Path, value: Any) -> None:
        if len(memory) >= _MEMORY:
            memory.clear()
        memory[key] = value

    def _skips_child(self, rules: _Rules, folder: Path) -> bool:
        return skipped_name(folder.name) or is_environment(folder) or rules.ignores(folder, is_dir=True)

    def _rules(self, folder: Path) -> _Rules:
        """The rules in force inside `folder` (below the repository top): every ignore file from that top down."""
        specs: list[tuple[Path, GitIgnoreSpec]] = []
        exclude = self._spec(self._top / _EXCLUDE_FILE)
        if exclude is not None:
            specs.append((self._top, exclude))
        current = self._top
        steps = [] if folder == self._top else list(folder.relative_to(self._top).parts)
        for part in [None, *steps]:
            if part is not None:
                current = current / part
            spec = self._spec(current / _IGNORE_FILE)
            if spec is not None:
                specs.append((current, spec))
        return _Rules(tuple(specs))

    def _extend(self, rules: _Rules, folder: Path) -> _Rules:
        spec = self._spec(folder / _IGNORE_FILE)
        return rules if spec is None else _Rules((*rules.specs, (folder, spec)))

    def _spec(self, file: Path) -> GitIgnoreSpec | None:
        try:
            stat = os.stat(file)
            stamp: tuple[int, int, int] | None = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        except OSError:
            stamp = None
        cached = self._parsed.get(file)
        if cached is not None and cached.stamp == stamp:
            return cached.spec
        spec = None
        if stamp is not None:
            try:
                lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
                spec = GitIgnoreSpec.from_lines(lines) if lines else None
            except (OSError, ValueError):  # unreadable or a pattern pathspec rejects: ignore nothing by it
                spec = None
        self._parsed[file] = _Parsed(stamp, spec)
        return spec


def _absolute(path: Path) -> Path:
    return path if path.is_absolute() else path.resolve()


def _repository_top(root: Path) -> Path:
    """Where `.gitignore` files start to count: the enclosing git repository's top, or the root outside git."""
    for candidate in (root, *root.parents):
        if (candidate / ".git").exists():
            return candidate
    return root


@functools.lru_cache(maxsize=64)
def _by_resolved_root(root: Path) -> Ignorer:
    return Ignorer(root)


@functools.lru_cache(maxsize=256)
def ignorer(root: Path) -> Ignorer:
    """The shared `Ignorer` of a project root, however spelled (its parsed `.gitignore` files and remembered
    verdicts live as long as the server)."""
    return _by_resolved_root(Path(root).resolve())
