"""Carry a finished repair's patch over to text that changed while the repair ran.

The user kept typing. A patch computed against the text at the start may still apply to the text now, if the
lines it changes were left alone: each changed block is re-located by its content and a little context. If it
applies, `recheck` runs the target tests (and the relevant ones) against the new text plus the patch in a
sandbox, since the surrounding code changed; only then may it be offered. Otherwise it is refused.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from greenloop import project
from greenloop.repair.propose import edits
from greenloop.repair.check.baseline import relevant_tests
from greenloop.repair.records import FileEdit, Patch
from greenloop.repair.check.sandbox import Sandbox

CONTEXT = 2


def rebase(root: Path, patch: Patch, current: dict[Path, str]) -> Patch | None:
    """The patch re-applied to `current` texts (path -> text now), or None if a changed block cannot be found."""
    rebased = []
    for edit in patch.edits:
        now = current.get(edit.path, edit.before)
        if now == edit.before:
            rebased.append(edit)
            continue
        before, after = edit.before.splitlines(keepends=True), edit.after.splitlines(keepends=True)
        blocks = []
        for i1, i2, j1, j2 in edit.blocks():
            lo, hi = max(i1 - CONTEXT, 0), min(i2 + CONTEXT, len(before))
            old = "".join(before[lo:hi])
            new = "".join(before[lo:i1] + after[j1:j2] + before[i2:hi])
            blocks.append(edits.Block(str(edit.path.relative_to(root)), old, new))
        try:
            applied = edits.apply(root, blocks, functools.partial(_same, now))
        except edits.EditError:
            return None
        rebased.extend(FileEdit(e.path, now, e.after) for e in applied.edits)
    return Patch(rebased)


async def recheck(root: Path, patch: Patch, targets: list[str], python: str, timeout: float,
                  minimum: str = "full") -> str | None:
    """None if, with `patch` applied to the current text (each edit's `before`, possibly unsaved editor text),
    every target passes and nothing that passes without the patch fails with it; otherwise the reason.
    Runs in a sandbox with at least `minimum` isolation (the `sandbox` setting), or not at all."""
    path = patch.edits[0].path if patch.edits else root
    alone = None if project.find_project_root(path) else [e.path for e in patch.edits]
    sandbox = await asyncio.to_thread(Sandbox, root, alone)  # a copy of the project: never on the event loop
    try:
        isolation = sandbox.isolation
        if not isolation.at_least(minimum):
            return (f"it could not be re-checked: only {isolation.level!r} isolation here ({isolation.how}), and "
                    f"the `sandbox` setting asks for at least {minimum!r}")
        relevant = await asyncio.to_thread(relevant_tests, root, path, targets)
        on_disk = Patch([FileEdit(e.path, e.path.read_text(encoding="utf-8") if e.path.exists() else "", e.before)
                         for e in patch.edits])
        sandbox.apply(on_disk)  # the current text, saved or not
        before = await sandbox.run(python, relevant, timeout)
        was_passing = {r.nodeid for r in before.results if not r.outcome.is_failure}
        sandbox.apply(patch)
        after = await sandbox.run(python, relevant, timeout)
        outcome = {r.nodeid: r for r in after.results}
        failing = [t for t in targets if t not in outcome or outcome[t].outcome.is_failure]
        if failing:
            return f"with your latest changes the patch no longer makes {', '.join(failing)} pass"
        broken = sorted(r.nodeid for r in after.results if r.outcome.is_failure and r.nodeid in was_passing)
        if broken:
            return f"with your latest changes the patch breaks {', '.join(broken)}"
        return None
    finally:
        await asyncio.to_thread(sandbox.close)


def _same(text: str, _path: Path) -> str:
    """The reader `edits.apply` gets: the file's current text, whatever path it asks for."""
    return text
