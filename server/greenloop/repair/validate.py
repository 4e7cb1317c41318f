"""The guards every candidate patch must pass before it is run: the repair fixes code, never the tests.

A candidate is refused when it touches anything outside the workspace, any test file, conftest.py or pytest
configuration, when it does not parse, or when it adds a skip or xfail. The refusal is a sentence fed back to
the proposer.
"""

from __future__ import annotations

import re
from pathlib import Path

from tree_sitter import Tree

from greenloop import project, syntax
from greenloop.repair.records import Patch

CONFIG_FILES = frozenset({"pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini", "setup.py", "noxfile.py"})
SKIPPING = re.compile(
    r"\b(pytest\s*\.\s*(skip|xfail|importorskip)\b|mark\s*\.\s*(skip|skipif|xfail)\b|unittest\s*\.\s*skip"
    r"|\bskipTest\s*\(|\bexpectedFailure\b)"
)


def _is_test_path(root: Path, path: Path) -> bool:
    rel = path.relative_to(root)
    in_test_dir = any(part in ("tests", "test", "testing") for part in rel.parts[:-1])
    return project.is_test_file(path) or project.is_conftest(path) or in_test_dir


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
    except ValueError:  # null bytes
        return f"{rel} would not parse after the edit (it contains null bytes)"
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


def problems(root: Path, patch: Patch) -> list[str]:
    """Why the patch may not be run; empty when it may."""
    root = root.resolve()
    found = []
    if not patch.edits or patch.empty:
        return ["the patch changes nothing"]
    for edit in patch.edits:
        path = edit.path.resolve()
        if not path.is_relative_to(root):
            found.append(f"{edit.path} is outside the workspace: edit only files of the project")
            continue
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") or project.is_skipped_dir(part) for part in path.relative_to(root).parts[:-1]):
            found.append(f"{rel} is in an environment, cache or hidden directory, not project source")
            continue
        if _is_test_path(root, path):
            found.append(f"{rel} is a test file (or conftest): fix the code under test, never the tests")
            continue
        if path.name in CONFIG_FILES or path.suffix in (".ini", ".cfg", ".toml"):
            found.append(f"{rel} is configuration: fix the code under test, not the test configuration")
            continue
        if path.suffix != ".py":
            found.append(f"{rel} is not a Python source file")
            continue
        broken = _syntax_problem(edit.after, rel)
        if broken:
            found.append(broken)
            continue
        before = {line.strip() for line in edit.before.splitlines()}
        for line in edit.after.splitlines():
            if line.strip() not in before and SKIPPING.search(line):
                found.append(f"{rel}: the edit adds a skip or xfail ({line.strip()}): fix the failure instead")
                break
    return found
