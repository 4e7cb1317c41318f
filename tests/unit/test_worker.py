"""The warm pytest worker: fork per run, fresh module state, the same results as a cold run, safe fallbacks."""

import asyncio
import sys
from pathlib import Path

import pytest

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


async def test_an_interpreter_that_cannot_start_the_worker_is_reported(tmp_path: Path) -> None:
    worker = PytestWorker(str(tmp_path / "missing-python"), tmp_path)
    with pytest.raises((WorkerUnavailable, OSError)):
        await worker.start()
