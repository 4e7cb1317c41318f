"""Which recorded tests a change of source files affects, by coverage, and where coverage cannot tell.

For each changed source file: compare its functions' current fingerprints with the versions recorded tests
executed; a test that executed a changed (or removed) function is affected. Coverage cannot see code that runs
at import time, so the file is *unsure* (and the selector falls back to the import graph for it) when its
module-level skeleton changed since the last complete check, when it has syntax errors, when it is new or gone,
or when no coverage data exists yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from greenloop import project
from greenloop.select.coverage import CoverageStore
from greenloop.select.fingerprint import FileFingerprint, fingerprint


@dataclass
class Affected:
    """The coverage side of a selection."""

    tests: dict[str, str] = field(default_factory=dict)  # node id -> why
    unsure: dict[Path, str] = field(default_factory=dict)  # changed file -> why coverage cannot decide
    sure: list[Path] = field(default_factory=list)  # changed files coverage decided for
    skeletons: dict[str, str] = field(default_factory=dict)  # to store once the check completes


def read_fingerprint(path: Path) -> FileFingerprint | None:
    try:
        return fingerprint(path.read_bytes())
    except OSError:
        return None


def affected_tests(store: CoverageStore | None, root: Path, changed: Iterable[Path]) -> Affected:
    """Split changed *source* files (not tests, conftests or configuration) into decided and unsure."""
    result = Affected()
    has_data = store is not None and store.has_data()
    for path in changed:
        rel = project.relpath(root, path)
        current = read_fingerprint(path) if path.is_file() else None
        if current is None:
            result.unsure[path] = f"{rel} was removed or cannot be read"
            continue
        result.skeletons[rel] = current.skeleton
        if store is None or not has_data:
            result.unsure[path] = "no coverage data yet"
            continue
        if not current.complete:
            result.unsure[path] = f"{rel} has syntax errors"
            continue
        before = store.skeleton(rel)
        if before is None:
            result.unsure[path] = f"{rel} has no recorded module-level fingerprint (new file?)"
            continue
        if before != current.skeleton:
            result.unsure[path] = f"module-level code or a class body of {rel} changed"
            continue
        stale = [
            (qualname, print_)
            for qualname, prints in store.recorded_functions(rel).items()
            for print_ in prints
            if qualname not in current.functions or current.functions[qualname].fingerprint != print_
        ]
        result.sure.append(path)
        for nodeid, qualname in store.tests_executing(rel, stale).items():
            result.tests.setdefault(nodeid, f"{nodeid} executed {qualname} in {rel}, which changed")
    return result


FOCUSED_BUDGET = 0.5  # seconds of recorded test time the most focused affected tests may take, run early
FOCUSED_MAX = 200


def most_focused(store: CoverageStore | None, nodeids: Iterable[str]) -> list[str]:
    """The affected tests to run early, narrowest first: those that executed the fewest functions (then the
    quickest). A narrow test that reaches a changed function exercises it more directly than a test that passes
    through it on the way to something else, so a bug there tends to fail it first; and narrow tests are cheap.
    Bounded by FOCUSED_BUDGET seconds of recorded time, so the rest of the set is not held back."""
    if store is None:
        return []
    breadth = store.breadth(nodeids)
    chosen: list[str] = []
    spent = 0.0
    for nodeid in sorted(breadth, key=lambda n: (breadth[n], n)):
        if len(chosen) >= FOCUSED_MAX or (chosen and spent + breadth[nodeid][1] > FOCUSED_BUDGET):
            break
        chosen.append(nodeid)
        spent += breadth[nodeid][1]
    return chosen
