"""Framing: bytes from the client cut into JSON-RPC frames, repairing what can be repaired.

pygls 2.1.1 trusts its input: a `Content-Length` larger than its body makes it wait for bytes that are really the
next messages (alive, but deaf). `Framer` (pure: bytes in, events out) instead corrects a wrong `Content-Length`
from where the JSON value really ends, and skips garbage up to the next `Content-Length:` header; what it cannot
parse becomes an event the transport answers or logs (see transport.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_BODY = 256 * 2**20  # a larger Content-Length is a corrupt header, not a message
_LENGTH_LINE = re.compile(rb"content-length[ \t]*:([^\r\n]*)\r?\n", re.IGNORECASE)
# A header that can follow a lying frame. It never matches inside valid JSON: a string cannot hold a raw newline
# and `Content-Length` outside a string is not JSON, so finding it inside a "body" proves the body is over.
_NEXT_HEADER = re.compile(rb"content-length[ \t]*:[ \t]*\d+[ \t]*\r?\n", re.IGNORECASE)
_OTHER_HEADER = re.compile(rb"[A-Za-z0-9-]+[ \t]*:[^\r\n]*\r?\n")
_DECODER = json.JSONDecoder()


# -- framing ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """A parsed JSON value; `problem` says how its frame was broken when it had to be repaired."""

    value: Any
    problem: str | None = None


@dataclass(frozen=True)
class Unparsable:
    """A frame whose body is not JSON: answered with a parse error."""

    reason: str


@dataclass(frozen=True)
class Skipped:
    """Bytes that were no message at all (dropped while looking for the next header)."""

    reason: str


Event = Message | Unparsable | Skipped


def _first_value(data: bytes | bytearray) -> tuple[Any, int] | None:
    """The first complete JSON value in `data` (after whitespace) and the byte offset just past it, else None."""
    text = bytes(data).decode("utf-8", "surrogateescape")
    try:
        value, end = _DECODER.raw_decode(text, len(text) - len(text.lstrip()))
    except (ValueError, RecursionError):
        return None
    return value, len(text[:end].encode("utf-8", "surrogateescape"))


class Framer:
    """Cuts `Content-Length`-framed messages out of a byte stream, and finds its way back after a bad frame."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._length: int | None = None  # the body length being read; None while reading headers
        self._unknown = ""  # why the length is unknown (a bad header): the body is wherever its JSON ends
        self._scanned = 0  # how much of the body part of the buffer was searched for a next header already
        self._skipped = 0
        self._note: str | None = None  # what was wrong with a frame that could still be read

    @property
    def pending(self) -> bool:
        """Bytes wait for more (or for silence): the reader should not block forever on them."""
        return bool(self._buffer.strip()) or self._length is not None or bool(self._unknown)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def events(self, idle: bool = False) -> Iterator[Event]:
        """Every event the buffered bytes make; `idle` when nothing more arrived for a while (or at EOF)."""
        while True:
            event = self._body(idle) if self._length is not None or self._unknown else self._headers(idle)
            if event is None:
                return
            yield event

    # -- headers --

    def _headers(self, idle: bool) -> Event | None:
        match = _LENGTH_LINE.search(self._buffer)
        if match is None:
            if len(self._buffer) > 65536 or (idle and self._buffer):
                keep = 0 if idle else 64  # the start of a header may still be arriving
                self._drop(len(self._buffer) - keep)
            if idle and self._skipped:
                return self._skipped_event("no Content-Length header followed")
            return None
        start, line_end, value = match.start(), match.end() - match.start(), bytes(match.group(1)).strip()
        del match  # the buffer is about to change under it
        if not self._only_headers(self._buffer[:start]):
            self._drop(start)
        else:
            del self._buffer[:start]
        skipped = self._skipped_event("resynchronised on the next Content-Length header") if self._skipped else None
        end = self._header_end(line_end)
        if end is None:
            return skipped  # the header block is still arriving
        if end < 0:  # not a header block after all: skip this Content-Length line and look further
            self._drop(line_end)
            return skipped or self._skipped_event("a Content-Length header not followed by a blank line")
        del self._buffer[:end]
        self._scanned = 0
        if value.isdigit() and int(value) <= MAX_BODY:
            self._length = int(value)
        else:
            self._unknown = f"invalid Content-Length {value[:40].decode('latin-1')!r}"
        return skipped or self._body(idle)

    @staticmethod
    def _only_headers(data: bytes | bytearray) -> bool:
        """Whitespace and well-formed header lines (Content-Type...) may precede Content-Length."""
        rest = bytes(data).lstrip()
        while rest:
            line = _OTHER_HEADER.match(rest)
            if line is None:
                return False
            rest = rest[line.end():]
        return True

    def _header_end(self, start: int) -> int | None:
        """Offset past the blank line ending the header block that begins at the Content-Length line; None if
        it has not arrived yet; -1 if what follows is not a header block."""
        position = start
        while True:
            newline = self._buffer.find(b"\n", position)
            if newline < 0:
                return None
            line = bytes(self._buffer[position:newline + 1])
            if not line.strip():
                return newline + 1
            if line.lstrip().startswith(b"{"):
                self._note = "the blank line after the headers is missing"
                return position  # the body has begun
            if _LENGTH_LINE.match(line) or not _OTHER_HEADER.fullmatch(line):
                return -1
            position = newline + 1

    # -- bodies --

    def _body(self, idle: bool) -> Event | None:
        buffer, length = self._buffer, self._length
        if length is not None and len(buffer) >= length:
            try:
                return self._take(length, Message(json.loads(buffer[:length]), self._note))
            except (ValueError, RecursionError):  # not JSON, or a lying length: repaired below if possible
                pass
        elif length is not None:  # a body still arriving, unless a next header shows that the length lies
            header = _NEXT_HEADER.search(buffer, max(self._scanned - 40, 0))
            self._scanned = len(buffer)
            if header is None and not idle:
                return None
        header = _NEXT_HEADER.search(buffer)  # at 0: the frame had no body at all
        limit = header.start() if header else len(buffer)
        found = _first_value(buffer[:limit])
        if found is not None:
            value, end = found
            size = "larger" if length is not None and end < length else "smaller"
            return self._take(end, Message(value, self._unknown or f"Content-Length {length} is {size} than its "
                                                                   f"message ({end} bytes)"))
        if header is not None or idle:
            return self._take(limit, Unparsable(self._unknown or f"a body that is not JSON ({limit} bytes)"))
        return None  # perhaps a too-small length whose message is still arriving

    def _take(self, size: int, event: Event) -> Event:
        del self._buffer[:size]
        self._length, self._unknown, self._scanned, self._note = None, "", 0, None
        return event

    def _drop(self, size: int) -> None:
        self._skipped += len(bytes(self._buffer[:size]).strip())
        del self._buffer[:size]

    def _skipped_event(self, why: str) -> Skipped | None:
        count, self._skipped = self._skipped, 0
        return Skipped(f"skipped {count} bytes that were not a message; {why}") if count else None
