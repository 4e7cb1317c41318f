"""A small JSON-RPC 2.0 peer over a child process's stdin and stdout, as LSP frames it (Content-Length headers).

Why not pygls' `LanguageClient`: greenloop is the client here, and it needs four things that client does not
give: the child in its own process group, killed as a whole (basedpyright-langserver is a Python wrapper that
runs node as its child, so killing one process can orphan the other while it still holds our pipes); the
child's stderr drained (pygls pipes it and never reads it, so a chatty server could block on a full pipe);
the death of either process noticed at once, failing every pending wait with a message; and plain JSON
messages, which spares structuring every diagnostic through lsprotocol's converters (whose client-side
parsing has known bugs). All of it is about 150 lines of asyncio, no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from greenloop.run.process import kill_group

log = logging.getLogger(__name__)

METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603
POLL_INTERVAL = 0.5  # seconds, only where pidfds are missing
READ_LIMIT = 1 << 24  # longest header line we accept; bodies are read by length


class PeerGone(Exception):
    """The peer's process exited or its stream broke; the message says how."""


class RequestFailed(Exception):
    """The peer answered a request with an error."""


RequestHandler = Callable[[str, Any], Any]  # (method, params) -> result; raise LookupError for unknown methods
NotificationHandler = Callable[[str, Any], None]


class Peer:
    """One JSON-RPC connection to a child started in its own session (`start_new_session=True`)."""

    def __init__(self, proc: asyncio.subprocess.Process, on_request: RequestHandler,
                 on_notification: NotificationHandler, on_gone: Callable[[str], None]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self._on_request = on_request
        self._on_notification = on_notification
        self._on_gone = on_gone
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._stderr: deque[str] = deque(maxlen=4)  # last chunks
        self.gone: str | None = None  # why the peer is unusable, once it is
        self._tasks = [asyncio.ensure_future(self._read()), asyncio.ensure_future(self._drain_stderr()),
                       asyncio.ensure_future(self._watch())]

    # -- sending ------------------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        if self.gone is not None:
            raise PeerGone(self.gone)
        body = json.dumps(message, ensure_ascii=False).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%b" % (len(body), body))

    async def _flush(self) -> None:
        assert self.proc.stdin is not None
        try:
            await self.proc.stdin.drain()
        except (ConnectionError, BrokenPipeError) as exc:
            self._lost(f"its input closed ({exc})")
            raise PeerGone(self.gone) from exc

    async def notify(self, method: str, params: Any) -> None:
        """Send a notification and wait until the pipe takes it (a large document must not pile up)."""
        self.post(method, params)
        await self._flush()

    def post(self, method: str, params: Any) -> None:
        """Send a small notification without waiting: safe in clean-up code that must not block."""
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any) -> Any:
        """Send a request and wait for its result; raises PeerGone if the peer dies first."""
        self._next_id += 1
        ident = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
            await self._flush()
            return await future
        finally:
            self._pending.pop(ident, None)

    # -- receiving ----------------------------------------------------------------------------------------

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while True:
                length = None
                while True:
                    line = await stdout.readline()
                    if not line:
                        self._lost("it closed its output")
                        return
                    if not line.strip():
                        break
                    name, _, value = line.decode("ascii", "replace").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length is not None:
                    self._dispatch(json.loads(await stdout.readexactly(length)))
        except (asyncio.IncompleteReadError, ValueError, asyncio.LimitOverrunError) as exc:
            self._lost(f"it broke the protocol ({exc!r})")

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            return  # a batch or junk: LSP servers send neither, and nothing in it is ours
        method = message.get("method")
        if method is None:  # a response to one of our requests
            ident = message.get("id")
            future = self._pending.get(ident) if isinstance(ident, int) else None
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(RequestFailed(str(message["error"])))
                else:
                    future.set_result(message.get("result"))
            return
        try:
            if "id" not in message:
                self._on_notification(method, message.get("params"))
                return
            reply: dict[str, Any] = {"result": self._on_request(method, message.get("params"))}
        except LookupError:
            reply = {"error": {"code": METHOD_NOT_FOUND, "message": f"unhandled method {method}"}}
        except Exception as exc:  # a bug of ours must not stop the reader: say so to the peer and the log
            log.exception("handling %s from the peer failed", method)
            if "id" not in message:
                return
            reply = {"error": {"code": INTERNAL_ERROR, "message": repr(exc)}}
        with contextlib.suppress(PeerGone):  # answered at once (the peer may wait on it)
            self._send({"jsonrpc": "2.0", "id": message["id"], **reply})

    async def _drain_stderr(self) -> None:
        """Keep reading what the peer writes to stderr (a full pipe would block it), remembering the end."""
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(65536):
            self._stderr.append(chunk.decode(errors="replace"))

    async def _watch(self) -> None:
        """Notice the leader's exit at once. Not `proc.wait()`: on Python 3.11 it returns only once every pipe is
        closed, and a grandchild (node under basedpyright's wrapper) may hold them open for ever. A pidfd
        becomes readable when the process exits: no thread, no polling (polling only where pidfds are missing)."""
        loop = asyncio.get_running_loop()
        try:
            pidfd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):  # no pidfd here, or the process is already gone and reaped
            pidfd = None
        if pidfd is None:
            while self.proc.returncode is None:
                await asyncio.sleep(POLL_INTERVAL)
        else:
            exited: asyncio.Future[None] = loop.create_future()

            def readable() -> None:
                if not exited.done():
                    exited.set_result(None)

            loop.add_reader(pidfd, readable)
            try:
                await exited
            finally:
                loop.remove_reader(pidfd)
                os.close(pidfd)
            for _ in range(20):  # exited, but the child watcher may not have reaped it yet: its code is news
                if self.proc.returncode is not None:
                    break
                await asyncio.sleep(0.05)
        self._lost(f"it exited with code {self.proc.returncode}")

    def _lost(self, how: str) -> None:
        """Mark the peer unusable, kill its whole group (an orphaned grandchild may hold our pipes), fail waits."""
        if self.gone is not None:
            return
        tail = " | ".join(line for line in "".join(self._stderr).splitlines() if line.strip())[-300:]
        self.gone = how + (f": {tail}" if tail else "")
        kill_group(self.proc.pid)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(PeerGone(self.gone))
        try:
            self._on_gone(self.gone)
        except Exception:  # a bug in a callback must not stop the clean-up
            log.exception("on_gone callback failed")

    async def close(self, grace: float = 2.0) -> None:
        """Kill the peer's process group and wait for it; the caller says goodbye first if it wants to."""
        if self.proc.returncode is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.proc.wait()), grace)
        self._lost("it was closed")
        kill_group(self.proc.pid)  # again: the group may outlive its leader
        await self.proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
