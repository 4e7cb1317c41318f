"""greenloop measured through its real language server, as an editor drives it.

`GreenloopProbe` starts `greenloop serve` (the repository's venv) over stdio with pygls' `LanguageClient`,
opens the project as the workspace (the project's interpreter and `type_checker: off` in initializationOptions)
and opens the edited file. Each `save` then does what an editor does after the user typed: didChange with the
whole new text, didSave, and records, relative to the didSave:

- the first publishDiagnostics (any file);
- the first diagnostic naming a test known to fail (the planted bug's failing tests, measured beforehand);
- the end of the check: the server's `check done in ...` log line;
- the latency of a hover request on the edited function sent every ~50 ms while the check runs.

Readiness after opening: greenloop may build data in the background on first open. `wait_ready` waits until
no `$/progress` is open, no log line arrived, and the server's process tree (pytest children included) used
under 5% of a core, all for `settle` seconds; its timeout is data, not an error.
The server's stderr goes to a file under the cache (`logs/`), for post-mortems.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from real import server_log
from real.projects import Workspace

PING_EVERY = 0.05
PING_CAP = 30.0  # a request unanswered this long is recorded at this value and abandoned


@dataclass
class SaveSample:
    kind: str  # "noop", "bug", "restore", or "warm-up ..."
    first_diagnostic: float | None = None
    first_failure: float | None = None  # first diagnostic naming a test known to fail
    first_any_failure: float | None = None  # first greenloop error diagnostic naming any test
    check_done: float | None = None
    server_seconds: float | None = None  # the server's own "check done in X s"
    timed_out: bool = False  # no "check done" within the benchmark's save timeout
    error: str | None = None  # the server said the check failed (an internal error), or died
    reported_failures: list[str] = field(default_factory=list)  # tests with error diagnostics at the end
    requests: list[float] = field(default_factory=list)  # hover latencies during the check
    unanswered: int = 0  # requests still unanswered after PING_CAP
    lines: list[str] = field(default_factory=list)  # log lines and shown messages of this check
    ran: server_log.Ran = field(default_factory=server_log.Ran)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "first_diagnostic": self.first_diagnostic, "first_failure": self.first_failure,
                "first_any_failure": self.first_any_failure, "check_done": self.check_done,
                "server_seconds": self.server_seconds, "timed_out": self.timed_out, "error": self.error,
                "reported_failures": self.reported_failures, "requests": [round(x, 4) for x in self.requests],
                "unanswered": self.unanswered, "ran": self.ran.as_dict(),
                "log": [line[:300] for line in self.lines if not line.startswith(server_log.REPORT_PREFIX)][:40]}


@dataclass
class Ready:
    seconds: float
    timed_out: bool
    progress_titles: list[str]
    lines: list[str]
    requests: list[float]


def _tree_cpu(pid: int) -> float:
    """CPU seconds used by `pid` and its descendants, reaped children included (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(cpu.get(p, 0.0) for p in tree)


class GreenloopProbe:
    def __init__(self, ws: Workspace, greenloop: Path, stderr_log: Path) -> None:
        self.ws = ws
        self.greenloop = greenloop
        self.stderr_log = stderr_log
        self.client = LanguageClient("greenloop-bench-real", "1")
        self.events: list[tuple[float, str, Any]] = []  # (time, kind, payload)
        self.current: dict[str, list[types.Diagnostic]] = {}  # latest diagnostics per uri
        self.open_progress: set[str] = set()
        self.progress_titles: list[str] = []
        self.uri = from_fs_path(str(ws.target.path)) or ""
        self.version = 1
        self.hover_line = ws.target.line_of_function()  # 1-based `def` line: inside the function either way
        self._register()

    def _register(self) -> None:
        client = self.client

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(_c: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
            self.current[params.uri] = list(params.diagnostics)
            self.events.append((time.monotonic(), "diagnostics", (params.uri, list(params.diagnostics))))

        @client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(_c: LanguageClient, params: types.LogMessageParams) -> None:
            self.events.append((time.monotonic(), "log", params.message))

        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def on_show(_c: LanguageClient, params: types.ShowMessageParams) -> None:
            self.events.append((time.monotonic(), "show", params.message))

        @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def on_progress_create(_c: LanguageClient, params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @client.feature(types.PROGRESS)
        def on_progress(_c: LanguageClient, params: types.ProgressParams) -> None:
            value = params.value if isinstance(params.value, dict) else {}
            token = str(params.token)
            if value.get("kind") == "begin":
                self.open_progress.add(token)
                self.progress_titles.append(str(value.get("title") or ""))
            elif value.get("kind") == "end":
                self.open_progress.discard(token)
            self.events.append((time.monotonic(), "progress", value))

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def on_register(_c: LanguageClient, params: Any) -> None:
            return None

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def on_apply(_c: LanguageClient, params: Any) -> types.ApplyWorkspaceEditResult:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="benchmark client")

    # -- life cycle -----------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        server = self.client._server  # pygls keeps the process here; needed for the CPU probe
        return server.pid if server is not None else None

    @property
    def alive(self) -> bool:
        server = self.client._server
        return server is not None and server.returncode is None

    async def start(self) -> None:
        self.stderr_log.parent.mkdir(parents=True, exist_ok=True)
        # sh only redirects stderr (pygls would pipe it and never read it) and is replaced by the server (exec).
        await self.client.start_io("/bin/sh", "-c", 'exec "$0" serve 2>>"$1"', str(self.greenloop),
                                   str(self.stderr_log), cwd=str(self.ws.root))
        root_uri = from_fs_path(str(self.ws.root)) or ""
        await self.client.initialize_async(types.InitializeParams(
            process_id=os.getpid(),
            root_uri=root_uri,
            workspace_folders=[types.WorkspaceFolder(uri=root_uri, name=self.ws.spec.name)],
            initialization_options={"python": str(self.ws.python), "type_checker": "off"},
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True),
                text_document=types.TextDocumentClientCapabilities(
                    synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
                    publish_diagnostics=types.PublishDiagnosticsClientCapabilities(related_information=True),
                    hover=types.HoverClientCapabilities(),
                ),
            ),
        ))
        self.client.initialized(types.InitializedParams())
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=self.uri, language_id="python", version=self.version, text=self.ws.target.path.read_text())))

    async def stop(self) -> None:
        if not self.alive:
            return
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
            await asyncio.wait_for(self.client.stop(), 5)
        except (asyncio.TimeoutError, RuntimeError, ConnectionError, asyncio.CancelledError):
            pid = self.pid
            if pid is not None and self.alive:
                os.kill(pid, 9)  # our own child, by its id

    # -- measuring ------------------------------------------------------------------------------------------

    async def _pinger(self, stop: asyncio.Event, latencies: list[float], unanswered: list[int]) -> None:
        """A hover on the edited function every PING_EVERY seconds, one at a time, until `stop`."""
        params = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=self.uri),
                                   position=types.Position(line=self.hover_line - 1, character=4))
        while not stop.is_set() and self.alive:
            sent = time.monotonic()
            try:
                await asyncio.wait_for(self.client.text_document_hover_async(params), PING_CAP)
                latencies.append(time.monotonic() - sent)
            except asyncio.TimeoutError:
                latencies.append(PING_CAP)
                unanswered[0] += 1
            except Exception:  # an error answer is still an answer
                latencies.append(time.monotonic() - sent)
            await asyncio.sleep(max(0.0, PING_EVERY - (time.monotonic() - sent)))

    async def wait_ready(self, timeout: float, settle: float = 3.0) -> Ready:
        """Until the server is idle (see the module docstring), at most `timeout` seconds."""
        started = time.monotonic()
        stop, unanswered = asyncio.Event(), [0]
        latencies: list[float] = []
        pinger = asyncio.create_task(self._pinger(stop, latencies, unanswered))
        window: list[tuple[float, float]] = []  # (time, tree CPU seconds)
        timed_out = True
        try:
            while time.monotonic() - started < timeout and self.alive:
                now = time.monotonic()
                window.append((now, await asyncio.to_thread(_tree_cpu, self.pid or 0)))
                older = [i for i, (t, _) in enumerate(window) if now - t >= settle]
                window = window[older[-1]:] if older else window  # the newest sample at least `settle` old
                last_event = max((t for t, kind, _ in self.events if kind in ("log", "progress")), default=started)
                cpu_share = (window[-1][1] - window[0][1]) / max(now - window[0][0], 1e-6)
                if older and not self.open_progress and now - last_event >= settle and cpu_share < 0.05:
                    timed_out = False
                    break
                await asyncio.sleep(0.5)
        finally:
            stop.set()
            await pinger
        lines = [str(p) for t, kind, p in self.events if kind in ("log", "show") and t >= started]
        return Ready(time.monotonic() - started, timed_out, list(self.progress_titles), lines, latencies)

    async def save(self, text: str, kind: str, fail_ids: set[str], timeout: float) -> SaveSample:
        """The file already holds `text` on disk: tell the server as an editor would, and measure the check."""
        sample = SaveSample(kind)
        if not self.alive:
            sample.error = "the server is not running"
            return sample
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        await asyncio.sleep(0.05)  # an editor's save follows the last keystroke by at least this much
        first_event = len(self.events)
        stop, unanswered = asyncio.Event(), [0]
        started = time.monotonic()
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri)))
        pinger = asyncio.create_task(self._pinger(stop, sample.requests, unanswered))
        try:
            seen = first_event
            while sample.check_done is None and sample.error is None and time.monotonic() - started < timeout:
                if not self.alive:
                    sample.error = "the server exited"
                    break
                for at, what, payload in self.events[seen:]:
                    self._note(sample, at - started, what, payload, fail_ids)
                seen = len(self.events)
                await asyncio.sleep(0.005)
            sample.timed_out = sample.check_done is None and sample.error is None
        finally:
            stop.set()
            await pinger
        await self._quiet(0.5, 5.0)  # the final publish follows the "check done" line
        for at, what, payload in self.events[seen:]:
            self._note(sample, at - started, what, payload, fail_ids)
        sample.unanswered = unanswered[0]
        sample.reported_failures = sorted({str(d.code) for diagnostics in self.current.values()
                                           for d in diagnostics if _names_test(d)})
        sample.ran = server_log.parse(sample.lines)
        return sample

    def _note(self, sample: SaveSample, at: float, what: str, payload: Any, fail_ids: set[str]) -> None:
        if what == "diagnostics":
            _uri, diagnostics = payload
            if sample.first_diagnostic is None:
                sample.first_diagnostic = at
            codes = {str(d.code) for d in diagnostics if _names_test(d)}
            if codes and sample.first_any_failure is None:
                sample.first_any_failure = at
            if codes & fail_ids and sample.first_failure is None:
                sample.first_failure = at
            for d in diagnostics:
                if "timed out" in d.message:
                    sample.lines.append(f"diagnostic: {d.message}")
        elif what in ("log", "show"):
            sample.lines.append(str(payload))
            if what == "show" and "internal error" in str(payload) and sample.error is None:
                sample.error = str(payload)  # the check ended without its "check done" line
            seconds = server_log.check_duration(str(payload))
            if seconds is not None and sample.check_done is None:
                sample.check_done, sample.server_seconds = at, seconds

    async def _quiet(self, quiet: float, cap: float) -> None:
        """Wait until no message arrived for `quiet` seconds (at most `cap`)."""
        started = time.monotonic()
        while time.monotonic() - started < cap:
            last = self.events[-1][0] if self.events else 0.0
            if time.monotonic() - last >= quiet:
                return
            await asyncio.sleep(0.05)


def _names_test(diagnostic: types.Diagnostic) -> bool:
    """A greenloop error diagnostic about a test (its code is the test's node id)."""
    return (diagnostic.source == "greenloop" and diagnostic.severity == types.DiagnosticSeverity.Error
            and isinstance(diagnostic.code, str) and "::" in diagnostic.code)
