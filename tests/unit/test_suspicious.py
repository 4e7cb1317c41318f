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


# --- one localisation: the diagnostics place a failure on the top of the ranking the repair uses ----------------

def _project(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "pyproject.toml").write_text("")
    lib, util, test = tmp_path / "lib.py", tmp_path / "util.py", tmp_path / "test_lib.py"
    lib.write_text("def f(n):\n    return f(n - 1) if n else g()\n\n\ndef g():\n    raise ValueError\n"
                   + "x = 1\n" * 10)
    util.write_text("y = 2\n" * 10)
    test.write_text("from lib import f\n\n\ndef test_f():\n    f(8)\n")
    return lib.resolve(), util.resolve(), test.resolve()


def _placed_in_source(root: Path, failing: TestResult, run: list[TestResult], focus: list[Path],
                      best_only: bool = False) -> list[tuple[Path, int]]:
    from greenloop.diagnose.placement import place

    return [(f.path, f.line) for f in place(root, failing, run, focus, best_only) if f.path.name != "test_lib.py"]


def test_a_failure_with_frames_is_placed_on_the_top_of_ranked_lines_its_deepest_source_frame(tmp_path: Path) -> None:
    """Even when a shallower frame ties it by coverage (Ochiai 1.00 + the frame bonus) or recurs all the way up."""
    from greenloop.diagnose.suspicious import ranked_lines
    from greenloop.records import Frame

    lib, util, test = _project(tmp_path)
    recursing = [Frame(test, 5, "test_f")] + [Frame(lib, 2, "f")] * 9 + [Frame(lib, 6, "g")]
    tied = [Frame(test, 5, "test_f"), Frame(lib, 2, "f"), Frame(lib, 6, "g")]
    for frames, lines in [(recursing, [2, 6, 7]), (tied, [6, 2, 7])]:  # [6, 2, 7]: g had run before f
        failing = TestResult(nodeid="test_lib.py::test_f", outcome=Outcome.FAILED, frames=frames,
                             covered={lib: lines, util: [1, 2], test: [5]})
        passing = TestResult(nodeid="test_lib.py::test_other", outcome=Outcome.PASSED, covered={lib: [7], util: [1]})
        run = [failing, passing]

        top = ranked_lines(tmp_path, [failing], run)[0]
        assert (top.path, top.line, top.why) == (lib, 6, "in the traceback of test_lib.py::test_f")
        for focus, best_only in [([], False), ([lib, util], False), ([util], False), ([util, lib], True)]:
            assert _placed_in_source(tmp_path, failing, run, focus, best_only) == [(top.path, top.line)]


def test_a_failure_without_frames_is_placed_on_the_top_of_ranked_lines_in_each_focus_file(tmp_path: Path) -> None:
    from greenloop.diagnose.suspicious import ranked_lines
    from greenloop.records import Frame

    lib, util, test = _project(tmp_path)
    failing = TestResult(nodeid="test_lib.py::test_f", outcome=Outcome.FAILED, frames=[Frame(test, 5, "test_f")],
                         covered={lib: [1, 2, 7], util: [1, 2, 3], test: [5]})
    passing = TestResult(nodeid="test_lib.py::test_other", outcome=Outcome.PASSED, covered={lib: [1, 2], util: [1]})
    run = [failing, passing]
    ranked = ranked_lines(tmp_path, [failing], run)
    top_of = {path: next(r for r in ranked if r.path == path) for path in (lib, util)}
    assert (top_of[lib].line, top_of[util].line) == (7, 3)  # Ochiai 1.00: only the failing test ran them

    assert _placed_in_source(tmp_path, failing, run, [util, lib]) == [(util, 3), (lib, 7)]  # focus order
    assert _placed_in_source(tmp_path, failing, run, [lib]) == [(lib, 7)]
    assert _placed_in_source(tmp_path, failing, run, [test]) == []  # a test file is never a suspect
    # A whole-project check shows the single best line: the top of the ranking; a tie goes to the earlier file.
    assert _placed_in_source(tmp_path, failing, run, [lib, util], best_only=True) == [(ranked[0].path, ranked[0].line)]
    assert _placed_in_source(tmp_path, failing, run, [util, lib], best_only=True) == [(util, 3)]
    assert ranked_lines(tmp_path, [failing], run, files=[util, lib])[0].path == util


def test_a_files_filter_ranks_only_those_files_by_coverage_and_keeps_every_frame(tmp_path: Path) -> None:
    from greenloop.diagnose.suspicious import ranked_lines
    from greenloop.records import Frame

    lib, util, test = _project(tmp_path)
    failing = TestResult(nodeid="test_lib.py::test_f", outcome=Outcome.FAILED,
                         frames=[Frame(test, 5, "test_f"), Frame(lib, 6, "g")],
                         covered={lib: [2, 6, 7], util: [1, 2], test: [5]})
    assert [(r.path, r.line) for r in ranked_lines(tmp_path, [failing], [failing], files=[util])] == [
        (lib, 6), (util, 2), (util, 1)]
    assert [(r.path, r.line) for r in ranked_lines(tmp_path, [failing], [failing], files=[])] == [(lib, 6)]
