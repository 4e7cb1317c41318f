"""Results stream out while pytest runs, in the order asked for, at the priority asked for."""

import asyncio
import sys
import time

from processes import cancelled_and_gone

from greenloop.records import Outcome, Selection, TestResult
from greenloop.run.pytest_runner import run_tests

EVERYTHING = Selection(whole_project=True)

ORDERED = {
    "tests/test_a.py": "def test_a1():\n    pass\n\ndef test_a2():\n    pass\n",
    "tests/test_b.py": "def test_b1():\n    pass\n\ndef test_b2():\n    pass\n",
    "tests/test_c.py": "def test_c1():\n    pass\n",
}


async def test_each_result_reaches_the_callback_before_the_run_ends(make_project) -> None:
    root = make_project({"tests/test_stream.py": """
        import time

        def test_quick_failure():
            assert 1 == 2

        def test_slow():
            time.sleep(1.5)
        """})
    seen: list[tuple[float, TestResult]] = []
    task = asyncio.ensure_future(run_tests(root, sys.executable, EVERYTHING, 5,
                                           on_result=lambda r: seen.append((time.monotonic(), r))))
    result = await task
    ended = time.monotonic()
    [(first_at, first), (_, second)] = seen
    assert (first.nodeid, first.outcome) == ("tests/test_stream.py::test_quick_failure", Outcome.FAILED)
    assert ended - first_at > 1.0  # it arrived while the slow test was still running
    assert second.outcome is Outcome.PASSED
    assert result.results == [first, second]


async def test_tests_matching_the_order_run_first_and_the_rest_keep_pytests_order(make_project) -> None:
    root = make_project(ORDERED)
    result = await run_tests(root, sys.executable, EVERYTHING, 5, order=["tests/test_c.py", "tests/test_b.py::test_b2"])
    assert [r.nodeid.rsplit("::", 1)[-1] for r in result.results] == ["test_c1", "test_b2", "test_a1", "test_a2",
                                                                        "test_b1"]


async def test_a_folder_in_the_order_moves_all_its_tests(make_project) -> None:
    root = make_project({**ORDERED, "unit/test_u.py": "def test_u():\n    pass\n"})
    result = await run_tests(root, sys.executable, EVERYTHING, 5, order=["unit"])
    assert result.results[0].nodeid == "unit/test_u.py::test_u" and len(result.results) == 6


async def test_a_background_run_is_niced(make_project) -> None:
    root = make_project({"tests/test_nice.py": "import os\n\ndef test_niceness():\n    assert os.nice(0) == 19\n"})
    result = await run_tests(root, sys.executable, EVERYTHING, 5, nice=True)
    assert [r.outcome for r in result.results] == [Outcome.PASSED]


async def test_cancelling_a_run_kills_pytest(make_project, tmp_path) -> None:
    pidfile = tmp_path / "pid"
    root = make_project({"tests/test_wait.py": f"import os, time\n\ndef test_waits():\n"
                         f"    open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n    time.sleep(600)\n"})
    await cancelled_and_gone(asyncio.ensure_future(run_tests(root, sys.executable, EVERYTHING, 600)), pidfile)
