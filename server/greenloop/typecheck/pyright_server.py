"""basedpyright kept warm: one language server per workspace, asked for the diagnostics of the saved files.

A cold `basedpyright` run re-reads the interpreter, the stubs and every imported module on each save (~1.3 s for
one file). Its language server (`basedpyright-langserver --stdio`) keeps all that in memory and answers an edit
in milliseconds to a few tenths of a second, so on-save checks use it. One-shot uses (`greenloop check`, the repair
judge) keep the cold CLI.

One check: tell the server which files changed on disk (`workspace/didChangeWatchedFiles`: it does not watch
the disk itself, so without this an edited or new module it already read stays stale), open each file with its
text on disk, ask for its diagnostics (`textDocument/diagnostic`, LSP's pull model: the answer belongs to the
request, so there is no guessing which `publishDiagnostics` is the fresh one, and in pull mode the server does
no background analysis: it is idle between saves), then close the files again, so the server reads them from
disk from then on, as a cold run would. Files are never written. The settings it asks for
(`workspace/configuration`) are the cold run's (`pyright_settings`); the project's own pyright configuration
wins in both, and a change to it restarts the server. Findings have the cold run's shape; hints (unused names,
unreachable code: the editor's greyed text, which the CLI does not report) are dropped.

When the server cannot answer (missing, crashed, too slow), the check falls back to a cold run and says so in
`TypeReport.note`; the server is restarted on the next check, and after MAX_FAILURES failures in a row the
workspace stays cold until `close()`. A crash of the server is a message, never an exception of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from greenloop.records import Finding, Severity, TypesOwner
from greenloop.typecheck.checkers import TypeReport, check_types, find_tool, pyright_settings
from greenloop.typecheck.jsonrpc import READ_LIMIT, Peer, PeerGone, RequestFailed

log = logging.getLogger(__name__)

WARM_TIMEOUT = 60.0  # one warm check, including a (re)start of the server and its first analysis
WARM_LIMIT = 64  # more files at once (a whole-project check) run cold: one-shot work, and cold is right for it
MAX_FAILURES = 3  # failed warm checks in a row before the workspace stays cold
SHUTDOWN_GRACE = 2.0
CONFIG_FILES = ("pyrightconfig.json", "pyproject.toml")
WARM_UP_NAME = "__greenloop_warm_up__.py"
LSP_SEVERITY = {1: Severity.ERROR, 2: Severity.WARNING, 3: Severity.INFORMATION}
HINT = 4
CHANGED, DELETED = 2, 3  # FileChangeType; "Created" makes the server re-scan the workspace (~0.8 s on networkx),
# and "Changed" resolves a new module just as well

CAPABILITIES: dict[str, Any] = {
    "workspace": {"configuration": True, "workspaceFolders": True,
                  "didChangeWatchedFiles": {"dynamicRegistration": False}},
    # Pull diagnostics: basedpyright enables them only for clients that accept their dynamic registration.
    "textDocument": {"diagnostic": {"dynamicRegistration": True}, "synchronization": {"dynamicRegistration": False}},
    "general": {"positionEncodings": ["utf-16"]},  # columns counted as the CLI counts them
}


def _config_stamp(root: Path) -> tuple[tuple[str, int, int] | None, ...]:
    """What the server's configuration was read from: a change means a restart (it does not watch them)."""
    stamps: list[tuple[str, int, int] | None] = []
    for name in CONFIG_FILES:
        try:
            stat = (root / name).stat()
        except OSError:
            stamps.append(None)
        else:
            stamps.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def _finding(path: Path, diagnostic: dict[str, Any]) -> Finding:
    start, end = diagnostic["range"]["start"], diagnostic["range"]["end"]
    code = diagnostic.get("code")
    return Finding(
        path=path, line=start["line"] + 1, col=start["character"] + 1,
        end_line=end["line"] + 1, end_col=end["character"] + 1,
        message=diagnostic["message"], severity=LSP_SEVERITY.get(diagnostic.get("severity", 1), Severity.ERROR),
        source="basedpyright", code=None if code is None else str(code), owner=TypesOwner(path),
    )


class PyrightServer:
    """One workspace's warm basedpyright: `check(files)` while it lives, `close()` when done.

    Checks run one at a time; a cancelled check leaves the server usable."""

    def __init__(self, root: Path, python: str, *, timeout: float = WARM_TIMEOUT) -> None:
        self.root = root.resolve()
        self.python = python
        self.timeout = timeout
        self.starts = 0  # servers started so far (a restart counts)
        self._peer: Peer | None = None
        self._stamp: tuple[tuple[str, int, int] | None, ...] = ()
        self._lock = asyncio.Lock()
        self._version = 0  # one counter for every document: a version is never reused
        self._changed: set[Path] = set()  # changed on disk, not yet told to the server
        self._failures = 0

    @property
    def pid(self) -> int | None:
        """The server's process (and process group) id while it runs."""
        if self._peer is None or self._peer.gone is not None:
            return None
        return self._peer.proc.pid

    def files_changed(self, paths: Iterable[Path]) -> None:
        """Note files changed, created or deleted on disk; the next check tells the server before it asks.

        Synchronous on purpose: called before a check that may then be cancelled, the news is not lost."""
        self._changed.update(Path(p).resolve() for p in paths if Path(p).suffix in (".py", ".pyi"))

    async def warm_up(self) -> None:
        """Start the server ahead of the first check and have it load the builtins, so the first save pays for
        its own file only. Meant to run in the background when a workspace opens; a failure is only logged
        (the next check meets it and falls back)."""
        async with self._lock:
            if self._failures >= MAX_FAILURES:
                return
            try:
                await asyncio.wait_for(self._warm_up(), self.timeout)
            except (PeerGone, RequestFailed, OSError, asyncio.TimeoutError) as exc:
                log.info("basedpyright's language server did not warm up: %s", exc or type(exc).__name__)
                await self._stop()

    async def _warm_up(self) -> None:
        peer = await self._ready()
        scratch = self.root / WARM_UP_NAME  # a document that exists only in the server's memory: never written
        if scratch.exists():
            return
        document = {"uri": scratch.as_uri()}
        self._version += 1
        await peer.notify("textDocument/didOpen", {"textDocument": {
            **document, "languageId": "python", "version": self._version, "text": "import builtins\n"}})
        try:
            await peer.request("textDocument/diagnostic", {"textDocument": document})
        finally:
            if peer.gone is None:
                peer.post("textDocument/didClose", {"textDocument": document})

    # -- the check ----------------------------------------------------------------------------------------

    async def check(self, files: Sequence[Path]) -> TypeReport:
        """Type-check `files` (all of the project when empty) as they are on disk; never raises for the
        server's or the project's sake."""
        paths = list(dict.fromkeys(Path(f).resolve() for f in files))
        self.files_changed(paths)
        async with self._lock:
            if self._failures >= MAX_FAILURES:
                return await self._cold(paths, f"basedpyright's language server failed {self._failures} times in "
                                               "a row: type checks run cold")
            if not paths or len(paths) > WARM_LIMIT:  # one-shot work: cold is right; the server stays warm, and
                return await self._cold(paths, None)   # hears about these files (`files_changed`) at the next check
            started = time.monotonic()
            try:
                report = await asyncio.wait_for(self._check_warm(paths), self.timeout)
            except (PeerGone, RequestFailed, OSError, asyncio.TimeoutError) as exc:
                self._failures += 1
                why = f"no answer within {self.timeout:g} s" if isinstance(exc, asyncio.TimeoutError) else str(exc)
                note = (f"basedpyright's language server failed ({why}); checked with a cold run, "
                        "restarting the server on the next check")
                log.warning("%s", note)
                await self._stop()
                return await self._cold(paths, note)
            self._failures = 0
            report.duration = time.monotonic() - started
            return report

    async def _cold(self, paths: list[Path], note: str | None) -> TypeReport:
        report = await check_types("basedpyright", self.root, self.python, paths)
        report.note = note
        return report

    async def _check_warm(self, paths: list[Path]) -> TypeReport:
        peer = await self._ready()
        changed = set(self._changed)
        if changed:
            await peer.notify("workspace/didChangeWatchedFiles", {"changes": [
                {"uri": p.as_uri(), "type": CHANGED if p.exists() else DELETED} for p in sorted(changed)]})
            self._changed -= changed
        texts = {}
        for path in paths:
            try:
                texts[path] = path.read_bytes().decode("utf-8", errors="replace")
            except OSError:
                continue  # deleted meanwhile: nothing to report, and `checked` still clears its old findings
        opened: list[Path] = []
        try:
            for path, text in texts.items():
                self._version += 1
                await peer.notify("textDocument/didOpen", {"textDocument": {
                    "uri": path.as_uri(), "languageId": "python", "version": self._version, "text": text}})
                opened.append(path)
            report = TypeReport(checked=paths)
            for path in opened:
                answer = await peer.request("textDocument/diagnostic", {"textDocument": {"uri": path.as_uri()}})
                items = answer.get("items", []) if isinstance(answer, dict) else []
                report.findings += [_finding(path, d) for d in items if d.get("severity") != HINT]
            return report
        finally:  # also when cancelled or timed out: leave no document open
            if peer.gone is None:
                with contextlib.suppress(PeerGone):
                    for path in opened:
                        peer.post("textDocument/didClose", {"textDocument": {"uri": path.as_uri()}})

    # -- the server's life --------------------------------------------------------------------------------

    async def _ready(self) -> Peer:
        """The running server, (re)started if it died or if its configuration files changed since it started."""
        if self._peer is not None and (self._peer.gone is not None or self._stamp != _config_stamp(self.root)):
            log.info("restarting basedpyright's language server (%s)", self._peer.gone or "configuration changed")
            await self._stop()
        if self._peer is None:
            await self._start()
        assert self._peer is not None
        return self._peer

    async def _start(self) -> None:
        exe = find_tool("basedpyright-langserver", self.python)
        if exe is None:
            raise OSError("basedpyright-langserver is not installed")
        self._stamp = _config_stamp(self.root)
        self._changed.clear()  # a new server reads everything from disk
        proc = await asyncio.create_subprocess_exec(
            exe, "--stdio", cwd=str(self.root), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True, limit=READ_LIMIT)
        self._peer = peer = Peer(proc, self._answer, self._heard, self._gone)
        self.starts += 1
        uri = self.root.as_uri()
        try:
            # processId: the server exits by itself when greenloop is gone, even if greenloop could not close it.
            await peer.request("initialize", {
                "processId": os.getpid(), "clientInfo": {"name": "greenloop"}, "rootUri": uri,
                "rootPath": str(self.root), "workspaceFolders": [{"uri": uri, "name": self.root.name}],
                "capabilities": CAPABILITIES, "initializationOptions": {}})
            await peer.notify("initialized", {})
        except BaseException:  # failed or cancelled half-way: a half-initialised server must not be reused
            self._peer = None
            await peer.close(grace=0)
            raise
        log.info("basedpyright's language server started for %s (pid %d)", self.root, proc.pid)

    async def _stop(self) -> None:
        peer, self._peer = self._peer, None
        if peer is None:
            return
        if peer.gone is None:
            with contextlib.suppress(PeerGone, RequestFailed, asyncio.TimeoutError):
                await asyncio.wait_for(peer.request("shutdown", None), SHUTDOWN_GRACE)
                peer.post("exit", None)
        await peer.close(SHUTDOWN_GRACE)

    async def close(self) -> None:
        """Stop the server and its whole process group. A later `check` starts a new one."""
        await self._stop()
        self._failures = 0

    # -- what the server asks and says --------------------------------------------------------------------

    def _answer(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            return [self._section(item.get("section")) for item in params.get("items", [])]
        if method == "workspace/workspaceFolders":
            return [{"uri": self.root.as_uri(), "name": self.root.name}]
        # Everything else (registerCapability, workspace/diagnostic/refresh, progress...) is acknowledged with
        # null: the server treats an error answer as fatal, and nothing else it asks changes what we do.
        log.debug("basedpyright asked %s: acknowledged", method)
        return None

    def _section(self, name: str | None) -> Any:
        analysis: dict[str, Any] = {"diagnosticMode": "openFilesOnly", **(pyright_settings(self.root) or {})}
        if name == "python":
            return {"pythonPath": self.python}
        if name == "basedpyright":
            return {"analysis": analysis}
        if name == "basedpyright.analysis":
            return analysis
        return None

    def _heard(self, method: str, params: Any) -> None:
        if method == "window/logMessage" and isinstance(params, dict) and params.get("type") == 1:
            log.warning("basedpyright: %s", params.get("message"))

    def _gone(self, why: str) -> None:
        log.info("basedpyright's language server stopped: %s", why)
