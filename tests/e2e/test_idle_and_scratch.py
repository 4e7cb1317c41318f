"""The server never burns nor scans what is not source: an idle server over a workspace with a large `.venv` uses no
CPU; the watcher reports source changes and nothing from environments, `node_modules` or `.gitignore`'d folders;
a scratch file outside any project is checked alone, its folder neither watched nor scanned."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from helpers import ADD_ID, BUGGY_OPS, FIXED_OPS, by_code, checks_done, logged, settle, wait_until_serving

OPS = "mathx/ops.py"
TEST = "tests/test_ops.py"
FAILING_TEST = "def test_fails():\n    assert 1 == 2\n"


def _large_venv(folder: Path, packages: int = 600, depth: int = 10) -> int:
    """A virtual environment shaped like a real one: a pyvenv.cfg on top and `packages * depth` nested folders."""
    site = folder / "lib" / "python3.11" / "site-packages"
    for package in range(packages):
        os.makedirs(site / f"pkg{package}" / "/".join(f"sub{level}" for level in range(1, depth)))
        (site / f"pkg{package}" / "__init__.py").write_text("")
    (folder / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\n")
    return packages * depth


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_pid(editor) -> int:
    return editor.client._server.pid  # pygls' client keeps the server's asyncio subprocess here


async def test_an_idle_server_over_a_large_virtual_environment_uses_no_cpu(buggy_project, start_editor):
    assert _large_venv(buggy_project / ".venv") >= 6000
    editor = await start_editor(buggy_project)
    await wait_until_serving(editor)
    editor.save(OPS)  # one check, so the import graph is built and the fork server started, then idle
    await checks_done(editor)
    # The background work of a first start ends too: the coverage build, whose results the server stores (on a
    # slow machine it was still storing them two seconds after the check).
    await editor.wait_for(lambda: any(m.startswith("coverage: ready") for m in logged(editor)), 60,
                          "the coverage build's end")
    await settle(2)
    pid = _server_pid(editor)
    before = _cpu_seconds(pid)
    await asyncio.sleep(5)
    used = _cpu_seconds(pid) - before
    assert used < 0.2, f"the idle server used {used:.2f} s of CPU in 5 s"


async def test_the_watcher_reports_source_changes_and_ignores_environments_and_gitignored_folders(
    buggy_project, start_editor
):
    root = buggy_project
    (root / ".gitignore").write_text("generated/\n")
    (root / OPS).write_text(FIXED_OPS)
    for folder in (".venv/lib/python3.11/site-packages/dep", "node_modules/pkg", "generated", "mathx/generated"):
        (root / folder).mkdir(parents=True)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    editor = await start_editor(root)
    await wait_until_serving(editor)
    ignored = [".venv/lib/python3.11/site-packages/dep/test_dep.py", "node_modules/pkg/test_pkg.py",
               "generated/test_gen.py", "mathx/generated/test_gen.py"]
    for rel in ignored:  # failing tests, written outside the editor: a check would report them
        (root / rel).write_text(FAILING_TEST)
    (root / "node_modules" / "new_folder").mkdir()  # a folder appearing where nothing is watched
    (root / "node_modules" / "new_folder" / "test_new.py").write_text(FAILING_TEST)
    await settle(2)
    assert not any("check done" in m or "changed outside" in m for m in logged(editor)), logged(editor)

    (root / OPS).write_text(BUGGY_OPS)  # a source change, outside the editor
    await editor.wait_for(lambda: by_code(editor.diagnostics(TEST), ADD_ID), 15)
    changed = [m for m in logged(editor) if "changed outside" in m]
    assert changed == [f"changed outside the editor: {OPS}"], changed
    assert all(editor.diagnostics(rel) == [] for rel in ignored)


# -- a scratch file outside any project ----------------------------------------------------------------------

def _save(client, path: Path) -> str:
    """Open and save `path` as an editor would; returns its URI."""
    uri = from_fs_path(str(path)) or ""
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=path.read_text())))
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    return uri


async def test_a_scratch_test_file_outside_any_project_is_checked_alone(buggy_project, tmp_path, start_editor):
    scratch = tmp_path / "scratch"  # no pyproject.toml, setup.py, setup.cfg, pytest.ini, tox.ini nor .git above
    scratch.mkdir()
    (scratch / "test_scratch.py").write_text("def test_scratch():\n    assert 1 + 1 == 3\n")
    (scratch / "test_sibling.py").write_text(FAILING_TEST)  # a sibling: never scanned, never run
    (scratch / "broken.py").write_text("def broken(:\n")
    editor = await start_editor(buggy_project)  # the workspace is another folder
    await wait_until_serving(editor)

    uri = _save(editor.client, scratch / "test_scratch.py")
    found = await editor.wait_for(lambda: editor.client.diagnostics.get(uri), 30)
    assert [d.range.start.line for d in found] == [1]
    await checks_done(editor)
    sibling = from_fs_path(str(scratch / "test_sibling.py")) or ""
    broken = from_fs_path(str(scratch / "broken.py")) or ""
    assert not editor.client.diagnostics.get(sibling) and not editor.client.diagnostics.get(broken)
    alone = [m for m in logged(editor) if "neither watched nor scanned" in m]
    assert alone and str((scratch / "test_scratch.py").resolve()) in alone[0], logged(editor)
    assert sorted(os.listdir(scratch)) == ["broken.py", "test_scratch.py", "test_sibling.py"]  # nothing written

    # Its folder is not watched: a change written there outside the editor runs nothing.
    checks = sum("check done" in m for m in logged(editor))
    (scratch / "test_sibling.py").write_text(FAILING_TEST + "\n# changed\n")
    (scratch / "test_scratch.py").write_text("def test_scratch():\n    assert 1 + 1 == 4\n")
    await settle(2)
    assert sum("check done" in m for m in logged(editor)) == checks
    assert not any("changed outside" in m for m in logged(editor))


async def test_two_scratch_files_in_one_folder_are_two_checks_of_one_file_each(buggy_project, tmp_path, start_editor):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "test_one.py").write_text("def test_one():\n    assert 'one' == 1\n")
    (scratch / "test_two.py").write_text("\n\ndef test_two():\n    assert 'two' == 2\n")
    editor = await start_editor(buggy_project)
    await wait_until_serving(editor)
    one = _save(editor.client, scratch / "test_one.py")
    found_one = await editor.wait_for(lambda: editor.client.diagnostics.get(one), 30)
    two = _save(editor.client, scratch / "test_two.py")
    found_two = await editor.wait_for(lambda: editor.client.diagnostics.get(two), 30)
    assert [d.range.start.line for d in found_one] == [1] and [d.range.start.line for d in found_two] == [3]
    assert sum("neither watched nor scanned" in m for m in logged(editor)) == 2, logged(editor)
