"""The warm pytest worker: fork per run, fresh module state, the same results as a cold run, safe fallbacks."""

import asyncio
import sys
import tempfile
from pathlib import Path

import pytest
from processes import alive, pid_written

from greenloop.records import Outcome, Selection
from greenloop.run.pytest_runner import run_tests
from greenloop.run.worker import PytestWorker, WorkerUnavailable


COUNTER = {
    "state.py": "COUNT = 0\n",
    "tests/test_state.py": """
        import state

        def test_starts_fresh():
            state.COUNT += 1
            assert state.COUNT == 1
        """,
    "tests/test_other.py": "def test_fails():\n    assert 1 == 2\n",
}


async def test_each_run_starts_from_fresh_module_state_and_matches_a_cold_run(make_project) -> None:
    root = make_project(COUNTER)
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    try:
        selection = Selection(whole_project=True)
        runs = [await worker.run(selection, 30) for _ in range(3)]
    finally:
        await worker.close()
    cold = await run_tests(root, sys.executable, selection, 30)
    expected = {(r.nodeid, r.outcome) for r in cold.results}
    assert expected == {("tests/test_other.py::test_fails", Outcome.FAILED),
                        ("tests/test_state.py::test_starts_fresh", Outcome.PASSED)}
    assert all({(r.nodeid, r.outcome) for r in run.results} == expected for run in runs)


async def test_a_run_does_not_collect_what_the_worker_holds(make_project) -> None:
    """The worker freezes its objects before forking: the child's garbage collections skip pytest and the
    preloaded packages (walking them, and copying every page they touch, cost 50 ms a run on more-itertools)."""
    root = make_project({"tests/test_gc.py": """
        import gc

        def test_worker_objects_are_frozen():
            assert gc.get_freeze_count() > 10_000
        """})
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    try:
        run = await worker.run(Selection(whole_project=True), 30)
    finally:
        await worker.close()
    assert [(r.nodeid, r.outcome) for r in run.results] == [
        ("tests/test_gc.py::test_worker_objects_are_frozen", Outcome.PASSED)]


async def test_stop_at_first_failure_is_honoured(make_project) -> None:
    root = make_project(COUNTER)
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    try:
        run = await worker.run(Selection(nodeids=["tests/test_other.py::test_fails",
                                                  "tests/test_state.py::test_starts_fresh"]), 30, extra=["-x"])
    finally:
        await worker.close()
    assert [r.nodeid for r in run.results] == ["tests/test_other.py::test_fails"]


async def test_a_hung_run_is_killed_at_its_timeout_and_the_worker_goes_on(make_project) -> None:
    root = make_project({**COUNTER, "tests/test_hang.py": "import time\n\ndef test_hang():\n    time.sleep(600)\n"})
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    try:
        hung = await asyncio.wait_for(worker.run(Selection(nodeids=["tests/test_hang.py::test_hang"]), 2), 30)
        after = await worker.run(Selection(nodeids=["tests/test_state.py::test_starts_fresh"]), 30)
    finally:
        await worker.close()
    assert hung.timed_out and hung.results[0].outcome is Outcome.TIMEOUT
    assert after.results[0].outcome is Outcome.PASSED


async def test_a_preloaded_module_that_starts_a_thread_makes_the_worker_refuse_to_fork(make_project) -> None:
    root = make_project({**COUNTER, "threaded_lib.py": "import threading, time\n"
                         "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"})
    worker = PytestWorker(sys.executable, root, preload=["threaded_lib"], pythonpath=[root])
    with pytest.raises(WorkerUnavailable, match="not fork-safe"):
        await worker.start()


async def test_an_interpreter_that_cannot_start_the_worker_is_reported_and_leaves_nothing_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    worker = PytestWorker(str(tmp_path / "missing-python"), tmp_path)
    with pytest.raises((WorkerUnavailable, OSError)):
        await worker.start()
    assert list(temp.iterdir()) == []  # its scratch folder is gone with it


SLOW_AND_STUCK = {
    "lib.py": "class Box:\n    def get(self):\n        return 1\n",
    "tests/test_mix.py": """
        import signal
        import time
        from lib import Box

        def test_first():
            assert Box().get() == 1

        def test_sleeps():
            time.sleep(600)

        def test_spins():
            while True:
                pass

        def test_blocks_the_alarm():
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(600)

        def test_last():
            pass
        """,
}


async def test_warm_runs_time_out_per_test_kill_a_stuck_child_and_resume_in_a_new_fork(make_project) -> None:
    root = make_project(SLOW_AND_STUCK)
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    seen = []
    try:
        run = await worker.run(Selection(whole_project=True), 1, on_result=seen.append)
        again = await worker.run(Selection(nodeids=["tests/test_mix.py::test_first"]), 1)
    finally:
        await worker.close()
    outcomes = {r.nodeid.rsplit("::", 1)[-1]: r.outcome for r in run.results}
    assert outcomes == {"test_first": Outcome.PASSED, "test_sleeps": Outcome.TIMEOUT, "test_spins": Outcome.TIMEOUT,
                        "test_blocks_the_alarm": Outcome.TIMEOUT, "test_last": Outcome.PASSED}
    assert seen == run.results and run.problem is None and run.exit_code == 1
    assert [r.outcome for r in again.results] == [Outcome.PASSED]


async def test_warm_runs_stream_order_and_record_functions_like_cold_runs(make_project) -> None:
    root = make_project({**SLOW_AND_STUCK, "tests/test_mix.py": "from lib import Box\n\ndef test_a():\n    pass\n\n"
                         "def test_b():\n    assert Box().get() == 1\n"})
    order = ["tests/test_mix.py::test_b"]
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    seen = []
    try:
        warm = await worker.run(Selection(whole_project=True), 5, on_result=seen.append, record_functions=True,
                                order=order)
    finally:
        await worker.close()
    cold = await run_tests(root, sys.executable, Selection(whole_project=True), 5, record_functions=True, order=order)
    assert [r.nodeid for r in warm.results] == ["tests/test_mix.py::test_b", "tests/test_mix.py::test_a"]
    assert seen == warm.results
    assert [(r.nodeid, r.outcome, r.functions) for r in warm.results] == [
        (r.nodeid, r.outcome, r.functions) for r in cold.results]
    assert {name for _, name, _ in warm.results[0].functions or []} >= {"test_b", "Box.get"}


async def test_a_cancelled_warm_run_leaves_nothing_running_and_the_worker_usable(make_project, tmp_path) -> None:
    pidfile = tmp_path / "pid"
    root = make_project({**COUNTER, "tests/test_hang.py": f"import os, time\n\ndef test_hang():\n"
                         f"    open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n    time.sleep(600)\n"})
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    try:
        task = asyncio.ensure_future(worker.run(Selection(nodeids=["tests/test_hang.py::test_hang"]), 600))
        await pid_written(pidfile, 100)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        after = await asyncio.wait_for(worker.run(Selection(nodeids=["tests/test_state.py::test_starts_fresh"]), 30), 30)
    finally:
        await worker.close()
    assert [r.outcome for r in after.results] == [Outcome.PASSED]
    assert not alive(int(pidfile.read_text()))


async def test_a_worker_is_stale_once_packages_change_or_it_dies(make_project, tmp_path: Path) -> None:
    root = make_project(COUNTER)
    packages = tmp_path / "site-packages"  # a folder of installed packages, as a venv has
    packages.mkdir()
    worker = PytestWorker(sys.executable, root, pythonpath=[packages])
    await worker.start()
    try:
        assert worker.fresh()
        (packages / "newly_installed.py").write_text("")
        assert not worker.fresh()
    finally:
        await worker.close()
    other = PytestWorker(sys.executable, root)
    await other.start()
    try:
        assert other.fresh()
        assert other._proc is not None
        other._proc.kill()
        await other._proc.wait()
        assert not other.fresh()
    finally:
        await other.close()


async def test_processes_a_passing_test_leaves_behind_end_with_its_run(make_project, tmp_path) -> None:
    """A test may start a helper and never stop it: the run's end takes the helper with it."""
    pidfile = tmp_path / "helper.pid"
    root = make_project({"tests/test_leaves.py": f"""
        import subprocess
        import sys

        def test_starts_a_helper():
            helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            with open({str(pidfile)!r}, "w") as out:
                out.write(str(helper.pid))
        """})
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    try:
        run = await worker.run(Selection(whole_project=True), 30)
        assert [r.outcome for r in run.results] == [Outcome.PASSED]
        pid = int(pidfile.read_text())
        for _ in range(100):
            if not alive(pid):
                break
            await asyncio.sleep(0.05)
        assert not alive(pid), f"the helper {pid} outlived the run"
    finally:
        await worker.close()


PYPROJECT_WARNINGS_ARE_ERRORS = """
[tool.pytest.ini_options]
filterwarnings = ["error"]
asyncio_default_fixture_loop_scope = "function"  # else pytest-asyncio's own warning fails cold runs too
"""


async def test_a_project_that_turns_warnings_into_errors_runs_warm(make_project) -> None:
    """Preloaded pytest plugins (xdist here) must not trip pytest's "already imported, cannot be rewritten"
    warning, which `filterwarnings = error` (networkx does this) turns into a failed start."""
    root = make_project({**COUNTER, "pyproject.toml": PYPROJECT_WARNINGS_ARE_ERRORS})
    worker = PytestWorker(sys.executable, root)
    await worker.start()
    try:
        assert any(name.startswith("xdist") for name in worker.greeting["preloaded"])
        run = await worker.run(Selection(whole_project=True), 30)
    finally:
        await worker.close()
    assert run.problem is None, run.problem
    assert {r.nodeid for r in run.results} == {"tests/test_other.py::test_fails",
                                                "tests/test_state.py::test_starts_fresh"}
