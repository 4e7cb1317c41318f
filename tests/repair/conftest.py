"""Fixtures of the repair tests: the stub model server and copies of examples/demo."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from repairkit import copy_demo, use_script
from stub_model import Call, Reply, StubModel

Script = Callable[[Call], Reply]


def _unscripted(call: Call) -> Reply:
    return Reply("(no script: a request arrived between tests)")


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StubModel]:
    """One StubModel on 127.0.0.1 for the session (stopping one costs half a second); tests swap its script."""
    model = StubModel(_unscripted).start()
    yield model
    model.stop()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Released at teardown: a scripted reply that hangs on it never outlives its test."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def stub(stub_server: StubModel, gate: threading.Event) -> Iterator[Callable[[Script], StubModel]]:
    """`model = stub(script)`: the session's stub model, answering with `script` for this test."""
    yield lambda script: use_script(stub_server, script)
    gate.set()
    use_script(stub_server, _unscripted)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A private copy of examples/demo: the bug is `// 10` instead of `// 100` in shop/pricing.py:18."""
    return copy_demo(tmp_path / "demo")
