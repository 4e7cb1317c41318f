"""The guards every candidate patch must pass before it is run: the repair fixes code, never the tests.

A candidate is refused when it touches anything outside the workspace, any test file, conftest.py or pytest
configuration, when it does not parse, or when it adds a skip or xfail. The refusal is a sentence fed back to
the proposer.
"""

from __future__ import annotations

import re
from pathlib import Path

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
        tree = syntax.parse(edit.after.encode())
        if tree.root_node.has_error:
            try:
                compile(edit.after, rel, "exec")
                line = "?"
            except SyntaxError as exc:
                line = str(exc.lineno)
            found.append(f"{rel} would not parse after the edit (syntax error near line {line})")
            continue
        before = {line.strip() for line in edit.before.splitlines()}
        for line in edit.after.splitlines():
            if line.strip() not in before and SKIPPING.search(line):
                found.append(f"{rel}: the edit adds a skip or xfail ({line.strip()}): fix the failure instead")
                break
    return found
