"""The project's current findings, grouped by what produced them, so each run replaces exactly its own.

Test findings are kept by owner (a test's node id, or a collected file for collection errors), type findings by
file, and file notes (encoding problems) by file. A streamed test result replaces its own owner's findings the
moment it arrives; when a run completes, owners it was responsible for that produced no result this time (a
test renamed or deleted, a collection error gone) are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from greenloop import project
from greenloop.diagnose.placement import touched_files
from greenloop.records import Finding, Selection
from greenloop.typecheck.checkers import TypeReport


def owner_file(owner: str) -> str:
    return owner.split("::", 1)[0]


class CurrentFindings:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tests: dict[str, list[Finding]] = {}
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
            owner: touched_files(group) | {(self.root / owner_file(owner)).resolve()}
            for owner, group in self.tests.items()
            if "::" in owner
        }

    # -- tests ----------------------------------------------------------------------------------------------

    def replace(self, owner: str, findings: Iterable[Finding]) -> None:
        group = [f for f in findings if f.owner == owner]
        if group:
            self.tests[owner] = group
        else:
            self.tests.pop(owner, None)

    def settle(self, selection: Selection, seen: set[str]) -> None:
        """After a complete run: drop findings the run was responsible for but did not reproduce."""
        files = {project.relpath(self.root, p) for p in selection.paths}
        for owner in list(self.tests):
            if owner in seen:
                continue
            covered = (
                selection.whole_project
                or owner in selection.nodeids
                or owner_file(owner) in files
                or "::" not in owner and "conftest" in owner  # a conftest error is re-judged by every run
            )
            if covered:
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
