"""A warm pytest worker in the project's interpreter, for running many small test runs fast.

Cold, every run pays for starting Python and importing pytest and the project's dependencies (~0.2-1 s). The
worker (`plugin/greenloop_worker.py`) pays that once and forks a fresh child per run, so each run sees pristine
module state at a fraction of the cost. A run is watched by the same supervisor as a cold run (streamed
results, per-test timeouts, a hung test's child killed and the rest resumed in a new fork), so results are the
same either way. If the worker cannot start, dies, or is not fork-safe (a preloaded module started a thread),
callers fall back to cold runs; `fresh()` says when it should be restarted (installed packages changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from greenloop.records import RunResult, Selection, TestResult
from greenloop.run import process
from greenloop.run.request import PLUGIN_DIR, RunRequest, base_environment
from greenloop.run.supervise import Supervisor

log = logging.getLogger(__name__)
WORKER = PLUGIN_DIR / "greenloop_worker.py"
START_TIMEOUT = 60.0
ANSWER_TIMEOUT = 30.0  # for the worker's answer to a fork request, and to a kill
SOCKET_PATH_MAX = 100  # bytes: a Unix socket's path must fit sockaddr_un (108 on Linux, 104 on macOS)


class WorkerUnavailable(Exception):
    pass


class _WarmAttempt:
    """One forked child of the worker, as the supervisor sees it."""

    def __init__(self, worker: PytestWorker, pid: int) -> None:
        self.worker = worker
        self.pid = pid
        self.answer: dict[str, Any] | None = None

    @property
    def returncode(self) -> int | None:
        return self.answer.get("exit") if self.answer else None

    async def wait(self, timeout: float) -> bool:
        while self.answer is None:
            line = await self.worker.next_line(timeout)
            if line is None:
                return False
            if not line:
                raise WorkerUnavailable("the worker exited")
            message = json.loads(line)
            if "exit" in message:
                self.answer = message
        return True

    def kill(self) -> None:
        self.worker.send({"op": "kill"})

    async def close(self) -> str:
        if not await self.wait(ANSWER_TIMEOUT):
            raise WorkerUnavailable("the worker did not answer after a kill")
        return ""

    async def abandon(self) -> None:
        """Cancelled: kill the child; the worker's answer is read before its next run."""
        if self.answer is None:
            with contextlib.suppress(Exception):
                self.kill()
            self.worker.owed = asyncio.ensure_future(self._settle())

    async def _settle(self) -> None:
        await self.close()


class PytestWorker:
    def __init__(self, python: str, cwd: Path, *, wrapper: Sequence[str] = (), preload: Iterable[str] = (),
                 pythonpath: Sequence[Path] = (), scratch: Path | None = None, code_cache: Path | None = None,
                 spawn: bool = False) -> None:
        """`wrapper` prefixes the worker's command (a sandbox's isolation); `scratch` is where its runs' report
        files go (default: the system temp folder, which a sandbox hides); `code_cache` keeps compiled project
        modules between runs, by their text; `spawn`: also fork pytest-xdist workers for cold controllers
        (`spawn_socket`)."""
        self.spawn = spawn
        self.python = python
        self.cwd = cwd
        self.wrapper = list(wrapper)
        self.preload = sorted(set(preload))
        self.pythonpath = [str(p) for p in pythonpath]
        self.code_cache = code_cache
        self._proc: asyncio.subprocess.Process | None = None
        self._scratch_parent = scratch
        self._scratch: Path | None = None  # made by start(), removed by close()
        self._reading: asyncio.Future[bytes] | None = None  # the one pending read of the worker's output
        self._lock = asyncio.Lock()
        self._stamps: dict[str, int] = {}
        self.owed: asyncio.Future[None] | None = None  # the answer of a run abandoned by a cancelled caller
        self.greeting: dict[str, Any] = {}
        self.runs = 0

    async def start(self) -> None:
        env = base_environment(self.pythonpath, self.code_cache)
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # candidates rewrite files faster than pyc mtimes can tell apart
        self._scratch = Path(tempfile.mkdtemp(prefix="greenloop-worker-", dir=self._scratch_parent))
        config: dict[str, Any] = {"preload": self.preload}
        socket = self._scratch / "xdist.sock"
        if self.spawn and len(os.fsencode(socket)) < SOCKET_PATH_MAX:
            config["spawn"] = str(socket)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.wrapper, self.python, "-u", str(WORKER), json.dumps(config),
                cwd=str(self.cwd), env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL, limit=1 << 20, **process.OWN_GROUP,
            )
            self.greeting = await self._read(START_TIMEOUT)
        except (OSError, WorkerUnavailable):  # no such interpreter, or it never greeted: leave nothing behind
            await self.close()
            raise
        if not self.greeting.get("fork_safe"):
            await self.close()
            raise WorkerUnavailable(f"not fork-safe: {self.greeting.get('threads')} threads after preloading")
        self._stamps = self._stamp()

    def _stamp(self) -> dict[str, int]:
        stamps = {}
        for folder in self.greeting.get("site") or []:
            with contextlib.suppress(OSError):
                stamps[folder] = os.stat(folder).st_mtime_ns
        return stamps

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def spawn_socket(self) -> Path | None:
        """Where `greenloop_xdist_shim` asks this worker to fork an xdist worker (None: it does not)."""
        alive = self._proc is not None and self._proc.returncode is None
        path = self.greeting.get("spawn")
        return Path(path) if alive and path else None

    def fresh(self) -> bool:
        """False once the worker died or the interpreter's installed packages changed since it started."""
        alive = self._proc is not None and self._proc.returncode is None
        return alive and self._stamp() == self._stamps

    def stdout(self) -> asyncio.StreamReader:
        if self._proc is None or self._proc.stdout is None:
            raise WorkerUnavailable("the worker is not running")
        return self._proc.stdout

    def send(self, message: dict[str, Any]) -> None:
        if self._proc is None or self._proc.returncode is not None or self._proc.stdin is None:
            raise WorkerUnavailable("the worker is not running")
        self._proc.stdin.write((json.dumps(message) + "\n").encode())

    def precompile(self, files: Iterable[Path]) -> None:
        """Have the worker compile these project modules into the code cache now (no answer; see
        greenloop_codecache.precompile). Nothing happens without a code cache or a running worker."""
        if self.code_cache is not None:
            with contextlib.suppress(WorkerUnavailable):
                self.send({"op": "compile", "files": [str(f) for f in files]})

    async def next_line(self, timeout: float | None) -> bytes | None:
        """The worker's next output line, or None if `timeout` passed first. One read at a time: a read left
        pending by a caller that timed out or was cancelled is taken over by the next caller, so no line is lost
        and two reads never race (asyncio allows one reader per stream)."""
        if self._reading is None:
            self._reading = asyncio.ensure_future(self.stdout().readline())
        done, _ = await asyncio.wait({self._reading}, timeout=timeout)
        if not done:
            return None
        task, self._reading = self._reading, None
        return task.result()

    async def _read(self, timeout: float) -> dict[str, Any]:
        line = await self.next_line(timeout)
        if line is None:
            raise WorkerUnavailable("the worker did not answer")
        if not line:
            raise WorkerUnavailable("the worker exited")
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise WorkerUnavailable(f"the worker said something unexpected: {line[:200]!r}") from None

    async def run(
        self,
        selection: Selection,
        timeout: float,
        trace_files: Iterable[Path] = (),
        extra: Sequence[str] = (),
        *,
        on_result: Callable[[TestResult], None] | None = None,
        record_functions: bool = False,
        order: Sequence[str] = (),
        nice: bool = False,
    ) -> RunResult:
        """Run one selection in forked children, as `run_tests` would cold (same options, same results).

        Raises WorkerUnavailable if the worker is gone (results already streamed to `on_result` stay valid)."""
        request = RunRequest(selection, timeout, tuple(trace_files), tuple(extra), on_result, record_functions,
                             tuple(order), nice)
        async with self._lock:
            await self._settle_abandoned()
            if self._scratch is None:
                raise WorkerUnavailable("the worker is not running")
            self.runs += 1
            scratch = self._scratch / f"run-{self.runs}"
            scratch.mkdir()
            args = request.args(self.cwd)

            async def launch(report: Path, skip: Collection[str]) -> _WarmAttempt:
                env = {**request.plugin_env(report, scratch, skip), "PYTHONIOENCODING": "utf-8"}
                # sys_path: the working directory first, as `python -m pytest` has it.
                self.send({"op": "run", "cwd": str(self.cwd), "sys_path": [str(self.cwd)], "args": args, "env": env,
                           "nice": nice})
                try:
                    answer = await self._read(ANSWER_TIMEOUT)
                except asyncio.CancelledError:
                    self.owed = asyncio.ensure_future(self._kill_unannounced())
                    raise
                if "started" not in answer:
                    raise WorkerUnavailable(f"the worker did not start the run: {answer}")
                return _WarmAttempt(self, int(answer["started"]))

            try:
                return await Supervisor(request, self.cwd, scratch).run(launch)
            except (OSError, ValueError) as exc:  # a broken pipe, or an answer that is not JSON
                raise WorkerUnavailable(f"the worker failed: {exc}") from exc
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

    async def _kill_unannounced(self) -> None:
        """A run was cancelled before the worker said it started: stop it when it does."""
        if "started" in await self._read(ANSWER_TIMEOUT):
            self.send({"op": "kill"})
            while "exit" not in await self._read(ANSWER_TIMEOUT):
                pass

    async def _settle_abandoned(self) -> None:
        owed, self.owed = self.owed, None
        if owed is not None:
            try:
                await owed
            except Exception as exc:  # noqa: BLE001 - whatever it was, the worker is no longer in step
                await self.close()
                raise WorkerUnavailable(f"the worker was lost after a cancelled run: {exc}") from exc

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        reading, self._reading = self._reading, None
        if reading is not None:
            reading.cancel()
        if self.owed is not None:
            self.owed.cancel()
            self.owed = None
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
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
