"""The engine's check pipeline on real projects: what is found, where it is placed, and when it clears."""

import sys
from pathlib import Path

from greenloop.config import Settings
from greenloop.engine import Engine
from greenloop.records import Severity

OFF = Settings(python=sys.executable, type_checker="off", watch=False)


def where(findings, root: Path) -> set[tuple[str, int, str]]:
    return {(str(f.path.relative_to(root)), f.line, f.code or "") for f in findings}


async def test_saving_a_source_file_places_each_failure_on_the_test_and_on_the_source(buggy_project: Path) -> None:
    engine = Engine(buggy_project, OFF)
    report = await engine.check([buggy_project / "mathx/ops.py"])
    assert report.failed
    assert where(report.findings, buggy_project) == {
        ("tests/test_ops.py", 5, "tests/test_ops.py::test_add"),  # the failing assert
        ("mathx/ops.py", 2, "tests/test_ops.py::test_add"),  # no frame in source: the suspicious line
        ("tests/test_ops.py", 9, "tests/test_ops.py::test_div"),
        ("mathx/ops.py", 6, "tests/test_ops.py::test_div"),  # the deepest frame in source
    }
    div_source = next(f for f in report.findings if f.path.name == "ops.py" and f.line == 6)
    assert div_source.message == "test_div failed here (in div): ZeroDivisionError: division by zero"
    assert [(r.path.name, r.line) for r in div_source.related] == [("test_ops.py", 9)]
    add_source = next(f for f in report.findings if f.path.name == "ops.py" and f.line == 2)
    assert add_source.message.startswith("test_add failed: AssertionError: assert 0 == 4; this line ran")
    assert (add_source.col, add_source.end_col) == (5, 17)  # underlines `return a - b`


async def test_fixing_the_bug_clears_exactly_its_diagnostics(buggy_project: Path) -> None:
    engine = Engine(buggy_project, OFF)
    ops = buggy_project / "mathx/ops.py"
    await engine.check([ops])
    ops.write_text(ops.read_text().replace("a - b", "a + b"))
    report = await engine.check([ops])
    assert {f.code for f in report.findings} == {"tests/test_ops.py::test_div"}
    assert (buggy_project / "mathx/ops.py").resolve() in report.affected


async def test_a_saved_test_file_reports_failures_in_that_file(buggy_project: Path) -> None:
    report = await Engine(buggy_project, OFF).check([buggy_project / "tests/test_ops.py"])
    assert report.selection.paths == [(buggy_project / "tests/test_ops.py").resolve()]
    assert {f.code for f in report.findings} == {"tests/test_ops.py::test_add", "tests/test_ops.py::test_div"}


async def test_a_whole_project_check_points_at_the_single_most_suspicious_line(buggy_project: Path) -> None:
    report = await Engine(buggy_project, OFF).check(None)
    add = [f for f in report.findings if f.code == "tests/test_ops.py::test_add"]
    assert where(add, buggy_project) == {("tests/test_ops.py", 5, "tests/test_ops.py::test_add"),
                                         ("mathx/ops.py", 2, "tests/test_ops.py::test_add")}


async def test_a_failed_test_is_rerun_when_a_file_its_failure_touched_changes(make_project) -> None:
    root = make_project({
        "data.py": "def limit():\n    raise LookupError('no limit yet')\n",
        "tests/test_dynamic.py": """
            import importlib

            def test_limit():
                assert importlib.import_module("data").limit() == 2
            """,
    })
    engine = Engine(root, OFF)
    assert (await engine.check([root / "tests/test_dynamic.py"])).failed
    (root / "data.py").write_text("def limit():\n    return 2\n")
    # No test imports `data` statically, but test_limit failed last time with a frame in data.py.
    report = await engine.check([root / "data.py"])
    assert report.selection.nodeids == ["tests/test_dynamic.py::test_limit"]
    assert report.run is not None and [r.outcome.value for r in report.run.results] == ["passed"]
    assert report.findings == []


async def test_a_syntax_error_in_source_is_reported_where_it_is(make_project) -> None:
    root = make_project({"lib.py": "def f(:\n    pass\n", "tests/test_lib.py": "import lib\n\ndef test_f():\n    pass\n"})
    report = await Engine(root, OFF).check([root / "lib.py"])
    spots = where(report.findings, root)
    assert ("lib.py", 1, "collection") in spots
    assert ("tests/test_lib.py", 1, "collection") in spots
    source = next(f for f in report.findings if f.path.name == "lib.py")
    assert "SyntaxError" in source.message and "while collecting tests/test_lib.py" in source.message


async def test_a_non_utf8_file_gets_a_clear_diagnostic(make_project) -> None:
    root = make_project({"lib.py": b"NAME = '\xff'\n", "tests/test_lib.py": "import lib\n\ndef test_f():\n    pass\n"})
    report = await Engine(root, OFF).check([root / "lib.py"])
    note = next(f for f in report.findings if f.code == "encoding")
    assert note.line == 1 and note.severity is Severity.ERROR
    assert "lib.py is not valid UTF-8 (byte 0xff at offset 8)" in note.message


async def test_a_declared_encoding_is_respected(make_project) -> None:
    root = make_project({"lib.py": b"# -*- coding: latin-1 -*-\nNAME = '\xff'\n",
                         "tests/test_lib.py": "import lib\n\ndef test_f():\n    assert lib.NAME == '\\xff'\n"})
    report = await Engine(root, OFF).check([root / "lib.py"])
    assert report.findings == [] and not report.failed


async def test_a_deleted_file_breaks_its_importers_visibly(buggy_project: Path) -> None:
    engine = Engine(buggy_project, OFF)
    ops = buggy_project / "mathx/ops.py"
    await engine.check([ops])
    ops.unlink()
    report = await engine.check([ops])
    assert "mathx/ops.py no longer exists" in report.problems
    assert not any(f.path == ops.resolve() for f in report.findings)
    [collection] = [f for f in report.findings if f.code == "collection"]
    assert "ModuleNotFoundError" in collection.message or "ImportError" in collection.message


async def test_a_project_without_tests_checks_nothing_and_reports_nothing(make_project) -> None:
    root = make_project({"lib.py": "X = 1\n"})
    engine = Engine(root, OFF)
    saved = await engine.check([root / "lib.py"])
    assert saved.selection.empty and saved.run is None and saved.findings == []
    whole = await engine.check(None)
    assert whole.run is not None and whole.run.exit_code == 5 and whole.findings == [] and not whole.failed


async def test_a_hung_test_becomes_a_slow_test_warning_on_its_own_line(make_project) -> None:
    root = make_project({"tests/test_hang.py": "import time\n\n\ndef test_hangs():\n    time.sleep(600)\n"})
    engine = Engine(root, Settings(python=sys.executable, type_checker="off", test_timeout=2))
    report = await engine.check([root / "tests/test_hang.py"])
    [finding] = report.findings
    assert (finding.line, finding.code, finding.severity) == (4, "tests/test_hang.py::test_hangs", Severity.WARNING)
    assert finding.message == ("test_hangs is slow: did not finish within 2 s (test_timeout); "
                               "the other tests still ran")


async def test_type_errors_in_the_saved_file_are_reported_and_replaced(make_project) -> None:
    root = make_project({"typed.py": "def f() -> int:\n    return 'x'\n"})
    engine = Engine(root, Settings(python=sys.executable, type_checker="basedpyright"))
    report = await engine.check([root / "typed.py"])
    [error] = report.findings
    assert (error.source, error.line, error.code) == ("basedpyright", 2, "reportReturnType")
    (root / "typed.py").write_text("def f() -> int:\n    return 1\n")
    assert (await engine.check([root / "typed.py"])).findings == []


async def test_checking_writes_nothing_into_the_project_but_its_own_ignored_state(buggy_project: Path) -> None:
    def snapshot() -> dict[str, bytes]:
        return {str(p.relative_to(buggy_project)): p.read_bytes() for p in sorted(buggy_project.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts and ".greenloop" not in p.parts}

    before = snapshot()
    engine = Engine(buggy_project, Settings(python=sys.executable, type_checker="mypy"))
    await engine.check([buggy_project / "mathx/ops.py"])
    await engine.check(None)
    assert snapshot() == before
    assert (buggy_project / ".greenloop/.gitignore").read_text().endswith("*\n")  # never committed
