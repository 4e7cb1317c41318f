"""greenloop's pytest plugin: structured per-test outcomes, written as JSON lines.

It runs inside the *project's* interpreter (loaded with `-p greenloop_pytest`), so it may use only the standard
library and pytest itself, and must work with any pytest from 7 on. greenloop reads the file it writes instead of
scraping pytest's terminal output. Each line is one event; lines are flushed as they happen, so when a hung run
is killed the last `start` without a `result` names the test that hung.

Environment:
- GREENLOOP_REPORT: the file to append events to (required; without it the plugin does nothing).
- GREENLOOP_TRACE: os.pathsep-separated absolute paths of "focus" files; when set, each test's call phase
  records which lines of those files it executed (for placing a diagnostic in a file no frame reached).
"""

import json
import os
import sys
import traceback

import pytest

MAX_MESSAGE = 2000
MAX_FRAMES = 60


class _Writer:
    def __init__(self, path):
        self._file = open(path, "a", encoding="utf-8")

    def emit(self, **event):
        self._file.write(json.dumps(event, default=str) + "\n")
        self._file.flush()

    def close(self):
        self._file.close()


def _root_cause(exc):
    """Follow explicit causes and implicit contexts to the innermost exception (pytest wraps import errors)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _message(exc):
    if exc is None:
        return ""
    text = str(exc).strip()
    if type(exc).__name__ in ("CollectError",) and exc.__context__ is None:
        return text[-MAX_MESSAGE:]
    first = text.splitlines()[0] if text else ""
    message = type(exc).__name__ + (": " + first if first else "")
    return message[:MAX_MESSAGE]


def _frames(exc):
    frames = []
    chain = []
    current = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    # Outermost exception first, its cause after: the deepest frame of the root cause comes last.
    for item in chain:
        for summary in traceback.extract_tb(item.__traceback__):
            frames.append({"path": summary.filename, "line": summary.lineno, "name": summary.name})
    root = chain[-1] if chain else None
    if isinstance(root, SyntaxError) and root.filename and root.lineno:
        frames.append({"path": root.filename, "line": root.lineno, "name": "<syntax error>"})
    return frames[-MAX_FRAMES:]


def _exception(excinfo):
    if excinfo is None:
        return None
    return excinfo.value


class _Tracer:
    """Records the lines of focus files executed during one test's call phase, in first-execution order."""

    def __init__(self, files):
        self.files = set(files)
        self.lines = {}

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename in self.files:
            return self._local
        return None

    def _local(self, frame, event, arg):
        if event == "line":
            self.lines.setdefault(frame.f_code.co_filename, {}).setdefault(frame.f_lineno, None)
        return self._local

    def start(self):
        if sys.gettrace() is not None:  # someone else (coverage) traces: do not fight it
            return False
        self.lines = {}
        sys.settrace(self._global)
        return True

    def stop(self):
        sys.settrace(None)
        return {path: list(lines) for path, lines in self.lines.items()}


class GreenloopPlugin:
    def __init__(self, writer, trace_files):
        self.writer = writer
        self.tracer = _Tracer(trace_files) if trace_files else None
        self.reports = {}
        self.excs = {}
        self.covered = {}
        self.locations = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        outcome = yield
        report = outcome.get_result()
        if report.failed:
            call = getattr(report, "call", None)
            exc = _exception(call.excinfo) if call is not None else None
            message = _message(_root_cause(exc)) if exc is not None else str(report.longrepr)[-MAX_MESSAGE:]
            self.writer.emit(
                event="collect_error",
                nodeid=report.nodeid,
                path=str(getattr(collector, "path", "") or getattr(collector, "fspath", "")),
                message=message,
                frames=_frames(exc) if exc is not None else [],
            )

    def pytest_collection_finish(self, session):
        self.writer.emit(event="collected", count=len(session.items))

    def pytest_runtest_logstart(self, nodeid, location):
        path, line, _ = location
        self.locations[nodeid] = (path, (line + 1) if line is not None else None)
        self.writer.emit(event="start", nodeid=nodeid, path=path, line=self.locations[nodeid][1])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        tracing = self.tracer.start() if self.tracer else False
        try:
            yield
        finally:
            if tracing:
                self.covered[item.nodeid] = self.tracer.stop()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.failed and call.excinfo is not None:
            self.excs[(item.nodeid, call.when)] = call.excinfo.value

    def pytest_runtest_logreport(self, report):
        self.reports.setdefault(report.nodeid, []).append(report)

    def pytest_runtest_logfinish(self, nodeid, location):
        reports = self.reports.pop(nodeid, [])
        outcome, when, exc, duration = "passed", "call", None, 0.0
        for report in reports:
            duration += getattr(report, "duration", 0.0) or 0.0
            xfail = hasattr(report, "wasxfail")
            if report.failed and outcome not in ("failed", "error"):
                outcome = "failed" if report.when == "call" else "error"
                when = report.when
                exc = self.excs.pop((nodeid, report.when), None)
            elif report.skipped and outcome == "passed":
                outcome = "xfailed" if xfail else "skipped"
                when = report.when
            elif report.passed and report.when == "call" and xfail and outcome == "passed":
                outcome = "xpassed"
        path, line = self.locations.pop(nodeid, (None, None))
        self.writer.emit(
            event="result",
            nodeid=nodeid,
            outcome=outcome,
            when=when,
            duration=round(duration, 6),
            message=_message(exc) if exc is not None else "",
            frames=_frames(exc) if exc is not None else [],
            path=path,
            line=line,
            covered=self.covered.pop(nodeid, {}),
        )

    def pytest_sessionfinish(self, session, exitstatus):
        self.writer.emit(event="finish", exitstatus=int(exitstatus))


@pytest.hookimpl(hookwrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """A conftest.py that raises stops pytest before collection: report where, with a real traceback."""
    outcome = yield
    excinfo = getattr(outcome, "excinfo", None)
    if excinfo is None:
        return
    exc = excinfo[1]
    path = getattr(exc, "path", None)
    cause = getattr(exc, "cause", None) or exc
    report = os.environ.get("GREENLOOP_REPORT")
    if report:
        writer = _Writer(report)
        writer.emit(event="conftest_error", path=str(path or ""), message=_message(_root_cause(cause)),
                    frames=_frames(cause))
        writer.close()


def pytest_configure(config):
    report = os.environ.get("GREENLOOP_REPORT")
    if not report or hasattr(config, "_greenloop"):
        return
    trace = [p for p in os.environ.get("GREENLOOP_TRACE", "").split(os.pathsep) if p]
    plugin = GreenloopPlugin(_Writer(report), trace)
    plugin.writer.emit(event="config", rootdir=str(config.rootpath), pytest=pytest.__version__)
    config._greenloop = plugin
    config.pluginmanager.register(plugin, "greenloop-reporter")


def pytest_unconfigure(config):
    plugin = getattr(config, "_greenloop", None)
    if plugin is not None:
        plugin.writer.close()
