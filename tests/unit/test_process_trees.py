"""Whatever a test starts dies with its run, in whatever session or process group it put itself: cold runs and
warm runs, runs that end, runs stopped at a hung test, and runs whose caller gave up."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from processes import alive, pid_written

from greenloop.records import Outcome, Selection
from greenloop.run.pytest_runner import run_tests
from greenloop.run.worker import PytestWorker


def escaping_test(pidfile: Path, how: str, then: str = "return") -> str:
    """A test that starts `sleep 600` out of its process group (`how`: a new session, or a daemon's double fork),
    writes the sleeper's pid, then returns or hangs."""
    write = f"open({str(pidfile)!r}, 'w').write(str(pid))"
    start = {
        "session": f"pid = subprocess.Popen(['sleep', '600'], start_new_session=True).pid\n    {write}",
        "daemon": ("child = os.fork()\n"
                   "    if child == 0:\n"
                   "        os.setsid()\n"
                   "        if os.fork():\n"
                   "            os._exit(0)\n"
                   "        pid = os.getpid()\n"
                   f"        {write}\n"
                   "        os.execvp('sleep', ['sleep', '600'])\n"
                   "    os.waitpid(child, 0)\n"
                   "    while not (os.path.exists(%r) and os.path.getsize(%r)):\n"
                   "        time.sleep(0.01)" % (str(pidfile), str(pidfile))),
    }[how]
    end = {"return": "", "hang": "    time.sleep(600)\n"}[then]
    return f"import os, subprocess, time\n\n\ndef test_escape():\n    {start}\n{end}"


async def gone(pid: int, within: float = 5.0) -> bool:
    for _ in range(int(within / 0.05)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return not alive(pid)


@pytest.mark.parametrize("how", ["session", "daemon"])
async def test_a_cold_run_takes_what_its_tests_started_with_it(make_project, tmp_path: Path, how: str) -> None:
    pidfile = tmp_path / "escaped.pid"
    root = make_project({"tests/test_escape.py": escaping_test(pidfile, how)})
    run = await run_tests(root, sys.executable, Selection(whole_project=True), 30)
    assert [r.outcome for r in run.results] == [Outcome.PASSED]
    assert await gone(int(pidfile.read_text()))


@pytest.mark.parametrize("how", ["session", "daemon"])
async def test_a_warm_run_takes_what_its_tests_started_with_it(make_project, tmp_path: Path, how: str) -> None:
    pidfile = tmp_path / "escaped.pid"
    root = make_project({"tests/test_escape.py": escaping_test(pidfile, how)})
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    try:
        run = await worker.run(Selection(whole_project=True), 30)
        assert [r.outcome for r in run.results] == [Outcome.PASSED]
        assert await gone(int(pidfile.read_text()))
        again = await worker.run(Selection(whole_project=True), 30)  # the worker itself is still serving
        assert [r.outcome for r in again.results] == [Outcome.PASSED]
        assert await gone(int(pidfile.read_text()))
    finally:
        await worker.close()


async def test_a_hung_test_stopped_at_its_timeout_takes_its_escaped_children_too(make_project,
                                                                               tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    root = make_project({"tests/test_escape.py": escaping_test(pidfile, "session", then="hang")})
    run = await run_tests(root, sys.executable, Selection(whole_project=True), 2)
    assert [r.outcome for r in run.results] == [Outcome.TIMEOUT]
    assert await gone(int(pidfile.read_text()))


async def test_a_cancelled_cold_run_takes_its_escaped_children_too(make_project, tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    root = make_project({"tests/test_escape.py": escaping_test(pidfile, "session", then="hang")})
    task = asyncio.ensure_future(run_tests(root, sys.executable, Selection(whole_project=True), 60))
    await pid_written(pidfile)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await gone(int(pidfile.read_text()))


async def test_closing_the_worker_mid_run_takes_its_escaped_children_too(make_project, tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    root = make_project({"tests/test_escape.py": escaping_test(pidfile, "session", then="hang")})
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    task = asyncio.ensure_future(worker.run(Selection(whole_project=True), 60))
    await pid_written(pidfile)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await worker.close()
    assert await gone(int(pidfile.read_text()))
