"""Handing a finished repair's patch over: fitted to the text as it is now, re-checked when it had to move, or
refused with a reason.

One policy for every face. The person may have typed while the repair ran: the server reads the editor's
buffers, `greenloop repair --apply` the files on disk, and both get the same answer. A patch whose files did not
change is offered as it is; otherwise it is rebased onto the new text (`rebase.rebase`) and re-checked in a
sandbox (`rebase.recheck`), and the text is read again afterwards, since the re-check takes a while; a patch is
never fitted to text older than what the person has now.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from greenloop import project
from greenloop.repair.present.rebase import rebase, recheck
from greenloop.repair.records import Patch
from greenloop.repair.session import RepairSetup

REBASE_TRIES = 3  # rebase-and-recheck rounds while the person keeps typing, before the patch is refused
Reader = Callable[[Path], str | None]  # a file's text now (None: unreadable, and the patch is refused)


async def fit(setup: RepairSetup, patch: Patch, targets: list[str], read: Reader) -> Patch | str:
    """The patch as it applies to the text `read` gives now, or why it cannot be offered."""
    for attempt in itertools.count():
        read_now = {e.path: read(e.path) for e in patch.edits}
        unreadable = [path for path, text in read_now.items() if text is None]
        if unreadable:
            return f"{project.relpath(setup.root, unreadable[0])} cannot be read as UTF-8 text now"
        current = {path: text or "" for path, text in read_now.items()}
        if all(current[e.path] == e.before for e in patch.edits):
            return patch
        if attempt == REBASE_TRIES:
            return "the file kept changing while the fix was re-checked against it"
        rebased = rebase(setup.root, patch, current)
        if rebased is None:
            return "the lines it changes were edited since the repair began"
        reason = await recheck(setup.root, rebased, targets, setup.python, setup.settings.test_timeout,
                               setup.settings.sandbox)
        if reason is not None:
            return reason
        patch = rebased
    raise AssertionError("unreachable")


def read_disk(path: Path) -> str | None:
    """A file's text on disk ("" for a file the patch creates), or None when it cannot be read. Bytes that are not
    UTF-8 make it unreadable rather than decoded with replacements: a patch fitted to such a text would write the
    replacement characters back over the person's bytes."""
    try:
        return path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError):
        return None
