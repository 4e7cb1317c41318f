"""Function recording: which project functions each test executed, cheaply, for coverage-based selection."""

import sys
from pathlib import Path

import pytest

from greenloop.records import Outcome, Selection
from greenloop.run.pytest_runner import run_tests

EVERYTHING = Selection(whole_project=True)

SHAPES = {
    "pkg/__init__.py": "",
    "pkg/shapes.py": """
        import json


        class Square:
            def __init__(self, side):
                self.side = side

            def area(self):
                def times(a, b):
                    return a * b
                return times(self.side, self.side)


        def dumps(value):
            return json.dumps(value)


        def never_called():
            return 1
        """,
    "tests/test_shapes.py": """
        import pytest
        from pkg.shapes import Square, dumps


        def helper():
            return 2


        @pytest.fixture
        def square():
            return Square(helper())


        def test_area(square):
            assert square.area() == 4


        def test_dumps():
            assert dumps([1]) == "[1]"
        """,
}


def names(result, test: str) -> set[tuple[str, str]]:
    [match] = [r for r in result.results if r.nodeid.endswith("::" + test)]
    assert match.functions is not None
    return {(Path(path).name, qualname) for path, qualname, _ in match.functions}


async def test_each_test_lists_the_project_functions_it_ran_in_setup_call_and_teardown(make_project) -> None:
    root = make_project(SHAPES)
    result = await run_tests(root, sys.executable, EVERYTHING, 5, record_functions=True)
    assert {r.outcome for r in result.results} == {Outcome.PASSED}
    modern = sys.version_info >= (3, 11)  # co_qualname; before, the bare name
    method, nested = ("Square.area", "Square.area.<locals>.times") if modern else ("area", "times")
    assert names(result, "test_area") == {
        ("shapes.py", "Square.__init__" if modern else "__init__"), ("shapes.py", method), ("shapes.py", nested),
        ("test_shapes.py", "helper"), ("test_shapes.py", "square"), ("test_shapes.py", "test_area")}
    # json's functions ran too, but the standard library is not the project's
    assert names(result, "test_dumps") == {("shapes.py", "dumps"), ("test_shapes.py", "test_dumps")}


async def test_functions_carry_absolute_paths_and_first_lines(make_project) -> None:
    root = make_project(SHAPES)
    result = await run_tests(root, sys.executable, Selection(nodeids=["tests/test_shapes.py::test_dumps"]), 5,
                             record_functions=True)
    [test] = result.results
    shapes = str((root / "pkg/shapes.py").resolve())
    assert (shapes, "dumps", 14) in (test.functions or [])


async def test_functions_are_not_recorded_unless_asked_for(make_project) -> None:
    root = make_project(SHAPES)
    result = await run_tests(root, sys.executable, EVERYTHING, 5)
    assert [r.functions for r in result.results] == [None, None]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ records through sys.monitoring, not the profile hook")
async def test_another_profiler_is_left_alone_and_nothing_is_recorded(make_project) -> None:
    root = make_project({**SHAPES, "conftest.py": """
        import sys

        def _profiler(frame, event, arg):
            pass

        sys.setprofile(_profiler)
        """})
    result = await run_tests(root, sys.executable, EVERYTHING, 5, record_functions=True)
    assert [r.outcome for r in result.results] == [Outcome.PASSED, Outcome.PASSED]
    assert [r.functions for r in result.results] == [None, None]


async def test_a_test_calling_only_the_standard_library_records_just_itself(make_project) -> None:
    root = make_project({"tests/test_empty.py": "import json\n\ndef test_nothing():\n    pass\n"})
    result = await run_tests(root, sys.executable, EVERYTHING, 5, record_functions=True)
    [test] = result.results
    assert {qualname for _, qualname, _ in test.functions or []} == {"test_nothing"}


def test_functions_travel_as_a_table_and_are_read_back_in_either_form() -> None:
    """The plugin sends a test's functions as one tab-separated string (cheap for the server to decode); a path
    with a tab in it keeps the list form; the server reads both to the same rows."""
    from greenloop.run.events import _functions
    from greenloop.run.plugin.greenloop_record import table

    rows = [("pkg/a.py", "f", 3), ("pkg/a.py", "C.method", 10)]
    assert table(rows) == "pkg/a.py\tf\t3\npkg/a.py\tC.method\t10"
    assert _functions(table(rows)) == tuple(rows)
    odd = [("pkg/a\tb.py", "f", 1)]
    assert table(odd) == odd and _functions(table(odd)) == tuple(odd)
    assert _functions(table([])) == () and _functions(None) is None


def test_recorded_functions_cost_the_collector_nothing_once_seen() -> None:
    """A networkx run carries ~100,000 rows: read back as tuples of atoms, the collector stops tracking them once
    it has looked (a list would stay tracked, and every full collection would walk its rows)."""
    import gc

    from greenloop.run.events import _functions

    read = _functions("pkg/a.py\tf\t3\npkg/b.py\tg\t7")
    gc.collect()  # untracks the rows; the table itself, made before its rows, on the next look
    gc.collect()
    assert read is not None and not gc.is_tracked(read) and not any(gc.is_tracked(row) for row in read)
