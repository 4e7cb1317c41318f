"""Run pytest in the project's interpreter, cold, and read back greenloop's structured report as it is written.

pytest is a child process in its own process group (see `process.Child`), with greenloop's plugin put on its
PYTHONPATH and loaded with `-p`. Nothing here parses pytest's terminal output for results: the terminal output
is kept only to quote in a message when pytest could not run at all. Watching, per-test timeouts and resuming
after a hung test are the supervisor's job (`supervise.py`), shared with the warm worker.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

from greenloop.records import RunResult, Selection, TestResult
from greenloop.run import process
from greenloop.run.request import PLUGIN_DIR, PLUGIN_NAME, RunRequest, Spawn, base_environment, pytest_args
from greenloop.run.supervise import Supervisor

__all__ = ["PLUGIN_DIR", "PLUGIN_NAME", "probe", "probe_xdist", "pytest_args", "run_tests"]

PROBE_TIMEOUT = 30.0
XDIST_RECHECK = 60.0  # seconds before a missing pytest-xdist is looked for again (the user may install it)
_probe_cache: dict[str, str | None] = {}
_xdist_cache: dict[str, tuple[bool, float]] = {}


async def probe(python: str, cwd: Path) -> str | None:
    """None if `python` can run pytest; otherwise a message that says what to install or fix."""
    if python in _probe_cache:
        return _probe_cache[python]
    code = "import pytest, sys; sys.stdout.write(pytest.__version__)"
    problem: str | None
    try:
        done = await process.run([python, "-c", code], cwd=cwd, timeout=PROBE_TIMEOUT)
    except OSError as exc:
        problem = f"cannot start the project interpreter {python}: {exc.strerror or exc}. Set `python` in [tool.greenloop]."
    else:
        if done.returncode == 0:
            problem = None
        elif "No module named" in done.stderr and "pytest" in done.stderr:
            problem = (
                f"pytest is not installed in the project interpreter {python}. "
                f"Install it with: {python} -m pip install pytest"
            )
        else:
            tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
            problem = f"the project interpreter {python} cannot import pytest: {tail[0]}"
    if problem is None:  # only cache success: the user may install pytest and save again
        _probe_cache[python] = None
    return problem


async def probe_xdist(python: str, cwd: Path) -> bool:
    """Whether `python` can import pytest-xdist (cached; a miss is checked again after a minute)."""
    known = _xdist_cache.get(python)
    if known is not None and (known[0] or time.monotonic() - known[1] < XDIST_RECHECK):
        return known[0]
    try:
        done = await process.run([python, "-c", "import xdist.plugin"], cwd=cwd, timeout=PROBE_TIMEOUT)
        found = done.returncode == 0
    except OSError:
        found = False
    _xdist_cache[python] = (found, time.monotonic())
    return found


class _ColdAttempt:
    """A `python -m pytest` process, as the supervisor sees it."""

    def __init__(self, child: process.Child) -> None:
        self.child = child

    @property
    def returncode(self) -> int | None:
        return self.child.returncode

    async def wait(self, timeout: float) -> bool:
        return await self.child.wait(timeout)

    def kill(self) -> None:
        self.child.kill()

    async def close(self) -> str:
        stdout, stderr = await self.child.finish()
        return (stdout + stderr) if (stdout or stderr) else ""

    async def abandon(self) -> None:
        await self.child.abandon()


async def run_tests(
    root: Path,
    python: str,
    selection: Selection,
    timeout: float,
    trace_files: Iterable[Path] = (),
    *,
    wrapper: Sequence[str] = (),
    pythonpath: Sequence[Path] = (),
    extra: Sequence[str] = (),
    on_result: Callable[[TestResult], None] | None = None,
    record_functions: bool = False,
    order: Sequence[str] = (),
    workers: int = 1,
    nice: bool = False,
    scratch: Path | None = None,
    code_cache: Path | None = None,
    spawn: Spawn | None = None,
) -> RunResult:
    """Run the selection under pytest; never raises for anything the project does.

    `timeout` is per test (setup + call + teardown): a slow test is reported as "timeout" and the others still
    run; a suite longer than `timeout` is fine. `on_result` gets each result (on the event loop) as soon as the
    plugin wrote it. `record_functions` fills `TestResult.functions`; `trace_files` turns on the (slow) line
    tracer for those files. `order`: node ids or paths relative to `root` whose tests run first. `workers` > 1
    spreads the tests over that many pytest-xdist processes when the interpreter has xdist (else one process,
    said in `notes`). `nice` runs pytest at the lowest CPU priority. `wrapper` prefixes the command (the sandbox's
    isolation and limits); `pythonpath` entries go first on PYTHONPATH (the sandbox's copy must shadow the
    original project); `scratch` is where the run's report files go (a sandbox's private /tmp would hide the
    system temp folder from us); `code_cache` keeps compiled project modules between runs, by their text;
    `spawn`: a warm worker that forks the pytest process and its xdist workers (each cold one would import pytest,
    its plugins and the project's packages again)."""
    problem = await probe(python, root)
    if problem is not None:
        return RunResult(problem=problem)
    request = RunRequest(selection, timeout, tuple(trace_files), tuple(extra), on_result, record_functions,
                         tuple(order), nice)
    notes = []
    if workers > 1 and not await probe_xdist(python, root):
        notes.append(f"pytest-xdist is not installed in {python}: the tests ran in one process "
                     f"(install it to use {workers} cores: {python} -m pip install pytest-xdist)")
        workers = 1
    env = base_environment(pythonpath, code_cache)
    if pythonpath:  # a sandbox: no bytecode caches that could outlive an edit
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if spawn is not None and not spawn.usable():
        spawn = None
    pytest = spawn.command() if spawn is not None else [python, "-m", "pytest"]
    prefix = [*_nice_prefix(nice), *wrapper, *pytest, *request.args(root, workers, spawn)]

    with tempfile.TemporaryDirectory(prefix="greenloop-", dir=scratch) as reports:

        async def launch(report: Path, skip: Collection[str]) -> _ColdAttempt:
            child_env = {**env, **request.plugin_env(report, Path(reports), skip)}
            return _ColdAttempt(await process.Child.start(prefix, cwd=root, env=child_env, reap=True))

        try:
            run = await Supervisor(request, root, Path(reports)).run(launch)
        except OSError as exc:
            return RunResult(problem=f"cannot start pytest with {python}: {exc}", notes=notes)
    run.notes[:0] = notes
    return run


def _nice_prefix(nice: bool) -> list[str]:
    if not nice:
        return []
    program = shutil.which("nice")
    return [program, "-n", "19"] if program else []

