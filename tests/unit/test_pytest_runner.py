"""Running pytest in the project's interpreter and reading greenloop's structured report back."""

import subprocess
import sys
from pathlib import Path

from greenloop.records import Outcome, Selection
from greenloop.run.pytest_runner import run_tests

EVERYTHING = Selection(whole_project=True)


async def run(root: Path, selection: Selection = EVERYTHING, timeout: float = 60, trace=(), python=sys.executable):
    return await run_tests(root, python, selection, timeout, trace)


def by_name(result) -> dict:
    return {r.nodeid.rsplit("::", 1)[-1]: r for r in result.results}


async def test_every_outcome_is_reported_with_its_reason(make_project) -> None:
    root = make_project({"tests/test_kinds.py": """
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")

        def test_pass():
            pass

        def test_fail():
            assert 1 + 1 == 3

        def test_error_in_setup(broken):
            pass

        def test_skip():
            pytest.skip("not today")

        @pytest.mark.xfail
        def test_xfail():
            assert False

        @pytest.mark.xfail
        def test_xpass():
            pass
        """})
    result = await run(root)
    tests = by_name(result)
    assert {name: r.outcome for name, r in tests.items()} == {
        "test_pass": Outcome.PASSED, "test_fail": Outcome.FAILED, "test_error_in_setup": Outcome.ERROR,
        "test_skip": Outcome.SKIPPED, "test_xfail": Outcome.XFAILED, "test_xpass": Outcome.XPASSED}
    assert tests["test_fail"].message == "AssertionError: assert (1 + 1) == 3"
    assert tests["test_fail"].line == 10 and tests["test_fail"].frames[-1].line == 11
    assert tests["test_error_in_setup"].when == "setup"
    assert tests["test_error_in_setup"].message == "RuntimeError: fixture broke"
    assert result.problem is None and result.exit_code == 1


async def test_frames_reach_into_project_source(buggy_project: Path) -> None:
    result = await run(buggy_project)
    div = by_name(result)["test_div"]
    assert div.message == "ZeroDivisionError: division by zero"
    assert (div.frames[-1].path.name, div.frames[-1].line, div.frames[-1].name) == ("ops.py", 6, "div")


async def test_only_the_selected_files_and_nodeids_run(buggy_project: Path) -> None:
    selection = Selection(nodeids=["tests/test_ops.py::test_ok"])
    result = await run(buggy_project, selection)
    assert [r.nodeid for r in result.results] == ["tests/test_ops.py::test_ok"]


async def test_tracing_records_the_lines_each_test_ran_in_focus_files(buggy_project: Path) -> None:
    ops = (buggy_project / "mathx/ops.py").resolve()
    tests = by_name(await run(buggy_project, trace=[ops]))
    assert tests["test_add"].covered == {ops: [2]}
    assert tests["test_ok"].covered == {ops: [10]}


async def test_a_syntax_error_in_an_imported_module_is_a_collection_error(make_project) -> None:
    root = make_project({"lib.py": "def f(:\n    pass\n", "tests/test_lib.py": "import lib\n\ndef test_f():\n    pass\n"})
    result = await run(root)
    [error] = result.results
    assert (error.outcome, error.when, error.nodeid) == (Outcome.ERROR, "collect", "tests/test_lib.py")
    assert error.message.startswith("SyntaxError")
    assert (error.frames[-1].path.name, error.frames[-1].line) == ("lib.py", 1)


async def test_a_conftest_that_raises_is_reported_where_it_raises(make_project) -> None:
    root = make_project({"conftest.py": "import os\nraise RuntimeError('conftest is broken')\n",
                         "tests/test_a.py": "def test_a():\n    pass\n"})
    result = await run(root)
    [error] = result.results
    assert (error.outcome, error.when) == (Outcome.ERROR, "conftest")
    assert error.message == "RuntimeError: conftest is broken"
    assert error.path is not None and error.path.name == "conftest.py"
    assert (error.frames[-1].path.name, error.frames[-1].line) == ("conftest.py", 2)


async def test_a_hung_test_is_stopped_at_its_timeout_and_named_and_the_others_still_run(make_project) -> None:
    root = make_project({"tests/test_hang.py": """
        import time

        def test_quick():
            pass

        def test_hangs():
            time.sleep(600)

        def test_after():
            pass
        """})
    result = await run(root, timeout=1)
    tests = by_name(result)
    assert result.timed_out and result.problem is None and result.exit_code == 1
    assert tests["test_quick"].outcome is Outcome.PASSED and tests["test_after"].outcome is Outcome.PASSED
    assert tests["test_hangs"].outcome is Outcome.TIMEOUT and tests["test_hangs"].line == 6
    assert tests["test_hangs"].message == "slow: did not finish within 1 s (test_timeout); the other tests still ran"
    assert (tests["test_hangs"].frames[-1].name, tests["test_hangs"].frames[-1].line) == ("test_hangs", 7)


async def test_a_test_printing_megabytes_still_reports_its_outcome(make_project) -> None:
    root = make_project({"tests/test_loud.py": """
        import sys

        def test_loud():
            for _ in range(100):
                sys.stdout.write("x" * 100_000)
                sys.stderr.write("y" * 100_000)
            assert False, "after the noise"
        """})
    result = await run(root)
    [loud] = result.results
    assert loud.outcome is Outcome.FAILED and "after the noise" in loud.message
    assert len(loud.message) <= 2000


async def test_no_tests_is_not_a_problem(make_project) -> None:
    root = make_project({"lib.py": "X = 1\n"})
    result = await run(root)
    assert result.results == [] and result.exit_code == 5 and result.problem is None


async def test_an_interpreter_without_pytest_gets_a_message_saying_what_to_install(tmp_path: Path, make_project) -> None:
    root = make_project({"tests/test_a.py": "def test_a():\n    pass\n"})
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    result = await run(root, python=python)
    assert result.results == []
    assert result.problem == (f"pytest is not installed in the project interpreter {python}. "
                              f"Install it with: {python} -m pip install pytest")


async def test_a_missing_interpreter_gets_a_message(make_project, tmp_path: Path) -> None:
    root = make_project({"tests/test_a.py": "def test_a():\n    pass\n"})
    result = await run(root, python=str(tmp_path / "nowhere" / "python"))
    assert result.problem is not None and "cannot start the project interpreter" in result.problem


async def test_a_crashing_test_process_is_reported(make_project) -> None:
    root = make_project({"tests/test_crash.py": "import os\n\ndef test_exit():\n    os._exit(9)\n"})
    result = await run(root)
    [crash] = result.results
    assert crash.outcome is Outcome.ERROR and "died while running this test (exit code 9)" in crash.message
    assert result.problem is not None and "stopped unexpectedly" in result.problem
