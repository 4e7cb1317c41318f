"""The guards every candidate patch must pass before it is run: the repair fixes code, never the tests.

Candidates come from a search engine or a language model, and a model can be talked into anything by text planted
in the repository, so every candidate is treated as hostile. Nothing a proposer says changes these rules. A
candidate is refused when it:
- is enormous (checked first, before anything parses it);
- names a file outside the workspace, through `..`, an absolute path or a symbolic link pointing out of the
  project, or a file whose link leads to something refused;
- touches `.git`, an environment, cache or hidden folder, a secret file (`secret_files`), a test file, conftest.py,
  anything under the configured `testpaths`, a test helper module (imported only by tests), or configuration;
- would make Python or pytest run it unasked: a `.pth` file, `sitecustomize.py`/`usercustomize.py`, or a new
  top-level module shadowing the standard library or pytest;
- is not Python source, is binary, does not parse, or adds a skip or xfail.
Each refusal is one sentence, fed back to the proposer.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
import shlex
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tree_sitter import Tree

from greenloop import project, syntax
from greenloop.repair import secrets
from greenloop.repair.records import FileEdit, Patch
from greenloop.select.graph import ImportGraph

CONFIG_FILES = project.PYTEST_CONFIG_FILES | {"setup.py", "noxfile.py"}  # test configuration and build scripts
MAX_ADDED_CHARS = 64 * 1024  # text a candidate may add, all files together: a fix is a small edit
STARTUP_HOOKS = frozenset({"sitecustomize.py", "usercustomize.py"})  # imported by every interpreter start
SHADOWABLE = frozenset(sys.stdlib_module_names) | {"pytest", "_pytest", "pluggy", "py", "greenloop_pytest"}
TEST_FOLDERS = ("tests", "test", "testing")
PYTEST_INI_FILES = (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))
SKIPPING = re.compile(
    r"\b(pytest\s*\.\s*(skip|xfail|importorskip)\b|mark\s*\.\s*(skip|skipif|xfail)\b|unittest\s*\.\s*skip"
    r"|\bskipTest\s*\(|\bexpectedFailure\b)"
)


def problems(root: Path, patch: Patch, secret_files: Sequence[str] | None = None,
             tests: TestSide | None = None) -> list[str]:
    """Why the patch may not be run; empty when it may. `secret_files`: the patterns in force (default: what
    the project's pyproject.toml sets). `tests`: the project's test side, when the caller keeps one for many
    patches (a repair validates hundreds of candidates against one unchanging tree: one import graph)."""
    root = root.resolve()
    if not patch.edits or patch.empty:
        return ["the patch changes nothing"]
    too_big = _size_problem(patch)
    if too_big:
        return [too_big]
    patterns = secrets.configured(root) if secret_files is None else tuple(secret_files)
    tests = tests if tests is not None else TestSide(root)
    found = []
    for edit in patch.edits:
        problem = _location_problem(root, edit, patterns, tests) or _content_problem(root, edit)
        if problem:
            found.append(problem)
    return found


def _size_problem(patch: Patch) -> str | None:
    added = sum(max(len(edit.after) - len(edit.before), 0) for edit in patch.edits)
    if added > MAX_ADDED_CHARS:
        return (f"the patch adds {added} characters, over the cap of {MAX_ADDED_CHARS}: a repair is a small edit "
                "of the code under test")
    return None


# --- where the edit lands --------------------------------------------------------------------------------------

def _location_problem(root: Path, edit: FileEdit, patterns: Sequence[str], tests: TestSide) -> str | None:
    """Judge the path as named and, when a symbolic link is involved, the file it really reaches."""
    named = edit.path if edit.path.is_absolute() else root / edit.path
    lexical = Path(os.path.abspath(named))
    if not lexical.is_relative_to(root):
        return f"{edit.path} is outside the workspace: edit only files of the project"
    rel = lexical.relative_to(root).as_posix()
    if ".." in named.parts:
        return f"{rel} is named with '..': name files by their plain path inside the project"
    real = named.resolve()
    if real != lexical:
        link = _first_link(root, lexical)
        via = link.relative_to(root).as_posix() if link else rel
        if not real.is_relative_to(root):
            return (f"{rel} goes through the symbolic link {via}, which points outside the workspace: edit only "
                    "files of the project")
        refused = _place_problem(root, real, edit, patterns, tests)
        if refused:
            return f"{rel} is a symbolic link to {real.relative_to(root).as_posix()}, and {refused}"
    return _place_problem(root, lexical, edit, patterns, tests)


def _first_link(root: Path, path: Path) -> Path | None:
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            return current
    return None


def _place_problem(root: Path, path: Path, edit: FileEdit, patterns: Sequence[str], tests: TestSide) -> str | None:
    """Why `path` (inside `root`, no `..`) may not be written, as a sentence starting with its relative path."""
    relative = path.relative_to(root)
    rel, parts = relative.as_posix(), relative.parts
    if ".git" in parts:
        return f"{rel} is inside .git: a repair never touches version control data"
    pattern = secrets.matching_pattern(relative, patterns)
    if pattern:
        return secrets.refusal(rel, pattern)
    if any(part.startswith(".") or project.is_skipped_dir(part) for part in parts[:-1]):
        return f"{rel} is in an environment, cache or hidden directory, not project source"
    if path.suffix == ".pth" or path.name in STARTUP_HOOKS:
        return (f"{rel} would run at every Python start ({path.name} is a start-up hook): a repair never writes "
                "one")
    why_test = tests.why(path)
    if why_test:
        return f"{rel} is {why_test}: fix the code under test, never the tests"
    if path.name in CONFIG_FILES or path.suffix in (".ini", ".cfg", ".toml"):
        return f"{rel} is configuration: fix the code under test, not the test configuration"
    if path.suffix != ".py":
        return f"{rel} is not a Python source file"
    shadowed = _shadowed_module(root, relative, edit)
    if shadowed:
        return (f"{rel} would be a new top-level module {shadowed!r}, shadowing the standard library's or pytest's "
                "for everything run from the project: fix the existing code instead")
    return None


def _shadowed_module(root: Path, relative: Path, edit: FileEdit) -> str | None:
    """The name of a standard-library or pytest module a new file would hide from the project root (or `src/`)."""
    parts = relative.parts[1:] if relative.parts[0] == "src" and len(relative.parts) > 1 else relative.parts
    base = root / "src" if len(parts) < len(relative.parts) else root
    top = parts[0].removesuffix(".py") if len(parts) == 1 else parts[0]
    if top not in SHADOWABLE or edit.before:
        return None
    exists = (base / parts[0]).exists() if len(parts) > 1 else (base / relative.name).exists()
    return None if exists else top


# --- what counts as test code -----------------------------------------------------------------------------------

class TestSide:
    """Test code of one project, whatever its folders are called: test files and conftest.py, folders named like
    test folders, the configured `testpaths`, and helper modules only tests import (found with the import graph,
    built lazily: only when an edit reaches a file nothing else refused)."""

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(self, root: Path) -> None:
        self.root = root
        self._testpaths: list[tuple[str, str]] | None = None
        self._helpers: dict[Path, set[Path]] | None = None

    def why(self, path: Path) -> str | None:
        """Why `path` is test code ("a test file ..."), or None."""
        by_place = self._by_place(path)
        if by_place or path.suffix != ".py" or not path.is_file():
            return by_place
        importers = self.helpers().get(path)
        if importers is None:
            return None
        names = ", ".join(sorted(project.relpath(self.root, p) for p in importers)[:3])
        return f"a test helper module (only tests import it: {names}), which counts as a test file"

    def _by_place(self, path: Path) -> str | None:
        if project.is_test_file(path) or project.is_conftest(path):
            return "a test file (or conftest)"
        if not path.is_relative_to(self.root):
            return None  # resolved outside the project (a symlinked module): the location guards speak for it
        relative = path.relative_to(self.root)
        folder = next((part for part in relative.parts[:-1] if part in TEST_FOLDERS), None)
        if folder:
            return f"a test file (it lies in the test folder {folder}/)"
        for pattern, origin in self.testpaths():
            if any(fnmatch.fnmatchcase("/".join(relative.parts[:i]), pattern)
                   for i in range(1, len(relative.parts) + 1)):
                return f"a test file (it lies under testpaths {pattern!r} of {origin})"
        return None

    def testpaths(self) -> list[tuple[str, str]]:
        """(pattern, file) for every `testpaths` entry of the pytest configuration, in any file that can hold
        one; the project root itself is left out (it would make all code test code)."""
        if self._testpaths is None:
            found = [(p, "pyproject.toml") for p in _pyproject_testpaths(self.root / "pyproject.toml")]
            for name, section in PYTEST_INI_FILES:
                found += [(p, name) for p in _ini_testpaths(self.root / name, section)]
            normalised = [(p.strip().removeprefix("./").rstrip("/"), origin) for p, origin in found]
            self._testpaths = [(p, origin) for p, origin in normalised if p not in ("", ".")]
        return self._testpaths

    def helpers(self) -> dict[Path, set[Path]]:
        """Helper modules (with their importers): imported only by test code, below a folder that holds tests,
        not at the top level (a flat layout's code under test), and not the namesake of a test importing it
        (`test_ops.py` importing `ops.py` tests it). Grown to a fixed point: helpers of helpers count."""
        if self._helpers is None:
            graph = ImportGraph(self.root)
            graph.build()
            test_folders = {p.parent for p in graph.files if project.is_test_file(p) or project.is_conftest(p)}
            side = {p for p in graph.files if self._by_place(p)}
            helpers: dict[Path, set[Path]] = {}
            grown = True
            while grown:
                grown = False
                for path in graph.files:
                    importers = graph.importers_of(path)
                    if path in side or not importers or not importers <= side:
                        continue
                    if self._may_be_helper(path, importers, test_folders):
                        side.add(path)
                        helpers[path] = importers
                        grown = True
            self._helpers = helpers
        return self._helpers

    def _may_be_helper(self, path: Path, importers: set[Path], test_folders: set[Path]) -> bool:
        parts = path.relative_to(self.root).parts
        if len(parts) == 1 or (parts[0] == "src" and len(parts) == 2):
            return False
        stem = path.parent.name if path.name == "__init__.py" else path.stem
        if any(p.name in (f"test_{stem}.py", f"{stem}_test.py") for p in importers):
            return False
        folders = [path.parent, *path.parent.parents]
        return any(folder in test_folders for folder in folders[:folders.index(self.root)])


def _pyproject_testpaths(path: Path) -> list[str]:
    try:
        tool = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
        table = tool.get("pytest", {})
        return [*_as_list(table.get("ini_options", {}).get("testpaths")), *_as_list(table.get("testpaths"))]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return []  # a configuration pytest cannot read either: the test runs report it


def _ini_testpaths(path: Path, section: str) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
        return _as_list(parser.get(section, "testpaths", fallback=None))
    except (configparser.Error, UnicodeDecodeError):
        return []


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


# --- what the edit writes --------------------------------------------------------------------------------------

def _content_problem(root: Path, edit: FileEdit) -> str | None:
    rel = project.relpath(root, edit.path)
    if "\x00" in edit.after:
        return f"{rel} would contain NUL bytes: a repair writes Python source text, never binary data"
    try:
        edit.after.encode("utf-8")
    except UnicodeEncodeError:
        return f"{rel} would not be valid UTF-8 text: a repair writes Python source text, never binary data"
    broken = _syntax_problem(edit.after, rel)
    if broken:
        return broken
    before = {line.strip() for line in edit.before.splitlines()}
    for line in edit.after.splitlines():
        if line.strip() not in before and SKIPPING.search(line):
            return f"{rel}: the edit adds a skip or xfail ({line.strip()}): fix the failure instead"
    return None


def _syntax_problem(text: str, rel: str) -> str | None:
    """tree-sitter catches syntax errors whatever the project's Python version; `compile` adds what tree-sitter
    lets through (bad indentation), which no Python version accepts either."""
    tree = syntax.parse(text.encode())
    try:
        compile(text, rel, "exec", dont_inherit=True)
        compiled_line = None
    except (IndentationError, TabError) as exc:
        return f"{rel} would not parse after the edit ({exc.msg} near line {exc.lineno})"
    except SyntaxError as exc:
        compiled_line = exc.lineno
    if tree.root_node.has_error:
        line = compiled_line or _first_error_line(tree)
        return f"{rel} would not parse after the edit (syntax error near line {line})"
    return None


def _first_error_line(tree: Tree) -> int:
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            return node.start_point[0] + 1
        stack.extend(reversed(node.children))
    return 1
