"""What one test executed: the functions it ran (cheap, for coverage-based selection) or, when asked, the lines.

Part of greenloop's pytest plugin, so it runs in the *project's* interpreter (Python 3.8 on) with the standard
library only.

Functions are recorded with function-level events, never a line tracer: on Python 3.12+ `sys.monitoring`
PY_START (each code object reports once, then is DISABLEd; `restart_events()` re-arms them for the next test),
before that a profile hook (cProfile's C profiler in the test's thread) that keeps the code object of every
"call" event. Both leave alone what is not theirs: no free monitoring tool id, or another profiler already
installed, means "not recorded" (None), never a fight over the hook. Code objects are turned into (file,
qualname, first line) only after the test, and only those of project files: under the rootdir, outside the
interpreter's prefixes, site-packages and greenloop.

Lines are recorded by a `sys.settrace` line tracer, which makes call-heavy tests several times slower: it runs
only when greenloop asks for it (to place a diagnostic for a failure already known).
"""

import os
import sys
import threading

_MONITORING_TOOLS = (3, 4, 2)  # ids with no conventional owner first; 0 debugger, 1 coverage, 5 optimizer
_TOOL_NAME = "greenloop"


def _real(path):
    return os.path.normcase(os.path.realpath(path))


class _ProjectFiles:
    """Decides, once per file name, whether a code object's file is the project's own code."""

    def __init__(self, rootdir, exclude_dirs):
        self.root = _real(rootdir)
        prefixes = {sys.prefix, sys.base_prefix, getattr(sys, "exec_prefix", sys.prefix), *exclude_dirs}
        self.excluded = [_real(p) for p in prefixes if p]
        self.cache = {}

    def __call__(self, filename):
        """The file's real path if it is project code, else None."""
        try:
            return self.cache[filename]
        except KeyError:
            pass
        path = None
        if filename and not filename.startswith("<"):
            real = _real(filename)
            parts = real.split(os.sep)
            if (
                _inside(real, self.root)
                and not any(_inside(real, excluded) for excluded in self.excluded)
                and "site-packages" not in parts
                and "dist-packages" not in parts
            ):
                path = real
        self.cache[filename] = path
        return path


def _inside(path, directory):
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


class _Monitoring:
    """Python 3.12+: PY_START events, each code object reported once per test.

    The callback appends to a list: DISABLE already makes each code object report once, and a set would hash
    it, which for a code object means hashing its name, bytecode and constants on every report."""

    def __init__(self):
        self.mon = sys.monitoring
        self.tool = None
        self.codes = []

    def start(self):
        mon = self.mon
        if self.tool is None:
            free = [tool for tool in _MONITORING_TOOLS if mon.get_tool(tool) is None]
            if not free:
                return False  # every spare id is taken by other tools: do not evict them
            self.tool = free[0]
            mon.use_tool_id(self.tool, _TOOL_NAME)
            disable = mon.DISABLE
            append = self.codes.append

            def started(code, offset):
                append(code)
                return disable

            mon.register_callback(self.tool, mon.events.PY_START, started)
        del self.codes[:]
        mon.restart_events()  # code DISABLEd during an earlier test must report again
        mon.set_events(self.tool, mon.events.PY_START)
        return True

    def stop(self):
        self.mon.set_events(self.tool, 0)
        codes = self.codes[:]
        del self.codes[:]
        return codes

    def close(self):
        if self.tool is not None:
            self.mon.set_events(self.tool, 0)
            self.mon.register_callback(self.tool, self.mon.events.PY_START, None)
            self.mon.free_tool_id(self.tool)
            self.tool = None


class _Profile:
    """Python <= 3.11: a profile hook that keeps the code object of every "call" event.

    The hook is cProfile's C profiler (`_lsprof`, Python functions only, no call graph): on more-itertools'
    slowest tests it costs ~2x where a Python-level hook costs ~4x, since a Python hook runs on every call,
    return and builtin call. `threading.setprofile` only takes a Python function, so a thread started during the
    test gets one that, at its first event, swaps in a C profiler of its own (which stays until that thread ends:
    a profiler can only be removed from its own thread)."""

    def __init__(self):
        self.codes = set()
        self.hook = None
        self.profiler = self._profiler()
        self.threads = []

    @staticmethod
    def _profiler():
        try:
            import _lsprof

            return _lsprof.Profiler(subcalls=False, builtins=False)
        except (ImportError, TypeError):
            return None

    def start(self):
        if sys.getprofile() is not None:  # a profiler is already installed: leave it alone
            return False
        self.codes = codes = set()
        self.threads = threads = []
        make = self._profiler

        def hook(frame, event, arg, add=codes.add):  # only until a C profiler replaces it
            if event == "call":
                add(frame.f_code)
                if make is not None and threading.current_thread() is not threading.main_thread():
                    profiler = make()
                    if profiler is not None:
                        threads.append(profiler)
                        profiler.enable()

        self.hook = hook
        threading.setprofile(hook)
        if self.profiler is not None:
            self.profiler.clear()
            self.profiler.enable()
        else:
            sys.setprofile(hook)
        return True

    def stop(self):
        hook, self.hook = self.hook, None
        threading.setprofile(None)
        ours = self.profiler if self.profiler is not None else hook
        if sys.getprofile() is not ours:  # the test installed its own profiler: what we saw is incomplete
            return None
        if self.profiler is not None:
            self.profiler.disable()
            self.codes.update(_profiled(self.profiler))
            self.profiler.clear()
        else:
            sys.setprofile(None)
        for profiler in self.threads:
            self.codes.update(_profiled(profiler))
        self.threads = []
        return self.codes

    def close(self):
        pass


def _profiled(profiler):
    return [entry.code for entry in profiler.getstats() if not isinstance(entry.code, str)]


class FunctionRecorder:
    """Per test: start() before setup, stop() after teardown -> the project functions it ran, or None.

    A test runs the same code objects as the tests before it (pytest's own, the project's), so each code object
    is turned into its table row once and kept (`rows`); a test's result is then one lookup per code object,
    where deciding "project file?" and formatting per code per test cost networkx's bulk ~4% of its run."""

    MAX_ROWS = 200_000  # code objects made at run time (exec, templates) would otherwise pile up for ever

    def __init__(self, rootdir, exclude_dirs=()):
        self.files = _ProjectFiles(rootdir, exclude_dirs)
        self.backend = _Monitoring() if hasattr(sys, "monitoring") else _Profile()
        self.active = False
        self.rows = {}  # id(code) -> (code, (its table row, (path, qualname, first line)) or None: not project code)
        self.odd = False  # a project path holds a tab or a line break: results keep the list form

    def start(self):
        self.active = bool(self.backend.start())
        return self.active

    def stop(self):
        if not self.active:
            return None
        self.active = False
        codes = self.backend.stop()
        if codes is None:
            return None
        rows = self.rows
        if len(rows) > self.MAX_ROWS:
            rows.clear()
        # Keyed by id, not by the code object, whose hash covers its bytecode and constants; an entry keeps its
        # code object alive, so the id cannot be reused by another while the entry exists.
        known = [rows.get(id(code)) for code in codes]
        if None in known:  # code not met before (the test's own, at least)
            for code in codes:
                if id(code) not in rows:
                    rows[id(code)] = (code, self._row(code))
            known = [rows[id(code)] for code in codes]
        found = {row for _, row in known}
        found.discard(None)
        if self.odd:
            return sorted(entry for _, entry in found)
        return "\n".join(sorted(text for text, _ in found))

    def _row(self, code):
        path = self.files(code.co_filename)
        if path is None:
            return None
        entry = (path, getattr(code, "co_qualname", code.co_name), code.co_firstlineno)
        self.odd = self.odd or _odd(path)
        return _row_text(entry), entry

    def close(self):
        if self.active:
            self.stop()
        self.backend.close()


def table(functions):
    """(path, name, line) rows as one tab-separated string, one row per line: a test on a large project executes
    thousands of functions, and the server decodes a JSON string in a blink where a JSON list of lists costs it
    an object per atom, inside one call that holds its interpreter lock. A path with a tab or a line break in it
    keeps the list form, which the server reads too."""
    if any(_odd(path) for path, _, _ in functions):
        return functions
    return "\n".join(_row_text(entry) for entry in functions)


def _odd(path):
    return "\t" in path or "\n" in path


def _row_text(entry):
    return "%s\t%s\t%d" % entry


class LineTracer:
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
