"""Fixtures of the repair tests: the stub model server and copies of examples/demo."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from repairkit import DEMO
from stub_model import Call, Reply, StubModel

Script = Callable[[Call], Reply]


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Released at teardown, before the stubs stop: a hung scripted reply never outlives its test."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def stub(gate: threading.Event) -> Iterator[Callable[[Script], StubModel]]:
    """`model = stub(script)`: a started StubModel on 127.0.0.1, stopped after the test."""
    started: list[StubModel] = []

    def start(script: Script) -> StubModel:
        model = StubModel(script).start()
        started.append(model)
        return model

    yield start
    gate.set()
    for model in started:
        model.stop()


def copy_demo(destination: Path) -> Path:
    """examples/demo with the type checker off (fast) and greenloop's own interpreter pinned for the CLI."""
    shutil.copytree(DEMO, destination,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".mypy_cache", ".greenloop"))
    pyproject = destination / "pyproject.toml"
    text = pyproject.read_text().replace('type_checker = "basedpyright"', 'type_checker = "off"')
    assert 'type_checker = "off"' in text
    pyproject.write_text(text + f'python = "{sys.executable}"\n')
    return destination


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A private copy of examples/demo: the bug is `// 10` instead of `// 100` in shop/pricing.py:18."""
    return copy_demo(tmp_path / "demo")
