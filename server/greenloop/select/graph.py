"""The project's static import graph, built once and updated one file at a time.

Each file is known by the module names Python could import it as: its name inside its package (walking up while
directories have `__init__.py`, as pytest's default import mode does), and its name relative to the project
root and to `src/`. An import is resolved against that index; a change to one file re-reads only that file,
and a file appearing or disappearing re-resolves the stored import references without reparsing anything.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from greenloop import project
from greenloop.select.imports import ImportRef, read_imports


@dataclass
class _FileInfo:
    stamp: tuple[int, int]  # (mtime_ns, size): skip reparsing an unchanged file
    refs: list[ImportRef]
    module: str  # canonical dotted name
    package: str  # the package relative imports are resolved against


@dataclass
class Chain:
    """How a test file reaches a changed file: [test, importer, ..., changed]."""

    files: list[Path] = field(default_factory=list)


def module_name(path: Path) -> str:
    """The dotted name Python gives `path` under pytest's default (prepend) import mode."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file() and directory.parent != directory:
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts)


class ImportGraph:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._files: dict[Path, _FileInfo] = {}
        self._index: dict[str, set[Path]] = {}
        self._deps: dict[Path, set[Path]] | None = None
        self._rdeps: dict[Path, set[Path]] = {}

    # -- building and updating ------------------------------------------------------------------------------

    def build(self) -> None:
        for path in project.iter_python_files(self.root):
            self._read(path.resolve())
        self._reindex()

    def update(self, path: Path) -> bool:
        """Bring one file up to date after it changed, appeared or vanished. True if anything changed."""
        path = path.resolve()
        if not project.is_project_file(self.root, path):
            return False
        if not path.is_file():
            if self._files.pop(path, None) is None:
                return False
            self._reindex()
            return True
        known = path in self._files
        if not self._read(path):
            return False
        if known:
            self._deps = None  # same names, new imports: only the edges need recomputing
        else:
            self._reindex()
        return True

    def _read(self, path: Path) -> bool:
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            old = self._files.get(path)
            if old is not None and old.stamp == stamp:
                return False
            refs = read_imports(path.read_bytes())
        except OSError:
            return False
        module = module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        self._files[path] = _FileInfo(stamp, refs, module, package)
        return True

    def _names(self, path: Path, info: _FileInfo) -> set[str]:
        names = {info.module} if info.module else set()
        for base in (self.root, self.root / "src"):
            try:
                rel = path.relative_to(base).with_suffix("")
            except ValueError:
                continue
            parts = list(rel.parts)
            if parts and parts[-1] == "__init__":
                parts.pop()
            if parts:
                names.add(".".join(parts))
        return names

    def _reindex(self) -> None:
        self._index = {}
        for path, info in self._files.items():
            for name in self._names(path, info):
                self._index.setdefault(name, set()).add(path)
        self._deps = None

    def _edges(self) -> dict[Path, set[Path]]:
        if self._deps is None:
            deps: dict[Path, set[Path]] = {}
            for path, info in self._files.items():
                targets: set[Path] = set()
                for ref in info.refs:
                    for name in ref.candidates(info.package):
                        targets.update(self._index.get(name, ()))
                targets.update(self._conftests_for(path))
                targets.discard(path)
                deps[path] = targets
            rdeps: dict[Path, set[Path]] = {}
            for source, targets in deps.items():
                for target in targets:
                    rdeps.setdefault(target, set()).add(source)
            self._deps, self._rdeps = deps, rdeps
        return self._deps

    def _conftests_for(self, path: Path) -> list[Path]:
        """conftest.py files pytest loads for a test file: its directory and every ancestor up to the root."""
        if not project.is_test_file(path):
            return []
        found = []
        directory = path.parent
        while True:
            conftest = directory / "conftest.py"
            if conftest in self._files:
                found.append(conftest)
            if directory == self.root or directory.parent == directory:
                return found
            directory = directory.parent

    # -- queries --------------------------------------------------------------------------------------------

    def __contains__(self, path: Path) -> bool:
        return path.resolve() in self._files

    @property
    def files(self) -> list[Path]:
        return sorted(self._files)

    def imports_of(self, path: Path) -> set[Path]:
        return set(self._edges().get(path.resolve(), set()))

    def importers_of(self, path: Path) -> set[Path]:
        self._edges()
        return set(self._rdeps.get(path.resolve(), set()))

    def test_files_reaching(self, changed: Path) -> dict[Path, Chain]:
        """Test files that import `changed` directly or transitively, each with the shortest import chain."""
        changed = changed.resolve()
        self._edges()
        parent: dict[Path, Path | None] = {changed: None}
        queue = deque([changed])
        while queue:
            current = queue.popleft()
            for importer in sorted(self._rdeps.get(current, ())):
                if importer not in parent:
                    parent[importer] = current
                    queue.append(importer)
        result = {}
        for path in parent:
            if path != changed and project.is_test_file(path):
                chain = [path]
                while (step := parent[chain[-1]]) is not None:
                    chain.append(step)
                result[path] = Chain(chain)
        return result

    def module_names(self) -> list[str]:
        return sorted(self._index)

    def refs(self, path: Path) -> list[ImportRef]:
        info = self._files.get(path.resolve())
        return list(info.refs) if info else []

    def test_files(self) -> list[Path]:
        return [path for path in sorted(self._files) if project.is_test_file(path)]
