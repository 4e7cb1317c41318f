"""`greenloop check`, run as a real command: output formats and exit codes."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def greenloop(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greenloop", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_a_source_file_prints_file_line_col_diagnostics_and_exits_1(buggy_project: Path) -> None:
    done = greenloop("check", "mathx/ops.py", cwd=buggy_project)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "mathx/ops.py:6:5: error: test_div failed here (in div): ZeroDivisionError: division by zero " \
           "[greenloop tests/test_ops.py::test_div]" in lines
    assert any(line.startswith("tests/test_ops.py:5:5: error: test_add failed: AssertionError") for line in lines)
    assert "tests: 2 failed, 1 passed" in done.stderr


def test_explain_says_which_interpreter_and_why_each_test_ran(buggy_project: Path) -> None:
    done = greenloop("check", "--explain", "mathx/ops.py", cwd=buggy_project)
    assert done.stdout.splitlines()[:2] == [
        f"interpreter: {sys.executable} (greenloop's own interpreter (no project venv found))",
        "selected tests/test_ops.py imports mathx/ops.py (via tests/test_ops.py -> mathx/ops.py) and coverage "
            "cannot decide (no coverage data yet)",
    ]


def test_json_output_is_one_document(buggy_project: Path) -> None:
    done = greenloop("check", "--json", str(buggy_project), cwd=buggy_project.parent)
    document = json.loads(done.stdout)
    assert document["failed"] is True and document["selected"]["whole_project"] is True
    assert {t["nodeid"]: t["outcome"] for t in document["tests"]} == {
        "tests/test_ops.py::test_add": "failed", "tests/test_ops.py::test_div": "failed",
        "tests/test_ops.py::test_ok": "passed"}
    div = next(d for d in document["diagnostics"] if d["file"] == "mathx/ops.py" and d["line"] == 6)
    assert div["related"] == [{"file": "tests/test_ops.py", "line": 9, "message": "test_div fails here"}]
    assert div["source"] == "greenloop" and div["code"] == "tests/test_ops.py::test_div"


def test_a_green_project_exits_0(make_project) -> None:
    root = make_project({"tests/test_ok.py": "def test_ok():\n    assert True\n"})
    done = greenloop("check", ".", cwd=root)
    assert (done.returncode, done.stdout) == (0, "")


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    done = greenloop("check", "nope.py", cwd=tmp_path)
    assert done.returncode == 2
    assert "greenloop: nope.py: no such file or directory" in done.stderr


def test_an_interpreter_without_pytest_exits_2_with_the_fix(make_project, tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    root = make_project({
        "pyproject.toml": f'[tool.greenloop]\npython = "{venv}/bin/python"\ntype_checker = "off"\n',
        "tests/test_ok.py": "def test_ok():\n    pass\n"})
    done = greenloop("check", ".", cwd=root)
    assert done.returncode == 2
    assert f"Install it with: {venv}/bin/python -m pip install pytest" in done.stderr


def test_bad_settings_are_reported_and_defaults_used(make_project) -> None:
    root = make_project({"pyproject.toml": '[tool.greenloop]\ntest_timeout = "soon"\ntype_checker = "off"\n',
                         "tests/test_ok.py": "def test_ok():\n    pass\n"})
    done = greenloop("check", ".", cwd=root)
    assert done.returncode == 0
    assert "invalid test_timeout = 'soon'" in done.stderr and "using 60.0" in done.stderr


def test_the_demo_diagnosis_lands_on_the_buggy_line() -> None:
    """README's main job: `greenloop check examples/demo` finds the bug in shop/pricing.py."""
    done = greenloop("check", "examples/demo", cwd=REPO)
    assert done.returncode == 1
    buggy = [line for line in done.stdout.splitlines() if line.startswith("shop/pricing.py:")]
    assert buggy and all(line.startswith("shop/pricing.py:18:5: error: test_") for line in buggy)
    assert sum(line.startswith("tests/test_cart.py:") for line in done.stdout.splitlines()) == 2
