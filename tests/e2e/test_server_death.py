"""When the server dies (the editor quits, the server crashes or is killed), nothing the tests started lives on:
not the warm worker's runs, not cold pytest runs, not what their tests put in a session of its own."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from processes import alive

ESCAPING_TEST = """import subprocess
import time


def test_escape():
    sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)
    open({pidfile!r}, "w").write(str(sleeper.pid))
    time.sleep(600)
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
async def test_a_killed_server_takes_the_running_tests_and_their_escaped_children(make_project, start_editor,
                                                                                 tmp_path: Path, how) -> None:
    pidfile = tmp_path / "sleeper.pid"
    root = make_project({"lib.py": "X = 1\n",
                         "tests/test_escape.py": ESCAPING_TEST.format(pidfile=str(pidfile))})
    editor = await start_editor(root)
    editor.save("lib.py")
    await editor.wait_for(lambda: pidfile.exists() and pidfile.read_text(), 30)
    sleeper = int(pidfile.read_text())
    assert alive(sleeper)
    os.kill(editor.client._server.pid, how)  # pygls' client keeps the server's asyncio subprocess here
    await editor.wait_for(lambda: not alive(sleeper), 10)
