"""A finished repair's fix while it waits for the person, and the rules that say what they did with it.

Why here and not in the editor layer: what counts as "accepted" is a repair decision the ledger keeps, and it must
not depend on a client's word. Neovim answers `applied: true` even when its user declines the edit, so a fix
counts as accepted only once the text shows it (`landed`); an editor that writes the file a moment later, or a
file not open in the editor, is judged when the file is next saved (`Verdicts.saved`); a fix accepted and then
changed before the next save is recorded as `accepted_then_edited`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from greenloop.repair.records import FileEdit, Patch, RepairResult

LANDED_CONTEXT = 1  # lines of unchanged text on each side that a changed block must still sit between


def landed(edit: FileEdit, text: str) -> bool:
    """Does `text` (the file as the editor has it now) hold this edit? Exactly the patched text, or, if more
    changed since (the user typed on, a formatter ran on save), every changed block still in place between its
    neighbouring lines. The unchanged text never counts, whatever the client answered."""
    if text == edit.after:
        return True
    if text == edit.before:
        return False
    after = edit.after.splitlines(keepends=True)
    for _, _, j1, j2 in edit.blocks():
        lo, hi = max(j1 - LANDED_CONTEXT, 0), min(j2 + LANDED_CONTEXT, len(after))
        if "".join(after[lo:hi]) not in text:
            return False
    return True


def added_lines(edit: FileEdit) -> list[str]:
    """The lines the edit wrote (without their line ends)."""
    lines = edit.after.splitlines()
    return [line for _, _, j1, j2 in edit.blocks() for line in lines[j1:j2]]


@dataclass
class Fix:
    """A finished repair's patch, waiting for the person."""

    repair_id: int | None
    result: RepairResult
    patch: Patch
    root: Path
    diff_file: Path | None = None
    sent: Patch | None = None  # the patch as last sent (rebased onto the text of the moment)
    awaiting_save: set[Path] = field(default_factory=set)  # said applied, unchanged on disk, not open: watch saves

    @property
    def lines(self) -> int:
        return self.patch.lines_touched()

    def covers(self, path: Path) -> bool:
        """Does the fix concern this file: one it edits, or a target test's file?"""
        path = path.resolve()
        return any(e.path == path for e in self.patch.edits) or any(
            (self.root / t.split("::", 1)[0]).resolve() == path for t in self.result.targets)


@dataclass
class Verdicts:
    """The fixes an editor said it applied, watched until their files are next saved."""

    watched: list[Fix] = field(default_factory=list)

    def watch(self, fix: Fix, watch: bool = True) -> None:
        self.watched = [f for f in self.watched if f is not fix] + ([fix] if watch else [])

    def saved(self, path: Path, text: str) -> list[tuple[Fix, str]]:
        """A file was saved with `text`: the (fix, user action) pairs this decides. A fix said applied whose text
        did not show it then, saved now with it, was `accepted` after all; a verified fix whose written lines are
        gone or changed was `accepted_then_edited`."""
        path = path.resolve()
        decided = []
        for fix in list(self.watched):
            edit = next((e for e in fix.sent.edits if e.path == path), None) if fix.sent else None
            if edit is None:
                continue
            if path in fix.awaiting_save and landed(edit, text):
                fix.awaiting_save.discard(path)
                if not fix.awaiting_save:
                    decided.append((fix, "accepted"))
                continue
            self.watched.remove(fix)
            if fix.awaiting_save:
                continue  # saved without the fix: it was not applied, as recorded
            kept = set(text.splitlines())
            if any(line not in kept for line in added_lines(edit)):
                decided.append((fix, "accepted_then_edited"))
        return decided
