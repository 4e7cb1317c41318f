"""Ochiai ranking: the line run by failing tests and not by passing ones comes first."""

from pathlib import Path

from greenloop.diagnose.suspicious import rank
from greenloop.records import Outcome, TestResult

F = Path("/project/lib.py")


def result(name: str, outcome: Outcome, lines: list[int]) -> TestResult:
    return TestResult(nodeid=f"t.py::{name}", outcome=outcome, covered={F: lines})


def test_the_line_only_failing_tests_run_ranks_first() -> None:
    failing = result("a", Outcome.FAILED, [1, 2, 5])
    run = [failing, result("b", Outcome.FAILED, [1, 2, 5]), result("c", Outcome.PASSED, [1, 3])]
    top, *rest = rank(run, F, failing)
    assert (top.line, top.failing, top.passing) == (5, 2, 0)
    assert top.score == 1.0
    assert [s.line for s in rest] == [2, 1]


def test_ties_go_to_the_line_the_failing_test_ran_last() -> None:
    failing = result("a", Outcome.FAILED, [4, 7, 6])
    assert [s.line for s in rank([failing], F, failing)] == [6, 7, 4]


def test_a_test_that_never_ran_the_file_ranks_nothing() -> None:
    failing = TestResult(nodeid="t.py::a", outcome=Outcome.FAILED)
    assert rank([failing], F, failing) == []


def test_frames_in_source_outrank_coverage_deepest_first_and_tests_never_rank(tmp_path: Path) -> None:
    """The one ranking the model's context and the search share: traceback evidence first, then Ochiai."""
    from greenloop.diagnose.suspicious import ranked_lines
    from greenloop.records import Frame

    (tmp_path / "pyproject.toml").write_text("")
    lib, test = tmp_path / "lib.py", tmp_path / "test_lib.py"
    lib.write_text("def f():\n    return g()\n\n\ndef g():\n    raise ValueError\n" + "x = 1\n" * 10)
    test.write_text("from lib import f\n\n\ndef test_f():\n    f()\n")
    failing = TestResult(nodeid="test_lib.py::test_f", outcome=Outcome.FAILED,
                         frames=[Frame(test, 5, "test_f"), Frame(lib, 2, "f"), Frame(lib, 6, "g")],
                         covered={lib: [2, 6, 7, 8, 9], test: [5]})
    passing = TestResult(nodeid="test_lib.py::test_other", outcome=Outcome.PASSED, covered={lib: [2, 7, 8]})

    ranked = ranked_lines(tmp_path, [failing], [failing, passing])
    assert [r.line for r in ranked] == [6, 9, 2, 8, 7]  # ties: the line run last first
    assert [r.why for r in ranked[:2]] == [
        "in the traceback of test_lib.py::test_f",
        "most suspicious by coverage (Ochiai 1.00: 1 failing, 0 passing test(s) ran it)"]
    assert ranked[0].score > 1 > ranked[2].score > ranked[3].score  # a frame the passing test ran is weaker
    assert all(r.path == lib.resolve() for r in ranked)  # the test file's own lines are never suspects
    assert [r.line for r in ranked_lines(tmp_path, [failing], [failing, passing], per_file=1)] == [6, 9, 2]
