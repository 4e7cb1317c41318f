"""Drive the real `greenloop serve` with hostile traffic, over raw stdio bytes, and say whether it survived.

Shared by the short fuzz profile (tests/e2e/test_fuzz_protocol.py) and the long one (bench/fuzz.py). `Server`
(rawclient.py) is a raw client that writes any bytes. `cases()` generates traffic with hypothesis;
`run_case` sends one case and checks afterwards that every well-framed request was answered, that a valid request
is still answered within a second, that no error dialog appeared, and that the process tree stays bounded. A
case that shuts the server down also checks that it exits and that nothing it started outlives it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from rawclient import PRICING, PROBE_SECONDS, Hang, Server, frame

MAX_PROCESSES = 24  # warm worker, pytest runs, a repair's sandbox: a tree larger than this is leaking


# -- traffic ----------------------------------------------------------------------------------------------------

ROOT = "@ROOT@"  # stands for the workspace's file URI in generated traffic, replaced when sent
BAD_URIS = [f"{ROOT}/shop/missing.py", "untitled:Untitled-1", "file:///proc/1/environ.py", "file:///proc/self/cwd/x.py",
            "file:///etc/passwd.py", "file:///etc", "file:///" + "a" * 300 + "/" + "b" * 5000 + ".py",
            "file:///tmp/nul%00.py", "file:///tmp/bad%FF%FE.py", "file://host/share/x.py", "", "not a uri",
            f"{ROOT}/shop", f"{ROOT}/shop/pricing.py#frag", "file:///", "file:///dev/zero.py"]
METHODS = ["textDocument/hover", "textDocument/codeAction", "textDocument/definition", "textDocument/completion",
           "workspace/executeCommand", "textDocument/didOpen", "textDocument/didChange", "textDocument/didSave",
           "textDocument/didClose", "workspace/didChangeConfiguration", "$/cancelRequest", "$/setTrace",
           "window/workDoneProgress/cancel", "initialized", "workspace/symbol", "textDocument/formatting",
           "no/such/method", "$/unknown", "", "greenloop.repair"]
COMMANDS = ["greenloop.repair", "greenloop.cancel", "greenloop.showPatch", "greenloop.applyFix", "no.such.command"]

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.text(max_size=12)
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=10)
NUMBER = st.one_of(st.integers(-3, 40), st.integers(2**31 - 3, 2**31 + 3), st.integers(-2**40, 2**40))
POSITION = st.fixed_dictionaries({"line": NUMBER, "character": NUMBER})
RANGE = st.fixed_dictionaries({"start": POSITION, "end": POSITION})
DOCUMENT = st.sampled_from([f"{ROOT}/{PRICING}", f"{ROOT}/tests/test_cart.py", *BAD_URIS]) | st.text(max_size=20)
DIAGNOSTIC = st.fixed_dictionaries(
    {"range": RANGE, "message": st.text(max_size=20)},
    optional={"code": JSON, "source": st.sampled_from(["greenloop", "other"]) | JSON, "severity": NUMBER,
              "relatedInformation": JSON, "data": JSON})


@dataclass(frozen=True)
class Step:
    kind: str
    data: Any = None


def _request(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": "tracked", "method": method, "params": params}


HOSTILE_ID = st.one_of(st.integers(-2**31, 2**31), st.text(max_size=8).map(lambda t: "h-" + t), st.none(),
                       st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.lists(st.integers(), max_size=2))
ENVELOPE = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0"]) | JSON},
    optional={"id": HOSTILE_ID, "method": st.sampled_from(METHODS) | JSON, "params": JSON, "result": JSON})
TYPED = st.one_of(
    st.builds(lambda uri, position: _request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position}),
              DOCUMENT, POSITION),
    st.builds(lambda uri, span, diagnostics: _request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": span, "context": {"diagnostics": diagnostics}}),
        DOCUMENT, RANGE, st.lists(DIAGNOSTIC, max_size=3)),
    st.builds(lambda command, arguments: _request("workspace/executeCommand",
                                                  {"command": command, "arguments": arguments}),
              st.sampled_from(COMMANDS), st.lists(JSON | st.fixed_dictionaries({}, optional={
                  "uri": DOCUMENT | JSON, "tests": JSON, "repair_id": JSON}), max_size=2) | JSON),
    st.builds(lambda uri, text: {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}}}, DOCUMENT, st.text(max_size=50)),
    st.builds(lambda uri: {"jsonrpc": "2.0", "method": "textDocument/didSave", "params": {"textDocument": {"uri": uri}}},
              DOCUMENT),
    st.builds(lambda uri, span, text: {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": 99}, "contentChanges": [{"range": span, "text": text}]}},
        DOCUMENT, RANGE, st.text(max_size=10)),
    st.builds(lambda uri: {"jsonrpc": "2.0", "method": "workspace/didChangeWorkspaceFolders", "params": {
        "event": {"added": [{"uri": uri, "name": "x"}], "removed": []}}}, st.sampled_from(BAD_URIS)))


@st.composite
def malformed(draw: Any) -> bytes:
    """A frame broken in one of the ways a confused or hostile client breaks them."""
    body = json.dumps(draw(ENVELOPE | TYPED)).replace('"tracked"', '"m-1"').encode()
    delta, junk = draw(st.integers(-30, 30).filter(bool)), draw(st.binary(min_size=1, max_size=300))
    value = draw(st.sampled_from([b"-1", b"abc", b"99999999999999999999", b"", b"1e3", b" 12 34"]))
    frames = {"length": b"Content-Length: %d\r\n\r\n" % max(0, len(body) + delta) + body,
              "garbage": junk, "not json": b"Content-Length: %d\r\n\r\n" % len(junk) + junk,
              "bad header": b"Content-Length: " + value + b"\r\n\r\n" + body,
              "no blank line": b"Content-Length: %d\r\n" % len(body) + body,
              "lf only": b"content-length: %d\n\n" % len(body) + body,
              "deep": frame(b"[" * draw(st.integers(1000, 200000))), "bad utf8": frame(body[:-2] + b'\xff\xfe"}'),
              "extra headers": b"Content-Type: text/x\r\nX-Junk: 1\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
              "empty": b"Content-Length: 0\r\n\r\n"}
    return frames[draw(st.sampled_from(sorted(frames)))]


MALFORMED = malformed().map(lambda data: Step("bytes", data))
STEP = st.one_of(
    MALFORMED, MALFORMED, MALFORMED,
    ENVELOPE.map(lambda data: Step("message", data)),
    TYPED.map(lambda data: Step("message", data)),
    st.sampled_from([10_000, 100_000, 400_000]).map(lambda lines: Step("huge", lines)),
    st.tuples(st.integers(1, 60), st.integers(0, 4)).map(lambda pair: Step("storm", pair)),
    st.sampled_from(BAD_URIS).map(lambda uri: Step("path", uri)),
    st.tuples(st.sampled_from(["save", "close", "cancel", "progress cancel", "nothing"]),
              st.floats(0, 1.0)).map(lambda pair: Step("repair", pair)),
)


def cases(max_steps: int = 5) -> st.SearchStrategy[list[Step]]:
    """A few steps of traffic, sometimes ending with a shutdown (and exit) in the middle of whatever runs."""
    return st.tuples(st.lists(STEP, min_size=1, max_size=max_steps), st.sampled_from([False] * 9 + [True])).map(
        lambda pair: pair[0] + ([Step("shutdown")] if pair[1] else []))


# -- running a case ---------------------------------------------------------------------------------------------

@dataclass
class CaseResult:
    messages: int = 0
    latency: float | None = None  # the liveness probe's, in seconds
    problems: list[str] = field(default_factory=list)
    engine_errors: list[str] = field(default_factory=list)  # "internal error while checking" dialogs of a session
    crashed: bool = False
    hung: bool = False


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class Fuzzer:
    """Runs cases against one server at a time (a new one after a shutdown or a crash)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.server = self._start()

    def _start(self) -> Server:
        server = Server(self.root)
        server.initialize()
        return server

    def close(self) -> set[tuple[int, str]]:
        return self.server.stop()

    def run(self, case: list[Step]) -> CaseResult:
        result, tracked = CaseResult(), []
        server, repairing = self.server, False
        try:
            for step in case:
                if step.kind == "shutdown":
                    self._shutdown(result, tracked)
                    server = self.server
                    continue
                repairing |= step.kind == "repair"
                result.messages += self._send(server, step, tracked)
            if repairing and server.process.poll() is None:
                tracked.append(server.request("workspace/executeCommand", {"command": "greenloop.cancel"}))
            result.latency = server.probe()
            for msg_id in tracked:
                server.wait(msg_id, 10)
        except Hang as exc:
            result.hung = server.process.poll() is None
            result.problems.append(f"no answer: {exc}")
        except OSError as exc:  # the pipe broke: the server is gone
            result.problems.append(f"cannot write to the server: {exc!r}")
        self._inspect(server, result)
        return result

    def _inspect(self, server: Server, result: CaseResult) -> None:
        if server.process.poll() is not None:
            result.crashed = True
            result.problems.append(f"the server died (exit code {server.process.returncode}); stderr: "
                                   f"{server.stderr()[-3000:]}")
        dialogs = server.errors_shown()
        result.problems += [f"an error dialog for bad input: {m}" for m in dialogs if "Error in server" in m]
        result.engine_errors += [m for m in dialogs if "internal error" in m]  # a check's bug, not the protocol's
        server.shown.clear()
        if server.process.poll() is None and len(server.tree()) > MAX_PROCESSES:
            result.problems.append(f"{len(server.tree())} processes below the server")
        if result.crashed or result.hung:
            server.kill()
            self.server = self._start()

    def _send(self, server: Server, step: Step, tracked: list[str]) -> int:
        root = server.root.resolve().as_uri()
        if step.kind == "bytes":
            server.send(step.data.replace(ROOT.encode(), root.encode()))
            return 1
        if step.kind == "message":
            message = json.loads(json.dumps(step.data).replace(ROOT, root))
            if message.get("id") == "tracked":
                message["id"] = server.new_id()
            if "method" in message and _valid_id(message.get("id")):
                server.responses.pop(message["id"], None)
                tracked.append(message["id"])
            server.send(frame(message))
            return 1
        pricing = server.uri(PRICING)
        if step.kind == "huge":
            uri = server.uri("shop/huge.py")
            server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                                    "text": "x = 1\n" * step.data}})
            tracked.append(server.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                                 "position": {"line": step.data - 1, "character": 3}}))
            server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            return 3
        if step.kind == "storm":
            changes, saves = step.data
            text = (server.root / PRICING).read_text()
            server.notify("textDocument/didOpen", {"textDocument": {"uri": pricing, "languageId": "python",
                                                                    "version": 0, "text": text}})
            for version in range(1, changes + 1):
                server.notify("textDocument/didChange", {"textDocument": {"uri": pricing, "version": version},
                                                         "contentChanges": [{"text": text + f"# {version}\n"}]})
            for _ in range(saves):
                server.notify("textDocument/didSave", {"textDocument": {"uri": pricing}})
            return changes + saves + 1
        if step.kind == "path":
            uri = step.data.replace(ROOT, root)
            server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                                    "text": "x = 1\n"}})
            server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
            return 2
        assert step.kind == "repair", step
        then, delay = step.data
        tracked.append(server.request("workspace/executeCommand", {"command": "greenloop.repair",
                                                                   "arguments": [{"uri": pricing}]}))
        time.sleep(delay)
        if then == "save":
            server.notify("textDocument/didSave", {"textDocument": {"uri": pricing}})
        elif then == "close":
            server.notify("textDocument/didClose", {"textDocument": {"uri": pricing}})
        elif then == "cancel":
            tracked.append(server.request("workspace/executeCommand", {"command": "greenloop.cancel"}))
        elif then == "progress cancel" and server.tokens:
            server.notify("window/workDoneProgress/cancel", {"token": server.tokens[-1]})
        return 2

    def _shutdown(self, result: CaseResult, tracked: list[str]) -> None:
        """shutdown in the middle of whatever runs: answered, later requests refused, exit ends the process, and
        nothing the server started outlives it. Then a fresh server takes over."""
        server = self.server
        for msg_id in tracked:
            server.wait(msg_id, 10)
        tracked.clear()
        server.tree()
        reply = server.call("shutdown", None, 15)
        late = server.call("textDocument/hover", {"textDocument": {"uri": server.uri(PRICING)},
                                                  "position": {"line": 0, "character": 0}}, 5)
        if late.get("error", {}).get("code") != -32600:
            result.problems.append(f"a request after shutdown was answered with {late}")
        if "result" not in reply:
            result.problems.append(f"shutdown was refused: {reply}")
        strays = server.stop(shutdown=False)
        if server.process.returncode != 0:
            result.problems.append(f"exit after shutdown ended with code {server.process.returncode}")
        if strays:
            result.problems.append(f"processes outlived the server: {sorted(strays)}")
        result.messages += 3
        self.server = self._start()
