"""Helpers of the repair end-to-end tests: a copy of examples/demo (tests/demokit.py) opened in the editor
stand-in (tests/e2e/editor.py) with the server pointed at the stub model, and what the ledger recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from demokit import MODEL, PRICING, copy_demo
from editor import Editor
from lsprotocol import types
from stub_model import StubModel


def model_settings(stub: StubModel, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "api_base": stub.api_base, **extra}


async def demo_editor(start: Callable[..., Any], directory: Path, capabilities: types.ClientCapabilities | None = None,
                      **settings: Any) -> tuple[Path, Editor]:
    """A fresh copy of the demo with `settings`, the server started on it (`start`: the `start_editor`
    fixture), and shop/pricing.py open."""
    root = copy_demo(directory / "demo", **settings)
    editor = await start(root, capabilities=capabilities)
    editor.open(PRICING)
    return root, editor


def title_of(action: Any) -> str:
    return getattr(action, "title", "")


def by_title(actions: list[Any], title: str) -> list[Any]:
    return [a for a in actions if title_of(a) == title]
