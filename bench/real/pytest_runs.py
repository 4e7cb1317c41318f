"""The baselines greenloop is measured against, all run in the project's own venv, none through greenloop.

- the full suite: plain `python -m pytest`, one process;
- `pytest --testmon` after the edit, from a database built on the pristine source (built once by a full
  `--testmon` run, untimed, and kept in the cache; restored from that snapshot before every use, so each timed
  re-run starts from the same state);
- testmon's selection (`--testmon --collect-only -q`), which is also "the covering tests";
- those tests cold (`python -m pytest IDS`) and warm (`WarmServer`: a fork server that already imported pytest).

Everything here is async (asyncio subprocesses in their own process group, killed whole on timeout) so the LSP
client keeps reading the server's messages while a long baseline runs. A timeout is a result, not an error.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from real.projects import Workspace

SUMMARY_ITEM = re.compile(r"(\d+) (subtests )?(passed|failed|skipped|deselected|xfailed|xpassed|errors?)\b")
SHORT_FAILURE = re.compile(r"^(FAILED|ERROR|SUBFAIL) (\S+)")
TESTMON_FILES = (".testmondata", ".testmondata-wal", ".testmondata-shm")
WARM_SERVER = Path(__file__).with_name("warm_server.py")


@dataclass
class RunOutcome:
    """One pytest run as the benchmark sees it."""

    seconds: float | None  # wall time; None when it was killed at the timeout
    counts: dict[str, int] = field(default_factory=dict)  # passed, failed, skipped, ... (tests, not subtests)
    failed: list[str] = field(default_factory=list)  # node ids that failed or errored
    returncode: int | None = None
    tail: str = ""  # the end of pytest's output, for the log
    error: str | None = None  # why this run's time is not a measurement (killed, or pytest could not run)

    @property
    def tests(self) -> int:
        return sum(n for k, n in self.counts.items() if k not in ("deselected", "subtests passed", "subtests failed"))

    def as_dict(self) -> dict:
        return {"seconds": self.seconds, "counts": self.counts, "tests": self.tests, "failed": self.failed,
                "returncode": self.returncode, "error": self.error}


def _checked(outcome: RunOutcome) -> RunOutcome:
    """Exit codes 0 (passed) and 1 (tests failed) are measurements; anything else (interrupted, internal or
    usage error, nothing collected) is not, and is kept as an error instead of a flattering time."""
    if outcome.seconds is not None and outcome.returncode not in (0, 1):
        outcome.error = f"pytest exited with {outcome.returncode}: {outcome.tail[-300:].strip()}"
        outcome.seconds = None
    return outcome


def parse_counts(output: str) -> dict[str, int]:
    """Counts from pytest's last summary line ("9 passed, 611 deselected in 1.52s"); subtests kept apart."""
    lines = [line for line in output.splitlines() if SUMMARY_ITEM.search(line) and " in " in line]
    counts: dict[str, int] = {}
    for number, subtests, word in SUMMARY_ITEM.findall(lines[-1] if lines else ""):
        key = ("subtests " if subtests else "") + ("error" if word.startswith("error") else word)
        counts[key] = counts.get(key, 0) + int(number)
    return counts


def parse_failed(output: str) -> list[str]:
    """Node ids from the `-rfE` short summary."""
    seen: list[str] = []
    for line in output.splitlines():
        match = SHORT_FAILURE.match(line)
        if match and match.group(2) not in seen:
            seen.append(match.group(2))
    return seen


def parse_ids(output: str) -> list[str]:
    """Node ids printed by `--collect-only -q` (one a line, up to the first blank line)."""
    ids = []
    for line in output.splitlines():
        if not line.strip():
            break
        if "::" in line and not line.startswith(" "):
            ids.append(line.strip())
    return ids


async def run_pytest(ws: Workspace, args: list[str], timeout: float) -> RunOutcome:
    """`python -m pytest ARGS` in the project root; the whole process group is killed at `timeout`."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        str(ws.python), "-m", "pytest", *args, cwd=ws.root, start_new_session=True,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        raw, _ = await asyncio.wait_for(process.communicate(), timeout)
    except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
        _kill_group(process.pid)
        await process.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        return RunOutcome(seconds=None, error=f"killed after {timeout:g} s")
    elapsed = time.monotonic() - started
    output = raw.decode(errors="replace")
    return _checked(RunOutcome(seconds=elapsed, counts=parse_counts(output), failed=parse_failed(output),
                               returncode=process.returncode, tail=output[-3000:]))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # our own child's group (start_new_session)
    except ProcessLookupError:
        pass


async def full_suite(ws: Workspace, timeout: float) -> RunOutcome:
    return await run_pytest(ws, ["-q", "-rfE"], timeout)


async def collect_all(ws: Workspace, timeout: float) -> list[str]:
    """Every test id of the suite, to turn a selection of files into test ids."""
    process = await asyncio.create_subprocess_exec(
        str(ws.python), "-m", "pytest", "--collect-only", "-q", cwd=ws.root, start_new_session=True,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        raw, _ = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        _kill_group(process.pid)
        await process.wait()
        return []
    return parse_ids(raw.decode(errors="replace"))


async def cold(ws: Workspace, ids: list[str], timeout: float) -> RunOutcome:
    return await run_pytest(ws, ["-q", "-rfE", *ids], timeout)


class Testmon:
    """testmon's database for one project: built once on the pristine source, snapshotted in the cache."""

    def __init__(self, ws: Workspace, cache: Path) -> None:
        self.ws = ws
        self.snapshot = cache / "state" / ws.spec.stem / "testmon"
        self.key = {"source": hashlib.sha256(ws.target.pristine.encode()).hexdigest(),
                    "venv": (ws.venv / "greenloop-bench.json").read_text()}
        self.build_seconds: float | None = None  # set when this run had to build the database

    def _restore(self) -> None:
        for name in TESTMON_FILES:
            (self.ws.root / name).unlink(missing_ok=True)
            saved = self.snapshot / name
            if saved.exists():
                shutil.copy2(saved, self.ws.root / name)

    async def ensure_database(self, timeout: float, log) -> None:  # noqa: ANN001 (a print-like callable)
        key_file = self.snapshot / "key.json"
        if key_file.is_file() and json.loads(key_file.read_text()) == self.key:
            self._restore()
            return
        log(f"{self.ws.spec.name}: building testmon's database (a full --testmon run, untimed; minutes)")
        for name in TESTMON_FILES:
            (self.ws.root / name).unlink(missing_ok=True)
        outcome = await run_pytest(self.ws, ["--testmon", "-q"], timeout)
        if outcome.seconds is None:
            raise RuntimeError(f"testmon's first run did not finish within {timeout:g} s")
        self.build_seconds = outcome.seconds
        if self.snapshot.exists():
            shutil.rmtree(self.snapshot)
        self.snapshot.mkdir(parents=True)
        for name in TESTMON_FILES:
            if (self.ws.root / name).exists():
                shutil.copy2(self.ws.root / name, self.snapshot / name)
        key_file.write_text(json.dumps(self.key))

    async def selection(self, timeout: float) -> list[str]:
        """The tests testmon would run for the file as it is now on disk."""
        self._restore()
        process = await asyncio.create_subprocess_exec(
            str(self.ws.python), "-m", "pytest", "--testmon", "--collect-only", "-q", cwd=self.ws.root,
            start_new_session=True, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        try:
            raw, _ = await asyncio.wait_for(process.communicate(), timeout)
        except asyncio.TimeoutError:
            _kill_group(process.pid)
            await process.wait()
            raw = b""
        self._restore()
        return parse_ids(raw.decode(errors="replace"))

    async def timed_rerun(self, timeout: float) -> RunOutcome:
        self._restore()
        try:
            return await run_pytest(self.ws, ["--testmon", "-q", "-rfE"], timeout)
        finally:
            self._restore()


class WarmServer:
    """The fork server (`warm_server.py`) in the project's venv, one per project for the whole benchmark."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            str(self.ws.python), str(WARM_SERVER), cwd=self.ws.root, start_new_session=True,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert self.process.stdout is not None
        hello = await asyncio.wait_for(self.process.stdout.readline(), 60)
        if not json.loads(hello or b"{}").get("ready"):
            raise RuntimeError("the warm server did not start")

    async def run(self, ids: list[str], timeout: float) -> RunOutcome:
        """Request to answer: fork, run `ids`, report. Restarts the server after a timeout."""
        if self.process is None or self.process.returncode is not None:
            await self.start()
        assert self.process is not None and self.process.stdin and self.process.stdout
        started = time.monotonic()
        self.process.stdin.write((json.dumps(["-q", "-rfE", *ids]) + "\n").encode())
        await self.process.stdin.drain()
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        except asyncio.TimeoutError:
            await self.stop()
            return RunOutcome(seconds=None, error=f"killed after {timeout:g} s")
        elapsed = time.monotonic() - started
        answer = json.loads(line or b"{}")
        return _checked(RunOutcome(seconds=elapsed, counts=answer.get("counts", {}), failed=answer.get("failed", []),
                                   returncode=answer.get("exit"), tail=answer.get("error", "")))

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            _kill_group(self.process.pid)
            await self.process.wait()
        self.process = None
