"""Type checkers as subprocesses, read from their JSON output."""

import sys
from pathlib import Path

from greenloop.records import Severity
from greenloop.typecheck import check_types

SOURCE = "def f() -> int:\n    return 'x'\n\n\nVALUE: str = 1\n"


async def test_basedpyright_reports_errors_with_their_rule(tmp_path: Path) -> None:
    (tmp_path / "typed.py").write_text(SOURCE)
    report = await check_types("basedpyright", tmp_path, sys.executable, [tmp_path / "typed.py"])
    assert report.problem is None
    assert [(f.line, f.col, f.code, f.severity) for f in report.findings] == [
        (2, 12, "reportReturnType", Severity.ERROR), (5, 14, "reportAssignmentType", Severity.ERROR)]
    assert all(f.source == "basedpyright" for f in report.findings)


async def test_basedpyright_defaults_to_standard_mode_without_project_config(tmp_path: Path) -> None:
    (tmp_path / "loose.py").write_text("def g(a):\n    return a.anything\n")
    report = await check_types("basedpyright", tmp_path, sys.executable, [tmp_path / "loose.py"])
    assert report.findings == []


async def test_the_projects_own_pyright_config_wins(tmp_path: Path) -> None:
    (tmp_path / "pyrightconfig.json").write_text('{"typeCheckingMode": "strict"}')
    (tmp_path / "loose.py").write_text("def g(a):\n    return a.anything\n")
    report = await check_types("basedpyright", tmp_path, sys.executable, [tmp_path / "loose.py"])
    assert any(f.code == "reportMissingParameterType" for f in report.findings)


async def test_mypy_reports_errors_with_their_code(tmp_path: Path) -> None:
    (tmp_path / "typed.py").write_text(SOURCE)
    report = await check_types("mypy", tmp_path, sys.executable, [tmp_path / "typed.py"])
    assert report.problem is None
    assert [(f.line, f.col, f.code, f.source) for f in report.findings] == [
        (2, 12, "return-value", "mypy"), (5, 14, "assignment", "mypy")]
    assert not (tmp_path / ".mypy_cache").exists()  # greenloop writes nothing into the project


async def test_off_checks_nothing(tmp_path: Path) -> None:
    (tmp_path / "typed.py").write_text(SOURCE)
    report = await check_types("off", tmp_path, sys.executable, [tmp_path / "typed.py"])
    assert report.findings == [] and report.problem is None


async def test_a_syntax_error_is_a_type_checker_finding_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n")
    report = await check_types("basedpyright", tmp_path, sys.executable, [tmp_path / "broken.py"])
    assert report.problem is None and report.findings and report.findings[0].line == 1
