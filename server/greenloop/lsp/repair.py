"""The editor port of a repair (`repair.present.port.EditorPort`) over the Language Server Protocol.

Only translation lives here: a message is `window/showMessage`, progress is `$/progress` under a token the client
created (and `window/workDoneProgress/cancel` on that token cancels the repair), the open documents are the
buffers, an edit is a `workspace/applyEdit` naming the document versions it was made for, annotated so that
clients with a refactor preview ask the person first, and a file is shown by `window/showDocument`. What a repair
does with these is `repair/present/workspace.py`.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from greenloop.lsp.convert import uri
from greenloop.lsp.workspace_edit import workspace_edit
from greenloop.repair.present.port import Level, Sent
from greenloop.repair.present.workspace import WorkspaceRepair
from greenloop.repair.records import Patch
from greenloop.repair.session import RepairSetup

if TYPE_CHECKING:
    from greenloop.lsp.server import GreenloopServer
    from greenloop.lsp.session import ProjectSession

log = logging.getLogger(__name__)


def workspace_repair(server: GreenloopServer, session: ProjectSession) -> WorkspaceRepair:
    """The repairs of a session's workspace, served to this server's client."""
    engine = session.engine
    return WorkspaceRepair(session.root, LspEditor(server),
                           lambda: RepairSetup(session.root, engine.settings, engine.interpreter.path),
                           on_change=server.status.changed)


class LspEditor:
    """An LSP client, as a repair sees it."""

    def __init__(self, server: GreenloopServer) -> None:
        self.server = server
        self.token: str | None = None  # the progress token the client created for the running repair

    def _edit_capabilities(self) -> types.WorkspaceEditClientCapabilities | None:
        workspace = self.server.client_capabilities.workspace
        return workspace.workspace_edit if workspace else None

    @property
    def versioned(self) -> bool:
        """Versioned edits: without them (Neovim) the edit cannot say which text it was made for."""
        edit = self._edit_capabilities()
        return bool(edit and edit.document_changes)

    @property
    def asks_before_applying(self) -> bool:
        """Annotations ride on versioned edits only; with both, the client asks the person before applying."""
        edit = self._edit_capabilities()
        return bool(edit and edit.document_changes and edit.change_annotation_support)

    @property
    def progress_id(self) -> object | None:
        return self.token

    def show(self, level: Level, message: str) -> None:
        self.server.show(level, message)

    async def progress_begin(self, title: str) -> None:
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

    def progress(self, message: str, percentage: int | None = None) -> None:
        if self.token is not None:
            self.server.work_done_progress.report(self.token, types.WorkDoneProgressReport(
                message=message, percentage=percentage, cancellable=True))

    def progress_end(self, message: str) -> None:
        if self.token is None:
            return
        token, self.token = self.token, None
        try:
            self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        except (ValueError, OSError) as exc:  # the client went away (exit) while the repair was being cancelled
            log.info("progress end not sent: %s", exc)

    def buffer(self, path: Path) -> str | None:
        document = self.server.workspace.text_documents.get(uri(path))
        return document.source if document is not None else None

    async def send(self, patch: Patch, *, annotate: bool, description: str) -> Sent:
        versions = {u: d.version for u, d in self.server.workspace.text_documents.items()}
        edit = workspace_edit(patch, versions, annotate, description, self.versioned)
        try:
            response = await self.server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label="greenloop repair"))
        except Exception as exc:  # the client failed the request: as far as we know, nothing changed
            log.info("workspace/applyEdit failed: %s", exc)
            return Sent(False, f"the editor failed it: {exc}")
        if response is None:
            return Sent(False)
        return Sent(bool(response.applied), response.failure_reason)

    async def open_file(self, path: Path) -> None:
        window = self.server.client_capabilities.window
        if not (window and window.show_document and window.show_document.support):
            return
        try:
            await self.server.window_show_document_async(types.ShowDocumentParams(uri=uri(path), take_focus=True))
        except Exception as exc:
            log.info("showDocument failed: %s", exc)
