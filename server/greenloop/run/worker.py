"""A warm pytest worker in the project's interpreter, for running many small test runs fast.

Cold, every run pays for starting Python and importing pytest and the project's dependencies (~0.2-1 s). The
worker (`plugin/greenloop_worker.py`) pays that once and forks a fresh child per run, so each candidate of a
repair search sees pristine module state at a fraction of the cost. Results come back through the same JSON
report and the same `interpret` as cold runs. If the worker cannot start, dies, or is not fork-safe (a preloaded
module started a thread), callers fall back to cold runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from greenloop.records import RunResult, Selection
from greenloop.run import process
from greenloop.run.pytest_runner import PLUGIN_DIR, environment, interpret, pytest_args, read_events

log = logging.getLogger(__name__)
WORKER = PLUGIN_DIR / "greenloop_worker.py"
START_TIMEOUT = 60.0


class WorkerUnavailable(Exception):
    pass


class PytestWorker:
    def __init__(self, python: str, cwd: Path, *, wrapper: Sequence[str] = (), preload: Iterable[str] = (),
                 pythonpath: Sequence[Path] = ()) -> None:
        self.python = python
        self.cwd = cwd
        self.wrapper = list(wrapper)
        self.preload = sorted(set(preload))
        self.pythonpath = [str(p) for p in pythonpath]
        self._proc: asyncio.subprocess.Process | None = None
        self._scratch = Path(tempfile.mkdtemp(prefix="greenloop-worker-"))
        self.greeting: dict[str, Any] = {}
        self.runs = 0

    async def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([*self.pythonpath, str(PLUGIN_DIR), env.get("PYTHONPATH", "")])
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # candidates rewrite files faster than pyc mtimes can tell apart
        self._proc = await asyncio.create_subprocess_exec(
            *self.wrapper, self.python, "-u", str(WORKER), json.dumps({"preload": self.preload}),
            cwd=str(self.cwd), env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True, limit=1 << 20,
        )
        try:
            self.greeting = await self._read(START_TIMEOUT)
        except WorkerUnavailable:
            await self.close()
            raise
        if not self.greeting.get("fork_safe"):
            await self.close()
            raise WorkerUnavailable(f"not fork-safe: {self.greeting.get('threads')} threads after preloading")

    async def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), timeout)
        except asyncio.TimeoutError:
            raise WorkerUnavailable("the worker did not answer") from None
        if not line:
            raise WorkerUnavailable("the worker exited")
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise WorkerUnavailable(f"the worker said something unexpected: {line[:200]!r}") from None

    async def run(self, selection: Selection, timeout: float, trace_files: Iterable[Path] = (),
                  extra: Sequence[str] = ()) -> RunResult:
        """Run one selection in a forked child. Raises WorkerUnavailable if the worker is gone."""
        if self._proc is None or self._proc.returncode is not None:
            raise WorkerUnavailable("the worker is not running")
        assert self._proc.stdin is not None
        self.runs += 1
        report = self._scratch / f"report-{self.runs}.jsonl"
        report.touch()
        env = {k: v for k, v in environment(report, trace_files).items()
               if k.startswith("GREENLOOP_") or k == "PYTHONIOENCODING"}
        request = {"cwd": str(self.cwd), "args": pytest_args(selection, self.cwd, extra), "env": env,
                   "timeout": timeout}
        self._proc.stdin.write((json.dumps(request) + "\n").encode())
        await self._proc.stdin.drain()
        answer = await self._read(timeout + 30)
        events = read_events(report)
        report.unlink(missing_ok=True)
        done = process.Completed(returncode=answer.get("exit"), stdout="", stderr="",
                                 duration=float(answer.get("duration") or 0.0),
                                 timed_out=bool(answer.get("timed_out")))
        return interpret(events, done, timeout, self.cwd)

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.write(b'{"op": "exit"}\n')
                await proc.stdin.drain()
            try:
                await asyncio.wait_for(proc.wait(), 2)
            except asyncio.TimeoutError:
                process.kill_group(proc.pid)
                await proc.wait()
        for leftover in self._scratch.glob("*"):
            leftover.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._scratch.rmdir()
