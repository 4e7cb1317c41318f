"""Editor settings (initializationOptions, workspace/didChangeConfiguration), the file watcher, and what the
server advertises at initialize."""

from __future__ import annotations

from lsprotocol import types

from helpers import (ADD_ID, BUGGY_OPS, FIXED_OPS, OPS_SUBTRACT, by_code, change_settings, checks_done, logged,
                     published_empty, settle, shown, wait_until_serving)

TEST = "tests/test_ops.py"
OPS = "mathx/ops.py"


def _buggy_shown(editor) -> bool:
    return bool(by_code(editor.diagnostics(OPS), ADD_ID) and by_code(editor.diagnostics(TEST), ADD_ID))


async def _buggy_found(editor) -> None:
    await editor.wait_for(lambda: _buggy_shown(editor), 30)


# -- invalid settings ---------------------------------------------------------------------------------------

async def test_invalid_and_unknown_init_options_are_named_in_a_message(buggy_project, start_editor):
    editor = await start_editor(buggy_project, init_options={"test_timeout": "soon", "bogus": 1})
    await editor.wait_for(lambda: any("test_timeout" in m for m in shown(editor))
                          and any("bogus" in m for m in shown(editor)), 15)
    timeout_message = next(m for m in editor.client.messages if "test_timeout" in m.message)
    assert "soon" in timeout_message.message
    assert timeout_message.type in (types.MessageType.Warning, types.MessageType.Error)


async def test_checks_still_run_with_the_default_after_an_invalid_setting(buggy_project, start_editor):
    editor = await start_editor(buggy_project, init_options={"test_timeout": "soon", "bogus": 1})
    editor.save(OPS)
    await _buggy_found(editor)
    assert by_code(editor.diagnostics(OPS), ADD_ID)[0].range.start.line == OPS_SUBTRACT


async def test_invalid_setting_under_a_greenloop_section_is_named_too(buggy_project, start_editor):
    editor = await start_editor(buggy_project, init_options={"greenloop": {"type_checker": "pyre"}})
    await editor.wait_for(lambda: any("type_checker" in m and "pyre" in m for m in shown(editor)), 15)
    editor.save(OPS)
    await _buggy_found(editor)


async def test_invalid_setting_in_pyproject_is_named_in_a_message(make_project, start_editor):
    root = make_project({"pyproject.toml": '[tool.greenloop]\ntype_checker = "off"\ntest_timeout = -5\n',
                         "tests/test_a.py": "def test_a():\n    assert 1 == 2\n"})
    editor = await start_editor(root)
    await editor.wait_for(lambda: any("test_timeout" in m and "-5" in m for m in shown(editor)), 15)
    editor.save("tests/test_a.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_a.py"), 30)
    assert [d.range.start.line for d in found] == [1]


# -- changing settings while running ------------------------------------------------------------------------

TYPED_PROJECT = {
    "pyproject.toml": '[tool.greenloop]\ntype_checker = "basedpyright"\n',
    "pkg/__init__.py": "",
    "pkg/one.py": 'def one() -> int: return "1"\n',
    "pkg/two.py": 'def two() -> int: return "2"\n',
    # Each module also has a failing test: its diagnostic proves that a check ran.
    "tests/test_one.py": "from pkg.one import one\n\n\ndef test_one():\n    assert one() == 1\n",
    "tests/test_two.py": "from pkg.two import two\n\n\ndef test_two():\n    assert two() == 2\n",
}


async def test_type_checking_switched_off_by_did_change_configuration(make_project, start_editor):
    editor = await start_editor(make_project(TYPED_PROJECT))
    editor.save("pkg/one.py")
    await editor.wait_for(lambda: editor.diagnostics("pkg/one.py", source="basedpyright"), 60)
    await checks_done(editor, 1, 60)  # else the next save supersedes this check and it never logs its end
    change_settings(editor, {"greenloop": {"type_checker": "off"}})
    editor.save("pkg/two.py")
    await checks_done(editor, 2)  # test results may be published before type results: wait for the end
    assert editor.diagnostics("pkg/two.py", source="basedpyright") == []
    assert editor.diagnostics("pkg/two.py", source="greenloop")  # the test check itself still ran


async def test_type_diagnostics_are_withdrawn_once_type_checking_is_off(make_project, start_editor):
    """After type checking is switched off, saving a file must not keep showing its old type errors."""
    editor = await start_editor(make_project(TYPED_PROJECT))
    editor.save("pkg/one.py")
    await editor.wait_for(lambda: editor.diagnostics("pkg/one.py", source="basedpyright"), 60)
    await checks_done(editor, 1, 60)  # else the next save supersedes this check and it never logs its end
    change_settings(editor, {"greenloop": {"type_checker": "off"}})
    editor.reset()
    editor.save("pkg/one.py")
    await checks_done(editor, 2)
    assert editor.diagnostics("tests/test_one.py")  # the check ran
    assert editor.diagnostics("pkg/one.py", source="basedpyright") == []


async def test_type_checking_switched_on_by_did_change_configuration(make_project, start_editor):
    project = {**TYPED_PROJECT, "pyproject.toml": '[tool.greenloop]\ntype_checker = "off"\n'}
    editor = await start_editor(make_project(project))
    editor.save("pkg/one.py")
    await checks_done(editor)
    assert editor.diagnostics("tests/test_one.py")
    assert editor.diagnostics("pkg/one.py", source="basedpyright") == []
    change_settings(editor, {"type_checker": "basedpyright"})  # flat settings work as well
    editor.save("pkg/two.py")
    found = await editor.wait_for(lambda: editor.diagnostics("pkg/two.py", source="basedpyright"), 20)
    assert [d.range.start.line for d in found] == [0]


async def test_empty_did_change_configuration_pulls_settings_from_the_client(make_project, start_editor):
    editor = await start_editor(make_project(TYPED_PROJECT))
    editor.client.set_configuration({"type_checker": "off"}, section="greenloop")
    change_settings(editor, None)
    await settle(0.5)
    editor.save("pkg/two.py")
    await checks_done(editor)
    assert editor.diagnostics("tests/test_two.py")
    assert editor.diagnostics("pkg/two.py", source="basedpyright") == []


async def test_on_save_false_means_a_save_runs_no_check(buggy_project, start_editor):
    editor = await start_editor(buggy_project, init_options={"on_save": False})
    editor.save(OPS, BUGGY_OPS)
    await settle(3)
    assert editor.diagnostics(OPS) == [] and editor.diagnostics(TEST) == []
    assert not any("check done" in m for m in logged(editor))
    # Turning it back on makes the next save check again.
    change_settings(editor, {"greenloop": {"on_save": True}})
    editor.save(OPS)
    await _buggy_found(editor)


# -- the file watcher ---------------------------------------------------------------------------------------

async def test_file_broken_and_fixed_outside_the_editor_is_checked(buggy_project, start_editor):
    (buggy_project / OPS).write_text(FIXED_OPS)
    editor = await start_editor(buggy_project)
    await wait_until_serving(editor)
    (buggy_project / OPS).write_text(BUGGY_OPS)  # no editor message at all
    await editor.wait_for(lambda: _buggy_shown(editor), 10)
    assert by_code(editor.diagnostics(OPS), ADD_ID)[0].range.start.line == OPS_SUBTRACT
    editor.reset()
    (buggy_project / OPS).write_text(FIXED_OPS)
    await editor.wait_for(lambda: published_empty(editor, OPS) and published_empty(editor, TEST), 10)


async def test_file_replaced_atomically_outside_the_editor_is_checked(buggy_project, start_editor):
    """Editors and formatters write a temporary file and rename it over the original."""
    (buggy_project / OPS).write_text(FIXED_OPS)
    editor = await start_editor(buggy_project)
    await wait_until_serving(editor)
    temporary = buggy_project / "mathx" / ".ops.py.tmp"
    temporary.write_text(BUGGY_OPS)
    temporary.replace(buggy_project / OPS)
    await editor.wait_for(lambda: by_code(editor.diagnostics(TEST), ADD_ID), 10)


async def test_watch_false_ignores_changes_outside_the_editor(buggy_project, start_editor):
    (buggy_project / OPS).write_text(FIXED_OPS)
    editor = await start_editor(buggy_project, init_options={"watch": False})
    await wait_until_serving(editor)
    (buggy_project / OPS).write_text(BUGGY_OPS)
    await settle(3)
    assert editor.diagnostics(OPS) == [] and editor.diagnostics(TEST) == []
    assert not any("check done" in m for m in logged(editor))


async def test_editor_save_is_not_checked_twice_by_the_watcher(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    await wait_until_serving(editor)
    editor.save(OPS, BUGGY_OPS.replace("return x", "return x  # edited"))
    await _buggy_found(editor)
    await settle(2)
    assert sum("check done" in m for m in logged(editor)) == 1, logged(editor)


# -- initialize --------------------------------------------------------------------------------------------

async def test_initialize_advertises_save_notifications_and_workspace_folders(buggy_project, start_editor):
    result = (await start_editor(buggy_project)).initialize_result
    assert result is not None
    capabilities = result.capabilities
    sync = capabilities.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions), sync
    assert sync.save not in (None, False)
    assert sync.open_close is True
    folders = capabilities.workspace.workspace_folders if capabilities.workspace else None
    assert folders is not None and folders.supported is True
    assert folders.change_notifications not in (None, False)
    assert result.server_info is not None and result.server_info.name == "greenloop"


# -- settings in pyproject.toml -----------------------------------------------------------------------------

async def test_editing_pyproject_settings_takes_effect_without_a_restart(make_project, start_editor):
    project = {**TYPED_PROJECT, "pyproject.toml": '[tool.greenloop]\ntype_checker = "off"\n'}
    editor = await start_editor(make_project(project))
    editor.save("pkg/one.py")
    await checks_done(editor)
    assert editor.diagnostics("tests/test_one.py")
    assert editor.diagnostics("pkg/one.py", source="basedpyright") == []
    editor.save("pyproject.toml", '[tool.greenloop]\ntype_checker = "basedpyright"\n')
    await checks_done(editor, 2)
    editor.save("pkg/two.py")
    await checks_done(editor, 3)
    found = editor.diagnostics("pkg/two.py", source="basedpyright")
    assert [d.range.start.line for d in found] == [0]
