"""End-to-end fixtures: the real `greenloop serve` as a subprocess, driven over stdio by pytest-lsp's client."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client
from pygls.uris import from_fs_path

SERVER = [sys.executable, "-m", "greenloop", "serve"]


class Editor:
    """A thin editor stand-in: open, edit and save files of one workspace, and read what the server published."""

    def __init__(self, client: LanguageClient, root: Path) -> None:
        self.client = client
        self.root = root
        self.versions: dict[str, int] = {}

    def uri(self, rel: str) -> str:
        return from_fs_path(str(self.root / rel)) or ""

    def save(self, rel: str, text: str | bytes | None = None) -> None:
        """Write the file (as an editor would on save) and send didOpen/didChange/didSave."""
        path = self.root / rel
        if text is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text)
        uri = self.uri(rel)
        content = path.read_bytes().decode("utf-8", errors="replace") if path.exists() else ""
        if uri not in self.versions:
            self.versions[uri] = 1
            self.client.text_document_did_open(types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=content)))
        else:
            self.versions[uri] += 1
            self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=content)]))
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    def diagnostics(self, rel: str, source: str | None = None) -> list[types.Diagnostic]:
        found = list(self.client.diagnostics.get(self.uri(rel), []))
        return [d for d in found if source is None or d.source == source]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Poll until `predicate()` is truthy (pytest-lsp can miss notifications that already arrived)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s; diagnostics: {self.client.diagnostics}; "
                             f"messages: {[m.message for m in self.client.messages]}; "
                             f"log: {[m.message[:300] for m in self.client.log_messages][-40:]}")

    def reset(self) -> None:
        self.client.diagnostics.clear()


@pytest_asyncio.fixture
async def start_editor() -> AsyncIterator[Callable[..., Any]]:
    """Start the real server for a workspace: `editor = await start_editor(root, init_options=...)`."""
    clients: list[LanguageClient] = []

    async def start(root: Path, init_options: Any = None, env: dict[str, str] | None = None) -> Editor:
        client = make_test_lsp_client()
        environment = {**os.environ, **(env or {})}
        await client.start_io(*SERVER, env=environment, cwd=str(root))
        clients.append(client)
        await client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=from_fs_path(str(root)),
            workspace_folders=[types.WorkspaceFolder(uri=from_fs_path(str(root)) or "", name=root.name)],
            initialization_options=init_options,
        ))
        return Editor(client, root)

    yield start
    for client in clients:
        try:
            await asyncio.wait_for(client.shutdown_session(), 10)
        except Exception:
            pass
        await client.stop()
