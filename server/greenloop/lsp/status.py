"""What greenloop is doing, for status bars and statuslines: a `greenloop/status` notification whenever it changes,
and the same snapshot as the answer to the `greenloop.status` command (a client that starts late asks once).

Why a notification of our own: LSP progress has a beginning and an end, but nothing says "3 tests failing, a fix
waits". The shape (documented in docs/editors.md, read by editors/vscode and editors/neovim):

    {"state": "idle" | "checking" | "repairing" | "fix_ready",
     "failing": <failing tests known now>, "checking": <a check is running>,
     "repair": null | {"uri", "line" (0-based or null), "round", "max_rounds", "failing"},
     "fix": null | {"repair_id", "status", "summary", "lines", "tests", "passing", "uri", "line" (0-based)}}

When the repair or the fix changes, the client is also asked to refresh its code lenses and inlay hints
(`lsp/preview.py`), where it said it can.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from greenloop.lsp import preview
from greenloop.lsp.convert import uri

if TYPE_CHECKING:
    from greenloop.lsp.server import GreenloopServer
    from greenloop.lsp.session import ProjectSession
    from greenloop.repair.present.workspace import WorkspaceRepair

log = logging.getLogger(__name__)
NOTIFICATION = "greenloop/status"


def failing_tests(sessions: Iterable[ProjectSession]) -> int:
    """Distinct failing tests among the published findings (a failure shows on its test and on its suspect line,
    both carrying the test's node id as code)."""
    return len({f.code for s in sessions for f in s.engine.findings()
                if f.source == "greenloop" and isinstance(f.code, str) and "::" in f.code})


def snapshot(sessions: Iterable[ProjectSession], repairs: Iterable[WorkspaceRepair]) -> dict[str, Any]:
    sessions, repairs = list(sessions), list(repairs)
    checking = any(s.busy for s in sessions)
    running = next((r.progress for r in repairs if r.progress is not None), None)
    fix = next((r.fix for r in repairs if r.fix is not None), None)
    repair = None if running is None else {
        "uri": uri(running.place.path), "line": None if running.place.line is None else running.place.line - 1,
        "round": running.round, "max_rounds": running.max_rounds, "failing": running.failing}
    ready = None
    if fix is not None:
        first = fix.patch.edits[0] if fix.patch.edits else None
        block = next(first.blocks(), None) if first is not None else None
        ready = {"repair_id": fix.repair_id, "status": fix.result.status.value, "summary": preview.fix_summary(fix),
                 "lines": fix.lines, "tests": len(fix.result.targets),
                 "passing": len(fix.result.targets) - fix.result.targets_failing_after,
                 "uri": uri(first.path) if first is not None else None, "line": block[0] if block else None}
    state = "repairing" if repair else "fix_ready" if ready else "checking" if checking else "idle"
    return {"state": state, "failing": failing_tests(sessions), "checking": checking, "repair": repair,
            "fix": ready}


class StatusFeed:
    """Sends the snapshot when it differs from the last one sent; asks for fresh lenses and hints when the repair
    or the fix changed."""

    def __init__(self, server: GreenloopServer) -> None:
        self.server = server
        self.sent: dict[str, Any] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> dict[str, Any]:
        return snapshot(self.server.sessions.values(), self.server.repairs.values())

    def changed(self) -> None:
        """Something a status shows may have changed (cheap when nothing did: nothing is sent)."""
        try:
            current = self.now()
        except Exception:  # a status is never worth a failed save or repair
            log.exception("status snapshot failed")
            return
        previous, self.sent = self.sent, current
        if current == previous:
            return
        self.server.protocol.notify(NOTIFICATION, current)
        if previous is None or (previous["repair"], previous["fix"]) != (current["repair"], current["fix"]):
            self._refresh()

    def _refresh(self) -> None:
        workspace = self.server.client_capabilities.workspace
        lenses = workspace and workspace.code_lens and workspace.code_lens.refresh_support
        hints = workspace and workspace.inlay_hint and workspace.inlay_hint.refresh_support
        for wanted, request in ((lenses, self.server.workspace_code_lens_refresh_async),
                                (hints, self.server.workspace_inlay_hint_refresh_async)):
            if wanted:
                task = asyncio.get_running_loop().create_task(self._ask(request))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _ask(request: Any) -> None:
        try:
            await request(None)
        except Exception as exc:  # a client that claims refresh support and fails it: its lenses are just older
            log.info("refresh request failed: %s", exc)
