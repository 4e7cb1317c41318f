"""Two cores with pytest-xdist: the same results as one process, each test once, and a note when xdist is missing.
The xdist workers may be forked by the warm worker (`Spawn`): the same results, and nothing outlives the run."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

from greenloop.records import Outcome, Selection
from greenloop.run import pytest_runner
from greenloop.run.pytest_runner import run_tests
from greenloop.run.request import Spawn
from greenloop.run.scheduler import SPREAD_AT, Scheduler
from greenloop.run.worker import PytestWorker

EVERYTHING = Selection(whole_project=True)

MIXED = {
    "lib.py": "def double(x):\n    return 2 * x\n",
    "tests/test_one.py": """
        import time
        from lib import double

        def test_passes():
            assert double(2) == 4

        def test_fails():
            assert double(2) == 5

        def test_sleeps():
            time.sleep(600)
        """,
    "tests/test_two.py": """
        import pytest
        from lib import double

        @pytest.mark.parametrize("x", [1, 2, 3])
        def test_param(x):
            assert double(x) == x + x

        def test_skipped():
            pytest.skip("no")
        """,
    "tests/test_broken.py": "import nowhere\n",
}


def summary(result) -> dict:
    return {r.nodeid: (r.outcome, r.when, r.message, sorted((Path(p).name, q) for p, q, _ in r.functions or []))
            for r in result.results}


@pytest.fixture
async def warm(make_project):
    """A warm worker that forks xdist workers, over the project `make_project` made (or makes)."""
    workers = []

    async def start(root: Path) -> PytestWorker:
        worker = PytestWorker(sys.executable, root, pythonpath=[root], spawn=True)
        await worker.start()
        workers.append(worker)
        assert worker.spawn_socket is not None
        return worker

    yield start
    for worker in workers:
        await worker.close()


@pytest.mark.parametrize("forked", [False, True], ids=["cold-workers", "forked-workers"])
async def test_two_workers_give_the_same_results_as_one_process(make_project, warm, forked) -> None:
    root = make_project(MIXED)
    spawn = Spawn(sys.executable, (await warm(root)).spawn_socket) if forked else None
    one = await run_tests(root, sys.executable, EVERYTHING, 1, record_functions=True)
    two = await run_tests(root, sys.executable, EVERYTHING, 1, record_functions=True, workers=2, spawn=spawn)
    assert summary(two) == summary(one)
    assert len(two.results) == len({r.nodeid for r in two.results}) == 8  # each test and the broken file once
    assert summary(one)["tests/test_one.py::test_sleeps"][0] is Outcome.TIMEOUT
    assert summary(one)["tests/test_one.py::test_passes"][3] == [("lib.py", "double"), ("test_one.py", "test_passes")]
    assert two.notes == [] and two.exit_code == one.exit_code == 1


async def test_a_crashed_worker_is_reported_once_and_the_others_carry_on(make_project) -> None:
    root = make_project({"tests/test_crash.py": """
        import os

        def test_exits():
            os._exit(9)

        def test_a():
            pass

        def test_b():
            pass
        """})
    result = await run_tests(root, sys.executable, EVERYTHING, 5, workers=2)
    outcomes = {r.nodeid.rsplit("::", 1)[-1]: r.outcome for r in result.results}
    assert outcomes == {"test_exits": Outcome.ERROR, "test_a": Outcome.PASSED, "test_b": Outcome.PASSED}


async def test_without_xdist_the_run_uses_one_process_and_says_so(make_project, tmp_path: Path, monkeypatch) -> None:
    root = make_project({"tests/test_a.py": "def test_a():\n    pass\n"})
    shadow = tmp_path / "shadow" / "xdist"  # an interpreter where `import xdist` fails
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed here')\n")
    monkeypatch.setenv("PYTHONPATH", str(shadow.parent))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setattr(pytest_runner, "_xdist_cache", {})
    result = await run_tests(root, sys.executable, EVERYTHING, 5, workers=2)
    assert [r.outcome for r in result.results] == [Outcome.PASSED]
    [note] = result.notes
    assert note.startswith(f"pytest-xdist is not installed in {sys.executable}: the tests ran in one process")


WHO_RUNS = {
    "tests/test_who.py": """
        import os, sys, time

        def record(name):
            with open(os.environ["WHO_RUNS"], "a") as out:
                out.write(f"{name} {os.getpid()} {os.getppid()} {'pytest' in sys.modules}\\n")

        def test_a():
            record("a")

        def test_b():
            record("b")

        def test_hangs():
            record("hangs")
            time.sleep(600)
        """,
}


async def test_workers_forked_by_the_warm_worker_run_the_tests_and_die_with_their_run(
        make_project, warm, tmp_path, monkeypatch) -> None:
    root = make_project(WHO_RUNS)
    worker = await warm(root)
    log = tmp_path / "who.txt"
    monkeypatch.setenv("WHO_RUNS", str(log))
    result = await run_tests(root, sys.executable, EVERYTHING, 1, workers=2,
                             spawn=Spawn(sys.executable, worker.spawn_socket))
    outcomes = {r.nodeid.rsplit("::", 1)[-1]: r.outcome for r in result.results}
    assert outcomes == {"test_a": Outcome.PASSED, "test_b": Outcome.PASSED, "test_hangs": Outcome.TIMEOUT}
    rows = [line.split() for line in log.read_text().splitlines()]
    assert {row[0] for row in rows} == {"a", "b", "hangs"}
    assert {int(row[2]) for row in rows} == {worker.pid}  # forked by the warm worker, not started by execnet
    await asyncio.sleep(0.2)
    for _, pid, _, _ in rows:  # the hung test's worker was killed with its run, and the others ended
        assert not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2]


async def test_without_the_warm_worker_the_xdist_workers_start_cold(make_project, tmp_path, monkeypatch) -> None:
    root = make_project(WHO_RUNS)
    log = tmp_path / "who.txt"
    monkeypatch.setenv("WHO_RUNS", str(log))
    gone = Spawn(sys.executable, tmp_path / "no-worker.sock")
    selection = Selection(nodeids=["tests/test_who.py::test_a", "tests/test_who.py::test_b"])
    result = await run_tests(root, sys.executable, selection, 5, workers=2, spawn=gone)
    assert [r.outcome for r in result.results] == [Outcome.PASSED, Outcome.PASSED]
    assert len(log.read_text().splitlines()) == 2


async def test_a_large_check_forks_its_pytest_process_and_xdist_workers_from_the_warm_worker(
        make_project, tmp_path, monkeypatch) -> None:
    root = make_project(WHO_RUNS)
    log = tmp_path / "who.txt"
    monkeypatch.setenv("WHO_RUNS", str(log))
    scheduler = Scheduler(root)
    selection = Selection(nodeids=["tests/test_who.py::test_a", "tests/test_who.py::test_b"])
    try:
        result = await scheduler.run(sys.executable, selection, 5, estimate=SPREAD_AT + 1)
        worker = await scheduler.warm(sys.executable)
        assert worker is not None
        assert [r.outcome for r in result.results] == [Outcome.PASSED, Outcome.PASSED]
        rows = [line.split() for line in log.read_text().splitlines()]
        assert {int(row[2]) for row in rows} == {worker.pid}
        assert len({row[1] for row in rows}) == 2  # two xdist workers ran them, side by side
    finally:
        await scheduler.close()
