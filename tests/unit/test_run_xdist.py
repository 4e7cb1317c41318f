"""Two cores with pytest-xdist: the same results as one process, each test once, and a note when xdist is missing."""

import sys
from pathlib import Path

from greenloop.records import Outcome, Selection
from greenloop.run import pytest_runner
from greenloop.run.pytest_runner import run_tests

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


async def test_two_workers_give_the_same_results_as_one_process(make_project) -> None:
    root = make_project(MIXED)
    one = await run_tests(root, sys.executable, EVERYTHING, 1, record_functions=True)
    two = await run_tests(root, sys.executable, EVERYTHING, 1, record_functions=True, workers=2)
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
