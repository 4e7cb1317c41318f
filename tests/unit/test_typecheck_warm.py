"""basedpyright kept warm: its language server answers like the cold CLI, sees edits, survives its own death.

Real basedpyright-langserver processes throughout; no mocks.
"""

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from greenloop.typecheck import TypeChecker, check_types
from greenloop.typecheck.pyright_server import PyrightServer

TYPED = "from helper import VALUE\n\n\ndef f() -> int:\n    return 'x'\n\n\nTOTAL: int = VALUE\nunused = [i for i in range(3)]\n"
HELPER = "VALUE: str = 'one'\n"


def _project(root: Path) -> Path:
    (root / "helper.py").write_text(HELPER)
    (root / "typed module.py").write_text(TYPED)  # a space: URIs are quoted one way and read back the other
    return root / "typed module.py"


def _group(pgid: int) -> list[int]:
    """Live processes of a process group (zombies count as gone)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def _node_of(pgid: int) -> int:
    """The node process that is the language server proper (the group leader is a Python wrapper)."""
    return next(pid for pid in _group(pgid) if pid != pgid)


async def _wait_gone(pgid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while _group(pgid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _keys(report):
    return sorted((f.path, f.line, f.col, f.end_line, f.end_col, f.message, f.severity, f.code, f.source, f.owner)
                  for f in report.findings)


async def test_warm_findings_match_the_cold_clis_and_nothing_is_written(tmp_path: Path) -> None:
    target = _project(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    server = PyrightServer(tmp_path, sys.executable)
    try:
        warm = await server.check([target])
    finally:
        await server.close()
    cold = await check_types("basedpyright", tmp_path, sys.executable, [target])
    assert warm.problem is None and warm.note is None and warm.checked == [target.resolve()]
    assert [(f.line, f.code) for f in sorted(warm.findings, key=lambda f: f.line)] == [
        (5, "reportReturnType"), (8, "reportAssignmentType")]
    assert _keys(warm) == _keys(cold)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before  # nothing written, nothing added


async def test_an_edit_on_disk_is_seen_and_answered_faster_than_a_cold_run(tmp_path: Path) -> None:
    target = _project(tmp_path)
    cold_times = []
    for _ in range(3):
        started = time.monotonic()
        await check_types("basedpyright", tmp_path, sys.executable, [target])
        cold_times.append(time.monotonic() - started)
    server = PyrightServer(tmp_path, sys.executable)
    warm_times = []
    try:
        first = await server.check([target])
        for n in range(5):
            target.write_text(TYPED + f"\n\ndef g{n}() -> str:\n    return {n}\n")  # one more error each time
            started = time.monotonic()
            report = await server.check([target])
            warm_times.append(time.monotonic() - started)
            assert report.note is None
            assert [f.line for f in report.findings if f.code == "reportReturnType"] == [5, 13]
    finally:
        await server.close()
    assert len(first.findings) == 2 and server.starts == 1
    cold, warm = statistics.median(cold_times), statistics.median(warm_times)
    print(f"\nbasedpyright on one file, median: cold CLI {cold:.3f} s, warm server {warm:.3f} s after an edit")
    assert warm < cold / 3


async def test_changes_to_other_files_count_once_the_server_is_told(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("from helper import VALUE\nfrom extra import MORE\n\nTOTAL: int = VALUE\n")
    (tmp_path / "helper.py").write_text("VALUE: int = 1\n")
    main = tmp_path / "main.py"
    server = PyrightServer(tmp_path, sys.executable)
    try:
        assert [f.line for f in (await server.check([main])).findings] == [2]  # no module "extra" yet
        (tmp_path / "extra.py").write_text("MORE = 2\n")
        await server.check([tmp_path / "extra.py"])  # a new module, checked when created
        assert (await server.check([main])).findings == []
        (tmp_path / "helper.py").write_text("VALUE: str = 'one'\n")  # edited, not checked: only reported
        server.files_changed([tmp_path / "helper.py"])
        assert [f.code for f in (await server.check([main])).findings] == ["reportAssignmentType"]
        (tmp_path / "extra.py").unlink()
        server.files_changed([tmp_path / "extra.py"])
        assert [f.line for f in (await server.check([main])).findings] == [2, 4]
    finally:
        await server.close()


async def test_the_projects_own_config_rules_and_a_change_to_it_restarts_the_server(tmp_path: Path) -> None:
    (tmp_path / "loose.py").write_text("def g(a):\n    return a.anything\n")
    server = PyrightServer(tmp_path, sys.executable)
    try:
        assert (await server.check([tmp_path / "loose.py"])).findings == []  # "standard" without a config
        (tmp_path / "pyrightconfig.json").write_text('{"typeCheckingMode": "strict"}')
        report = await server.check([tmp_path / "loose.py"])
    finally:
        await server.close()
    assert any(f.code == "reportMissingParameterType" for f in report.findings)
    assert server.starts == 2


async def test_a_killed_server_is_replaced_and_the_answers_stay_right(tmp_path: Path) -> None:
    target = _project(tmp_path)
    expected = _keys(await check_types("basedpyright", tmp_path, sys.executable, [target]))
    server = PyrightServer(tmp_path, sys.executable)
    try:
        await server.check([target])
        first = server.pid
        assert first is not None
        os.kill(_node_of(first), signal.SIGKILL)  # between two checks
        assert await _wait_gone(first)
        report = await server.check([target])
        assert report.note is None and _keys(report) == expected  # restarted at once, warm
        assert server.starts == 2

        await server.close()
        during = asyncio.create_task(server.check([target]))  # a fresh server: the check waits on its start
        while server.pid is None or len(_group(server.pid)) < 2:
            await asyncio.sleep(0.01)
        os.kill(_node_of(server.pid), signal.SIGKILL)  # in the middle of a check
        report = await during
        assert report.note and "cold run" in report.note  # a message, and the cold CLI's answer
        assert report.problem is None and _keys(report) == expected

        report = await server.check([target])  # the next check restarts the server
        assert report.note is None and _keys(report) == expected and server.starts == 4
    finally:
        await server.close()


async def test_a_cancelled_check_leaves_the_server_fit_for_the_next(tmp_path: Path) -> None:
    target = _project(tmp_path)
    expected = _keys(await check_types("basedpyright", tmp_path, sys.executable, [target]))
    server = PyrightServer(tmp_path, sys.executable)
    try:
        for moment in (0.05, 0.5):  # while the server starts, then while it checks (a newer save supersedes)
            superseded = asyncio.create_task(server.check([target]))
            await asyncio.sleep(moment)
            superseded.cancel()
            await asyncio.gather(superseded, return_exceptions=True)
            report = await server.check([target])
            assert report.note is None and _keys(report) == expected
    finally:
        await server.close()


async def test_a_server_too_slow_to_answer_is_replaced_by_a_cold_run(tmp_path: Path) -> None:
    target = _project(tmp_path)
    server = PyrightServer(tmp_path, sys.executable, timeout=0.05)
    try:
        report = await server.check([target])
        assert server.pid is None  # the slow server was stopped
    finally:
        await server.close()
    assert report.note and "no answer within 0.05 s" in report.note
    assert [f.code for f in sorted(report.findings, key=lambda f: f.line)] == ["reportReturnType", "reportAssignmentType"]


async def test_close_leaves_no_process(tmp_path: Path) -> None:
    target = _project(tmp_path)
    server = PyrightServer(tmp_path, sys.executable)
    await server.check([target])
    pgid = server.pid
    assert pgid is not None and len(_group(pgid)) == 2
    await server.close()
    assert server.pid is None and _group(pgid) == []


async def test_the_server_dies_with_greenloop_even_unclosed(tmp_path: Path) -> None:
    target = _project(tmp_path)
    script = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from greenloop.typecheck.pyright_server import PyrightServer
        async def main():
            server = PyrightServer(Path({str(tmp_path)!r}), sys.executable)
            await server.check([Path({str(target)!r})])
            print(server.pid, flush=True)
            await asyncio.sleep(60)
        asyncio.run(main())
    """)
    greenloop = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert greenloop.stdout is not None
        pgid = int(greenloop.stdout.readline())
        assert _group(pgid)
    finally:
        greenloop.kill()  # SIGKILL: no clean-up code of ours runs
        greenloop.wait()
    assert await _wait_gone(pgid, within=10)  # the server notices its input closed, and exits


async def test_the_workspace_checker_warms_basedpyright_up_keeps_it_and_switches_checkers(tmp_path: Path) -> None:
    target = _project(tmp_path)
    checker = TypeChecker(tmp_path)
    listing = sorted(tmp_path.iterdir())
    try:
        await checker.warm_up("basedpyright", sys.executable)  # when the workspace opens, before any save
        assert checker.server is not None and checker.server.pid is not None
        assert sorted(tmp_path.iterdir()) == listing  # its warm-up document lives in the server's memory only
        pgid = checker.server.pid
        warm = await checker.check("basedpyright", sys.executable, [target])
        again = await checker.check("basedpyright", sys.executable, [target])
        assert checker.server.starts == 1 and _keys(again) == _keys(warm)
        mypy = await checker.check("mypy", sys.executable, [target])
        assert checker.server is None and await _wait_gone(pgid)  # the warm server is not kept for nothing
        assert {f.source for f in mypy.findings} == {"mypy"}
        off = await checker.check("off", sys.executable, [target])
        assert off.findings == [] and off.problem is None
    finally:
        await checker.close()
