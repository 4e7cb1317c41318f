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
