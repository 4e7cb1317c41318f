"""What a repair needs from an editor, and nothing more: the port the editor face implements.

Why a port: the rules of a repair run from an editor (one at a time per workspace, progress while it runs, the
fix kept until the person decides, never applied over newer text, a verdict decided by the text) are repair
decisions, and they are tested without an editor. `lsp/repair.py` implements this over the Language Server
Protocol; any other face (a test, another protocol) implements the same few calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from greenloop.repair.records import Patch

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Sent:
    """The editor's answer to an edit: whether it says it applied it, and why not. Its word is checked against
    the text afterwards (`fix.landed`), never trusted alone."""

    applied: bool
    reason: str | None = None


class EditorPort(Protocol):
    """The calls a workspace's repair makes to the editor it serves."""

    @property
    def asks_before_applying(self) -> bool:
        """Can the editor show an edit and ask the person before applying it (a refactor preview)? Then a green
        fix is sent at once; otherwise it waits for the person to ask for it."""

    @property
    def progress_id(self) -> object | None:
        """The id of the progress now shown for the repair, if any: cancelling it cancels the repair."""

    def show(self, level: Level, message: str) -> None:
        """A message for the person."""

    async def progress_begin(self, title: str) -> None:
        """Show a cancellable progress; an editor that cannot simply shows none."""

    def progress(self, message: str, percentage: int | None = None) -> None:
        """Update the progress, if one is shown."""

    def progress_end(self, message: str) -> None:
        """End the progress, if one is shown."""

    def buffer(self, path: Path) -> str | None:
        """The text of the file as open in the editor (newer than the disk while unsaved), or None if not open."""

    async def send(self, patch: Patch, *, annotate: bool, description: str) -> Sent:
        """Offer the patch as an edit of the text the editor has now. Called with no await between the last look
        at that text and the send, so the edit can name the versions it was made for."""

    async def open_file(self, path: Path) -> None:
        """Show a file (the patch as a diff) to the person, if the editor can; failures are the editor's concern."""
