"""Bad input never stops the server: each case is reported, and a later save is still checked."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from lsprotocol import types

from greenloop.select.recorder import RERECORD_AFTER

from helpers import (ADD_ID, DIV_ID, FIXED_OPS, OPS_SUBTRACT, TEST_ADD_ASSERT, by_code, checks_done,
                     logged, published_empty, settle, shown)
from processes import alive

TEST = "tests/test_ops.py"
OPS = "mathx/ops.py"


def _buggy_shown(editor) -> bool:
    return bool(by_code(editor.diagnostics(OPS), ADD_ID) and by_code(editor.diagnostics(TEST), ADD_ID))


async def assert_still_serving(editor) -> None:
    """The buggy project's failures are still found after the bad input."""
    editor.reset()
    editor.save(OPS)
    await editor.wait_for(lambda: _buggy_shown(editor), 30)
    assert by_code(editor.diagnostics(TEST), ADD_ID)[0].range.start.line == TEST_ADD_ASSERT
    assert by_code(editor.diagnostics(OPS), ADD_ID)[0].range.start.line == OPS_SUBTRACT


def _no_internal_error(editor) -> None:
    assert not [m for m in shown(editor) if "internal error" in m], shown(editor)


# -- a file that is not UTF-8 -----------------------------------------------------------------------------

async def test_non_utf8_source_file_gets_a_diagnostic_mentioning_utf8(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    editor.save("mathx/latin.py", b"x = '\xff'\n")
    found = await editor.wait_for(lambda: editor.diagnostics("mathx/latin.py"), 30)
    assert any("utf-8" in d.message.lower() and d.range.start.line == 0 for d in found), found
    assert all(d.severity == types.DiagnosticSeverity.Error for d in found)
    _no_internal_error(editor)
    await assert_still_serving(editor)


async def test_non_utf8_module_imported_by_a_test_breaks_its_collection(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    (buggy_project / "tests/test_latin.py").write_text("from mathx.latin import x\n\n\ndef test_x():\n    assert x\n")
    editor.save("mathx/latin.py", b"x = '\xff'\n")
    await editor.wait_for(lambda: editor.diagnostics("tests/test_latin.py"), 30)
    found = editor.diagnostics("tests/test_latin.py")
    assert [d.range.start.line for d in found] == [0]
    assert any("utf-8" in d.message.lower() for d in editor.diagnostics("mathx/latin.py"))
    await assert_still_serving(editor)


async def test_latin1_file_with_a_coding_cookie_is_not_flagged(buggy_project, start_editor):
    """Latin-1 bytes are fine when the file declares its encoding, as Python allows."""
    (buggy_project / "tests/test_latin.py").write_text(
        "from mathx.latin import x\n\n\ndef test_x():\n    assert x == '\\xff'\n\n\n"
        "def test_marker():\n    assert False\n")
    editor = await start_editor(buggy_project)
    editor.save("mathx/latin.py", b"# -*- coding: latin-1 -*-\nx = '\xff'\n")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_latin.py"), 30)
    assert [d.code for d in found] == ["tests/test_latin.py::test_marker"]  # test_x imported and passed
    assert [d for d in editor.diagnostics("mathx/latin.py") if "utf-8" in d.message.lower()] == []


# -- a file deleted before its save arrives ----------------------------------------------------------------

async def test_deleted_source_file_breaks_importers_and_drops_its_own_diagnostics(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    editor.save(OPS)
    await editor.wait_for(lambda: by_code(editor.diagnostics(OPS), ADD_ID), 30)
    editor.reset()
    (buggy_project / OPS).unlink()
    editor.save(OPS)
    # Results stream in; once the run completes, only the import of the missing module is left.
    found = await editor.wait_for(lambda: [d for d in editor.diagnostics(TEST)
                                           if [x.range.start.line for x in editor.diagnostics(TEST)] == [0]], 30)
    assert "mathx.ops" in found[0].message
    # Diagnostics of the deleted file are withdrawn rather than left pointing at a file that is gone.
    await editor.wait_for(lambda: published_empty(editor, OPS), 10)
    _no_internal_error(editor)
    # Put it back: the server is still checking.
    editor.reset()
    editor.save(OPS, FIXED_OPS)
    await editor.wait_for(lambda: published_empty(editor, TEST), 30)


# -- nothing to test --------------------------------------------------------------------------------------

async def test_workspace_without_tests_checks_quietly(make_project, start_editor):
    root = make_project({"pkg/__init__.py": "", "pkg/mod.py": "def f():\n    return 1\n"})
    editor = await start_editor(root)
    editor.save("pkg/mod.py")
    await checks_done(editor)
    assert editor.diagnostics("pkg/mod.py") == []
    assert not [m for m in editor.client.messages if m.type == types.MessageType.Error], shown(editor)
    # A test file added later is checked.
    editor.save("tests/test_mod.py", "from pkg.mod import f\n\n\ndef test_f():\n    assert f() == 2\n")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_mod.py"), 30)
    assert [d.range.start.line for d in found] == [4]


# -- an interpreter without pytest -------------------------------------------------------------------------

async def test_interpreter_without_pytest_says_how_to_install_it(buggy_project, start_editor, tmp_path):
    venv = tmp_path / "nopytest"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    editor = await start_editor(buggy_project, init_options={"python": python})
    editor.save(OPS)
    await editor.wait_for(lambda: [m for m in shown(editor) if "pytest" in m], 30)
    message = next(m for m in editor.client.messages if "pytest" in m.message)
    assert "pip install pytest" in message.message
    assert python in message.message
    assert message.type in (types.MessageType.Error, types.MessageType.Warning)
    assert editor.diagnostics(TEST) == []
    # Point greenloop back at an interpreter with pytest: checks run again.
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"greenloop": {"python": sys.executable}}))
    await assert_still_serving(editor)


# -- a test that hangs ------------------------------------------------------------------------------------

async def test_hanging_test_is_killed_at_the_timeout_and_reported_on_the_test(make_project, start_editor,
                                                                             tmp_path):
    pidfile = tmp_path / "hanging.pid"
    root = make_project({"tests/test_hang.py": f"""
        import os
        import time


        def test_quick():
            assert True


        def test_hang():
            with open({str(pidfile)!r}, "w") as out:
                out.write(str(os.getpid()))
            time.sleep(600)
        """})
    editor = await start_editor(root, init_options={"test_timeout": 3})
    started = time.monotonic()
    editor.save("tests/test_hang.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_hang.py"), 60)
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"the timeout diagnostic took {elapsed:.1f} s"
    assert [d.range.start.line for d in found] == [8]  # def test_hang: slow, a warning; test_quick still ran
    assert found[0].severity == types.DiagnosticSeverity.Warning  # slow, not proven wrong
    assert found[0].message == ("test_hang is slow: did not finish within 3 s (test_timeout); "
                                "the other tests still ran")
    assert found[0].code == "tests/test_hang.py::test_hang"
    # The hung pytest process is gone once the run ends.
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        await settle(0.1)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError(f"the hung test process {pid} is still alive")
    # Still serving: the test no longer hangs but fails, and is reported as a failure.
    editor.reset()
    editor.save("tests/test_hang.py", "def test_hang():\n    assert 1 == 2\n")
    found = await editor.wait_for(lambda: by_code(editor.diagnostics("tests/test_hang.py"),
                                                  "tests/test_hang.py::test_hang"), 30)
    assert [d.range.start.line for d in found] == [1]
    assert "timed out" not in found[0].message


# -- a test that prints megabytes -------------------------------------------------------------------------

async def test_test_printing_megabytes_still_gets_its_outcome(make_project, start_editor):
    root = make_project({"tests/test_loud.py": """
        import sys


        def test_loud():
            print("x" * 10_000_000)
            print("y" * 5_000_000, file=sys.stderr)
            assert 1 == 2


        def test_loud_but_fine():
            print("z" * 10_000_000)
        """})
    editor = await start_editor(root)
    editor.save("tests/test_loud.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_loud.py"), 60)
    assert [(d.range.start.line, d.code) for d in found] == [(6, "tests/test_loud.py::test_loud")]
    assert "assert 1 == 2" in found[0].message


async def test_test_writing_megabytes_straight_to_the_output_pipe_still_gets_its_outcome(make_project,
                                                                                          start_editor):
    """Output that bypasses pytest's capturing (a child process writing to the inherited pipe)."""
    root = make_project({"tests/test_loud.py": """
        import subprocess
        import sys


        def test_loud():
            subprocess.run([sys.executable, "-c", "import os; os.write(2, b'x' * 10_000_000)"])
            assert 1 == 2
        """})
    editor = await start_editor(root)
    editor.save("tests/test_loud.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_loud.py"), 60)
    assert [d.range.start.line for d in found] == [6]


# -- a conftest.py that raises ----------------------------------------------------------------------------

async def test_raising_conftest_is_reported_at_the_raising_line(make_project, start_editor):
    root = make_project({
        "tests/conftest.py": """
            import os

            raise RuntimeError("conftest is broken")
            """,
        "tests/test_a.py": "def test_a():\n    assert True\n",
    })
    editor = await start_editor(root)
    editor.save("tests/conftest.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/conftest.py"), 30)
    assert [d.range.start.line for d in found] == [2]
    assert found[0].severity == types.DiagnosticSeverity.Error
    assert "conftest is broken" in found[0].message
    # Fixing the conftest clears it.
    editor.reset()
    editor.save("tests/conftest.py", "import os\n")
    await editor.wait_for(lambda: published_empty(editor, "tests/conftest.py"), 30)


async def test_raising_conftest_is_reported_when_a_test_file_is_saved(make_project, start_editor):
    root = make_project({
        "tests/conftest.py": "def helper():\n    return 1\n\n\nhelper()\n1 / 0\n",
        "tests/test_a.py": "def test_a():\n    assert True\n",
    })
    editor = await start_editor(root)
    editor.save("tests/test_a.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/conftest.py"), 30)
    assert [d.range.start.line for d in found] == [5]
    assert "ZeroDivisionError" in found[0].message


# -- malformed protocol input -----------------------------------------------------------------------------

async def test_save_of_a_non_file_uri_is_ignored(buggy_project, start_editor):
    editor = await start_editor(buggy_project)
    editor.client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri="untitled:Untitled-1")))
    _no_internal_error(editor)
    await assert_still_serving(editor)


async def test_save_of_a_file_outside_the_workspace_does_not_break_the_workspace(buggy_project, start_editor,
                                                                                tmp_path: Path):
    outside = tmp_path / "elsewhere" / "loose.py"
    outside.parent.mkdir()
    outside.write_text("x = 1\n")
    editor = await start_editor(buggy_project)
    editor.client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=outside.as_uri())))
    await settle(0.5)
    _no_internal_error(editor)
    await assert_still_serving(editor)
    assert by_code(editor.diagnostics(TEST), DIV_ID)


async def test_deleted_test_file_withdraws_all_of_its_diagnostics(buggy_project, start_editor):
    """Once a test file is gone its tests cannot fail: their diagnostics in the source go too."""
    editor = await start_editor(buggy_project)
    editor.save(OPS)
    await editor.wait_for(lambda: _buggy_shown(editor), 30)
    editor.reset()
    (buggy_project / TEST).unlink()
    editor.save(TEST)
    await editor.wait_for(lambda: published_empty(editor, TEST) and published_empty(editor, OPS), 30)
    _no_internal_error(editor)


async def test_module_level_hang_in_a_test_file_is_stopped_and_reported(make_project, start_editor):
    root = make_project({"tests/test_hang.py": """
        import time

        time.sleep(600)


        def test_never():
            pass
        """})
    editor = await start_editor(root, init_options={"test_timeout": 3})
    started = time.monotonic()
    editor.save("tests/test_hang.py")
    await editor.wait_for(lambda: [m for m in shown(editor) if "timed out" in m]
                          or editor.diagnostics("tests/test_hang.py"), 40)
    assert time.monotonic() - started < 30
    editor.save("tests/test_hang.py", "def test_never():\n    assert 1 == 2\n")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_hang.py"), 30)
    assert [d.range.start.line for d in found] == [1]


async def test_hanging_test_is_killed_with_the_processes_it_started(make_project, start_editor, tmp_path):
    """Every run of a hung test (the background coverage run, the check after a save) ends with the processes
    the test started, and the hung test is not run again in the background just to record its coverage."""
    root = make_project({"tests/test_hang.py": f"""
        import os
        import subprocess
        import sys
        import time


        def test_hang():
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            with open(os.path.join({str(tmp_path)!r}, "grandchild-%d.pid" % child.pid), "w") as out:
                out.write(str(child.pid))
            time.sleep(600)
        """})

    def started() -> set[int]:
        return {int(p.read_text()) for p in tmp_path.glob("grandchild-*.pid") if p.read_text()}

    async def all_ended(pids: set[int]) -> None:
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            await settle(0.1)
        assert not [pid for pid in pids if alive(pid)], "processes started by the hung test are still running"

    editor = await start_editor(root, init_options={"test_timeout": 3})
    await editor.wait_for(lambda: any(m.message.startswith("coverage: ready") for m in editor.client.log_messages),
                          120, "the background coverage run")
    before = started()
    await all_ended(before)
    editor.save("tests/test_hang.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_hang.py"), 30)
    assert "is slow: did not finish within 3 s" in found[0].message
    after_check = started() - before
    assert after_check, "the check did not run the saved test"
    await all_ended(after_check)
    await settle(RERECORD_AFTER + 2)  # past the delay after which a check's tests are re-run to be recorded
    assert started() == before | after_check, "the hung test was run again after the check"


async def test_test_that_kills_its_own_process_is_reported_on_the_test(make_project, start_editor):
    root = make_project({"tests/test_crash.py": """
        import os


        def test_fine():
            assert True


        def test_crash():
            os._exit(3)
        """})
    editor = await start_editor(root)
    editor.save("tests/test_crash.py")
    found = await editor.wait_for(lambda: editor.diagnostics("tests/test_crash.py"), 30)
    assert [(d.range.start.line, d.code) for d in found] == [(7, "tests/test_crash.py::test_crash")]
    _no_internal_error(editor)


async def test_raising_conftest_in_a_subdirectory_is_reported_at_the_raising_line(buggy_project, start_editor):
    (buggy_project / "tests/sub").mkdir()
    (buggy_project / "tests/sub/conftest.py").write_text("import os\n\nraise ValueError('sub conftest')\n")
    (buggy_project / "tests/sub/test_s.py").write_text("def test_s():\n    assert True\n")
    editor = await start_editor(buggy_project)
    editor.save("pyproject.toml")  # runs every test
    found = await editor.wait_for(lambda: editor.diagnostics("tests/sub/conftest.py"), 30)
    assert [d.range.start.line for d in found] == [2]
    assert "sub conftest" in found[0].message


async def test_save_during_a_running_check_supersedes_it(buggy_project, start_editor, tmp_path):
    """A save that arrives while a check runs cancels it and is checked at once: the last save decides."""
    marker = tmp_path / "slow-test-started"
    (buggy_project / "tests/test_slow.py").write_text(
        "import time\n\nimport mathx.ops\n\n\ndef test_slow():\n"
        f"    open({str(marker)!r}, 'w').close()\n    time.sleep(1)\n")
    editor = await start_editor(buggy_project)
    editor.save(OPS)
    await editor.wait_for(marker.exists, 30)  # the first check has imported the buggy module
    editor.save(OPS, FIXED_OPS)  # supersedes the running check (if still running): the newer text wins
    # The first check either finished before the second save (its failure published, then cleared by the newer
    # check) or was superseded (nothing of it published, and the newer check has nothing to clear). Either way
    # the last check to end is the newer one, on fixed text: no findings, and nothing left on either file.
    def last_check_clean() -> bool:
        done = [m for m in logged(editor) if m.startswith("check done")]
        return bool(done) and done[-1].endswith(": 0 finding(s)")

    await editor.wait_for(last_check_clean, 30)
    await settle(0.3)  # what is published right after the log line
    assert editor.diagnostics(OPS) == [] and editor.diagnostics(TEST) == []
