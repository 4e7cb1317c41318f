"""End-to-end fixtures: the real `greenloop serve` as a subprocess, driven by the editor stand-in of
tests/e2e/editor.py. The stub model's fixtures (`stub`, `gate`, `stub_server`) are in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from editor import Editor
from lsprotocol import types


@pytest_asyncio.fixture
async def start_editor() -> AsyncIterator[Callable[..., Awaitable[Editor]]]:
    """Start the real server for a workspace: `editor = await start_editor(root, init_options=..., env=...,
    capabilities=...)` (VS Code's capabilities by default; see editor.plain_capabilities). Stopped at teardown."""
    editors: list[Editor] = []

    async def start(root: Path, init_options: Any = None, env: dict[str, str] | None = None,
                    capabilities: types.ClientCapabilities | None = None) -> Editor:
        editor = Editor(root)
        editors.append(editor)
        await editor.start(capabilities, init_options, env)
        return editor

    yield start
    for editor in editors:
        await editor.stop()
