"""Shared fixtures: small real projects written into a temporary directory, the isolation mechanism, and the
test-owned stub model (tests/stub_model.py) that the repair tests of tests/repair and tests/e2e talk to."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from stub_model import Call, Reply, Script, StubModel

from greenloop.run import contain


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> content; str content is dedented) under `root` and return `root`."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """`root = make_project({"pkg/mod.py": "...", ...})`: a project with a pyproject.toml marking its root."""

    def make(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        files = {"pyproject.toml": "[tool.greenloop]\ntype_checker = \"off\"\n", **files}
        return write_files(root, files)

    return make


# A project with one bug: `mathx.add` subtracts. `test_add` fails on a returned value (no frame in source);
# `test_div` fails with an exception raised inside the source; `test_ok` passes.
BUGGY = {
    "mathx/__init__.py": "",
    "mathx/ops.py": """
        def add(a, b):
            return a - b


        def div(a, b):
            return a / b


        def identity(x):
            return x
        """,
    "tests/test_ops.py": """
        from mathx.ops import add, div, identity


        def test_add():
            assert add(2, 2) == 4


        def test_div():
            assert div(1, 0) == 0


        def test_ok():
            assert identity(3) == 3
        """,
}


@pytest.fixture
def buggy_project(make_project: Callable[[dict[str, str | bytes]], Path]) -> Path:
    return make_project(BUGGY)


@pytest.fixture(params=["bubblewrap", "unshare"])
def mechanism(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Full isolation by the mechanism named: bubblewrap, or the `unshare` fallback (forced by reporting
    bubblewrap as unusable: only which real mechanism runs is chosen, nothing of it is faked)."""
    if request.param == "bubblewrap":
        if contain.bubblewrap() is None:
            pytest.skip("bubblewrap is not installed or cannot run here")
    else:
        if not contain.unshare_namespaces():
            pytest.skip("unshare cannot build the sandbox here: no unshare, or no mount and PID namespaces "
                        "for this user (not root, and user namespaces forbidden)")
        monkeypatch.setattr(contain, "bubblewrap", lambda: None)
    return request.param


# --- the stub model -----------------------------------------------------------------------------------------

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
    """Released at teardown: a scripted reply that waits on it (`gated`, `hang`) never outlives its test."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def stub(stub_server: StubModel, gate: threading.Event) -> Iterator[Callable[[Script], StubModel]]:
    """`model = stub(script)`: the session's stub model, answering with `script` for this test."""
    yield stub_server.use
    gate.set()
    stub_server.use(_unscripted)
