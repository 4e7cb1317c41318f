"""Per-test timeouts: a slow test fails alone, the others run; what an alarm cannot stop is killed and resumed."""

import sys
import time
from pathlib import Path

from greenloop.records import Outcome, Selection
from greenloop.run import supervise
from greenloop.run.pytest_runner import run_tests

EVERYTHING = Selection(whole_project=True)
SLOW = "slow: did not finish within 1 s (test_timeout); the other tests still ran"


def outcomes(result) -> dict:
    return {r.nodeid.rsplit("::", 1)[-1]: r.outcome for r in result.results}


async def test_a_sleeping_and_a_busy_test_each_time_out_while_the_others_pass(make_project) -> None:
    root = make_project({"tests/test_slow.py": """
        import time

        def test_before():
            pass

        def test_sleeps():
            time.sleep(600)

        def test_spins():
            while True:
                pass

        def test_swallows_exceptions():
            try:
                time.sleep(600)
            except Exception:
                pass

        def test_after():
            pass
        """})
    result = await run_tests(root, sys.executable, EVERYTHING, 1)
    assert outcomes(result) == {"test_before": Outcome.PASSED, "test_sleeps": Outcome.TIMEOUT,
                                "test_spins": Outcome.TIMEOUT, "test_swallows_exceptions": Outcome.TIMEOUT,
                                "test_after": Outcome.PASSED}
    assert all(r.message == SLOW for r in result.failures)
    assert result.problem is None and result.exit_code == 1


async def test_a_suite_longer_than_the_timeout_finishes_green(make_project) -> None:
    tests = "import time\n" + "".join(f"\ndef test_{i}():\n    time.sleep(0.3)\n" for i in range(5))
    root = make_project({"tests/test_steady.py": tests})
    result = await run_tests(root, sys.executable, EVERYTHING, 1)
    assert set(outcomes(result).values()) == {Outcome.PASSED} and len(result.results) == 5
    assert result.problem is None and not result.timed_out and result.exit_code == 0


async def test_the_budget_covers_fixtures_and_a_timed_out_test_is_still_torn_down(make_project, tmp_path: Path) -> None:
    marker = tmp_path / "torn-down"
    root = make_project({"tests/test_fixture.py": f"""
        import time
        import pytest

        @pytest.fixture
        def slow_setup():
            time.sleep(600)

        @pytest.fixture
        def resource():
            yield
            open({str(marker)!r}, "w").close()

        def test_slow_setup(slow_setup):
            pass

        def test_slow_call(resource):
            time.sleep(600)
        """})
    result = await run_tests(root, sys.executable, EVERYTHING, 1)
    by_name = {r.nodeid.rsplit("::", 1)[-1]: r for r in result.results}
    assert (by_name["test_slow_setup"].outcome, by_name["test_slow_setup"].when) == (Outcome.TIMEOUT, "setup")
    assert (by_name["test_slow_call"].outcome, by_name["test_slow_call"].when) == (Outcome.TIMEOUT, "call")
    assert marker.exists()


async def test_a_test_that_blocks_the_alarm_is_killed_and_the_remaining_tests_still_run(make_project) -> None:
    root = make_project({"tests/test_stuck.py": """
        import signal
        import time

        def test_first():
            pass

        def test_blocks_the_alarm():
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(600)

        def test_later():
            pass

        def test_last_fails():
            assert 1 == 2
        """})
    started = time.monotonic()
    result = await run_tests(root, sys.executable, EVERYTHING, 1)
    assert outcomes(result) == {"test_first": Outcome.PASSED, "test_blocks_the_alarm": Outcome.TIMEOUT,
                                "test_later": Outcome.PASSED, "test_last_fails": Outcome.FAILED}
    [stuck] = [r for r in result.results if r.outcome is Outcome.TIMEOUT]
    assert "could not be interrupted, so its process was stopped" in stuck.message and stuck.line == 7
    assert result.problem is None and result.exit_code == 1
    assert time.monotonic() - started < 1 + supervise.GRACE + 5


async def test_a_stuck_test_under_stop_at_first_failure_ends_the_run(make_project) -> None:
    root = make_project({"tests/test_stuck.py": """
        import signal
        import time

        def test_blocks_the_alarm():
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(600)

        def test_later():
            pass
        """})
    result = await run_tests(root, sys.executable, EVERYTHING, 1, extra=["-x"])
    assert outcomes(result) == {"test_blocks_the_alarm": Outcome.TIMEOUT}


async def test_a_crash_is_blamed_on_its_test_and_the_rest_still_runs(make_project) -> None:
    root = make_project({"tests/test_crash.py": """
        import os

        def test_exits():
            os._exit(9)

        def test_after():
            pass
        """})
    result = await run_tests(root, sys.executable, EVERYTHING, 5)
    assert outcomes(result) == {"test_exits": Outcome.ERROR, "test_after": Outcome.PASSED}
    assert "died while running this test (exit code 9)" in result.results[0].message


async def test_collection_that_makes_no_progress_is_a_run_problem(make_project, monkeypatch) -> None:
    monkeypatch.setattr(supervise, "IDLE_LIMIT", 1.0)  # max(4 * timeout, IDLE_LIMIT); 20 s by default
    root = make_project({"tests/test_import_hangs.py": "import time\ntime.sleep(600)\n\ndef test_a():\n    pass\n"})
    result = await run_tests(root, sys.executable, EVERYTHING, 0.25)
    assert result.results == [] and result.timed_out
    assert result.problem == "pytest hung during collection: timed out after 1 s without progress"


async def test_a_process_kept_alive_after_its_last_test_is_stopped_with_its_results(make_project) -> None:
    root = make_project({"tests/test_thread.py": """
        import threading
        import time

        def test_leaves_a_thread_running():
            threading.Thread(target=time.sleep, args=(600,)).start()
        """})
    started = time.monotonic()
    result = await run_tests(root, sys.executable, EVERYTHING, 30)
    assert outcomes(result) == {"test_leaves_a_thread_running": Outcome.PASSED}
    assert result.exit_code == 0 and result.problem is None
    assert time.monotonic() - started < supervise.LINGER + 8
