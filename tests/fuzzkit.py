"""Drive the real `greenloop serve` with hostile traffic, over raw stdio bytes, and say whether it survived.

Shared by the short fuzz profile (tests/e2e/test_fuzz_protocol.py) and the long one (bench/fuzz.py). `Server` is
a raw client: it writes any bytes (so it can send malformed frames), reads the server's frames on a thread, and
answers the server's own requests as a quiet editor would. `cases()` generates traffic with hypothesis;
`run_case` sends one case and checks afterwards that every well-framed request was answered, that a valid request
is still answered within a second, that no error dialog appeared, and that the process tree stays bounded. A
case that shuts the server down also checks that it exits and that nothing it started outlives it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
SERVER = [sys.executable, "-m", "greenloop", "serve"]
PRICING = "shop/pricing.py"
MAX_PROCESSES = 24  # warm worker, pytest runs, a repair's sandbox: a tree larger than this is leaking
PROBE_SECONDS = 1.0


def frame(payload: Any) -> bytes:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def demo_workspace(dest: Path) -> Path:
    """A private copy of examples/demo (one failing test, so saves and repairs have work), type checker off."""
    shutil.copytree(REPO / "examples" / "demo", dest,
                    ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", ".greenloop", ".venv", "*.pyc"))
    pyproject = dest / "pyproject.toml"
    head = pyproject.read_text().split("[tool.greenloop]")[0]
    pyproject.write_text(head + '[tool.greenloop]\ntype_checker = "off"\ntest_timeout = 10\nmax_rounds = 2\n'
                                'repair_timeout = 60\n')
    return dest


# -- the process tree -------------------------------------------------------------------------------------------

def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [0] is the state, [19] the start time; [] once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += map(int, (task / "children").read_text().split())
        except OSError:
            pass
    return found


def descendants(pid: int) -> set[tuple[int, str]]:
    """(pid, start time) of every process below `pid`, from /proc/<pid>/task/*/children."""
    found: set[tuple[int, str]] = set()
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            if len(stat := _stat(child)) > 19 and (child, stat[19]) not in found:
                found.add((child, stat[19]))
                todo.append(child)
    return found


def still_running(processes: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Those of `processes` still alive: same pid and start time, not a zombie."""
    return {(pid, started) for pid, started in processes
            if len(stat := _stat(pid)) > 19 and stat[19] == started and stat[0] not in ("Z", "X")}


# -- the raw client ---------------------------------------------------------------------------------------------

class Hang(AssertionError):
    """The server did not answer in time."""


class Server:
    """`greenloop serve` as a subprocess, spoken to in raw bytes."""

    def __init__(self, root: Path, hold: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.hold = hold  # server requests left unanswered until `answer` (e.g. window/workDoneProgress/create)
        self.process = subprocess.Popen(SERVER, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.responses: dict[Any, dict[str, Any]] = {}
        self.null_errors: list[dict[str, Any]] = []  # error answers with id null (unidentifiable requests)
        self.shown: list[dict[str, Any]] = []  # window/showMessage params
        self.logged: list[str] = []  # window/logMessage texts (the last 2000)
        self.held: list[dict[str, Any]] = []
        self.tokens: list[Any] = []  # progress tokens the server created
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}  # the last published, by URI
        self.seen: set[tuple[int, str]] = set()  # every process ever seen below the server
        self.bytes_sent = 0
        self._stderr = bytearray()
        self._changed = threading.Condition()
        self._write_lock = threading.Lock()
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # -- sending --

    def send(self, data: bytes) -> None:
        with self._write_lock:
            assert self.process.stdin is not None
            self.process.stdin.write(data)
            self.process.stdin.flush()
            self.bytes_sent += len(data)

    def new_id(self) -> str:
        self._next_id += 1
        return f"fz-{self._next_id}"

    def request(self, method: str, params: Any = None) -> str:
        msg_id = self.new_id()
        self.send(frame({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
        return msg_id

    def notify(self, method: str, params: Any = None) -> None:
        self.send(frame({"jsonrpc": "2.0", "method": method, "params": params}))

    def wait(self, msg_id: Any, timeout: float) -> dict[str, Any]:
        return self.wait_for(lambda: self.responses.get(msg_id), timeout, f"an answer to {msg_id!r}")

    def call(self, method: str, params: Any = None, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait(self.request(method, params), timeout)

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (value := predicate()):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise Hang(f"waited {timeout} s in vain for {what or predicate} (exit code {self.process.poll()}); "
                               f"log: {self.logged[-10:]}; stderr: {self.stderr()[-2000:]}")
                self._changed.wait(0.05)
            return value

    def answer(self, request: dict[str, Any], result: Any = None) -> None:
        self.send(frame({"jsonrpc": "2.0", "id": request["id"], "result": result}))

    def initialize(self, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        uri = self.root.resolve().as_uri()
        reply = self.call("initialize", {"processId": os.getpid(), "rootUri": uri, "capabilities": capabilities or {
            "window": {"workDoneProgress": True}}, "workspaceFolders": [{"uri": uri, "name": self.root.name}]}, 30)
        self.notify("initialized", {})
        return reply

    def uri(self, rel: str) -> str:
        return (self.root.resolve() / rel).as_uri()

    def probe(self, timeout: float = PROBE_SECONDS) -> float:
        """Seconds a valid request (code actions on a workspace file) took to be answered; Hang if too long."""
        started = time.monotonic()
        reply = self.call("textDocument/codeAction", {
            "textDocument": {"uri": self.uri(PRICING)},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": []}}, timeout)
        if "result" not in reply:
            raise AssertionError(f"the probe was refused: {reply}")
        return time.monotonic() - started

    def tree(self) -> set[tuple[int, str]]:
        found = descendants(self.process.pid)
        self.seen |= found
        return found

    def stop(self, timeout: float = 20.0, shutdown: bool = True) -> set[tuple[int, str]]:
        """(shutdown and) exit; returns the processes the server ever started that outlive it (should be none)."""
        self.tree()
        try:
            if shutdown:
                self.call("shutdown", None, timeout)
            self.notify("exit")
            self.process.wait(timeout)
        except (Hang, OSError, subprocess.TimeoutExpired):
            self.kill()
        deadline = time.monotonic() + 10
        while still_running(self.seen) and time.monotonic() < deadline:
            time.sleep(0.1)
        return still_running(self.seen)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def stderr(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    def errors_shown(self) -> list[str]:
        """Dialogs of type Error: pygls' "Error in server" or one of our internal errors."""
        return [m.get("message", "") for m in self.shown if m.get("type") == 1]

    # -- reading --

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    with self._changed:
                        self._changed.notify_all()
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif not line.strip() and length is not None:
                    break
            self._dispatch(json.loads(stream.read(length)))

    def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method == "window/workDoneProgress/create":
            self.tokens.append((message.get("params") or {}).get("token"))
        if method is not None and "id" in message:
            if method in self.hold:
                self.held.append(message)
            else:
                self.answer(message, _QUIET_ANSWERS.get(method))
        with self._changed:
            if method == "textDocument/publishDiagnostics":
                params = message.get("params") or {}
                self.diagnostics[params.get("uri")] = params.get("diagnostics") or []
            elif method == "window/showMessage":
                self.shown.append(message.get("params") or {})
            elif method == "window/logMessage":
                self.logged = self.logged[-1999:] + [(message.get("params") or {}).get("message", "")]
            elif method is None:
                if message.get("id") is None:
                    self.null_errors.append(message)
                else:
                    self.responses[message["id"]] = message
            self._changed.notify_all()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr += line
            del self._stderr[:-65536]


_QUIET_ANSWERS: dict[str, Any] = {"workspace/applyEdit": {"applied": False, "failureReason": "fuzzing"},
                                  "window/showDocument": {"success": False}, "workspace/configuration": [None]}


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
