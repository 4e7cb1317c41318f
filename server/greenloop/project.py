"""The user's project on disk: its root, its interpreter, and which of its files are tests or source.

Kept free of any protocol so the CLI and the server agree on what "the project" is.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from greenloop import ignore

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", "pytest.ini", "tox.ini", ".git")
# Files pytest reads its configuration from: a change to one can change what any test does.
PYTEST_CONFIG_FILES = frozenset({"pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini"})
# Folder names never walked nor watched (environments, caches, VCS metadata, greenloop's own state); the whole
# rule, with virtual environments found by their pyvenv.cfg and the project's .gitignore files, is in ignore.py.
SKIP_DIRS = ignore.SKIP_NAMES
TEST_FILE_PATTERNS = ("test_*.py", "*_test.py")


def find_root(start: Path) -> Path:
    """The nearest ancestor of `start` that looks like a project root (or `start`'s own directory)."""
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    for candidate in (here, *here.parents):
        if _has_marker(candidate):
            return candidate
    return here


def find_project_root(path: Path) -> Path | None:
    """The project holding `path`: the nearest ancestor (or `path` itself, for a folder) with a project marker;
    None for a file outside any project, such as a scratch file in /tmp, which is then checked alone.

    A marker in the home folder or at the file system's root does not make a project of it: a `~/.git` of dotfiles
    would otherwise turn a scratch file in `~` into a session that watches and scans the whole home folder."""
    path = path.resolve()
    here = path if path.is_dir() else path.parent
    too_wide = {Path(here.anchor), _home()}
    for candidate in (here, *here.parents):
        if candidate not in too_wide and _has_marker(candidate):
            return candidate
    return None


def _has_marker(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in ROOT_MARKERS)


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (OSError, RuntimeError):
        return None


def is_test_file(path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in TEST_FILE_PATTERNS)


def is_conftest(path: Path) -> bool:
    return path.name == "conftest.py"


def is_test_side(path: Path) -> bool:
    """A test module or a conftest: code that checks the source, never where a bug is placed."""
    return is_test_file(path) or is_conftest(path)


def is_source_file(root: Path, path: Path) -> bool:
    """Project code under test: a project file that is not on the test side. The one rule diagnostics, the model's
    context and the search use to decide where a bug may be (the repair guards go further: see repair.validate)."""
    return is_project_file(root, path) and not is_test_side(path)


def is_skipped_dir(name: str) -> bool:
    """A folder name that is never source, wherever it appears (no .gitignore or pyvenv.cfg check: see ignore.py)."""
    return ignore.skipped_name(name)


def is_project_file(root: Path, path: Path) -> bool:
    """A Python file inside `root` that is not in an environment, cache, VCS or build folder, nor .gitignore'd."""
    if path.suffix != ".py":
        return False
    rule = ignore.ignorer(root)
    resolved = path.resolve()
    return resolved.is_relative_to(rule.root) and not rule.skips_file(resolved)


def iter_python_files(root: Path) -> Iterator[Path]:
    """Every project Python file below `root`, sorted, skipping what ignore.py says is not source."""
    for folder in ignore.ignorer(root).walk(suffix=".py"):
        for name in folder.files:
            yield folder.path / name


@dataclass(frozen=True)
class Interpreter:
    path: str
    reason: str  # why this interpreter was chosen, for logs and --explain


def find_interpreter(root: Path, configured: str | None) -> Interpreter:
    """The project's interpreter: the setting, then `.venv`/`venv` in the workspace, then VIRTUAL_ENV, then ours."""
    if configured:
        candidate = Path(os.path.expanduser(configured))
        if not candidate.is_absolute():
            candidate = root / candidate
        if candidate.is_dir():  # a venv directory rather than its interpreter
            candidate = _venv_python(candidate) or candidate
        return Interpreter(str(candidate), "the `python` setting")
    for name in (".venv", "venv"):
        python = _venv_python(root / name)
        if python:
            return Interpreter(str(python), f"the project's {name}")
    virtual_env = os.environ.get("VIRTUAL_ENV")
    if virtual_env:
        python = _venv_python(Path(virtual_env))
        if python:
            return Interpreter(str(python), "VIRTUAL_ENV")
    return Interpreter(sys.executable, "greenloop's own interpreter (no project venv found)")


def _venv_python(venv: Path) -> Path | None:
    for rel in ("bin/python", "Scripts/python.exe"):
        candidate = venv / rel
        if candidate.exists():
            return candidate
    return None


def read_text(path: Path) -> tuple[str, str | None]:
    """The text of a file, never raising on bad bytes: (text, problem) where problem explains any decoding loss."""
    return decode(path.read_bytes(), path.name)


def decode(data: bytes, name: str) -> tuple[str, str | None]:
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        problem = (
            f"{name} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "Python will refuse to import it unless it declares its encoding"
        )
        return data.decode("utf-8", errors="replace"), problem


def relpath(root: Path, path: Path) -> str:
    return relative(root, path.resolve())


def relative(root: Path, resolved: Path) -> str:
    """`relpath` of a path that is already resolved (the import graph's, a selection's): no file system calls,
    which cost 70 us a path on the way to every save's first result."""
    try:
        return str(resolved.relative_to(root))
    except ValueError:
        return str(resolved)
