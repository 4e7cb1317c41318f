"""The server's bookkeeping of sessions: each scratch file outside any project is its own session, with its own
workspace repair (one repair at a time, its own fix on offer), even when two such files share a folder."""

from pathlib import Path

from greenloop.lsp.server import GreenloopServer


def test_two_scratch_files_in_one_folder_have_their_own_sessions_and_repairs(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    first, second = scratch / "one.py", scratch / "two.py"
    first.write_text("def f():\n    return 1\n")
    second.write_text("def g():\n    return 2\n")
    server = GreenloopServer()
    logged: list[str] = []
    server.log_line = logged.append  # type: ignore[method-assign]  # no client connected in this test

    one, two = server.session_for(first), server.session_for(second)

    assert one is not two and one.standalone and two.standalone
    assert one.root == two.root == scratch.resolve()
    assert server.repair_for(one) is not server.repair_for(two)
    assert server.repair_for(one) is server.repair_for(one) and server.repairs == {
        one: server.repair_for(one), two: server.repair_for(two)}
    assert server.session_for(first) is one  # found again, not opened twice
    assert [line.split(" is outside")[0] for line in logged if "outside any project" in line] == \
        [str(first.resolve()), str(second.resolve())]
