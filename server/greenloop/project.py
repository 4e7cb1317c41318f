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

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", "pytest.ini", "tox.ini", ".git")
# Directories never walked: environments, caches, VCS metadata, and greenloop's own state.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "env", ".env", "__pycache__", ".mypy_cache", ".pytest_cache",
     ".ruff_cache", ".tox", ".nox", "node_modules", ".greenloop", "build", "dist", ".eggs", "site-packages"}
)
TEST_FILE_PATTERNS = ("test_*.py", "*_test.py")


def find_root(start: Path) -> Path:
    """The nearest ancestor of `start` that looks like a project root (or `start`'s own directory)."""
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    for candidate in (here, *here.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return here


def is_test_file(path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in TEST_FILE_PATTERNS)


def is_conftest(path: Path) -> bool:
    return path.name == "conftest.py"


def is_skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.endswith(".egg-info")


def is_project_file(root: Path, path: Path) -> bool:
    """A Python file inside `root` that is not in an environment, cache or VCS directory."""
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        return False
    return path.suffix == ".py" and not any(is_skipped_dir(part) for part in rel.parts[:-1])


def iter_python_files(root: Path) -> Iterator[Path]:
    """Every project Python file below `root`, skipping environments and caches."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(d) and not _is_venv(Path(dirpath, d)))
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath, name)


def _is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


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
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)
