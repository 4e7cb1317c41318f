"""Workspace folders come and go: each folder is its own project with its own settings and checks."""

import shutil
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from helpers import ADD_ID, checks_done


async def test_a_folder_added_later_is_checked_and_a_removed_one_is_not(
    buggy_project: Path, tmp_path: Path, start_editor
) -> None:
    first = buggy_project
    second = tmp_path / "second"
    shutil.copytree(first, second)
    editor = await start_editor(first)
    editor.client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(
            added=[types.WorkspaceFolder(uri=from_fs_path(str(second)) or "", name="second")],
            removed=[types.WorkspaceFolder(uri=from_fs_path(str(first)) or "", name="first")],
        )))
    second_test = from_fs_path(str(second / "tests/test_ops.py"))
    editor.client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=from_fs_path(str(second / "mathx/ops.py")) or "")))
    await editor.wait_for(lambda: any(d.code == ADD_ID for d in editor.client.diagnostics.get(second_test, [])))
    logs = [m.message for m in editor.client.log_messages]
    assert any(str(second.resolve()) in m and "settings" in m for m in logs)
    # The removed folder's session is gone: a save there opens a session for its own project root again,
    # rather than reusing the old one; either way it is checked as a project of its own.
    editor.save("tests/test_ops.py")
    await checks_done(editor, count=2)
    assert any(d.code == ADD_ID for d in editor.diagnostics("tests/test_ops.py"))
