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
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer

from greenloop import __version__, project
from greenloop.engine import CheckReport
from greenloop.lsp import convert, repair_requests, transport
from greenloop.lsp.paths import path_of, unusable
from greenloop.lsp.repair import workspace_repair
from greenloop.lsp.session import Channel, ProjectSession
from greenloop.lsp.status import StatusFeed
from greenloop.repair.present.workspace import WorkspaceRepair

log = logging.getLogger(__name__)
_LEVELS = {"error": types.MessageType.Error, "warning": types.MessageType.Warning, "info": types.MessageType.Info}
# Where no project lives: a save there (or through /proc/<pid>/cwd) never starts a session or a watcher.


class GreenloopServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("greenloop", __version__, protocol_cls=transport.Protocol)
        self.sessions: dict[Path, ProjectSession] = {}  # by root; a standalone session by its file
        self.standalone_files: set[Path] = set()  # the keys of standalone sessions
        self.repairs: dict[ProjectSession, WorkspaceRepair] = {}  # by session: scratch files share a root
        self.init_options: Any = None
        self.editor_settings: Any = None
        self.status = StatusFeed(self)
        self._reporting = False
        self._sent: dict[str, list[types.Diagnostic]] = {}  # by uri: the diagnostics last published

    # -- editor settings ----------------------------------------------------------------------------------

    def layers(self) -> list[tuple[Any, str]]:
        return [(_section(self.init_options), "initializationOptions"),
                (_section(self.editor_settings), "editor settings")]

    def channel(self) -> Channel:
        return Channel(publish=self.publish, show=self.show, log=self.log_line, changed=self.status.changed,
                       stream=lambda report: self.publish(report, unchanged=False))

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

    def open_folder(self, uri: str) -> None:
        """A workspace folder becomes a session, unless it is no folder, a system location or the file system's
        root (whose watcher would walk every file of the machine on the event loop)."""
        root = path_of(uri)
        problem = "not a file: URI" if root is None else unusable(root, True) or (
            "not a folder" if not root.is_dir() else "the file system's root" if root.resolve() == Path("/") else None)
        if problem is not None or root is None:
            self.log_line(f"workspace folder {uri[:300]!r} ignored: {problem}")
            return
        self.open_session(root)

    def existing_session(self, path: Path) -> ProjectSession | None:
        """The session already serving `path` (the innermost workspace folder or project, or its scratch
        session), without opening one."""
        path = path.resolve()
        if path in self.standalone_files:
            return self.sessions[path]
        owners = [root for root in self.sessions if root not in self.standalone_files and path.is_relative_to(root)]
        return self.sessions[max(owners, key=lambda r: len(r.parts))] if owners else None

    def session_for(self, path: Path) -> ProjectSession:
        """The workspace folder holding `path` (the innermost), else the session of the project holding it (opened
        on first use), else a standalone session for the file alone."""
        found = self.existing_session(path)
        if found is not None:
            return found
        root = project.find_project_root(path)
        if root is not None:
            return self.open_session(root)
        return self.open_standalone(path)

    def admit(self, uri: str, *, folders: bool = False) -> ProjectSession | None:
        """The session for a file the client names, or None (with a log line) when it must not start one: a path
        the system cannot use, a system location, or a file in no workspace folder and no project that the editor
        has not opened (a scratch file the editor opened is checked alone)."""
        path = path_of(uri)
        if path is None:
            return None  # not a file: URI (untitled:, a notebook cell...): nothing on disk to check
        problem = unusable(path, folders)
        if problem is not None:
            self.log_line(f"ignored {uri[:300]!r}: {problem}")
            return None
        documents = self.workspace.text_documents
        opened = uri in documents or unquote(uri) in documents
        if opened or self.existing_session(path) is not None or project.find_project_root(path) is not None:
            return self.session_for(path)
        self.log_line(f"ignored {path}: outside every workspace folder and project, and not open in the editor")
        return None

    def known_session(self, uri: str) -> ProjectSession | None:
        """The session serving a document, for requests (hover, code actions) that never start one."""
        path = path_of(uri)
        return None if path is None or unusable(path, False) else self.existing_session(path)

    def repair_for(self, session: ProjectSession) -> WorkspaceRepair:
        repair = self.repairs.get(session)
        if repair is None:
            repair = self.repairs[session] = workspace_repair(self, session)
        return repair

    def repair_with_fix(self, repair_id: Any = None) -> WorkspaceRepair | None:
        for repair in self.repairs.values():
            if repair.fix is not None and (repair_id is None or repair.fix.repair_id == repair_id):
                return repair
        return None

    async def close_sessions(self) -> None:
        for repair in self.repairs.values():
            repair.cancel()
        for session in list(self.sessions.values()):
            await session.close()
        self.sessions.clear()

    # -- talking back ---------------------------------------------------------------------------------------

    def publish(self, report: CheckReport, unchanged: bool = True) -> None:
        """Diagnostics for every file the report touches; with `unchanged=False` (a check's stream, which ticks
        every quarter second) only for files whose diagnostics differ from those last sent: a networkx check
        re-sent the same two files forty times, and a client redraws each."""
        grouped = convert.by_file(report.findings)
        codec = self.workspace.position_codec
        for path in sorted(report.affected | set(grouped)):
            uri = convert.uri(path)
            lines = self._lines(uri, path)
            diagnostics = [convert.diagnostic(f, lines, codec.position_to_client_units) for f in grouped.get(path, [])]
            if not unchanged and self._sent.get(uri) == diagnostics:
                continue
            self._sent[uri] = diagnostics
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
        self.status.changed()

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

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls shows every internal error in a dialog ("Error in server: ..."): a client sending ninety bad
        messages got ninety dialogs. They go to the log instead; requests already carry their error in the answer.
        Messages meant for the user (`show`) stay dialogs."""
        if self._reporting:  # the log itself failing must not report itself forever
            return
        self._reporting = True
        try:
            what = "a request failed" if isinstance(error, JsonRpcException) else "internal error"  # answered already
            log.info("%s (%s): %r", what, getattr(source, "__name__", source), error)
            self.window_log_message(types.LogMessageParams(
                type=types.MessageType.Error,
                message=f"greenloop: {what} ({getattr(source, '__name__', source)}): {error!r:.2000}"))
        finally:
            self._reporting = False


def _section(raw: Any) -> Any:
    """Settings may come as {"greenloop": {...}} (VS Code style) or flat."""
    if isinstance(raw, Mapping) and isinstance(raw.get("greenloop"), Mapping):
        return raw["greenloop"]
    return raw


server = GreenloopServer()
repair_requests.register(server)


@server.feature(types.INITIALIZE)
def initialize(ls: GreenloopServer, params: types.InitializeParams) -> None:
    ls.init_options = params.initialization_options


@server.feature(types.INITIALIZED)
async def initialized(ls: GreenloopServer, params: types.InitializedParams) -> None:
    await pull_configuration(ls)
    for folder in ls.workspace.folders.values():
        ls.open_folder(folder.uri)
    if not ls.sessions and ls.workspace.root_uri:
        ls.open_folder(ls.workspace.root_uri)


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
    path = path_of(params.text_document.uri)
    if path is not None and (path.suffix == ".py" or path.name in project.PYTEST_CONFIG_FILES):
        session = ls.admit(params.text_document.uri)
        if session is None:
            return
        session.saved(path)
        repair = ls.repairs.get(session)
        if repair is not None:
            repair.saved(path)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: GreenloopServer, params: types.DidOpenTextDocumentParams) -> None:
    """Registered so that the server advertises open/close sync (pygls does only for a registered handler) and
    the client sends the buffers' text, which diagnostics positions and the repair's hand-over read. pygls keeps
    the text itself; nothing runs on open."""


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: GreenloopServer, params: types.DidCloseTextDocumentParams) -> None:
    """Registered with `did_open` (see there). Diagnostics stay: the failure is still there when the file is
    closed."""


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
        root = path_of(folder.uri)
        session = ls.sessions.pop(root.resolve(), None) if root and not unusable(root, True) else None
        if session is not None:
            repair = ls.repairs.pop(session, None)
            if repair is not None:
                repair.cancel()
            await session.close()
    for folder in params.event.added:
        ls.open_folder(folder.uri)


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
        server.start_tcp(host or "127.0.0.1", int(port))  # pygls framing, with transport.Protocol's answers
    else:
        transport.serve_stdio(server, sys.stdin.buffer, _protect_stdout())
    return 0
