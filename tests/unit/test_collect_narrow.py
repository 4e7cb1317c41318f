"""A run of named files or tests collects exactly what pytest would, without asking about every sibling."""

import subprocess
import sys
from pathlib import Path

import pytest

from greenloop.records import Selection
from greenloop.run.pytest_runner import run_tests

TREE = {
    "pkg/__init__.py": "",
    "pkg/core.py": "def one():\n    return 1\n",
    "pkg/tests/__init__.py": "",
    "pkg/tests/test_core.py": "from pkg.core import one\n\ndef test_one():\n    assert one() == 1\n\n"
                              "def test_two():\n    assert one() + 1 == 2\n",
    "pkg/tests/test_ignored.py": "def test_never():\n    pass\n",
    "pkg/tests/deep/test_deep.py": "import pytest\n\n@pytest.mark.parametrize('x', [1, 2])\n"
                                   "def test_deep(x):\n    assert x\n",
    "pkg/other/test_other.py": "def test_other():\n    pass\n",
    "pkg/other/test_broken.py": "def test_broken(:\n",
    "tests/test_top.py": "def test_top():\n    pass\n",
    "conftest.py": """
        import os

        collect_ignore = ["pkg/tests/test_ignored.py"]

        def pytest_ignore_collect(collection_path, config):
            log = os.environ.get("ASKED")
            if log:
                with open(log, "a") as out:
                    out.write(str(collection_path) + "\\n")
        """,
}

ARGUMENTS = [
    ["pkg/tests/test_core.py::test_two"],
    ["pkg/tests/test_core.py"],
    ["pkg/tests"],
    ["pkg/tests/deep/test_deep.py::test_deep[2]", "tests/test_top.py"],
    ["pkg/tests/test_ignored.py"],
    ["pkg"],
]


def pytest_collects(root: Path, args: list[str]) -> list[str]:
    """What plain pytest collects for `args` (no greenloop plugin)."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
                          cwd=root, capture_output=True, text=True, timeout=120)
    return sorted(line for line in done.stdout.splitlines() if "::" in line)


@pytest.mark.parametrize("args", ARGUMENTS, ids=lambda a: "+".join(a))
async def test_named_files_and_tests_collect_what_plain_pytest_collects(make_project, args) -> None:
    root = make_project(TREE)
    result = await run_tests(root, sys.executable, Selection(nodeids=args), 10)
    assert sorted(r.nodeid for r in result.results if "::" in r.nodeid) == pytest_collects(root, args)
    broken = [r.nodeid for r in result.results if "::" not in r.nodeid]
    assert broken == (["pkg/other/test_broken.py"] if args == ["pkg"] else [])  # a collection error, as pytest's


async def test_pytest_is_not_asked_about_entries_that_cannot_hold_a_named_test(make_project, tmp_path,
                                                                               monkeypatch) -> None:
    root = make_project(TREE)
    asked = tmp_path / "asked.txt"
    monkeypatch.setenv("ASKED", str(asked))
    result = await run_tests(root, sys.executable, Selection(nodeids=["pkg/tests/test_core.py::test_one"]), 10)
    assert [r.nodeid for r in result.results] == ["pkg/tests/test_core.py::test_one"]
    paths = {Path(line).relative_to(root).as_posix() for line in asked.read_text().splitlines()}
    assert not paths & {"pkg/other", "pkg/core.py", "tests", "pkg/tests/test_ignored.py", "pkg/tests/deep"}
