"""Whatever a client sends, the server answers, stays in sync, keeps dialogs for the user, and starts no work
where no project is: each behaviour driven through the real `greenloop serve`, in raw bytes (tests/rawclient.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rawclient import PRICING, Server, demo_workspace, frame

HOVER = "textDocument/hover"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return demo_workspace(tmp_path / "demo")


@pytest.fixture
def server(demo: Path) -> Iterator[Server]:
    server = Server(demo)
    server.initialize()
    yield server
    assert not server.stop(), "processes outlived the server"


def _hover(server: Server, uri: str, line: int = 0) -> dict:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": 0}}


def _request(msg_id: object, method: str, params: object = None, **envelope: object) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params, **envelope}


def _code(reply: dict) -> int | None:
    return reply.get("error", {}).get("code")


def _sessions_logged(server: Server) -> list[str]:
    """Log lines a new session writes when it starts (its settings, or checking a scratch file alone)."""
    return [m for m in server.logged if ": settings Settings(" in m or "outside any project" in m]


# -- every request gets an answer -------------------------------------------------------------------------------

def test_requests_that_cannot_be_handled_are_each_answered_with_their_json_rpc_error(server: Server) -> None:
    pricing = server.uri(PRICING)
    cases = {
        "params": (_request("p1", HOVER, {"textDocument": {}}), -32602),
        "position": (_request("p2", HOVER, {"textDocument": {"uri": pricing}, "position": {"line": -1, "character": 0}}),
                     -32602),
        "params missing": (_request("p3", "textDocument/codeAction"), -32602),
        "unknown": (_request("u1", "greenloop/noSuchMethod", {}), -32601),
        "notification as request": (_request("n1", "textDocument/didSave", {"textDocument": {"uri": pricing}}),
                                    -32601),
        "jsonrpc": (_request("v1", HOVER, _hover(server, pricing), jsonrpc="1.0"), -32600),
        "method type": (_request("m1", 42, {}), -32600),
        "no method": ({"jsonrpc": "2.0", "id": "r1", "params": {}}, -32600),
    }
    for message, _ in cases.values():
        server.send(frame(message))
    for name, (message, code) in cases.items():
        reply = server.wait(message["id"], 5)
        assert _code(reply) == code, (name, reply)
        assert reply["error"]["message"], name
    assert "required field missing" in server.responses["p1"]["error"]["message"]


def test_what_cannot_be_identified_is_answered_with_a_null_id(server: Server) -> None:
    server.send(b"Content-Length: 9\r\n\r\nnot json!")
    server.send(frame([{"jsonrpc": "2.0", "id": 1, "method": HOVER}]))  # a batch: not part of LSP
    server.send(frame(_request(True, HOVER, {})))  # an id must be a string or an integer
    server.wait_for(lambda: len(server.null_errors) >= 3, 5)
    assert [e["error"]["code"] for e in server.null_errors] == [-32700, -32600, -32600]
    assert "probe" not in server.responses and server.probe() < 1.0


def test_a_request_before_initialize_is_refused_and_one_after_shutdown_too(demo: Path) -> None:
    server = Server(demo)
    try:
        early = server.wait(server.request(HOVER, _hover(server, server.uri(PRICING))), 30)
        assert _code(early) == -32002
        server.initialize()
        assert "result" in server.call("shutdown", None, 15)
        late = server.call(HOVER, _hover(server, server.uri(PRICING)), 5)
        assert _code(late) == -32600 and "shutdown" in late["error"]["message"]
    finally:
        assert not server.stop(shutdown=False)
    assert server.process.returncode == 0


# -- framing: resynchronised, never deaf ------------------------------------------------------------------------

BODY = json.dumps(_request("lost", HOVER, {"textDocument": {"uri": "file:///nowhere.py"},
                                            "position": {"line": 0, "character": 0}})).encode()
MALFORMED = {
    "length too large": b"Content-Length: %d\r\n\r\n" % (len(BODY) + 40) + BODY,
    "length too small": b"Content-Length: %d\r\n\r\n" % (len(BODY) - 25) + BODY,
    "length not a number": b"Content-Length: lots\r\n\r\n" + BODY,
    "body not JSON": b"Content-Length: 12\r\n\r\n{not: json}}",
    "blank line missing": b"Content-Length: %d\r\n" % len(BODY) + BODY,
    "garbage between frames": b"\x00\xffGET / HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("frame_kind", list(MALFORMED))
def test_after_a_malformed_frame_the_server_resynchronises_and_answers_within_a_second(
    server: Server, frame_kind: str
) -> None:
    server.send(MALFORMED[frame_kind])
    assert server.probe(1.0) < 1.0
    assert server.wait_for(lambda: [m for m in server.logged if m.startswith((
        "greenloop: repaired a malformed frame", "greenloop: skipped", "greenloop: refused a message"))], 2)
    if frame_kind.startswith("length") or frame_kind == "blank line missing":
        assert server.wait("lost", 2)["result"] is None  # the request inside the bad frame was recovered


def test_malformed_messages_go_to_the_log_never_to_error_dialogs(server: Server) -> None:
    for number in range(30):
        server.send(b"Content-Length: 5\r\n\r\n{bad}")
        server.notify("textDocument/didSave", {"textDocument": "not an object"})
        server.send(frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": number}))
    assert server.probe() < 1.0
    server.wait_for(lambda: sum("ignored a notification" in m for m in server.logged) >= 60, 5)
    assert server.errors_shown() == [], server.errors_shown()[:3]


# -- sessions only where a project is ---------------------------------------------------------------------------

def test_saves_outside_every_project_start_no_session_and_say_why(server: Server, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").write_text("[project]\nname = 'elsewhere'\n")
    (elsewhere / "mod.py").write_text("x = 1\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "loose.py").write_text("x = 1\n")
    server.wait_for(lambda: _sessions_logged(server), 15)  # the workspace's own session
    before = list(_sessions_logged(server))
    pid = server.process.pid
    uris = [f"file:///proc/{pid}/root{elsewhere}/mod.py", f"file:///proc/{pid}/cwd/{PRICING}",
            "file:///etc/greenloop-probe.py", "file:///dev/null.py", (scratch / "loose.py").as_uri()]
    for uri in uris:
        server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert server.probe() < 1.0
    server.wait_for(lambda: sum(m.startswith("greenloop: ignored") or m.startswith("ignored") for m in server.logged)
                    >= len(uris), 5)
    time.sleep(0.5)
    assert _sessions_logged(server) == before
    assert any("system location" in m for m in server.logged)
    assert any("not open in the editor" in m for m in server.logged)


def test_workspace_folders_that_are_no_project_folder_start_no_session(server: Server, tmp_path: Path) -> None:
    server.wait_for(lambda: _sessions_logged(server), 15)
    before = list(_sessions_logged(server))
    folders = ["file:///", "file:///etc", "file:///proc/1", f"file:///{'d' * 300}/{'e' * 5000}", "file:///tmp/x%00",
               (tmp_path / "not-there").as_uri(), "untitled:folder"]
    server.notify("workspace/didChangeWorkspaceFolders", {"event": {"added": [
        {"uri": uri, "name": "x"} for uri in folders], "removed": []}})
    assert server.probe() < 1.0
    server.wait_for(lambda: sum("workspace folder" in m and "ignored" in m for m in server.logged) == len(folders), 5)
    assert _sessions_logged(server) == before
    assert not [m for m in server.logged if "internal error" in m]


def test_bad_paths_in_a_batch_of_saves_do_not_drop_the_diagnostics_of_the_others(server: Server) -> None:
    root = server.root.resolve().as_uri()
    for uri in (f"{root}/{'x' * 300}/{'y' * 5000}.py", f"{root}/shop/nul%00.py", f"{root}/shop/odd%ED%A0%80.py",
                "untitled:Untitled-1", server.uri(PRICING), f"{root}/shop"):
        server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    cart = server.uri("tests/test_cart.py")
    found = server.wait_for(lambda: server.diagnostics.get(cart), 60)
    assert {d["code"] for d in found} >= {"tests/test_cart.py::test_coupon_takes_ten_percent_off"}
    assert not [m for m in server.shown if "internal error" in m.get("message", "")]


# -- handlers that take any shape -------------------------------------------------------------------------------

def test_code_actions_accept_diagnostics_of_any_shape(server: Server) -> None:
    span = {"start": {"line": 0, "character": 0}, "end": {"line": 2**31 - 1, "character": 2**31 - 1}}
    shapes = [{"code": ["a", "list"]}, {"code": 3}, {"code": {"an": "object"}}, {}, {"code": "tests/x.py::test_y"}]
    diagnostics = [{"range": span, "message": "m", "source": "greenloop", **shape} for shape in shapes]
    reply = server.call("textDocument/codeAction", {"textDocument": {"uri": server.uri(PRICING)}, "range": span,
                                                    "context": {"diagnostics": diagnostics}}, 5)
    repairs = [a for a in reply["result"] if a["title"] == "Repair until green"]
    assert len(repairs) == 1, "one action for the place"
    # Only the shapes greenloop publishes count: the node id and the code-less one, which stands for every failing
    # test of the file, so the action repairs them all.
    assert [d.get("code") for d in repairs[0]["diagnostics"]] == [None, "tests/x.py::test_y"]
    assert repairs[0]["command"]["arguments"][0]["tests"] is None


def test_hover_and_code_actions_outside_every_project_start_no_session(server: Server, tmp_path: Path) -> None:
    loose = tmp_path / "loose.py"
    loose.write_text("x = 1\n" * 100_000)
    server.notify("textDocument/didOpen", {"textDocument": {"uri": loose.as_uri(), "languageId": "python",
                                                            "version": 1, "text": loose.read_text()}})
    server.wait_for(lambda: _sessions_logged(server), 15)
    before = list(_sessions_logged(server))
    assert server.call(HOVER, _hover(server, loose.as_uri(), 10**6), 5)["result"] is None
    server.notify("textDocument/didClose", {"textDocument": {"uri": loose.as_uri()}})
    assert server.call(HOVER, _hover(server, loose.as_uri(), 5), 5)["result"] is None
    reply = server.call("textDocument/codeAction", {"textDocument": {"uri": loose.as_uri()}, "range": {
        "start": {"line": 5, "character": 0}, "end": {"line": 5, "character": 0}}, "context": {"diagnostics": []}}, 5)
    assert "result" in reply
    time.sleep(0.3)
    assert _sessions_logged(server) == before


def test_repair_with_arguments_of_the_wrong_types_is_refused_with_the_usage_and_starts_nothing(server: Server) -> None:
    pricing = server.uri(PRICING)
    for arguments in ([{"uri": pricing, "tests": "tests/test_cart.py"}], [{"uri": pricing, "tests": 5}],
                      [{"uri": 5}], ["file:///x.py"], [{"uri": pricing, "tests": [1, 2]}], [None], []):
        reply = server.call("workspace/executeCommand", {"command": "greenloop.repair", "arguments": arguments}, 5)
        assert reply["result"]["started"] is False, (arguments, reply)
        assert "greenloop.repair needs" in reply["result"]["reason"]
    assert server.call("workspace/executeCommand", {"command": "greenloop.cancel", "arguments": [7, "x"]}, 5)[
        "result"] == {"cancelled": False}  # nothing was started


def test_a_repair_cancelled_while_its_progress_bar_is_created_ends_without_an_error_dialog(demo: Path) -> None:
    server = Server(demo, hold=frozenset({"window/workDoneProgress/create"}))
    try:
        server.initialize()
        started = server.call("workspace/executeCommand", {"command": "greenloop.repair", "arguments": [
            {"uri": server.uri(PRICING)}]}, 10)
        assert started["result"] == {"started": True}
        server.wait_for(lambda: server.held, 10)  # the repair waits for its progress bar
        cancelled = server.call("workspace/executeCommand", {"command": "greenloop.cancel"}, 5)
        assert cancelled["result"] == {"cancelled": True}
        server.answer(server.held.pop())  # the editor answers late, as editors do
        assert server.probe() < 1.0
        again = server.call("workspace/executeCommand", {"command": "greenloop.cancel"}, 5)
        assert again["result"] == {"cancelled": False}  # the repair has ended
        time.sleep(0.5)
        assert server.errors_shown() == []
    finally:
        assert not server.stop()
