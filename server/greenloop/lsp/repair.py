"""Repair until green, from the editor: one background repair per workspace, with progress, cancel, and the
patch handed over as a WorkspaceEdit the user previews and accepts.

The repair itself is the engine's `RepairLoop`; this module is the protocol around it: the progress bar and its
cancel button, the "a repair is already running" refusal, the change annotation that makes clients ask before
applying, the stale-text check (never overwrite what the user typed since the repair began), and the ledger
entry that records what the user did with the patch.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from greenloop import project
from greenloop.lsp.convert import uri
from greenloop.lsp.workspace_edit import workspace_edit
from greenloop.repair.command import build_proposer
from greenloop.repair.judge import JudgeSettings
from greenloop.repair.ledger import Ledger
from greenloop.state import state_dir
from greenloop.repair.loop import Budget, RepairLoop
from greenloop.repair.rebase import rebase, recheck
from greenloop.repair.records import Patch, RepairResult, RepairStatus

if TYPE_CHECKING:
    from greenloop.lsp.server import GreenloopServer
    from greenloop.lsp.session import ProjectSession

log = logging.getLogger(__name__)


@dataclass
class Fix:
    """A finished repair's patch, waiting for the user."""

    repair_id: int | None
    result: RepairResult
    patch: Patch
    root: Path
    diff_file: Path | None = None
    applied_text: dict[Path, str] = field(default_factory=dict)  # what the files said right after acceptance

    @property
    def lines(self) -> int:
        return self.patch.lines_touched()

    def covers(self, path: Path) -> bool:
        """Does the fix concern this file: one it edits, or a target test's file?"""
        path = path.resolve()
        return any(e.path == path for e in self.patch.edits) or any(
            (self.root / t.split("::", 1)[0]).resolve() == path for t in self.result.targets)


class RepairController:
    def __init__(self, server: GreenloopServer, session: ProjectSession) -> None:
        self.server = server
        self.session = session
        self.task: asyncio.Task[None] | None = None
        self.token: str | None = None
        self.fix: Fix | None = None
        self.accepted: list[Fix] = []  # applied fixes whose files have not been saved since

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

    def _on_event(self, kind: str, data: dict[str, Any], max_rounds: int) -> None:
        if kind == "targets":
            self._progress(f"{len(data['targets'])} failing test(s)")
        elif kind == "round":
            self._progress(f"round {data['round']}/{max_rounds} · {data['failing']} failing · ${data['cost']:.2f}",
                           int(100 * (data["round"] - 1) / max_rounds))
        elif kind == "candidate":
            self._progress(f"round {data['round']}/{max_rounds} · {data['failing_before']} failing → "
                           f"{data['failing']} · ${data['cost']:.2f}", int(100 * data["round"] / max_rounds))

    async def _run(self, path: Path, tests: list[str] | None) -> None:
        root = self.session.root
        settings = self.session.engine.settings
        try:
            proposer = build_proposer("auto", settings)
        except ValueError as exc:
            self.server.show("error", f"greenloop: {exc}")
            return
        await self._progress_begin(f"repairing {project.relpath(root, path)}")
        ledger = Ledger(root)
        judge = JudgeSettings(self.session.engine.interpreter.path, settings.test_timeout, settings.type_checker)
        budget = Budget(settings.max_rounds, settings.budget_usd, settings.budget_tokens, settings.repair_timeout)
        loop = RepairLoop(root, proposer, judge, budget, ledger,
                          lambda kind, data: self._on_event(kind, data, budget.max_rounds))
        result = RepairResult(status=RepairStatus.FAILED)
        try:
            result = await loop.run(path, tests)
        finally:
            ledger.close()
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

    def _supports_annotations(self) -> bool:
        workspace = self.server.client_capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        return bool(edit and edit.document_changes and edit.change_annotation_support)

    # -- handing the patch over ---------------------------------------------------------------------------

    def _current_texts(self, patch: Patch) -> dict[Path, str]:
        texts = {}
        for edit in patch.edits:
            document = self.server.workspace.text_documents.get(uri(edit.path))
            if document is not None:
                texts[edit.path] = document.source
            elif edit.path.exists():
                texts[edit.path] = project.read_text(edit.path)[0]
            else:
                texts[edit.path] = ""
        return texts

    async def apply(self, annotate: bool | None = None) -> dict[str, Any]:
        """Send the waiting fix as a workspace/applyEdit, after making sure it fits the text as it is now."""
        fix = self.fix
        if fix is None:
            return {"applied": False, "reason": "no greenloop fix is waiting"}
        patch = fix.patch
        current = self._current_texts(patch)
        if any(current[e.path] != e.before for e in patch.edits):
            rebased = rebase(self.session.root, patch, current)
            reason = None if rebased is not None else "the lines it changes were edited since the repair began"
            if rebased is not None:
                reason = await recheck(self.session.root, rebased, fix.result.targets,
                                       self.session.engine.interpreter.path, self.session.engine.settings.test_timeout)
            if reason is not None:
                message = f"greenloop: the fix was not applied: {reason}. The patch stays available (greenloop.showPatch)."
                self.server.show("warning", message)
                return {"applied": False, "reason": message}
            patch = rebased
            assert patch is not None
        versions = {u: d.version for u, d in self.server.workspace.text_documents.items()}
        annotate = self._supports_annotations() if annotate is None else annotate
        description = (f"{fix.result.status.value} after {fix.result.rounds} round(s): "
                       f"{len(fix.result.targets)} target test(s): {', '.join(fix.result.targets[:5])}. "
                       "It passes the tests; review it.")
        edit = workspace_edit(patch, versions, annotate, description)
        response = await self.server.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label="greenloop repair"))
        applied = bool(response and response.applied)
        self._record(fix, "accepted" if applied else "rejected")
        if applied:
            fix.applied_text = {e.path: e.after for e in patch.edits}
            self.fix = None
            self.accepted.append(fix)
        return {"applied": applied, "reason": None if applied else (response.failure_reason if response else None)}

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
        if fix.repair_id is None:
            return
        ledger = Ledger(self.session.root)
        try:
            ledger.set_user_action(fix.repair_id, action)
        finally:
            ledger.close()

    def saved(self, path: Path, text: str) -> None:
        """A file was saved: if an accepted fix touched it and the lines it wrote are gone or changed, the user
        accepted and then edited the fix, which the ledger should know."""
        path = path.resolve()
        for fix in list(self.accepted):
            expected = fix.applied_text.get(path)
            if expected is None:
                continue
            self.accepted.remove(fix)
            before = next(e.before for e in fix.patch.edits if e.path == path)
            written = _added_lines(before, expected)
            kept = set(text.splitlines())
            if any(line not in kept for line in written):
                self._record(fix, "accepted_then_edited")


def _added_lines(before: str, after: str) -> list[str]:
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
    lines = after.splitlines()
    return [line for tag, _, _, j1, j2 in matcher.get_opcodes() if tag != "equal" for line in lines[j1:j2]]
