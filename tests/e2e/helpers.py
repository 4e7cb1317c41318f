"""Small helpers for the end-to-end tests: reading what the server said, and waiting for it."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

# The fixed version of tests/conftest.py's BUGGY "mathx/ops.py": every test of tests/test_ops.py passes.
FIXED_OPS = '''\
def add(a, b):
    return a + b


def div(a, b):
    return a / b if b else 0


def identity(x):
    return x
'''

BUGGY_OPS = '''\
def add(a, b):
    return a - b


def div(a, b):
    return a / b


def identity(x):
    return x
'''

# 0-based lines in BUGGY (tests/test_ops.py and mathx/ops.py).
TEST_ADD_ASSERT = 4
TEST_DIV_ASSERT = 8
OPS_SUBTRACT = 1
OPS_DIVIDE = 5

ADD_ID = "tests/test_ops.py::test_add"
DIV_ID = "tests/test_ops.py::test_div"
OK_ID = "tests/test_ops.py::test_ok"


def shown(editor: Any) -> list[str]:
    """Texts of every window/showMessage so far."""
    return [m.message for m in editor.client.messages]


def logged(editor: Any) -> list[str]:
    return [m.message for m in editor.client.log_messages]


def by_code(diagnostics: list[types.Diagnostic], code: str) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.code == code]


def published(editor: Any, rel: str) -> bool:
    """Whether the server has published diagnostics (possibly an empty list) for `rel` since the last reset."""
    return editor.uri(rel) in editor.client.diagnostics


def published_empty(editor: Any, rel: str) -> bool:
    return published(editor, rel) and list(editor.client.diagnostics[editor.uri(rel)]) == []


async def settle(seconds: float) -> None:
    """Give the server time to do something it should *not* do (for negative checks)."""
    await asyncio.sleep(seconds)


async def checks_done(editor: Any, count: int = 1, timeout: float = 30.0) -> None:
    """Wait until the server has logged the end of `count` checks, and for what it publishes right after."""
    await editor.wait_for(lambda: sum("check done" in m for m in logged(editor)) >= count, timeout)
    await asyncio.sleep(0.3)


async def wait_until_serving(editor: Any, timeout: float = 15.0) -> None:
    """Wait until the workspace session exists (it logs its settings when configured), so its watcher is up."""
    await editor.wait_for(lambda: any("settings" in m for m in logged(editor)), timeout)
    await asyncio.sleep(0.3)


def change_settings(editor: Any, settings: Any) -> None:
    editor.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))
