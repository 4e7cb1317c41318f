"""A newer save supersedes a running check: nothing computed from the older text is published after it."""

import asyncio
import sys
import time
from pathlib import Path

from greenloop.engine import CheckReport
from greenloop.lsp.session import Channel, ProjectSession

SETTINGS = {"python": sys.executable, "type_checker": "off", "watch": False}


class Editor:
    """What the session publishes and says, in order (the session's port to an editor)."""

    def __init__(self) -> None:
        self.published: list[tuple[float, list[str]]] = []
        self.messages: list[str] = []

    def channel(self) -> Channel:
        return Channel(publish=self.publish, show=lambda level, text: self.messages.append(text),
                       log=lambda text: None)

    def publish(self, report: CheckReport) -> None:
        self.published.append((time.monotonic(), sorted(f.code or "" for f in report.findings)))


async def settle(session: ProjectSession, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while session.busy and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not session.busy


async def test_a_newer_save_supersedes_the_running_check(make_project) -> None:
    root = make_project({
        "lib.py": "def value():\n    return 1\n",
        "tests/test_lib.py": """
            import time

            import lib


            def test_value_now():
                assert lib.value() == 2


            def test_value_later():
                time.sleep(1.5)
                assert lib.value() == 2
            """,
    })
    editor = Editor()
    session = ProjectSession(root, editor.channel(), [(SETTINGS, "test")])
    try:
        session.request({root / "lib.py"})
        deadline = time.monotonic() + 30
        while not any(codes for _, codes in editor.published) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # the first failure streams in while test_value_later still sleeps
        assert session.busy
        (root / "lib.py").write_text("def value():\n    return 2\n")
        fixed_at = time.monotonic()
        session.request({root / "lib.py"})
        await settle(session)
    finally:
        await session.close()
    after = [codes for at, codes in editor.published if at > fixed_at]
    assert after, "the newer check published its results"
    assert all("tests/test_lib.py::test_value_later" not in codes for codes in after)
    assert after[-1] == []
