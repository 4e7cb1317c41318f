"""The JSON-RPC peer behind the warm type checker, against a small real child process speaking LSP framing."""

import asyncio
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from greenloop.typecheck.jsonrpc import Peer, PeerGone

# A child that asks us one question, reports our answer, echoes requests, and on "spawn" starts a grandchild that
# inherits its stdout (as basedpyright's Python wrapper does with node) and then exits.
CHILD = textwrap.dedent("""
    import json, subprocess, sys
    def send(message):
        body = json.dumps(message).encode()
        sys.stdout.buffer.write(b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)
        sys.stdout.buffer.flush()
    def read():
        length = None
        while (line := sys.stdin.buffer.readline().strip()):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(sys.stdin.buffer.read(length))
    send([1, 2])  # not an object: ignored
    send({"jsonrpc": "2.0", "id": "q", "method": "buggy/question", "params": None})
    while True:
        message = read()
        if "method" not in message:  # our question's answer
            send({"jsonrpc": "2.0", "method": "note/answer", "params": message})
        elif message["method"] == "spawn":
            subprocess.Popen(["sleep", "60"])
            sys.exit(3)
        else:
            send({"jsonrpc": "2.0", "id": message["id"], "result": message["params"]})
""")


async def _start(tmp_path: Path, heard: list[Any], gone: list[str]) -> Peer:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, cwd=tmp_path, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)

    def answer(method: str, params: Any) -> Any:
        raise RuntimeError("a bug in our handler")

    return Peer(proc, answer, lambda method, params: heard.append((method, params)), gone.append)


async def test_a_bug_in_a_handler_is_an_error_answer_and_the_peer_keeps_working(tmp_path: Path) -> None:
    heard: list[Any] = []
    gone: list[str] = []
    peer = await _start(tmp_path, heard, gone)
    try:
        assert await asyncio.wait_for(peer.request("echo", {"n": 1}), 10) == {"n": 1}
        assert await asyncio.wait_for(peer.request("echo", "again"), 10) == "again"
        assert heard and heard[0][0] == "note/answer"
        assert heard[0][1]["error"]["code"] == -32603 and "a bug in our handler" in heard[0][1]["error"]["message"]
        assert gone == []
    finally:
        await peer.close(grace=0)


async def test_a_leader_that_dies_while_its_child_holds_the_pipes_is_noticed(tmp_path: Path) -> None:
    gone: list[str] = []
    peer = await _start(tmp_path, [], gone)
    try:
        waiting = asyncio.ensure_future(peer.request("spawn", None))
        with pytest.raises(PeerGone, match="exited with code 3"):
            await asyncio.wait_for(waiting, 10)
        assert gone and peer.gone == gone[0]
        with pytest.raises(PeerGone):
            await peer.notify("anything", None)
    finally:
        await peer.close(grace=0)
    deadline = time.monotonic() + 5
    while _alive_in_group(peer.proc.pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert _alive_in_group(peer.proc.pid) == []  # the grandchild was killed with the group


def _alive_in_group(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split() if entry.name.isdigit() else []
        except OSError:
            continue
        if fields and int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive
