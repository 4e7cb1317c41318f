"""greenloop's pytest plugin: structured per-test outcomes, written as JSON lines as they happen.

It runs inside the *project's* interpreter (loaded with `-p greenloop_pytest`), so it may use only the standard
library and pytest itself, and must work with any pytest from 7 on and Python 3.8 on. greenloop tails the file
it writes while the run goes on (results stream to the editor), instead of scraping pytest's terminal output.
Each event is one line written with one `write()` to a file opened for appending, so several processes (the
pytest-xdist workers) can share the file without interleaving.

Under pytest-xdist the per-test events (start, result with frames, functions and timeouts, collection errors)
come from the worker processes where the tests run; the controller writes only config, collected, finish and
the results of tests whose worker crashed.

Environment (all optional but the first):
- GREENLOOP_REPORT: the file to append events to (without it the plugin does nothing).
- GREENLOOP_TRACE: os.pathsep-separated absolute paths of "focus" files; each test's call phase records which
  lines of those files it executed (a line tracer: slow, used only when asked for).
- GREENLOOP_TIMEOUT: seconds one test (setup + call + teardown) may take before it fails as "timeout".
- GREENLOOP_FUNCTIONS: "1" to record the project functions each test executed.
- GREENLOOP_ORDER: a file holding a JSON list of node ids or paths (relative to the invocation directory);
  tests matching earlier entries run first, the others keep pytest's order.
- GREENLOOP_SKIP: a file holding a JSON list of node ids to deselect (tests an earlier, killed run finished).
- GREENLOOP_CODE_CACHE: a directory where compiled project modules are kept by text (greenloop_codecache).

PYTEST_DONT_REWRITE: the warm worker imports this module before pytest starts, and pytest would otherwise warn
that it cannot rewrite it (an error under `filterwarnings = error`); it has no asserts to rewrite.
"""

import json
import os
import traceback

import pytest

import greenloop_codecache  # type: ignore[import-not-found]
import greenloop_narrow  # type: ignore[import-not-found]
from greenloop_alarm import Alarm, TestTimeout, slow_message  # type: ignore[import-not-found]
from greenloop_record import FunctionRecorder, LineTracer  # type: ignore[import-not-found]

MAX_MESSAGE = 2000
MAX_FRAMES = 60
PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
greenloop_codecache.install()  # before the conftest files import the project


class _Writer:
    def __init__(self, path):
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def emit(self, **event):
        data = (json.dumps(event, default=str) + "\n").encode("utf-8")
        while data:  # one write() per line; loop only on the rare short write
            written = os.write(self._fd, data)
            data = data[written:]

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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
    if isinstance(exc, TestTimeout):
        return text
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
            if summary.filename.startswith(PLUGIN_DIR + os.sep):
                continue  # greenloop's own (the alarm that stopped a slow test)
            frames.append({"path": summary.filename, "line": summary.lineno, "name": summary.name})
    root = chain[-1] if chain else None
    if isinstance(root, SyntaxError) and root.filename and root.lineno:
        frames.append({"path": root.filename, "line": root.lineno, "name": "<syntax error>"})
    return frames[-MAX_FRAMES:]


def _read_list(variable):
    path = os.environ.get(variable)
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            return [str(item) for item in json.load(handle)]
    except (OSError, ValueError):
        return []


def _matches(nodeid, entry):
    """`entry` (a node id, a file or a folder) names `nodeid` or one of its parents."""
    if nodeid == entry:
        return True
    return any(nodeid.startswith(entry + sep) for sep in ("::", "[", "/"))


def _relative_entry(entry, invocation_dir, rootdir):
    """An order entry given relative to where greenloop started pytest, made relative to pytest's rootdir."""
    path, sep, rest = entry.partition("::")
    try:
        path = os.path.relpath(os.path.join(invocation_dir, path), rootdir).replace(os.sep, "/")
    except ValueError:
        return entry
    return path + sep + rest


class GreenloopPlugin:
    def __init__(self, config, writer):
        self.config = config
        self.writer = writer
        self.worker = hasattr(config, "workerinput")  # an xdist worker: tests run here
        trace = [p for p in os.environ.get("GREENLOOP_TRACE", "").split(os.pathsep) if p]
        self.tracer = LineTracer(trace) if trace else None
        self.alarm = Alarm(float(os.environ.get("GREENLOOP_TIMEOUT") or 0))
        self.recorder = None
        if os.environ.get("GREENLOOP_FUNCTIONS") == "1":
            self.recorder = FunctionRecorder(str(config.rootpath), [PLUGIN_DIR])
        self.recording = False
        self.reports = {}
        self.excs = {}
        self.covered = {}
        self.functions = {}
        self.locations = {}
        self.told_collected = False

    @property
    def controller(self):
        """The xdist controller: it runs no tests, so it writes only run-level events."""
        return not self.worker and self.config.pluginmanager.has_plugin("dsession")

    # Collection ---------------------------------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        outcome = yield
        report = outcome.get_result()
        if report.failed:
            call = getattr(report, "call", None)
            exc = call.excinfo.value if call is not None and call.excinfo is not None else None
            message = _message(_root_cause(exc)) if exc is not None else str(report.longrepr)[-MAX_MESSAGE:]
            self.writer.emit(
                event="collect_error",
                nodeid=report.nodeid,
                path=str(getattr(collector, "path", "") or getattr(collector, "fspath", "")),
                message=message,
                frames=_frames(exc) if exc is not None else [],
            )

    def pytest_collectreport(self, report):
        if report.nodeid and "::" not in report.nodeid:  # a file collected: progress, for the hang watchdog
            self.writer.emit(event="collecting", nodeid=report.nodeid)
            if report.skipped:  # skipped as a whole (`pytest.importorskip` at module level): say so, once
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr or "")
                self.writer.emit(event="skipped_file", nodeid=report.nodeid, message=str(reason))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        skip = set(_read_list("GREENLOOP_SKIP"))
        if skip:
            kept = [item for item in items if item.nodeid not in skip]
            if len(kept) != len(items):
                config.hook.pytest_deselected(items=[item for item in items if item.nodeid in skip])
                items[:] = kept
        order = _read_list("GREENLOOP_ORDER")
        if order:
            rootdir = str(config.rootpath)
            invocation = str(config.invocation_params.dir)
            entries = [_relative_entry(entry, invocation, rootdir) for entry in order]

            def rank(item):
                for index, entry in enumerate(entries):
                    if _matches(item.nodeid, entry):
                        return index
                return len(entries)

            items[:] = sorted(items, key=rank)  # stable: within a rank, pytest's order

    def pytest_collection_finish(self, session):
        if not self.worker:
            self.writer.emit(event="collected", count=len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        if not self.told_collected:
            self.told_collected = True
            self.writer.emit(event="collected", count=len(ids))

    # Running ------------------------------------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid, location):
        if self.controller:
            return
        path, line, _ = location
        self.locations[nodeid] = (path, (line + 1) if line is not None else None)
        self.alarm.begin()
        self.writer.emit(event="start", nodeid=nodeid, path=path, line=self.locations[nodeid][1], pid=os.getpid())

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item):
        if self.recorder is not None:
            self.recording = self.recorder.start()
        self.alarm.arm("setup")
        try:
            yield
        finally:
            self.alarm.disarm()

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item):
        self.alarm.arm("call")
        tracing = self.tracer.start() if self.tracer else False
        try:
            yield
        finally:
            if tracing:
                self.covered[item.nodeid] = self.tracer.stop()
            self.alarm.disarm()

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item, nextitem):
        self.alarm.arm("teardown")
        try:
            yield
        finally:
            self.alarm.disarm()
            if self.recording:
                self.recording = False
                self.functions[item.nodeid] = self.recorder.stop()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.failed and call.excinfo is not None:
            self.excs[(item.nodeid, call.when)] = call.excinfo.value

    def pytest_runtest_logreport(self, report):
        if self.controller:
            if getattr(report, "when", None) == "???":  # xdist: the worker running this test died
                self._emit_result(report.nodeid, "error", "call", 0.0,
                                  "the test process died while running this test (%s)" % report.longrepr)
            return
        self.reports.setdefault(report.nodeid, []).append(report)

    def pytest_runtest_logfinish(self, nodeid, location):
        if self.controller:
            return
        reports = self.reports.pop(nodeid, [])
        outcome, when, exc, duration = "passed", "call", None, 0.0
        for report in reports:
            duration += getattr(report, "duration", 0.0) or 0.0
            xfail = hasattr(report, "wasxfail")
            if report.failed and outcome not in ("failed", "error"):
                outcome = "failed" if report.when == "call" else "error"
                when = report.when
                exc = self.excs.get((nodeid, report.when))
            elif report.skipped and outcome == "passed":
                outcome = "xfailed" if xfail else "skipped"
                when = report.when
            elif report.passed and report.when == "call" and xfail and outcome == "passed":
                outcome = "xpassed"
        for phase in ("setup", "call", "teardown"):
            self.excs.pop((nodeid, phase), None)
        message = _message(exc) if exc is not None else ""
        frames = _frames(exc) if exc is not None else []
        if self.alarm.fired is not None:  # ran out of time (even if an xfail mark or a later phase hid it)
            outcome, when = "timeout", self.alarm.fired
            message = slow_message(self.alarm.seconds)
        self._emit_result(nodeid, outcome, when, duration, message, frames)

    def _emit_result(self, nodeid, outcome, when, duration, message, frames=()):
        path, line = self.locations.pop(nodeid, (None, None))
        event = dict(event="result", nodeid=nodeid, outcome=outcome, when=when, duration=round(duration, 6),
                     message=message, frames=list(frames), path=path, line=line,
                     covered=self.covered.pop(nodeid, {}))
        if self.recorder is not None:
            event["functions"] = self.functions.pop(nodeid, None)
        self.writer.emit(**event)

    def pytest_sessionfinish(self, session, exitstatus):
        if not self.worker:
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
    plugin = GreenloopPlugin(config, _Writer(report))
    if not plugin.worker:
        plugin.writer.emit(event="config", rootdir=str(config.rootpath), pytest=pytest.__version__)
    config._greenloop = plugin
    config.pluginmanager.register(plugin, "greenloop-reporter")
    greenloop_narrow.install(config)


def pytest_unconfigure(config):
    plugin = getattr(config, "_greenloop", None)
    if plugin is not None:
        if plugin.recorder is not None:
            plugin.recorder.close()
        plugin.writer.close()
