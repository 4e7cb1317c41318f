"""The editor stand-in of the end-to-end tests: the real `greenloop serve` as a subprocess, driven over stdio by
pytest-lsp's client, customised here to behave like an editor. Tests get one from the `start_editor` fixture
(tests/e2e/conftest.py).

- Buffers with versions: `open`, `change` (typing, unsaved) and `save` send didOpen/didChange/didSave.
- `workspace/applyEdit` is answered by the test (`editor.apply_answer`); an accepted edit is applied to the
  editor's buffer and sent back as didChange, as an editor would; an edit for an older document version is
  refused, as VS Code does. Nothing is ever written to disk by the client.
- `window/workDoneProgress/create` is recorded (`created_tokens`) and can be held (`hold_progress_create`).
- lsprotocol 2025.0.0's client-side parsing turns every code action that carries a `command` into a `Command`
  (see /work/shared/FIELD-NOTES.md): a structure hook picks `Command` only when `command` is a string.
- Capabilities: VS Code's by default, or a plain client without change annotations and without workDoneProgress.
"""

from __future__ import annotations

import asyncio
import copy
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Union

from demokit import CART_TESTS, PRICING
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.uris import from_fs_path, to_fs_path
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

SERVER = [sys.executable, "-m", "greenloop", "serve"]


# --- client capabilities ------------------------------------------------------------------------------------

def vscode_capabilities() -> types.ClientCapabilities:
    return client_capabilities("visual-studio-code")


def plain_capabilities(show_document: bool = True) -> types.ClientCapabilities:
    """VS Code's capabilities minus change-annotation support and minus window.workDoneProgress."""
    capabilities = copy.deepcopy(vscode_capabilities())
    assert capabilities.workspace is not None and capabilities.workspace.workspace_edit is not None
    capabilities.workspace.workspace_edit.change_annotation_support = None
    capabilities.window = types.WindowClientCapabilities(
        work_done_progress=False,
        show_document=types.ShowDocumentClientCapabilities(support=show_document),
    )
    return capabilities


# --- text edits ---------------------------------------------------------------------------------------------

def _offset(text: str, position: types.Position) -> int:
    """Offset of an LSP position (UTF-16 columns; the demo is ASCII, so characters suffice)."""
    lines = text.splitlines(keepends=True)
    if position.line >= len(lines):
        return len(text)
    return sum(len(line) for line in lines[:position.line]) + position.character


def apply_text_edits(text: str, edits: list[Any]) -> str:
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = _offset(text, edit.range.start), _offset(text, edit.range.end)
        text = text[:start] + edit.new_text + text[end:]
    return text


# --- the editor ---------------------------------------------------------------------------------------------

class Editor:
    """An editor stand-in for one workspace: buffers with versions, answers to the server's requests, and what
    the server published. `await editor.start(...)` runs the server; the `start_editor` fixture stops it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.client = _client_for(self)
        self.initialize_result: types.InitializeResult | None = None
        self.versions: dict[str, int] = {}
        self.buffers: dict[str, str] = {}
        self.unsaved: set[str] = set()  # uris whose buffer has changes that are not on disk yet
        self.apply_answer = True
        self.apply_requests: list[types.ApplyWorkspaceEditParams] = []
        self.apply_times: list[float] = []
        self.created_tokens: list[Any] = []  # window/workDoneProgress/create, in order
        self.hold_progress_create: asyncio.Event | None = None  # when set: answer create only once it is set
        self.stale_versions: list[tuple[str, int, int]] = []  # edits refused: (uri, edit's version, buffer's)
        self.statuses: list[dict[str, Any]] = []  # greenloop/status notifications, in order
        self.refreshes: list[str] = []  # workspace/codeLens/refresh and workspace/inlayHint/refresh, in order
        self.publishes: list[tuple[str, int]] = []  # textDocument/publishDiagnostics: (uri, diagnostics), in order

    async def start(self, capabilities: types.ClientCapabilities | None = None, init_options: Any = None,
                    env: dict[str, str] | None = None) -> types.InitializeResult:
        """Run the server on the workspace and initialize it (VS Code's capabilities unless told otherwise)."""
        await self.client.start_io(*SERVER, env={**os.environ, **(env or {})}, cwd=str(self.root))
        self.initialize_result = await self.client.initialize_session(types.InitializeParams(
            capabilities=capabilities or vscode_capabilities(),
            root_uri=from_fs_path(str(self.root)),
            workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(self.root)) or "", name=self.root.name)],
            initialization_options=init_options,
        ))
        return self.initialize_result

    async def stop(self, timeout: float = 15.0) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_session(), timeout)
        except Exception:
            pass
        await self.client.stop()

    # -- files and buffers --

    def uri(self, rel: str) -> str:
        return from_fs_path(str(self.root / rel)) or ""

    def _on_disk(self, rel: str) -> str:
        path = self.root / rel
        return path.read_bytes().decode("utf-8", errors="replace") if path.exists() else ""

    def open(self, rel: str) -> None:
        """didOpen with the file's text on disk ("" for a missing file); an open file stays as it is."""
        uri = self.uri(rel)
        if uri in self.versions:
            return
        text = self._on_disk(rel)
        self.versions[uri], self.buffers[uri] = 1, text
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    def change(self, rel: str, text: str) -> None:
        """Type into the buffer (unsaved): didChange with the whole new text."""
        self.open(rel)
        self._send_change(self.uri(rel), text)

    def _send_change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.buffers[uri] = text
        self.unsaved.add(uri)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    def save(self, rel: str, text: str | bytes | None = None) -> None:
        """Save as an editor does, then send didSave:

        - with `text`: write it to disk and send it (didOpen for a file not open yet, else didChange);
        - without, for a buffer with unsaved changes (`change`, or an accepted workspace/applyEdit): write the
          buffer to disk;
        - without, otherwise: send the file as it is on disk now (the test may have written or deleted it):
          didOpen for a file not open yet, didChange if it differs from the buffer.
        """
        uri = self.uri(rel)
        path = self.root / rel
        if text is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text)
        if text is None and uri in self.unsaved:
            path.write_text(self.buffers[uri])
        elif uri not in self.versions:
            self.open(rel)
        elif text is not None or self._on_disk(rel) != self.buffers[uri]:
            self._send_change(uri, self._on_disk(rel))
        self.unsaved.discard(uri)
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    def buffer(self, rel: str) -> str:
        return self.buffers[self.uri(rel)]

    def version(self, rel: str) -> int:
        return self.versions[self.uri(rel)]

    # -- what the server sent --

    def diagnostics(self, rel: str, source: str | None = None) -> list[types.Diagnostic]:
        """What the server published for `rel` since the last `reset` (only those of `source`, if given)."""
        found = list(self.client.diagnostics.get(self.uri(rel), []))
        return [d for d in found if source is None or d.source == source]

    def reset(self) -> None:
        self.client.diagnostics.clear()

    def messages(self) -> list[str]:
        return [m.message for m in self.client.messages]

    def progress(self) -> dict[Any, list[Any]]:
        return self.client.progress_reports

    def progress_ends(self) -> list[Any]:
        return [token for token, values in self.client.progress_reports.items()
                if any(isinstance(v, types.WorkDoneProgressEnd) for v in values)]

    def shown_documents(self) -> list[types.ShowDocumentParams]:
        return self.client.shown_documents

    def story(self) -> str:
        """What the server said and did so far, for an assertion's message: a failure shows why."""
        return (f"messages: {self.messages()}; diagnostics: {self.client.diagnostics}; "
                f"applyEdit: {len(self.apply_requests)}; progress: {self.client.progress_reports}; "
                f"log: {[m.message[:300] for m in self.client.log_messages][-40:]}")

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
        """Poll until `predicate()` is truthy (pytest-lsp can miss notifications that already arrived)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}; {self.story()}")

    # -- requests to the server --

    async def execute(self, command: str, argument: dict[str, Any] | None = None) -> Any:
        arguments = [argument] if argument is not None else []
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=arguments))

    async def repair(self, rel: str = PRICING, tests: list[str] | None = None) -> Any:
        return await self.execute("greenloop.repair", {"uri": self.uri(rel), "tests": tests})

    async def code_actions(self, rel: str, line: int, diagnostics: list[types.Diagnostic] | None = None,
                           only: list[str] | None = None) -> list[Any]:
        span = types.Range(start=types.Position(line=line, character=0), end=types.Position(line=line, character=0))
        result = await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri(rel)), range=span,
            context=types.CodeActionContext(diagnostics=diagnostics or [], only=only)))
        return list(result or [])

    async def hover(self, rel: str, line: int, character: int = 4) -> types.Hover | None:
        return await self.client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri(rel)),
            position=types.Position(line=line, character=character)))

    async def code_lenses(self, rel: str) -> list[types.CodeLens]:
        return list(await self.client.text_document_code_lens_async(types.CodeLensParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri(rel)))) or [])

    async def inlay_hints(self, rel: str) -> list[types.InlayHint]:
        lines = len(self.buffer(rel).splitlines()) + 1
        return list(await self.client.text_document_inlay_hint_async(types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri(rel)),
            range=types.Range(start=types.Position(line=0, character=0),
                              end=types.Position(line=lines, character=0)))) or [])

    def status(self) -> dict[str, Any]:
        """The latest greenloop/status ({} before the first)."""
        return self.statuses[-1] if self.statuses else {}

    def checked(self) -> bool:
        """The server's last status says no check runs. It is sent after the check's last diagnostics, so every
        file's final diagnostics have arrived (a wait on counts alone can see one file updated, the next not yet)."""
        return bool(self.statuses) and not self.status()["checking"]

    async def fix_ready(self, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the server says a fix waits for the person; its status entry."""
        return await self.wait_for(lambda: self.status().get("state") == "fix_ready" and self.status()["fix"],
                                   timeout, "greenloop/status saying a fix is ready")

    async def apply_when_ready(self, timeout: float = 90.0) -> Any:
        """The person's "Apply" once the fix is ready: greenloop.applyFix, and its answer."""
        fix = await self.fix_ready(timeout)
        return await self.execute("greenloop.applyFix", {"repair_id": fix["repair_id"]})

    def cancel_progress(self, token: Any) -> None:
        self.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))

    # -- waiting for a repair of examples/demo (tests/demokit.py) --

    async def failure_diagnostics(self, timeout: float = 30.0) -> list[types.Diagnostic]:
        """Save the demo's pricing module and wait for greenloop's failing-test diagnostics on the cart tests."""
        self.open(CART_TESTS)
        self.save(PRICING)
        return await self.wait_for(lambda: len(self.diagnostics(CART_TESTS, "greenloop")) >= 2
                                   and self.diagnostics(CART_TESTS, "greenloop"),
                                   timeout, "failure diagnostics on tests/test_cart.py")

    async def progress_token(self, timeout: float = 30.0) -> Any:
        """The token of the (latest) repair's progress once it has begun."""
        def begun() -> Any:
            tokens = [t for t, values in self.client.progress_reports.items()
                      if any(isinstance(v, types.WorkDoneProgressBegin) for v in values)
                      and not any(isinstance(v, types.WorkDoneProgressEnd) for v in values)]
            return tokens[-1] if tokens else None
        return await self.wait_for(begun, timeout, "a progress begin")


# --- the client: pytest-lsp's, answering as the editor ------------------------------------------------------

def _client_for(editor: Editor) -> LanguageClient:
    """pytest-lsp's test client, with progress creation recorded, the code-action parsing fixed, and
    workspace/applyEdit answered by `editor`."""
    default_create = DEFAULT_CLIENT_FEATURES[types.WINDOW_WORK_DONE_PROGRESS_CREATE]

    async def create(client: LanguageClient, params: types.WorkDoneProgressCreateParams) -> None:
        editor.created_tokens.append(params.token)
        if editor.hold_progress_create is not None:
            await editor.hold_progress_create.wait()
        return default_create(client, params)

    default_publish = DEFAULT_CLIENT_FEATURES[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def publish(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
        editor.publishes.append((params.uri, len(params.diagnostics)))
        return default_publish(client, params)

    client = LanguageClient(converter_factory=default_converter)
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, types.WINDOW_WORK_DONE_PROGRESS_CREATE: create,
                                   types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: publish})
    _fix_code_action_parsing(client)

    @client.feature("greenloop/status")
    def status(params: Any) -> None:
        editor.statuses.append(_plain(params))

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def lens_refresh(params: Any) -> None:
        editor.refreshes.append("codeLens")

    @client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
    def hint_refresh(params: Any) -> None:
        editor.refreshes.append("inlayHint")

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        editor.apply_requests.append(params)
        editor.apply_times.append(time.monotonic())
        if not editor.apply_answer:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="the user rejected the edit")
        for change in params.edit.document_changes or []:
            if not isinstance(change, types.TextDocumentEdit):
                continue
            uri = change.text_document.uri
            if uri not in editor.buffers:
                editor.open(str(Path(to_fs_path(uri) or "").relative_to(editor.root)))
            version = change.text_document.version
            if version is not None and version != editor.versions[uri]:  # as VS Code does: never over newer text
                editor.stale_versions.append((uri, version, editor.versions[uri]))
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="the document version changed")
        for change in params.edit.document_changes or []:
            if not isinstance(change, types.TextDocumentEdit):
                continue
            uri = change.text_document.uri
            editor._send_change(uri, apply_text_edits(editor.buffers[uri], list(change.edits)))
        for uri, edits in (params.edit.changes or {}).items():
            editor._send_change(uri, apply_text_edits(editor.buffers[uri], list(edits)))
        return types.ApplyWorkspaceEditResult(applied=True)

    return client


def _plain(value: Any) -> Any:
    """A custom notification's params as plain JSON values (pygls hands them over as namespace objects)."""
    if hasattr(value, "_asdict"):  # a namedtuple: before the tuple test
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value


def _fix_code_action_parsing(client: LanguageClient) -> None:
    """Structure `Command | CodeAction` as a Command only when its `command` is a string."""
    converter = client.protocol._converter

    def hook(obj: Any, _: Any) -> types.Command | types.CodeAction:
        if isinstance(obj, dict) and isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], hook)
