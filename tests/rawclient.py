"""A raw client of the real `greenloop serve` over stdio bytes, and a watch on the process tree it starts.

`Server` writes any bytes (so it can send malformed frames), reads the server's frames on a thread, and answers
the server's own requests as a quiet editor would. Used by the protocol robustness tests and by the fuzzer
(fuzzkit.py, bench/fuzz.py).
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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SERVER = [sys.executable, "-m", "greenloop", "serve"]
PRICING = "shop/pricing.py"
PROBE_SECONDS = 1.0  # a valid request must be answered within this, whatever came before


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
