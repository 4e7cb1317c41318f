"""Run pytest in the project's interpreter and read back greenloop's structured report.

pytest is a child process in its own process group (see `process.run`), with greenloop's plugin put on its
PYTHONPATH and loaded with `-p`. Nothing here parses pytest's terminal output for results: the terminal output
is kept only to quote in a message when pytest could not run at all.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from greenloop.records import Frame, Outcome, RunResult, Selection, TestResult
from greenloop.run import process

PLUGIN_DIR = Path(__file__).parent / "plugin"
PLUGIN_NAME = "greenloop_pytest"
PROBE_TIMEOUT = 30.0
_probe_cache: dict[str, str | None] = {}


async def probe(python: str, cwd: Path) -> str | None:
    """None if `python` can run pytest; otherwise a message that says what to install or fix."""
    if python in _probe_cache:
        return _probe_cache[python]
    code = "import pytest, sys; sys.stdout.write(pytest.__version__)"
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


def pytest_args(selection: Selection, root: Path, extra: Sequence[str] = ()) -> list[str]:
    """Arguments after `python -m pytest` (the warm worker passes the same ones to `pytest.main`)."""
    # --continue-on-collection-errors: one broken test file must not hide the results of all the others.
    args = ["-p", PLUGIN_NAME, "-p", "no:cacheprovider", "-q", "--color=no", "--continue-on-collection-errors",
            *extra]
    if not selection.whole_project:
        args += [_rel(root, path) for path in selection.paths]
        args += list(selection.nodeids)
    return args


def _rel(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def environment(report: Path, trace_files: Iterable[Path]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_DIR), env.get("PYTHONPATH", "")) if p)
    env["GREENLOOP_REPORT"] = str(report)
    env["GREENLOOP_TRACE"] = os.pathsep.join(str(p) for p in trace_files)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


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
) -> RunResult:
    """Run the selection under pytest; never raises for anything the project does.

    `wrapper` prefixes the command (the sandbox's isolation and limits); `pythonpath` entries go first on
    PYTHONPATH (the sandbox's copy must shadow the original project)."""
    problem = await probe(python, root)
    if problem is not None:
        return RunResult(problem=problem)
    with tempfile.TemporaryDirectory(prefix="greenloop-") as scratch:
        report = Path(scratch) / "report.jsonl"
        report.touch()
        try:
            env = environment(report, trace_files)
            if pythonpath:  # a sandbox: its copy first, and no bytecode caches that could outlive an edit
                env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), env["PYTHONPATH"]])
                env["PYTHONDONTWRITEBYTECODE"] = "1"
            done = await process.run(
                [*wrapper, python, "-m", "pytest", *pytest_args(selection, root, extra)],
                cwd=root,
                timeout=timeout,
                env=env,
            )
        except OSError as exc:
            return RunResult(problem=f"cannot start pytest with {python}: {exc}")
        events = read_events(report)
    return interpret(events, done, timeout, root)


def read_events(report: Path) -> list[dict]:
    events = []
    with report.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
    return events


def _frames(raw: list[dict], base: Path) -> list[Frame]:
    frames = []
    for item in raw or []:
        path = Path(item.get("path") or "")
        if not path.is_absolute():
            path = base / path
        frames.append(Frame(path, int(item.get("line") or 1), str(item.get("name") or "")))
    return frames


def interpret(events: list[dict], done: process.Completed, timeout: float, cwd: Path) -> RunResult:
    """Turn plugin events plus the process outcome into a RunResult (pure: tested without pytest)."""
    rootdir = cwd
    results: list[TestResult] = []
    started: dict[str, dict] = {}
    finished = False
    for event in events:
        kind = event.get("event")
        if kind == "config":
            rootdir = Path(event.get("rootdir") or cwd)
        elif kind == "start":
            started[event["nodeid"]] = event
        elif kind == "result":
            path = Path(rootdir, event["path"]) if event.get("path") else None
            results.append(
                TestResult(
                    nodeid=event["nodeid"],
                    outcome=Outcome(event["outcome"]),
                    when=event.get("when", "call"),
                    duration=float(event.get("duration") or 0.0),
                    message=event.get("message") or "",
                    path=path,
                    line=event.get("line"),
                    frames=_frames(event.get("frames"), cwd),
                    covered={Path(p): lines for p, lines in (event.get("covered") or {}).items()},
                )
            )
        elif kind in ("collect_error", "conftest_error"):
            path = Path(event["path"]) if event.get("path") else None
            if path is not None and not path.is_absolute():
                path = rootdir / path
            results.append(
                TestResult(
                    nodeid=event.get("nodeid") or (str(path) if path else "<conftest>"),
                    outcome=Outcome.ERROR,
                    when="collect" if kind == "collect_error" else "conftest",
                    message=event.get("message") or "",
                    path=path,
                    frames=_frames(event.get("frames"), cwd),
                )
            )
        elif kind == "finish":
            finished = True

    done_ids = {r.nodeid for r in results}
    running = [event for nodeid, event in started.items() if nodeid not in done_ids]
    run = RunResult(
        results=results,
        exit_code=done.returncode,
        duration=done.duration,
        timed_out=done.timed_out,
        output_tail=(done.stdout + done.stderr)[-4000:],
    )
    if done.timed_out:
        if running:
            results.append(_unfinished(running[-1], rootdir, Outcome.TIMEOUT,
                                       f"timed out after {timeout:g} s; the test run was stopped"))
        else:
            run.problem = f"pytest timed out after {timeout:g} s before any test ran (hung during collection?)"
    elif not finished and not any(r.when == "conftest" for r in results):
        if running:
            results.append(_unfinished(running[-1], rootdir, Outcome.ERROR,
                                       f"the test process died while running this test (exit code {done.returncode})"))
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        run.problem = f"pytest stopped unexpectedly (exit code {done.returncode}): " + " | ".join(tail)
    return run


def _unfinished(start: dict, rootdir: Path, outcome: Outcome, message: str) -> TestResult:
    """A test that started but never reported: it hung (and was killed) or took its process down."""
    nodeid = start["nodeid"]
    path = rootdir / (start.get("path") or nodeid.split("::", 1)[0])
    return TestResult(nodeid=nodeid, outcome=outcome, when="call", message=message, path=path, line=start.get("line"))
