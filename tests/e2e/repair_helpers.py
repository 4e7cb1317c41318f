"""Helpers of the repair end-to-end tests: a demo workspace, an editor stand-in that answers the server's
requests (workspace/applyEdit, window/showDocument, progress), and the stub model.

The server is the real `greenloop serve` subprocess; the client is pytest-lsp's, customised here:

- `workspace/applyEdit` is answered by the test (`editor.apply_answer`); an accepted edit is applied to the
  editor's buffer and sent back as didChange, as an editor would; an edit for an older document version is
  refused, as VS Code does. Nothing is ever written to disk by the client.
- lsprotocol 2025.0.0's client-side parsing turns every code action that carries a `command` into a `Command`
  (see /work/shared/FIELD-NOTES.md): a structure hook picks `Command` only when `command` is a string.
- Capabilities: VS Code's, or a plain client without change annotations and without workDoneProgress.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Union

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

from stub_model import Call, Reply, StubModel, search_replace

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo"
SERVER = [sys.executable, "-m", "greenloop", "serve"]

PRICING = "shop/pricing.py"
CART_TESTS = "tests/test_cart.py"
BUGGY_LINE = "    return total_cents - total_cents * percent // 10"
FIXED_LINE = "    return total_cents - total_cents * percent // 100"
BUGGY_LINE_INDEX = 17  # 0-based: shop/pricing.py:18
COUPON = "tests/test_cart.py::test_coupon_takes_ten_percent_off"
ROUNDING = "tests/test_cart.py::test_discount_rounds_down_to_the_cent"
MODEL = "openai/gpt-4o-mini"
FIX = search_replace(PRICING, BUGGY_LINE, FIXED_LINE, "apply_discount divides by 10 instead of 100")
PROSE = "Hypothesis: the discount looks wrong somewhere in pricing, but I am not sure where."


# --- the workspace ------------------------------------------------------------------------------------------

def copy_demo(dest: Path, **settings: Any) -> Path:
    """A private copy of examples/demo with `[tool.greenloop]` replaced: no type checker, plus `settings`."""
    shutil.copytree(DEMO, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".greenloop",
                                                              ".venv", "*.pyc"))
    values = {"type_checker": "off", "test_timeout": 30, **settings}
    lines = []
    for key, value in values.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        else:
            lines.append(f"{key} = {value}")
    pyproject = dest / "pyproject.toml"
    text = pyproject.read_text()
    head = text.split("[tool.greenloop]")[0]
    pyproject.write_text(head + "[tool.greenloop]\n" + "\n".join(lines) + "\n")
    return dest


def ledger_actions(root: Path) -> list[tuple[int, str | None]]:
    """(id, user_action) of every repair in the workspace's ledger."""
    path = root / ".greenloop" / "ledger.sqlite3"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return [(row[0], row[1]) for row in db.execute("SELECT id, user_action FROM repairs ORDER BY id")]
    except sqlite3.OperationalError:  # the server made the file and has not yet created its tables
        return []
    finally:
        db.close()


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


def _fix_code_action_parsing(client: LanguageClient) -> None:
    """Structure `Command | CodeAction` as a Command only when its `command` is a string."""
    converter = client.protocol._converter

    def hook(obj: Any, _: Any) -> types.Command | types.CodeAction:
        if isinstance(obj, dict) and isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], hook)


# --- the editor ---------------------------------------------------------------------------------------------

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


class RepairEditor:
    """An editor stand-in for one workspace: buffers with versions, and answers to the server's requests."""

    def __init__(self, client: LanguageClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.versions: dict[str, int] = {}
        self.buffers: dict[str, str] = {}
        self.apply_answer = True
        self.apply_requests: list[types.ApplyWorkspaceEditParams] = []
        self.apply_times: list[float] = []
        self.created_tokens: list[Any] = []  # window/workDoneProgress/create, in order
        self.hold_progress_create: asyncio.Event | None = None  # when set: answer create only once it is set
        self.stale_versions: list[tuple[str, int, int]] = []  # edits refused: (uri, edit's version, buffer's)

    # -- files and buffers --

    def uri(self, rel: str) -> str:
        return from_fs_path(str(self.root / rel)) or ""

    def open(self, rel: str) -> None:
        uri = self.uri(rel)
        if uri in self.versions:
            return
        text = (self.root / rel).read_text()
        self.versions[uri], self.buffers[uri] = 1, text
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    def change(self, rel: str, text: str) -> None:
        """Type into the buffer (unsaved): didChange with the whole new text."""
        self.open(rel)
        uri = self.uri(rel)
        self._send_change(uri, text)

    def _send_change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.buffers[uri] = text
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    def save(self, rel: str, text: str | None = None) -> None:
        """Write `text` (or the buffer) to disk and send didChange/didSave, as an editor's save does."""
        self.open(rel)
        uri = self.uri(rel)
        if text is not None:
            self._send_change(uri, text)
        (self.root / rel).write_text(self.buffers[uri])
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    def buffer(self, rel: str) -> str:
        return self.buffers[self.uri(rel)]

    def version(self, rel: str) -> int:
        return self.versions[self.uri(rel)]

    # -- what the server sent --

    def diagnostics(self, rel: str, source: str | None = "greenloop") -> list[types.Diagnostic]:
        found = list(self.client.diagnostics.get(self.uri(rel), []))
        return [d for d in found if source is None or d.source == source]

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
        return (f"messages: {self.messages()}; applyEdit: {len(self.apply_requests)}; "
                f"progress: {self.client.progress_reports}; "
                f"log: {[m.message[:300] for m in self.client.log_messages][-30:]}")

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
        """Poll until `predicate()` is truthy."""
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

    def cancel_progress(self, token: Any) -> None:
        self.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))

    # -- waiting for the repair loop --

    async def failure_diagnostics(self, timeout: float = 30.0) -> list[types.Diagnostic]:
        """Save the demo's pricing module and wait for the failing-test diagnostics on the cart tests."""
        self.open(CART_TESTS)
        self.save(PRICING)
        return await self.wait_for(lambda: len(self.diagnostics(CART_TESTS)) >= 2 and self.diagnostics(CART_TESTS),
                                   timeout, "failure diagnostics on tests/test_cart.py")

    async def progress_token(self, timeout: float = 30.0) -> Any:
        """The token of the (latest) repair's progress once it has begun."""
        def begun() -> Any:
            tokens = [t for t, values in self.client.progress_reports.items()
                      if any(isinstance(v, types.WorkDoneProgressBegin) for v in values)
                      and not any(isinstance(v, types.WorkDoneProgressEnd) for v in values)]
            return tokens[-1] if tokens else None
        return await self.wait_for(begun, timeout, "a progress begin")


def make_client(holder: dict[str, RepairEditor]) -> LanguageClient:
    """pytest-lsp's test client, with progress creation recorded and the code-action parsing fixed."""
    default_create = DEFAULT_CLIENT_FEATURES[types.WINDOW_WORK_DONE_PROGRESS_CREATE]

    async def create(client: LanguageClient, params: types.WorkDoneProgressCreateParams) -> None:
        editor = holder["editor"]
        editor.created_tokens.append(params.token)
        if editor.hold_progress_create is not None:
            await editor.hold_progress_create.wait()
        return default_create(client, params)

    client = LanguageClient(converter_factory=default_converter)
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, types.WINDOW_WORK_DONE_PROGRESS_CREATE: create})
    _fix_code_action_parsing(client)
    register_editor_handlers(client, holder)
    return client


def register_editor_handlers(client: LanguageClient, holder: dict[str, RepairEditor]) -> None:
    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        editor = holder["editor"]
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


# --- fixtures -----------------------------------------------------------------------------------------------

@pytest_asyncio.fixture
async def repair_editor() -> AsyncIterator[Callable[..., Any]]:
    """`editor = await repair_editor(root, capabilities=..., init_options=...)`: the real server on `root`."""
    clients: list[LanguageClient] = []

    async def start(root: Path, capabilities: types.ClientCapabilities | None = None,
                    init_options: Any = None) -> RepairEditor:
        holder: dict[str, RepairEditor] = {}
        client = make_client(holder)
        editor = holder["editor"] = RepairEditor(client, root)
        await client.start_io(*SERVER, env=dict(os.environ), cwd=str(root))
        clients.append(client)
        await client.initialize_session(types.InitializeParams(
            capabilities=capabilities or vscode_capabilities(),
            root_uri=from_fs_path(str(root)),
            workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(root)) or "", name=root.name)],
            initialization_options=init_options,
        ))
        return editor

    yield start
    for client in clients:
        try:
            await asyncio.wait_for(client.shutdown_session(), 15)
        except Exception:
            pass
        await client.stop()


def _unscripted(call: Call) -> Reply:
    return Reply("(no script)")


@pytest.fixture(scope="session")
def stub_model_server() -> Iterator[StubModel]:
    model = StubModel(_unscripted).start()
    yield model
    model.stop()


@pytest.fixture
def model_gate() -> Iterator[threading.Event]:
    """Released at teardown, so a reply that waits on it never outlives its test."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def stub_model(stub_model_server: StubModel, model_gate: threading.Event) -> Iterator[Callable[..., StubModel]]:
    """`model = stub_model(script)`: the session's stub model answering with `script` for this test."""

    def use(script: Callable[[Call], Reply]) -> StubModel:
        stub_model_server.script = script
        stub_model_server.calls.clear()
        return stub_model_server

    yield use
    model_gate.set()
    stub_model_server.script = _unscripted


def gated(gate: threading.Event, content: str, seconds: float = 60.0) -> Callable[[Call], Reply]:
    """A model that answers `content` only once the test sets `gate` (or after `seconds`)."""

    def script(call: Call) -> Reply:
        gate.wait(seconds)
        return Reply(content)

    return script


def always(content: str) -> Callable[[Call], Reply]:
    return lambda call: Reply(content)


def model_settings(stub: StubModel, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "api_base": stub.api_base, **extra}


async def demo_editor(start: Callable[..., Any], directory: Path, capabilities: types.ClientCapabilities | None = None,
                      **settings: Any) -> tuple[Path, RepairEditor]:
    """A fresh copy of the demo with `settings`, the server started on it, and shop/pricing.py open."""
    root = copy_demo(directory / "demo", **settings)
    editor = await start(root, capabilities=capabilities)
    editor.open(PRICING)
    return root, editor


def title_of(action: Any) -> str:
    return getattr(action, "title", "")


def by_title(actions: list[Any], title: str) -> list[Any]:
    return [a for a in actions if title_of(a) == title]
