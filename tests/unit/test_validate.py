"""The guards on a candidate patch: the repair fixes project source, never the tests, their configuration, files
outside the workspace, or the test outcome itself (skips, xfails). Every refusal is a sentence for the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenloop.repair.propose.edits import apply, parse
from greenloop.repair.records import FileEdit, Patch
from greenloop.repair.check.validate import problems

SOURCE = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = (tmp_path / "project")
    (project / "mathx").mkdir(parents=True)
    (project / "mathx" / "ops.py").write_text(SOURCE)
    return project.resolve()


def edit(root: Path, rel: str, before: str = SOURCE, after: str = FIXED) -> Patch:
    return Patch([FileEdit(root / rel, before, after)])


def from_reply(root: Path, reply: str) -> Patch:
    return apply(root, parse(reply), lambda path: path.read_text(encoding="utf-8"))


# --- allowed -------------------------------------------------------------------------------------------------------

def test_a_plain_source_fix_is_allowed(root: Path) -> None:
    assert problems(root, edit(root, "mathx/ops.py")) == []


def test_a_fix_made_from_a_model_reply_is_allowed(root: Path) -> None:
    patch = from_reply(root, "mathx/ops.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n"
                             ">>>>>>> REPLACE\n")
    assert problems(root, patch) == []


def test_a_new_source_module_is_allowed(root: Path) -> None:
    assert problems(root, edit(root, "mathx/helpers.py", "", "def half(x):\n    return x / 2\n")) == []


def test_source_under_src_layout_and_names_merely_containing_test_are_allowed(root: Path) -> None:
    assert problems(root, edit(root, "src/mathx/ops.py")) == []
    assert problems(root, edit(root, "mathx/contest.py")) == []
    assert problems(root, edit(root, "mathx/latest.py")) == []


def test_a_skip_already_in_the_file_is_not_counted_as_added(root: Path) -> None:
    before = ("import pytest\n\n\ndef needs_network():\n    pytest.skip(\"offline\")\n\n\n"
              "def add(a, b):\n    return a - b\n")
    after = before.replace("a - b", "a + b")
    assert problems(root, edit(root, "mathx/ops.py", before, after)) == []


def test_a_skip_already_in_the_file_may_be_reindented(root: Path) -> None:
    before = "import unittest\n\n\n@unittest.skip('slow')\ndef slow():\n    return 1\n"
    after = "import unittest\n\n\nclass Slow:\n    @unittest.skip('slow')\n    def slow(self):\n        return 1\n"
    assert problems(root, edit(root, "mathx/ops.py", before, after)) == []


# --- outside the workspace -----------------------------------------------------------------------------------------

def test_an_edit_reaching_out_with_dotdot_is_refused(root: Path) -> None:
    # edits.apply already refuses such paths before reading them; the guard is the second line of defence.
    patch = Patch([FileEdit(root / ".." / "evil.py", "", "import os\n")])
    [problem] = problems(root, patch)
    assert "outside the workspace" in problem and "evil.py" in problem


def test_an_edit_to_an_absolute_path_outside_the_workspace_is_refused(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "lib.py").write_text("x = 1\n")
    patch = Patch([FileEdit(elsewhere.resolve() / "lib.py", "x = 1\n", "x = 2\n")])
    [problem] = problems(root, patch)
    assert "outside the workspace" in problem


def test_an_edit_through_a_symlink_that_leaves_the_workspace_is_refused(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "lib.py").write_text("x = 1\n")
    (root / "mathx" / "lib.py").symlink_to(elsewhere / "lib.py")
    [problem] = problems(root, edit(root, "mathx/lib.py", "x = 1\n", "x = 2\n"))
    assert "outside the workspace" in problem


def test_the_workspace_root_may_be_given_unresolved(root: Path) -> None:
    unresolved = root / "mathx" / ".."
    assert problems(unresolved, edit(root, "mathx/ops.py")) == []
    assert "outside the workspace" in problems(unresolved, edit(root.parent, "evil.py"))[0]


# --- tests and their configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rel", [
    "test_ops.py",
    "mathx/test_ops.py",
    "mathx/ops_test.py",
    "tests/helpers.py",
    "tests/unit/test_ops.py",
    "mathx/test/util.py",
    "testing/fixtures.py",
])
def test_edits_to_test_files_are_refused(root: Path, rel: str) -> None:
    [problem] = problems(root, edit(root, rel))
    assert problem.startswith(rel)
    assert "test file" in problem and "never the tests" in problem


@pytest.mark.parametrize("rel", ["conftest.py", "mathx/conftest.py"])
def test_edits_to_conftest_are_refused(root: Path, rel: str) -> None:
    [problem] = problems(root, edit(root, rel))
    assert problem.startswith(rel) and "conftest" in problem


@pytest.mark.parametrize("rel", ["pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini", "setup.py", "noxfile.py",
                                 "mathx/settings.toml"])
def test_edits_to_configuration_are_refused(root: Path, rel: str) -> None:
    [problem] = problems(root, edit(root, rel, "[tool.pytest.ini_options]\n", "[tool.pytest.ini_options]\nx=1\n"))
    assert problem.startswith(rel) and "is configuration" in problem


@pytest.mark.parametrize("rel", ["README.md", "mathx/data.json", "mathx/ops.pyi", "Makefile"])
def test_edits_to_non_python_files_are_refused(root: Path, rel: str) -> None:
    [problem] = problems(root, edit(root, rel, "a\n", "b\n"))
    assert problem == f"{rel} is not a Python source file"


@pytest.mark.parametrize("rel", [
    ".venv/lib/python3.11/site-packages/mathx/ops.py",
    "venv/lib/site-packages/thing.py",
    ".hidden/ops.py",
    "mathx/.cache/ops.py",
    "build/lib/mathx/ops.py",
    "mathx/__pycache__/ops.py",
    "mathx.egg-info/ops.py",
])
def test_edits_in_environments_and_hidden_directories_are_refused(root: Path, rel: str) -> None:
    [problem] = problems(root, edit(root, rel))
    assert problem.startswith(rel)
    assert "environment, cache or hidden directory" in problem


# --- what the edit does --------------------------------------------------------------------------------------------

def test_a_patch_that_does_not_parse_is_refused_naming_the_line(root: Path) -> None:
    after = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b:\n    return a - b\n"
    [problem] = problems(root, edit(root, "mathx/ops.py", SOURCE, after))
    assert problem == "mathx/ops.py would not parse after the edit (syntax error near line 5)"


def test_a_patch_with_broken_indentation_is_refused_naming_the_line(root: Path) -> None:
    # The most common slip in a SEARCH/REPLACE edit: the replacement is indented one level too deep.
    after = "def add(a, b):\n    total = a + b\n        return total\n"
    [problem] = problems(root, edit(root, "mathx/ops.py", SOURCE, after))
    assert problem == "mathx/ops.py would not parse after the edit (unexpected indent near line 3)"


@pytest.mark.parametrize("added", [
    "    pytest.skip('later')",
    "    pytest.xfail('known')",
    "    pytest.importorskip('numpy')",
    "@pytest.mark.xfail",
    "@pytest.mark.skip(reason='broken')",
    "@pytest.mark.skipif(True, reason='x')",
    "@unittest.skip('broken')",
    "@unittest.expectedFailure",
    "    self.skipTest('later')",
])
def test_an_added_skip_or_xfail_is_refused(root: Path, added: str) -> None:
    if added.startswith("@"):
        after = f"import pytest\nimport unittest\n\n\n{added}\ndef add(a, b):\n    return a - b\n"
    else:
        after = f"import pytest\nimport unittest\n\n\ndef add(a, b):\n{added}\n    return a - b\n"
    [problem] = problems(root, edit(root, "mathx/ops.py", SOURCE, after))
    assert problem.startswith("mathx/ops.py: the edit adds a skip or xfail")
    assert added.strip() in problem
    assert "fix the failure instead" in problem


def test_an_empty_patch_is_refused(root: Path) -> None:
    assert problems(root, Patch()) == ["the patch changes nothing"]


def test_a_patch_whose_edits_change_nothing_is_refused(root: Path) -> None:
    assert problems(root, edit(root, "mathx/ops.py", SOURCE, SOURCE)) == ["the patch changes nothing"]


def test_every_refused_file_of_a_patch_is_reported(root: Path) -> None:
    patch = Patch([
        FileEdit(root / "mathx" / "ops.py", SOURCE, FIXED),
        FileEdit(root / "tests" / "test_ops.py", "x = 1\n", "x = 2\n"),
        FileEdit(root / "pytest.ini", "[pytest]\n", "[pytest]\naddopts = -x\n"),
    ])
    found = problems(root, patch)
    assert len(found) == 2
    assert found[0].startswith("tests/test_ops.py is a test file")
    assert found[1].startswith("pytest.ini is configuration")
