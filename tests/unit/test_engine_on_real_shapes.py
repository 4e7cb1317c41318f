"""The engine on a project shaped like real libraries (more-itertools, networkx): a package `__init__` that
imports every module, so every test file imports everything; one slow test module; a `test_timeout` shorter than
the whole suite."""

import sys
from pathlib import Path

import pytest

from greenloop.config import Settings
from greenloop.engine import CheckReport, Engine

LIBRARY = {
    "pkg/__init__.py": "from pkg.grouping import *\nfrom pkg.numbers import *\nfrom pkg.slow import *\n",
    "pkg/grouping.py": """
        __all__ = ["chunked", "pairs"]


        def chunked(items, n):
            return [items[i:i + n] for i in range(0, len(items), n)]


        def pairs(items):
            return chunked(items, 2)
        """,
    "pkg/numbers.py": """
        __all__ = ["double", "LIMIT"]
        LIMIT = 10


        def double(x):
            return 2 * x
        """,
    "pkg/slow.py": """
        import time

        __all__ = ["crawl"]


        def crawl(seconds):
            time.sleep(seconds)
            return seconds
        """,
    "tests/test_grouping.py": """
        import pkg


        def test_chunked():
            assert pkg.chunked([1, 2, 3], 2) == [[1, 2], [3]]


        def test_pairs():
            assert pkg.pairs([1, 2, 3, 4]) == [[1, 2], [3, 4]]
        """,
    "tests/test_numbers.py": """
        import pkg


        def test_double():
            assert pkg.double(2) == 4


        def test_limit():
            assert pkg.LIMIT == 10
        """,
    "tests/test_slow.py": """
        import pytest

        import pkg


        @pytest.mark.parametrize("n", range(4))
        def test_crawl(n):
            assert pkg.crawl(0.5) == 0.5
        """,
}
SETTINGS = Settings(python=sys.executable, type_checker="off", watch=False, test_timeout=1.5)


@pytest.fixture
def library(make_project) -> Path:
    return make_project(LIBRARY)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


async def test_a_suite_longer_than_the_test_timeout_is_green_with_no_timeout(library: Path) -> None:
    engine = Engine(library, SETTINGS)
    try:
        report = await engine.check(None)
    finally:
        await engine.close()
    assert report.run is not None and report.run.duration > SETTINGS.test_timeout
    assert [r.outcome.value for r in report.run.results] == ["passed"] * 8
    assert report.findings == [] and not report.problems


async def test_saving_a_module_runs_only_the_tests_that_executed_the_changed_function(library: Path) -> None:
    engine = Engine(library, SETTINGS)
    try:
        await engine.check(None)  # records which functions each test executed
        await engine.recorded()
        edit(library / "pkg/grouping.py", "return chunked(items, 2)", "return chunked(list(items), 2)")
        report = await engine.check([library / "pkg/grouping.py"])
        assert report.selection.nodeids == ["tests/test_grouping.py::test_pairs"]
        assert report.selection.paths == []
        assert report.explanation == [
            "selected tests/test_grouping.py::test_pairs executed pairs in pkg/grouping.py, which changed"]

        edit(library / "pkg/grouping.py", "range(0, len(items), n)", "range(0, len(items), n or 1)")
        report = await engine.check([library / "pkg/grouping.py"])
        assert sorted(report.selection.nodeids) == ["tests/test_grouping.py::test_chunked",
                                                    "tests/test_grouping.py::test_pairs"]
        assert report.findings == []
    finally:
        await engine.close()


async def test_a_module_level_change_falls_back_to_the_import_graph(library: Path) -> None:
    engine = Engine(library, SETTINGS)
    try:
        await engine.check(None)
        await engine.recorded()
        edit(library / "pkg/numbers.py", "LIMIT = 10", "LIMIT = 11")
        report = await engine.check([library / "pkg/numbers.py"])
    finally:
        await engine.close()
    # Every test file imports pkg, which imports numbers: all are selected, and the failure is found.
    assert [p.name for p in report.selection.paths] == ["test_grouping.py", "test_numbers.py", "test_slow.py"]
    assert "coverage cannot decide (module-level code or a class body of pkg/numbers.py changed)" in \
        report.selection.reasons["tests/test_numbers.py"]
    assert {f.code for f in report.findings} == {"tests/test_numbers.py::test_limit"}


async def test_a_planted_bug_is_reported_and_results_stream_before_the_run_ends(library: Path) -> None:
    engine = Engine(library, SETTINGS)
    updates: list[tuple[int, int]] = []

    def on_update(report: CheckReport) -> None:
        updates.append((report.results_so_far, len(report.findings)))

    try:
        await engine.check(None)
        await engine.recorded()
        edit(library / "pkg/slow.py", "return seconds", "return -seconds")
        report = await engine.check([library / "pkg/slow.py"], on_update=on_update)
    finally:
        await engine.close()
    assert len(report.selection.nodeids) == 4
    assert updates and updates[0][0] < 4 and updates[0][1] > 0  # a failure was shown while tests still ran
    assert report.first_result_after is not None and report.first_result_after < report.duration
    assert {f.code for f in report.findings} == {f"tests/test_slow.py::test_crawl[{n}]" for n in range(4)}
    source = [f for f in report.findings if f.path.name == "slow.py"]
    assert source and {f.line for f in source} == {8}  # placed by the traced re-run: `return -seconds`


async def test_a_slow_test_is_reported_alone_and_the_others_still_run(make_project) -> None:
    root = make_project({
        "tests/test_mixed.py": """
            import time


            def test_quick():
                assert True


            def test_sleepy():
                time.sleep(30)


            def test_after():
                assert True
            """,
    })
    engine = Engine(root, Settings(python=sys.executable, type_checker="off", watch=False, test_timeout=1))
    try:
        report = await engine.check([root / "tests/test_mixed.py"])
    finally:
        await engine.close()
    assert report.run is not None
    outcomes = {r.nodeid.split("::")[1]: r.outcome.value for r in report.run.results}
    assert outcomes == {"test_quick": "passed", "test_sleepy": "timeout", "test_after": "passed"}
    [finding] = report.findings
    assert finding.line == 8 and "slow" in finding.message


async def test_a_test_module_skipped_as_a_whole_is_recorded_and_not_rerun_for_unrelated_edits(make_project):
    """networkx skips dozens of test modules at import (`pytest.importorskip("numpy")`): once seen skipped, such
    a module is known, and an edit of a function it never ran does not collect it again."""
    root = make_project({**LIBRARY, "tests/test_optional.py": """
        import pytest

        pytest.importorskip("greenloop_no_such_module")
        import pkg


        def test_needs_the_optional_module():
            assert pkg.double(1) == 2
        """})
    engine = Engine(root, SETTINGS)
    try:
        first = await engine.check(None)
        assert ("tests/test_optional.py", "skipped") in {(r.nodeid, r.outcome.value) for r in first.run.results}
        await engine.recorded()
        edit(root / "pkg/grouping.py", "return chunked(items, 2)", "return chunked(list(items), 2)")
        report = await engine.check([root / "pkg/grouping.py"])
    finally:
        await engine.close()
    assert report.selection.nodeids == ["tests/test_grouping.py::test_pairs"]
    assert report.selection.paths == []
