"""Writing to the editor never blocks the server: a client slow to read (a full pipe) holds only the writer's
thread, and everything queued arrives, in order, before the stream is closed."""

import os
import threading
import time

from greenloop.lsp.transport import QueuedWriter


def test_writes_return_at_once_while_the_client_reads_nothing_and_all_arrive_in_order() -> None:
    read_end, write_end = os.pipe()  # a pipe holds 64 KiB: the rest waits for the reader
    writer = QueuedWriter(os.fdopen(write_end, "wb"))
    messages = [b"%06d:" % i + b"x" * 4000 for i in range(200)]  # 800 KB
    started = time.monotonic()
    for message in messages:
        writer.write(message)
    assert time.monotonic() - started < 0.5  # a blocking writer would wait here for the reader, forever

    received = bytearray()
    reader = threading.Thread(target=lambda: received.extend(_read_all(read_end)))
    reader.start()
    writer.close()
    reader.join(10)
    assert bytes(received) == b"".join(messages)


def test_a_client_gone_is_logged_once_and_later_writes_are_dropped(caplog) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    writer = QueuedWriter(os.fdopen(write_end, "wb"))
    for _ in range(3):
        writer.write(b"x" * 100_000)
    writer.close()
    lost = [r for r in caplog.records if "cannot write to the editor" in r.getMessage()]
    assert len(lost) == 1


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)
