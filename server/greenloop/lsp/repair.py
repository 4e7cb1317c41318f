"""Repair until green, from the editor: one background repair per workspace, with progress, cancel, and the
patch handed over as a WorkspaceEdit the user previews and accepts.

The repair itself is the engine's `RepairLoop`; this module is the protocol around it: the progress bar and its
cancel button, the "a repair is already running" refusal, the change annotation that makes clients ask before
applying, the stale-text check (never overwrite what the user typed since the repair began, checked once more
right before sending), and the ledger entry that records what the user did with the patch. That entry trusts
the text, not the client's answer: Neovim answers `applied: true` even when its user declines, so a fix counts
as accepted only once the editor's text shows it; otherwise it is recorded as rejected and stays on offer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from greenloop import project
from greenloop.lsp.convert import uri
from greenloop.lsp.workspace_edit import workspace_edit
from greenloop.repair import events
from greenloop.repair.present import handover
from greenloop.repair.present.fix import Fix, Verdicts, landed
from greenloop.repair.ledger.store import Ledger
from greenloop.repair.records import FileEdit, Patch, RepairResult, RepairStatus
from greenloop.repair.session import RepairSetup
from greenloop.state import state_dir

if TYPE_CHECKING:
    from greenloop.lsp.server import GreenloopServer
    from greenloop.lsp.session import ProjectSession

log = logging.getLogger(__name__)

VERIFY_SECONDS = 3.0  # how long after answering `applied: true` an editor may take to show the change


class RepairController:
    def __init__(self, server: GreenloopServer, session: ProjectSession) -> None:
        self.server = server
        self.session = session
        self.task: asyncio.Task[None] | None = None
        self.token: str | None = None
        self.fix: Fix | None = None
        self.verdicts = Verdicts()  # fixes the editor said it applied, watched until their files are saved
        self._applying = False

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    # -- start and cancel ---------------------------------------------------------------------------------

    def start(self, path: Path, tests: list[str] | None) -> dict[str, Any]:
        if self.running:
            message = "greenloop: a repair is already running in this workspace; cancel it first (greenloop.cancel)"
            self.server.show("warning", message)
            return {"started": False, "reason": message}
        self.task = asyncio.get_running_loop().create_task(self._run(path, tests))
        return {"started": True}

    def cancel(self) -> bool:
        if not self.running:
            return False
        assert self.task is not None
        self.task.cancel()
        return True

    def cancel_token(self, token: Any) -> None:
        if self.token is not None and token == self.token:
            self.cancel()

    # -- the background run -------------------------------------------------------------------------------

    async def _progress_begin(self, title: str) -> None:
        window = self.server.client_capabilities.window
        if not (window and window.work_done_progress):
            return
        token = str(uuid.uuid4())
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception as exc:  # a client that refuses: no progress bar, the repair still runs
            log.info("progress refused: %s", exc)
            return
        self.token = token
        self.server.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="greenloop repair", message=title, cancellable=True, percentage=0))

    def _progress(self, message: str, percentage: int | None = None) -> None:
        if self.token is not None:
            self.server.work_done_progress.report(self.token, types.WorkDoneProgressReport(
                message=message, percentage=percentage, cancellable=True))

    def _progress_end(self, message: str) -> None:
        if self.token is not None:
            self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self.token = None

    def _on_event(self, event: events.LoopEvent, max_rounds: int) -> None:
        match event:
            case events.TargetsFound(targets=targets):
                self._progress(f"{len(targets)} failing test(s)")
            case events.RoundStarted():
                self._progress(f"round {event.round}/{max_rounds} · {event.failing} failing · ${event.cost:.2f}",
                               int(100 * (event.round - 1) / max_rounds))
            case events.CandidateJudged():
                self._progress(f"round {event.round}/{max_rounds} · {event.failing_before} failing → "
                               f"{event.failing} · ${event.cost:.2f}", int(100 * event.round / max_rounds))

    async def _run(self, path: Path, tests: list[str] | None) -> None:
        root = self.session.root
        setup = self._setup()
        try:
            ledger = Ledger(root)
        except (sqlite3.Error, OSError) as exc:
            self.server.show("error", f"greenloop: the repair ledger could not be opened: {exc}")
            return
        with ledger:
            if ledger.notice:
                self.server.show("warning", f"greenloop: {ledger.notice}")
            max_rounds = setup.budget.max_rounds
            try:
                loop = setup.loop(ledger, lambda event: self._on_event(event, max_rounds))
            except ValueError as exc:
                self.server.show("error", f"greenloop: {exc}")
                return
            result = RepairResult(status=RepairStatus.FAILED, stop_reason="internal error (see the log)")
            try:
                await self._progress_begin(f"repairing {project.relpath(root, path)}")
                result = await loop.run(path, tests)  # returns a result when cancelled
            except asyncio.CancelledError:  # cancelled while the progress bar was being created: before any work
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                result = RepairResult(status=RepairStatus.CANCELLED, stop_reason="cancelled",
                                      handoff="cancelled before the repair began")
            finally:
                self._progress_end(f"{result.status.value}: {result.stop_reason}")
        await self._finish(result)

    async def _finish(self, result: RepairResult) -> None:
        root = self.session.root
        if result.patch is None:
            level = "info" if result.status in (RepairStatus.NOTHING_TO_DO, RepairStatus.CANCELLED) else "warning"
            self.server.show(level, f"greenloop repair {result.status.value}: {result.handoff}")
            return
        fix = Fix(result.repair_id, result, result.patch, root)
        fix.diff_file = self._write_diff(fix)
        self.fix = fix
        if result.status is not RepairStatus.GREEN:
            self.server.show("warning", f"greenloop repair {result.status.value}: {result.handoff} The best patch "
                                        "so far is available: greenloop.showPatch, or the code action "
                                        "\"Apply greenloop fix\".")
            return
        if self._supports_annotations():
            await self.apply(annotate=True)
        else:
            await self.show_patch()
            self.server.show("info", f"greenloop: green after {result.rounds} round(s). Review the patch, then use "
                                     f"the code action \"Apply greenloop fix ({fix.lines} line{'s' if fix.lines != 1 else ''})\" "
                                     "on a failing line.")

    def _write_diff(self, fix: Fix) -> Path | None:
        try:
            directory = state_dir(self.session.root) / "patches"
            directory.mkdir(exist_ok=True)
            path = directory / f"repair-{fix.repair_id or 'latest'}.diff"
            path.write_text(fix.result.diff, encoding="utf-8")
            return path
        except OSError:
            return None

    def _edit_capabilities(self) -> types.WorkspaceEditClientCapabilities | None:
        workspace = self.server.client_capabilities.workspace
        return workspace.workspace_edit if workspace else None

    def _supports_document_changes(self) -> bool:
        """Versioned edits: without them (Neovim) the edit cannot say which text it was made for."""
        edit = self._edit_capabilities()
        return bool(edit and edit.document_changes)

    def _supports_annotations(self) -> bool:
        """Annotations ride on versioned edits only; with both, the client asks the user before applying."""
        edit = self._edit_capabilities()
        return bool(edit and edit.document_changes and edit.change_annotation_support)

    # -- handing the patch over ---------------------------------------------------------------------------

    def _is_open(self, path: Path) -> bool:
        return uri(path) in self.server.workspace.text_documents

    def _text_now(self, path: Path) -> str | None:
        """The file as the editor has it: the open document (kept by didOpen/didChange), else the file on disk;
        None if it cannot be read."""
        document = self.server.workspace.text_documents.get(uri(path))
        if document is not None:
            return document.source
        try:
            return project.read_text(path)[0] if path.exists() else ""
        except OSError:
            return None

    async def apply(self, annotate: bool | None = None) -> dict[str, Any]:
        """Send the waiting fix as a workspace/applyEdit, after making sure it fits the text as it is now, and
        count it as applied only once the text shows it: the client's `applied: true` alone proves nothing."""
        fix = self.fix
        if fix is None:
            return {"applied": False, "reason": "no greenloop fix is waiting"}
        if self._applying:
            return {"applied": False, "reason": "greenloop is already applying this fix"}
        self._applying = True
        try:
            return await self._apply(fix, annotate)
        finally:
            self._applying = False

    async def _apply(self, fix: Fix, annotate: bool | None) -> dict[str, Any]:
        patch = await handover.fit(self._setup(), fix.patch, fix.result.targets, self._text_now)
        if isinstance(patch, str):
            message = f"greenloop: the fix was not applied: {patch}. The patch stays available (greenloop.showPatch)."
            self.server.show("warning", message)
            return {"applied": False, "reason": message}
        # Nothing awaits between the last look at the text and the send: the versions are those of that text.
        versions = {u: d.version for u, d in self.server.workspace.text_documents.items()}
        annotate = self._supports_annotations() if annotate is None else annotate
        edit = workspace_edit(patch, versions, annotate, self._description(fix), self._supports_document_changes())
        try:
            response = await self.server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label="greenloop repair"))
        except Exception as exc:  # the client failed the request: as far as we know, nothing changed
            log.info("workspace/applyEdit failed: %s", exc)
            response = types.ApplyWorkspaceEditResult(applied=False, failure_reason=f"the editor failed it: {exc}")
        if not (response and response.applied):
            return self._declined(fix, (response.failure_reason if response else None) or "the editor declined it",
                                  "info")
        unchanged = await self._wait_until_landed(patch)
        fix.sent = patch
        if unchanged:
            # A file the editor does not show us may still be saved with the fix later: `saved` watches for it.
            fix.awaiting_save = {path for path in unchanged if not self._is_open(path)}
            self.verdicts.watch(fix, bool(fix.awaiting_save))
            names = ", ".join(project.relpath(self.session.root, path) for path in unchanged)
            return self._declined(fix, f"the editor answered that it applied it, but {names} did not change", "warning")
        fix.awaiting_save = set()
        self._record(fix, "accepted")
        if self.fix is fix:
            self.fix = None
        self.verdicts.watch(fix)
        return {"applied": True, "reason": None}

    def _setup(self) -> RepairSetup:
        return RepairSetup(self.session.root, self.session.engine.settings, self.session.engine.interpreter.path)

    async def _wait_until_landed(self, patch: Patch) -> list[Path]:
        """The files whose text does not show the patch within VERIFY_SECONDS: an editor may report its change
        (didChange, didOpen) or write the file a moment after it answers."""
        deadline = time.monotonic() + VERIFY_SECONDS
        while True:
            unchanged = [e.path for e in patch.edits if not _shows(e, self._text_now(e.path))]
            if not unchanged or time.monotonic() >= deadline:
                return unchanged
            await asyncio.sleep(0.05)

    def _declined(self, fix: Fix, reason: str, level: str) -> dict[str, Any]:
        """Not applied: the ledger says so, and the fix stays where the user can take it later."""
        self._record(fix, "rejected")
        self.server.show(level, f"greenloop: the fix was not applied ({reason}). It stays available: the code "
                                "action \"Apply greenloop fix\" or the command greenloop.applyFix.")
        return {"applied": False, "reason": reason}

    def _description(self, fix: Fix) -> str:
        return (f"{fix.result.status.value} after {fix.result.rounds} round(s): "
                f"{len(fix.result.targets)} target test(s): {', '.join(fix.result.targets[:5])}. "
                "It passes the tests; review it.")

    async def show_patch(self) -> dict[str, Any]:
        fix = self.fix
        if fix is None:
            return {"patch": None}
        window = self.server.client_capabilities.window
        can_show = bool(window and window.show_document and window.show_document.support)
        if can_show and fix.diff_file is not None:
            try:
                await self.server.window_show_document_async(types.ShowDocumentParams(
                    uri=uri(fix.diff_file), take_focus=True))
            except Exception as exc:
                log.info("showDocument failed: %s", exc)
        return {"patch": fix.result.diff, "file": str(fix.diff_file) if fix.diff_file else None,
                "status": fix.result.status.value, "repair_id": fix.repair_id}

    def _record(self, fix: Fix, action: str) -> None:
        """What the user did with the fix, in the ledger; a ledger that cannot be written costs a message, never
        the fix or the server."""
        if fix.repair_id is None:
            return
        try:
            ledger = Ledger(self.session.root)
        except (sqlite3.Error, OSError) as exc:
            self.server.show("warning", f"greenloop: the repair ledger could not record {action!r}: {exc}")
            return
        with ledger:
            if ledger.notice:
                self.server.show("warning", f"greenloop: {ledger.notice}")
            try:
                ledger.set_user_action(fix.repair_id, action)
            except sqlite3.Error as exc:
                self.server.show("warning", f"greenloop: the repair ledger could not record {action!r}: {exc}")

    def saved(self, path: Path) -> None:
        """A file was saved: what its text decides about fixes the editor said it applied goes to the ledger."""
        if not self.verdicts.watched:
            return
        text = self._text_now(path)
        for fix, action in self.verdicts.saved(path, text or ""):
            self._record(fix, action)
            if action == "accepted" and self.fix is fix:
                self.fix = None


def _shows(edit: FileEdit, text: str | None) -> bool:
    return text is not None and landed(edit, text)
