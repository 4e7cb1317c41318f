"""The wire: bytes from the client become JSON-RPC messages, and every request gets an answer.

pygls 2.1.1 trusts its input: a `Content-Length` larger than its body makes it wait for bytes that are really the
next messages (alive, but deaf); a body that is not JSON or a request whose params do not structure is shown in an
"Error in server" dialog and never answered, so the client waits forever. Here:

- `framing.Framer` (pure: bytes in, events out) cuts frames and repairs what it can: a wrong `Content-Length` is
  corrected from where the JSON value really ends, garbage is skipped up to the next `Content-Length:` header.
- `Protocol` answers what it cannot handle with the right JSON-RPC error (-32700 parse error, -32600 invalid
  request, -32601 unknown method, -32602 invalid params, -32002 not initialized); bad notifications go to the log.
- `serve_stdio` runs them over stdin, read by a thread of its own (pygls' pool is shared with handlers), and writes
  to stdout from another (`QueuedWriter`): a client slow to read fills the pipe, and a blocking write on the event
  loop would hold every other request (83 ms seen while a benchmark's client was busy). If stdin itself fails the
  server exits with a clear line on stderr, so the editor restarts it. (`--tcp` keeps pygls'
  framing, with `Protocol`'s answers.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

import cattrs
from lsprotocol import types
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage

from greenloop.lsp import stalls
from greenloop.lsp.framing import Event, Framer, Skipped, Unparsable

log = logging.getLogger(__name__)

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, NOT_INITIALIZED = -32700, -32600, -32601, -32602, -32002
GRACE = 0.3  # seconds of silence after which an incomplete frame is judged with what has arrived


# -- answering --------------------------------------------------------------------------------------------------

def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _describe(exc: BaseException) -> str:
    lines = cattrs.transform_error(exc) if isinstance(exc, cattrs.BaseValidationError) else [repr(exc)]
    text = "; ".join(lines[:5]) + (f"; and {len(lines) - 5} more" if len(lines) > 5 else "")
    return text[:1000]


class Protocol(LanguageServerProtocol):
    """pygls' protocol, with an answer for every request and no dialog for bad input. `handle_message` takes the
    parsed JSON value: pygls structures while parsing and raises for what does not fit before it knows the id."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        return data  # pygls' own loop (--tcp) calls this for every JSON object: structuring happens below

    def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict):
            if hasattr(message, "jsonrpc"):  # already structured (pygls' own loop)
                return super().handle_message(message)
            return self.refuse(None, INVALID_REQUEST, f"a JSON-RPC message is an object, not {type(message).__name__}")
        has_id, msg_id, method = "id" in message, message.get("id"), message.get("method")
        if has_id and not _valid_id(msg_id):
            return self.refuse(None, INVALID_REQUEST, f"a request id is a string or an integer, not {msg_id!r:.80}")
        answer = msg_id if has_id else None
        if message.get("jsonrpc") != self.VERSION:
            return self.refuse(answer, INVALID_REQUEST, f"jsonrpc must be \"2.0\", not {message.get('jsonrpc')!r:.40}")
        if "method" not in message:
            if has_id and ("result" in message or "error" in message):
                return self._response(message)
            return self.refuse(answer, INVALID_REQUEST, "neither a request, a notification nor a response")
        if not isinstance(method, str):
            return self.refuse(answer, INVALID_REQUEST, f"a method is a string, not {method!r:.80}")
        if self._shutdown and method != types.EXIT:
            return self._refuse_or_drop(has_id, msg_id, INVALID_REQUEST, f"{method} after shutdown")
        if self._workspace is None and method not in (types.INITIALIZE, types.EXIT):
            return self._refuse_or_drop(has_id, msg_id, NOT_INITIALIZED, f"{method} before initialize")
        self._request_or_notification(message, method, has_id, msg_id)

    def _request_or_notification(self, message: dict[str, Any], method: str, has_id: bool, msg_id: Any) -> None:
        kind = self.get_message_type(method)
        if kind is None:
            if method not in self.fm.features and method not in self.fm.builtin_features:
                return self._refuse_or_drop(has_id, msg_id, METHOD_NOT_FOUND, f"unknown method {method!r:.100}")
            kind = JsonRPCRequestMessage if has_id else JsonRPCNotification
            message = {"params": None, **message}
        if has_id and "id" not in attr_names(kind):
            return self.refuse(msg_id, METHOD_NOT_FOUND, f"{method} is a notification, not a request")
        try:
            structured = self._converter.structure(message, kind)
        except Exception as exc:
            return self._refuse_or_drop(has_id, msg_id, INVALID_PARAMS, f"invalid params for {method}: {_describe(exc)}")
        super().handle_message(structured)

    def _response(self, message: dict[str, Any]) -> None:
        """A client's answer to one of our requests; one that does not fit fails that request, not the server."""
        msg_id = message["id"]
        kind = types.ResponseErrorMessage if "error" in message else (
            self._result_types.pop(msg_id, None) or JsonRPCResponseMessage)
        try:
            structured = self._converter.structure({"result": None, **message} if "error" not in message
                                                   else message, kind)
        except Exception as exc:
            reason = f"the client's answer to request {msg_id!r:.80} does not fit: {_describe(exc)}"
            future = self._request_futures.pop(msg_id, None)
            if future is not None and not future.done():
                future.set_exception(ValueError(reason))
            return self.complain(reason)
        super().handle_message(structured)

    def _handle_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        """A request we stopped waiting for (a repair cancelled while the client created its progress bar) gets
        its answer later: pygls would set a result on the cancelled future and report `InvalidStateError`."""
        future = self._request_futures.get(msg_id)
        if future is not None and future.done():
            self._request_futures.pop(msg_id, None)
            log.debug("answer to %r arrived after we stopped waiting for it", msg_id)
            return
        super()._handle_response(msg_id, result, error)

    # -- refusals --

    def _refuse_or_drop(self, has_id: bool, msg_id: Any, code: int, reason: str) -> None:
        if has_id:
            self.refuse(msg_id, code, reason)
        else:
            self.complain(f"ignored a notification: {reason}")

    def refuse(self, msg_id: Any, code: int, reason: str) -> None:
        """Answer with a JSON-RPC error (id null when the request cannot be identified), and log it."""
        self.complain(f"refused {'a message' if msg_id is None else f'request {msg_id!r:.80}'}: {reason}")
        self._send_data({"jsonrpc": self.VERSION, "id": msg_id, "error": {"code": code, "message": reason}})

    def complain(self, reason: str) -> None:
        """Bad input goes to the log (the editor's output panel), not to a dialog, nor to stderr (a client that
        does not drain it would block the server once the pipe fills)."""
        log.info("%s", reason)
        if self.writer is not None:
            self.notify(types.WINDOW_LOG_MESSAGE, types.LogMessageParams(type=types.MessageType.Warning,
                                                                         message=f"greenloop: {reason}"))

    def _send_data(self, data: Any) -> None:
        """pygls' sender, except that an answer that cannot be encoded becomes an internal error for its request
        instead of no answer at all."""
        if self.writer is None:
            return
        try:
            body = json.dumps(data, default=self._serialize_message)
        except Exception as exc:
            log.exception("could not encode a message")
            if not hasattr(data, "result"):
                return
            body = json.dumps({"jsonrpc": self.VERSION, "id": data.id,
                               "error": {"code": -32603, "message": f"the answer could not be encoded: {exc!r:.300}"}})
        header = f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
        written = self.writer.write((header + body).encode(self.CHARSET))
        if isinstance(written, Awaitable):
            asyncio.ensure_future(written)


def attr_names(kind: type) -> set[str]:
    return {a.name for a in getattr(kind, "__attrs_attrs__", ())}


# -- running ----------------------------------------------------------------------------------------------------

async def pump(read: Callable[[], Awaitable[bytes]], protocol: Protocol, stop: threading.Event) -> None:
    """Read until EOF or `exit`, handing each message to the protocol; bad frames are logged and answered."""
    framer, idle = Framer(), False
    while not stop.is_set():
        for event in framer.events(idle):
            deliver(event, protocol)
            await asyncio.sleep(0)  # let what a message started (a task) begin before the next message
        try:
            # Bytes of an unfinished frame are judged after a short silence; after that, wait for more.
            data = await asyncio.wait_for(read(), GRACE if framer.pending and not idle else None)
        except asyncio.TimeoutError:
            idle = True
            continue
        if not data:
            for event in framer.events(idle=True):
                deliver(event, protocol)
            return
        framer.feed(data)
        idle = False


def deliver(event: Event, protocol: Protocol) -> None:
    if isinstance(event, Skipped):
        protocol.complain(event.reason)
    elif isinstance(event, Unparsable):
        protocol.refuse(None, PARSE_ERROR, event.reason)
    else:
        if event.problem:
            protocol.complain(f"repaired a malformed frame: {event.problem}")
        protocol.handle_message(event.value)


def _stdin_reader(fd: int) -> Callable[[], Awaitable[bytes]]:
    """A thread of its own reads stdin: pygls reads it through its thread pool, which handlers can starve."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | OSError] = asyncio.Queue()

    def read_forever() -> None:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError as exc:
                loop.call_soon_threadsafe(queue.put_nowait, exc)
                return
            loop.call_soon_threadsafe(queue.put_nowait, data)
            if not data:
                return

    threading.Thread(target=read_forever, name="greenloop-stdin", daemon=True).start()

    async def read() -> bytes:
        data = await queue.get()
        if isinstance(data, OSError):
            raise data
        return data

    return read


class QueuedWriter:
    """pygls' writer interface over a stream written by a thread of its own, in order; `write` never blocks."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="greenloop-stdout", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        self._queue.put(data)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (the answer to `shutdown`, say), then close the stream."""
        self._queue.put(None)
        self._thread.join(timeout)
        with contextlib.suppress(OSError, ValueError):
            self._stream.close()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            try:
                self._stream.write(data)
                if self._queue.empty():  # a burst of messages is flushed once
                    self._stream.flush()
            except (OSError, ValueError) as exc:  # the editor is gone: its end of stdin closes too, and we exit
                log.error("greenloop: cannot write to the editor (%s): dropping what is left to send", exc)
                return


def serve_stdio(server: Any, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """pygls' `start_io`, through `Framer`, with a reader and a writer thread of our own."""
    stop = server._stop_event = threading.Event()
    writer = QueuedWriter(stdout)
    server.protocol.set_writer(writer)

    async def run() -> None:
        threshold = stalls.from_environment()
        if threshold is not None:
            stalls.StallWatch(asyncio.get_running_loop(), threshold).start()
        await pump(_stdin_reader(stdin.fileno()), server.protocol, stop)

    try:
        asyncio.run(run())
    except BrokenPipeError:
        log.error("greenloop: the connection to the editor is lost (broken pipe): exiting")
    except OSError as exc:
        log.error("greenloop: cannot read from the editor (%s): exiting so that the editor restarts the server", exc)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
        writer.close()
