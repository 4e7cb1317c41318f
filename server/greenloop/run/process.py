"""Run a child process the safe way: asyncio, its own process group, a timeout that kills the whole group.

Used for pytest and the type checkers alike. The child's output is drained continuously into a bounded buffer,
so a test that prints megabytes can neither fill a pipe and hang nor fill our memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTPUT_LIMIT = 256 * 1024  # bytes of output kept (head and tail) per stream
# The launcher that ends a command's whole process tree (see its docstring); greenloop's own interpreter runs it,
# isolated from the project's environment variables and site packages (it needs only the standard library).
REAPER = (sys.executable, "-I", "-S", str(Path(__file__).parent / "plugin" / "greenloop_reaper.py"))
# Children get their own process group (one kill ends the group) but stay in greenloop's session. Linux's
# autogroup scheduling (on by default in desktop kernels) shares the CPU equally between *sessions*, whatever the
# nice values: a background run niced to 19 in a session of its own took half a core from the editor's session
# and from the check the user is waiting for. Within one session, nice 19 takes ~1.5% against a busy peer.
OWN_GROUP: dict[str, Any] = {"process_group": 0}  # keyword arguments for asyncio.create_subprocess_exec


@dataclass
class Completed:
    returncode: int | None  # None when killed at the timeout or cancelled
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False


class _Capped:
    """Keeps the first and last OUTPUT_LIMIT/2 bytes of a stream, counting what was dropped."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        room = self.limit // 2 - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        excess = len(self.tail) - self.limit // 2
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        middle = f"\n[... {self.dropped} bytes of output omitted ...]\n" if self.dropped else ""
        return self.head.decode(errors="replace") + middle + self.tail.decode(errors="replace")


async def _drain(stream: asyncio.StreamReader | None, sink: _Capped) -> None:
    if stream is None:
        return
    while chunk := await stream.read(65536):
        sink.feed(chunk)


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class Child:
    """A started child in its own process group, its output drained into bounded buffers as it runs.

    `run` waits for one to end; the test supervisor instead polls it while it tails the child's report, and kills
    its group when a test hangs."""

    def __init__(self, proc: asyncio.subprocess.Process, started: float, reaped: bool = False) -> None:
        self.proc = proc
        self.started = started
        self.reaped = reaped  # led by the reaper launcher: it ends the whole tree when told to stop
        self.out, self.err = _Capped(), _Capped()
        self._drains = asyncio.gather(_drain(proc.stdout, self.out), _drain(proc.stderr, self.err))
        self._exited = asyncio.ensure_future(proc.wait())

    @classmethod
    async def start(cls, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
                    stdin: bool = False, reap: bool = False) -> Child:
        """Start `argv` (raises OSError if it cannot start). `reap`: under the reaper launcher, so that whatever
        it starts, in any session or process group, ends with it (for project code: tests)."""
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *([*REAPER, "--"] if reap else []), *argv,
            cwd=str(cwd),
            env=dict(env) if env is not None else None,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            **OWN_GROUP,
        )
        return cls(proc, started, reaped=reap)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds (None: for ever); True once the child has exited."""
        if not self._exited.done():
            await asyncio.wait({self._exited}, timeout=timeout)
        return self._exited.done()

    def kill(self) -> None:
        """End the child and everything it started: the reaper launcher is asked to (it kills the whole tree,
        other sessions included, then exits); a plain child's process group is killed."""
        if self.reaped and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.proc.pid, signal.SIGTERM)
        else:
            kill_group(self.proc.pid)

    async def finish(self) -> tuple[str, str]:
        """Kill what is left of the group (grandchildren may hold the pipes), reap, and return the output."""
        self.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 5)
        kill_group(self.proc.pid)  # the backstop, should the launcher itself not have ended its group
        try:
            await asyncio.wait_for(asyncio.shield(self._drains), 5)
        except asyncio.TimeoutError:
            self._drains.cancel()
        return self.out.text(), self.err.text()

    async def abandon(self) -> None:
        """Cancelled: never leave the group running."""
        self.kill()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(self.proc.wait(), 5)
        kill_group(self.proc.pid)
        self._drains.cancel()
        self._exited.cancel()


async def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> Completed:
    """Run `argv`; on timeout or cancellation kill its whole process group. Raises OSError if it cannot start."""
    child = await Child.start(argv, cwd=cwd, env=env, stdin=stdin is not None)
    proc = child.proc
    timed_out = False
    try:
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await proc.stdin.drain()
            proc.stdin.close()
        timed_out = not await child.wait(timeout)
    except BaseException:  # cancelled: never leave the group running
        await child.abandon()
        raise
    stdout, stderr = await child.finish()
    return Completed(
        returncode=None if timed_out else proc.returncode,
        stdout=stdout,
        stderr=stderr,
        duration=time.monotonic() - child.started,
        timed_out=timed_out,
    )
