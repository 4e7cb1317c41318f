"""The project's current findings, grouped by what produced them, so each run replaces exactly its own.

Test findings are kept by owner (a test, or the file, folder or conftest of a collection error: see
`records.run_owner`), type findings by file, and file notes (encoding problems) by file. A streamed test result
replaces its own owner's findings the moment it arrives; when a run completes, owners it was responsible for that
produced no result this time (a test renamed or deleted, a collection error gone) are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from greenloop import project
from greenloop.diagnose.placement import touched_files
from greenloop.records import CollectionOwner, Finding, RunOwner, Selection, TestOwner
from greenloop.typecheck.checkers import TypeReport


class CurrentFindings:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tests: dict[RunOwner, list[Finding]] = {}
        self.types: dict[Path, list[Finding]] = {}
        self.notes: dict[Path, list[Finding]] = {}

    def all(self) -> list[Finding]:
        everything = [f for group in self.tests.values() for f in group]
        everything += [f for group in self.types.values() for f in group]
        everything += [f for group in self.notes.values() for f in group]
        return sorted(everything, key=Finding.sort_key)

    def last_failed(self) -> dict[str, set[Path]]:
        """Node id -> files its failure touched (test file, frames, placements)."""
        return {
            owner.nodeid: touched_files(group) | {(self.root / owner.file).resolve()}
            for owner, group in self.tests.items()
            if isinstance(owner, TestOwner)
        }

    # -- tests ----------------------------------------------------------------------------------------------

    def replace(self, owner: RunOwner, findings: Iterable[Finding]) -> None:
        group = [f for f in findings if f.owner == owner]
        if group:
            self.tests[owner] = group
        else:
            self.tests.pop(owner, None)

    def settle(self, selection: Selection, seen: set[str]) -> None:
        """After a complete run: drop findings the run was responsible for but did not reproduce. `seen` holds
        the node ids of the run's results."""
        files = {project.relpath(self.root, p) for p in selection.paths}
        for owner in list(self.tests):
            if owner.nodeid in seen:
                continue
            if selection.whole_project or owner.nodeid in selection.nodeids or _judged(owner, files):
                del self.tests[owner]

    # -- types and notes ------------------------------------------------------------------------------------

    def clear_types(self) -> None:
        self.types.clear()

    def absorb_types(self, types: TypeReport) -> None:
        for path in types.checked:
            self.types.pop(path.resolve(), None)
        for finding in types.findings:
            self.types.setdefault(finding.path.resolve(), []).append(finding)

    def set_note(self, path: Path, findings: list[Finding]) -> None:
        if findings:
            self.notes[path] = findings
        else:
            self.notes.pop(path, None)

    def forget(self, path: Path) -> None:
        """A deleted file: its own type findings and notes go, and any test finding placed in it."""
        self.types.pop(path, None)
        self.notes.pop(path, None)
        for owner, group in list(self.tests.items()):
            kept = [f for f in group if f.path != path]
            if kept:
                self.tests[owner] = kept
            else:
                del self.tests[owner]


def _judged(owner: RunOwner, files: set[str]) -> bool:
    """Whether a run of the test files `files` (relative paths) judges `owner` again."""
    match owner:
        case TestOwner():
            return owner.file in files
        case CollectionOwner():
            return owner.nodeid in files or owner.conftest  # a conftest error is re-judged by every run
