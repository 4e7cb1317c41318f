"""The language server: a map from LSP messages to small functions; the work happens in `ProjectSession`/`Engine`.

Nothing here runs tests or reads reports. Handlers are `async` or quick and synchronous on the event loop: pygls
reads stdin through its thread pool, so no long work may occupy that pool (see ../shared/FIELD-NOTES.md).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from greenloop import __version__, project
from greenloop.engine import CheckReport
from greenloop.lsp import actions, convert
from greenloop.lsp.repair import RepairController
from greenloop.lsp.session import Channel, ProjectSession

log = logging.getLogger(__name__)
_LEVELS = {"error": types.MessageType.Error, "warning": types.MessageType.Warning, "info": types.MessageType.Info}


class GreenloopServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("greenloop", __version__)
        self.sessions: dict[Path, ProjectSession] = {}  # by root; a standalone session by its file
        self.standalone_files: set[Path] = set()  # the keys of standalone sessions
        self.controllers: dict[ProjectSession, RepairController] = {}  # by session: scratch files share a root
        self.init_options: Any = None
        self.editor_settings: Any = None

    # -- editor settings ----------------------------------------------------------------------------------

    def layers(self) -> list[tuple[Any, str]]:
        return [(_section(self.init_options), "initializationOptions"),
                (_section(self.editor_settings), "editor settings")]

    def channel(self) -> Channel:
        return Channel(publish=self.publish, show=self.show, log=self.log_line)

    # -- sessions -----------------------------------------------------------------------------------------

    def open_session(self, root: Path) -> ProjectSession:
        root = root.resolve()
        session = self.sessions.get(root)
        if session is None:
            session = self.sessions[root] = ProjectSession(root, self.channel(), self.layers())
        return session

    def open_standalone(self, path: Path) -> ProjectSession:
        """A session for one file outside any project, keyed by the file: two scratch files in /tmp are two
        sessions, and neither watches nor scans /tmp."""
        path = path.resolve()
        session = self.sessions.get(path)
        if session is None:
            self.log_line(f"{path} is outside any project (no {', '.join(project.ROOT_MARKERS)} above it): "
                          "checking that file alone; its folder is neither watched nor scanned")
            folder = path if path.is_dir() else path.parent
            session = ProjectSession(folder, self.channel(), self.layers(), standalone=True)
            self.sessions[path] = session
            self.standalone_files.add(path)
        return session

    def session_for(self, path: Path) -> ProjectSession:
        """The workspace folder holding `path` (the innermost), else the session of the project holding it (opened
        on first use), else a standalone session for the file alone."""
        path = path.resolve()
        owners = [root for root in self.sessions if root not in self.standalone_files and path.is_relative_to(root)]
        if owners:
            return self.sessions[max(owners, key=lambda r: len(r.parts))]
        root = project.find_project_root(path)
        if root is not None:
            return self.open_session(root)
        return self.open_standalone(path)

    def controller(self, session: ProjectSession) -> RepairController:
        controller = self.controllers.get(session)
        if controller is None:
            controller = self.controllers[session] = RepairController(self, session)
        return controller

    def controller_with_fix(self, repair_id: Any = None) -> RepairController | None:
        for controller in self.controllers.values():
            if controller.fix is not None and (repair_id is None or controller.fix.repair_id == repair_id):
                return controller
        return None

    async def close_sessions(self) -> None:
        for controller in self.controllers.values():
            controller.cancel()
        for session in list(self.sessions.values()):
            await session.close()
        self.sessions.clear()

    # -- talking back ---------------------------------------------------------------------------------------

    def publish(self, report: CheckReport) -> None:
        grouped = convert.by_file(report.findings)
        codec = self.workspace.position_codec
        for path in sorted(report.affected | set(grouped)):
            uri = convert.uri(path)
            lines = self._lines(uri, path)
            diagnostics = [convert.diagnostic(f, lines, codec.position_to_client_units) for f in grouped.get(path, [])]
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    def _lines(self, uri: str, path: Path) -> list[str]:
        document = self.workspace.text_documents.get(uri)
        if document is not None:
            return document.lines
        try:
            return project.read_text(path)[0].splitlines(keepends=True)
        except OSError:
            return []

    def show(self, level: str, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=_LEVELS.get(level, types.MessageType.Info),
                                                         message=message))

    def log_line(self, message: str) -> None:
        log.info("%s", message)
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Log, message=message))


def _section(raw: Any) -> Any:
    """Settings may come as {"greenloop": {...}} (VS Code style) or flat."""
    if isinstance(raw, Mapping) and isinstance(raw.get("greenloop"), Mapping):
        return raw["greenloop"]
    return raw


def _path(uri: str) -> Path | None:
    fs_path = to_fs_path(uri)
    return Path(fs_path) if fs_path else None


server = GreenloopServer()


@server.feature(types.INITIALIZE)
def initialize(ls: GreenloopServer, params: types.InitializeParams) -> None:
    ls.init_options = params.initialization_options


@server.feature(types.INITIALIZED)
async def initialized(ls: GreenloopServer, params: types.InitializedParams) -> None:
    await pull_configuration(ls)
    for folder in ls.workspace.folders.values():
        root = _path(folder.uri)
        if root is not None and root.is_dir():
            ls.open_session(root)
    if not ls.sessions and ls.workspace.root_path and Path(ls.workspace.root_path).is_dir():
        ls.open_session(Path(ls.workspace.root_path))


async def pull_configuration(ls: GreenloopServer) -> None:
    """Ask for the `greenloop` section when the client supports workspace/configuration."""
    workspace = ls.client_capabilities.workspace
    if not (workspace and workspace.configuration):
        return
    try:
        result = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section="greenloop")])
        )
    except Exception as exc:  # a client that claims support but fails: keep the settings we have
        log.warning("workspace/configuration failed: %s", exc)
        return
    if result and isinstance(result[0], Mapping):
        ls.editor_settings = result[0]


@server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
def did_save(ls: GreenloopServer, params: types.DidSaveTextDocumentParams) -> None:
    path = _path(params.text_document.uri)
    if path is not None and (path.suffix == ".py" or path.name in ("pyproject.toml", "setup.cfg", "pytest.ini")):
        session = ls.session_for(path)
        session.saved(path)
        controller = ls.controllers.get(session)
        if controller is not None and controller.accepted:
            document = ls.workspace.text_documents.get(params.text_document.uri)
            text = document.source if document is not None else project.read_text(path)[0] if path.exists() else ""
            controller.saved(path, text)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: GreenloopServer, params: types.DidOpenTextDocumentParams) -> None:
    """Nothing to run on open; pygls keeps the document text, which diagnostics positions are computed against."""


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: GreenloopServer, params: types.DidCloseTextDocumentParams) -> None:
    """Diagnostics stay: the failure is still there when the file is closed."""


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: GreenloopServer, params: types.DidChangeConfigurationParams) -> None:
    if params.settings is None or params.settings == {}:
        await pull_configuration(ls)
    else:
        ls.editor_settings = params.settings
    for session in ls.sessions.values():
        session.configure(ls.layers())


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
async def did_change_folders(ls: GreenloopServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
    for folder in params.event.removed:
        root = _path(folder.uri)
        session = ls.sessions.pop(root.resolve(), None) if root else None
        if session is not None:
            controller = ls.controllers.pop(session, None)
            if controller is not None:
                controller.cancel()
            await session.close()
    for folder in params.event.added:
        root = _path(folder.uri)
        if root is not None and root.is_dir():
            ls.open_session(root)


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, actions.SOURCE_REPAIR]))
def code_action(ls: GreenloopServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    path = _path(params.text_document.uri)
    if path is None:
        return []
    controller = ls.controller(ls.session_for(path))
    fix = controller.fix
    return actions.code_actions(params.text_document.uri, params.context.diagnostics, fix,
                                fix.covers(path) if fix else False, controller.running)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: GreenloopServer, params: types.HoverParams) -> types.Hover | None:
    """While a fix waits for the user, hovering a failing line shows the proposed diff."""
    path = _path(params.text_document.uri)
    if path is None:
        return None
    session = ls.session_for(path)
    fix = ls.controller(session).fix
    if fix is None or not fix.covers(path):
        return None
    line = params.position.line + 1
    failing = any(f.path == path.resolve() and f.line == line and f.source == "greenloop"
                  for f in session.engine.findings())
    return actions.hover(fix) if failing else None


def _argument(args: tuple[Any, ...]) -> dict[str, Any]:
    return args[0] if args and isinstance(args[0], Mapping) else {}


@server.command("greenloop.repair")
def repair_command(ls: GreenloopServer, *args: Any) -> dict[str, Any]:
    """Start a repair in the background and answer at once; progress and the result arrive later."""
    argument = _argument(args)
    path = _path(str(argument.get("uri") or ""))
    if path is None:
        return {"started": False, "reason": "greenloop.repair needs {\"uri\": a file or folder of the workspace}"}
    tests = argument.get("tests") or None
    return ls.controller(ls.session_for(path)).start(path, list(tests) if tests else None)


@server.command("greenloop.cancel")
def cancel_command(ls: GreenloopServer, *args: Any) -> dict[str, Any]:
    return {"cancelled": any([controller.cancel() for controller in ls.controllers.values()])}


@server.command("greenloop.showPatch")
async def show_patch_command(ls: GreenloopServer, *args: Any) -> dict[str, Any]:
    controller = ls.controller_with_fix(_argument(args).get("repair_id"))
    return await controller.show_patch() if controller else {"patch": None}


@server.command("greenloop.applyFix")
async def apply_fix_command(ls: GreenloopServer, *args: Any) -> dict[str, Any]:
    controller = ls.controller_with_fix(_argument(args).get("repair_id"))
    if controller is None:
        return {"applied": False, "reason": "no greenloop fix is waiting"}
    return await controller.apply()


@server.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
def progress_cancel(ls: GreenloopServer, params: types.WorkDoneProgressCancelParams) -> None:
    for controller in ls.controllers.values():
        controller.cancel_token(params.token)


@server.feature(types.SHUTDOWN)
async def shutdown(ls: GreenloopServer, params: Any = None) -> None:
    await ls.close_sessions()


def _protect_stdout() -> Any:
    """Keep a private handle on the real stdout for the protocol; send fd 1 and sys.stdout to stderr, so a stray
    print (ours, a library's, a child's) cannot corrupt the LSP stream."""
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return protocol_out


def serve(tcp: str | None = None) -> int:
    logging.getLogger("pygls").setLevel(logging.WARNING)
    if tcp:
        host, _, port = tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io(sys.stdin.buffer, _protect_stdout())
    return 0
