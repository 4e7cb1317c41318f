"""Saving a file produces diagnostics where they belong, and clears them when the tests pass again."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from helpers import (logged, ADD_ID, BUGGY_OPS, DIV_ID, FIXED_OPS, OK_ID, OPS_DIVIDE, OPS_SUBTRACT, TEST_ADD_ASSERT,
                     TEST_DIV_ASSERT, by_code, checks_done, published_empty)

TEST = "tests/test_ops.py"
OPS = "mathx/ops.py"
TEST_OK_ASSERT = 12


def _one(diagnostics: list[types.Diagnostic], code: str) -> types.Diagnostic:
    found = by_code(diagnostics, code)
    assert len(found) == 1, f"expected one diagnostic with code {code}, got {diagnostics}"
    return found[0]


def _points_to(diagnostic: types.Diagnostic, uri: str, line: int) -> bool:
    return any(r.location.uri == uri and r.location.range.start.line == line
               for r in diagnostic.related_information or [])


async def _saved_buggy(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    editor.save(OPS)
    await editor.wait_for(lambda: len(editor.diagnostics(TEST)) >= 2 and len(editor.diagnostics(OPS)) >= 2
                          and editor.checked(), 30)
    return editor


async def test_failing_test_is_reported_on_its_assert_line(buggy_project, start_editor):
    editor = await _saved_buggy(buggy_project, start_editor)
    in_test = editor.diagnostics(TEST)

    add = _one(in_test, ADD_ID)
    assert add.range.start.line == TEST_ADD_ASSERT
    assert add.severity == types.DiagnosticSeverity.Error
    assert add.source == "greenloop"
    assert "test_add" in add.message

    div = _one(in_test, DIV_ID)
    assert div.range.start.line == TEST_DIV_ASSERT
    assert div.severity == types.DiagnosticSeverity.Error
    assert div.source == "greenloop"
    assert "test_div" in div.message
    assert "ZeroDivisionError" in div.message


async def test_passing_test_gets_no_diagnostic(buggy_project, start_editor):
    editor = await _saved_buggy(buggy_project, start_editor)
    assert by_code(editor.diagnostics(TEST), OK_ID) == []
    assert by_code(editor.diagnostics(OPS), OK_ID) == []
    assert all(d.range.start.line != TEST_OK_ASSERT for d in editor.diagnostics(TEST))


async def test_value_bug_is_placed_on_the_coverage_ranked_source_line(buggy_project, start_editor):
    """test_add fails on a returned value: no traceback frame reaches mathx/ops.py, so the line is chosen by
    coverage: `return a - b` ran only in the failing test."""
    editor = await _saved_buggy(buggy_project, start_editor)
    add = _one(editor.diagnostics(OPS), ADD_ID)
    assert add.range.start.line == OPS_SUBTRACT
    assert add.severity == types.DiagnosticSeverity.Error
    assert add.source == "greenloop"
    assert "test_add" in add.message
    assert _points_to(add, editor.uri(TEST), TEST_ADD_ASSERT)
    assert _points_to(_one(editor.diagnostics(TEST), ADD_ID), editor.uri(OPS), OPS_SUBTRACT)


async def test_exception_bug_is_placed_on_the_raising_source_line(buggy_project, start_editor):
    editor = await _saved_buggy(buggy_project, start_editor)
    div = _one(editor.diagnostics(OPS), DIV_ID)
    assert div.range.start.line == OPS_DIVIDE
    assert div.severity == types.DiagnosticSeverity.Error
    assert div.source == "greenloop"
    assert "test_div" in div.message
    assert _points_to(div, editor.uri(TEST), TEST_DIV_ASSERT)
    assert _points_to(_one(editor.diagnostics(TEST), DIV_ID), editor.uri(OPS), OPS_DIVIDE)


async def test_saving_the_test_file_reports_the_same_failures(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    editor.save(TEST)
    await editor.wait_for(lambda: len(editor.diagnostics(TEST)) >= 2 and editor.diagnostics(OPS), 30)
    assert _one(editor.diagnostics(TEST), ADD_ID).range.start.line == TEST_ADD_ASSERT
    assert _one(editor.diagnostics(TEST), DIV_ID).range.start.line == TEST_DIV_ASSERT
    # The exception's frame reaches the source even though the source file was not saved.
    assert _one(editor.diagnostics(OPS), DIV_ID).range.start.line == OPS_DIVIDE


async def test_fixing_the_bug_clears_diagnostics_in_both_files(buggy_project, start_editor):
    editor = await _saved_buggy(buggy_project, start_editor)
    editor.reset()
    editor.save(OPS, FIXED_OPS)
    await editor.wait_for(lambda: published_empty(editor, TEST) and published_empty(editor, OPS), 30)


async def test_partial_fix_clears_only_the_fixed_tests_diagnostics(buggy_project, start_editor):
    editor = await _saved_buggy(buggy_project, start_editor)
    editor.reset()
    editor.save(OPS, BUGGY_OPS.replace("a - b", "a + b"))
    await editor.wait_for(lambda: editor.diagnostics(TEST) and editor.diagnostics(OPS), 30)
    assert by_code(editor.diagnostics(TEST), ADD_ID) == []
    assert by_code(editor.diagnostics(OPS), ADD_ID) == []
    assert _one(editor.diagnostics(TEST), DIV_ID).range.start.line == TEST_DIV_ASSERT
    assert _one(editor.diagnostics(OPS), DIV_ID).range.start.line == OPS_DIVIDE


async def test_breaking_again_after_a_fix_brings_diagnostics_back(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    editor.save(OPS, FIXED_OPS)
    await checks_done(editor)
    assert editor.diagnostics(TEST) == [] and editor.diagnostics(OPS) == []
    editor.save(OPS, BUGGY_OPS)
    await editor.wait_for(lambda: by_code(editor.diagnostics(OPS), ADD_ID), 30)
    assert _one(editor.diagnostics(OPS), ADD_ID).range.start.line == OPS_SUBTRACT


# -- type checkers ----------------------------------------------------------------------------------------

TYPED = '''\
"""A module with a type error on its third line."""


def f() -> int: return "x"
'''
TYPED_LINE = 3


async def _type_diagnostics(make_project, start_editor, checker: str) -> list[types.Diagnostic]:
    root = make_project({"pyproject.toml": f'[tool.greenloop]\ntype_checker = "{checker}"\n',
                         "pkg/__init__.py": "", "pkg/typed.py": TYPED})
    editor = await start_editor(root)
    editor.save("pkg/typed.py")
    return await editor.wait_for(lambda: editor.diagnostics("pkg/typed.py", source=checker), 60)


async def test_basedpyright_reports_a_wrong_return_type_on_its_line(make_project, start_editor):
    found = await _type_diagnostics(make_project, start_editor, "basedpyright")
    assert [d.range.start.line for d in found] == [TYPED_LINE]
    assert found[0].severity == types.DiagnosticSeverity.Error
    assert "int" in found[0].message


async def test_mypy_reports_a_wrong_return_type_on_its_line(make_project, start_editor):
    found = await _type_diagnostics(make_project, start_editor, "mypy")
    assert [d.range.start.line for d in found] == [TYPED_LINE]
    assert found[0].severity == types.DiagnosticSeverity.Error
    assert "int" in found[0].message


async def test_fixing_a_type_error_clears_it(make_project, start_editor):
    root = make_project({"pyproject.toml": '[tool.greenloop]\ntype_checker = "basedpyright"\n',
                         "pkg/__init__.py": "", "pkg/typed.py": TYPED})
    editor = await start_editor(root)
    editor.save("pkg/typed.py")
    await editor.wait_for(lambda: editor.diagnostics("pkg/typed.py", source="basedpyright"), 60)
    editor.reset()
    editor.save("pkg/typed.py", TYPED.replace('"x"', "1"))
    await editor.wait_for(lambda: published_empty(editor, "pkg/typed.py"), 60)


# -- collection errors ------------------------------------------------------------------------------------

async def test_syntax_error_in_a_test_file_is_reported_on_the_bad_line(make_project, start_editor):
    root = make_project({"tests/test_broken.py": """
        def test_one():
            assert 1 == 1


        def test_two(:
            pass
        """})
    editor = await start_editor(root)
    editor.save("tests/test_broken.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_broken.py"), 30)
    assert [d.range.start.line for d in found] == [4]
    assert found[0].severity == types.DiagnosticSeverity.Error
    assert "SyntaxError" in found[0].message


async def test_syntax_error_in_an_imported_source_module_is_reported_where_it_is(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    editor.save(OPS, FIXED_OPS.replace("def div(a, b):", "def div(a, b)"))
    await editor.wait_for(lambda: editor.diagnostics(OPS) and editor.diagnostics(TEST), 30)
    in_source = editor.diagnostics(OPS)
    assert [d.range.start.line for d in in_source] == [4]
    assert "SyntaxError" in in_source[0].message
    # The test file cannot be collected: shown on its import of the broken module, linked to the error.
    in_test = editor.diagnostics(TEST)
    assert [d.range.start.line for d in in_test] == [0]
    assert _points_to(in_test[0], editor.uri(OPS), 4)


async def test_fixing_a_collection_error_clears_it(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    editor.save(OPS, FIXED_OPS.replace("def div(a, b):", "def div(a, b)"))
    await editor.wait_for(lambda: editor.diagnostics(OPS) and editor.diagnostics(TEST), 30)
    editor.reset()
    editor.save(OPS, FIXED_OPS)
    await editor.wait_for(lambda: published_empty(editor, OPS) and published_empty(editor, TEST), 30)


async def test_collection_error_in_one_test_file_does_not_hide_failures_in_another(buggy_project, start_editor):
    """Both test files import the saved module; one cannot be collected, the other must still run."""
    (buggy_project / "tests/test_other.py").write_text(
        "from mathx.ops import identity\n\n\ndef test_other(:\n    assert identity(1) == 1\n")
    editor = await start_editor(buggy_project)
    editor.save(OPS)
    await editor.wait_for(lambda: editor.diagnostics("tests/test_other.py"), 30)
    await checks_done(editor)
    assert [d.range.start.line for d in editor.diagnostics("tests/test_other.py")] == [3]
    assert _one(editor.diagnostics(TEST), ADD_ID).range.start.line == TEST_ADD_ASSERT
    assert _one(editor.diagnostics(OPS), ADD_ID).range.start.line == OPS_SUBTRACT


async def test_collection_error_elsewhere_does_not_clear_known_failures(buggy_project, start_editor):
    """A whole-project run interrupted by an unrelated broken test file must not wipe failures it never re-ran."""
    editor = await _saved_buggy(buggy_project, start_editor)
    editor.save("tests/test_other.py", "def test_other(:\n    pass\n")
    await editor.wait_for(lambda: editor.diagnostics("tests/test_other.py"), 30)
    editor.save("pyproject.toml")  # runs every test
    # The whole-project check logs why it ran everything when it is done.
    await editor.wait_for(lambda: any("running every test" in m for m in logged(editor)), 30)
    await asyncio.sleep(0.3)
    assert by_code(editor.diagnostics(TEST), ADD_ID) and by_code(editor.diagnostics(TEST), DIV_ID)
    assert by_code(editor.diagnostics(OPS), DIV_ID)
