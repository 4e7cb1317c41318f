"""greenloop's warm pytest worker: import pytest (and the project's third-party modules) once, fork per run.

Runs in the *project's* interpreter, so it uses only the standard library and pytest. It speaks JSON lines:
- greeting: {"ready": true, "preloaded": [...], "threads": n, "fork_safe": bool, "site": [dirs]}
- {"op": "run", "cwd", "args", "env", "nice"}: fork; the child (its own process group, fresh module state for
  the project's code) runs `pytest.main(args)` with greenloop's plugin writing its JSON-lines report. Answers
  {"started": pid} at once and {"exit": code|null, "duration": s} when the child has ended.
- {"op": "kill"}: kill the running child's whole group (its "exit" answer follows).
- {"op": "compile", "files": [...]}: put those project modules in the code cache (greenloop_codecache) now, while
  greenloop selects the tests that will import them; no answer.
- {"op": "exit"}, or the end of stdin: kill any child and leave.
- Started with {"spawn": path}, it also listens on that Unix socket and forks, beside its own runs, the
  processes that `greenloop_xdist_shim` stands in for (a pytest run and its pytest-xdist workers; see
  greenloop_spawn).
After each run, whatever its tests started and left running is killed, in whatever session or process group it
put itself: the worker is a child subreaper, so such orphans are handed to it (see greenloop_reaper).
greenloop watches the report while the child runs and decides when a test hung; the worker only obeys, so it
keeps reading requests while a child runs.

Forking is only safe in a single-threaded process: if importing the preloaded modules started a thread, the
worker says so in its greeting and greenloop falls back to cold pytest processes.
"""

import gc
import importlib
import json
import os
import select
import site
import sys
import threading
import time

import greenloop_codecache  # type: ignore[import-not-found]  # beside this file, on the run's path
import greenloop_reaper  # type: ignore[import-not-found]
import greenloop_spawn  # type: ignore[import-not-found]


def _answer(payload):
    sys.__stdout__.write(json.dumps(payload) + "\n")
    sys.__stdout__.flush()


def _site_dirs():
    """Where installed packages live: their folders' mtimes tell greenloop when the environment changed."""
    dirs = list(getattr(site, "getsitepackages", lambda: [])())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    dirs += [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")]
    unique = []
    for path in dirs:
        if path and os.path.isdir(path) and path not in unique:
            unique.append(path)
    return unique


def _child(request, spawner):
    try:
        if spawner is not None:
            spawner.forget()
        os.setpgid(0, 0)
        if request.get("nice"):
            os.nice(19)
        os.chdir(request["cwd"])
        os.environ.update(request.get("env", {}))
        sys.path[:0] = request.get("sys_path", [])
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        import pytest

        code = int(pytest.main(request["args"]))
    except BaseException:  # noqa: BLE001 - a child must never return into the parent's loop
        code = 3
    os._exit(code)


class _Lines:
    """Lines from a file descriptor, read without blocking past a timeout."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""
        self.eof = False

    def next(self, timeout, also=()):
        """A complete line, or None (timeout, or one of `also` became readable); b"" at the end of input."""
        while b"\n" not in self.buffer:
            if self.eof:
                return b""
            ready, _, _ = select.select([self.fd, *also], [], [], timeout)
            if self.fd not in ready:
                return None
            data = os.read(self.fd, 65536)
            if not data:
                self.eof = True
                return self.buffer or b""
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"


class _Running:
    """The forked child of the current run."""

    def __init__(self, pid):
        self.pid = pid
        self.started = time.monotonic()
        self.pidfd = greenloop_spawn.open_pidfd(pid)

    def poll(self):
        """The exit code once the child ended (None if killed by a signal), else the string "running"."""
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if not done:
            return "running"
        if self.pidfd is not None:
            os.close(self.pidfd)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        return code

    def kill(self):
        greenloop_spawn.kill_group(self.pid)


def _fork(request, spawner):
    # The child's garbage collections then skip everything the worker holds (pytest, the preloaded packages):
    # they neither walk it nor write to its pages, each of which would be copied into the child on first write.
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        _child(request, spawner)
    try:
        os.setpgid(pid, pid)  # also here: no window in which a kill could miss the child's group
    except OSError:
        pass
    return _Running(pid)


def serve(lines, spawner=None):
    running = None
    delay = 0.0005
    while True:
        if spawner is not None:
            spawner.service(gc.freeze)
        if running is not None:
            code = running.poll()
            if code != "running":
                running.kill()  # what the tests started and left behind shares the child's group: end it too
                # and what left the group: handed to us, a subreaper (xdist workers forked for a cold
                # controller are not this run's)
                greenloop_reaper.kill_descendants(spare=spawner.pids() if spawner is not None else ())
                _answer({"exit": code, "duration": time.monotonic() - running.started})
                running = None
        waits = spawner.fds() if spawner is not None else []
        polling = spawner is not None and spawner.polling()
        if running is not None:
            if running.pidfd is not None:
                waits.append(running.pidfd)
            else:
                polling = True
        line = lines.next(delay if polling else None, waits)
        if polling:
            delay = min(delay * 2, 0.01)
        if line is None:
            continue
        if line == b"" or json.loads(line).get("op") == "exit":  # greenloop went away, or asks us to go
            if running is not None:
                running.kill()
            if spawner is not None:
                spawner.close()
            greenloop_reaper.kill_descendants()
            return
        request = json.loads(line)
        op = request.get("op", "run")
        if op == "kill":
            if running is not None:
                running.kill()
        elif op == "compile":
            for path in request.get("files", []):
                greenloop_codecache.precompile(path)
        elif op == "run" and running is None:
            running = _fork(request, spawner)
            delay = 0.0005
            _answer({"started": running.pid})


def _preload(names):
    loaded = []
    for name in names:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except BaseException:  # noqa: BLE001 - a module that fails to import is simply not preloaded
            pass
    return loaded


def _forget(plugins):
    """Drop the plugin modules themselves, keeping what they imported (execnet, coverage...): pytest wants to
    import a plugin itself, to rewrite its asserts, and warns when it was imported before; a project with
    `filterwarnings = error` (networkx) turns that warning into a run that never starts."""
    tops = {name.split(".")[0] for name in plugins}
    for name in [m for m in sys.modules if m.split(".")[0] in tops]:
        del sys.modules[name]


def _rewritten_modules(entries):
    """The top-level modules of every distribution that declares a pytest plugin: pytest marks them all for
    assertion rewriting (hypothesis: `hypothesis`, `_hypothesis_globals`...), and warns about any already imported."""
    tops = set()
    for entry in entries:
        dist = getattr(entry, "dist", None)
        for path in (getattr(dist, "files", None) or []):
            parts = path.parts
            if len(parts) == 1 and parts[0].endswith(".py"):
                tops.add(parts[0][:-3])
            elif len(parts) == 2 and parts[1] == "__init__.py":
                tops.add(parts[0])
    return sorted(tops)


def main():
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    import pytest  # noqa: F401 - the point of the worker: paid once

    names = list(config.get("preload", []))
    plugins, rewritten = [], []
    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        # pytest plugins installed in the environment are imported by every run, with what they depend on.
        from importlib import metadata

        points = metadata.entry_points()
        entries = points.select(group="pytest11") if hasattr(points, "select") else points.get("pytest11", [])
        plugins = [ep.value.split(":")[0] for ep in entries]
        rewritten = _rewritten_modules(entries)
        names += ["_pytest.python", "_pytest.fixtures", "_pytest.assertion.rewrite", "_pytest.terminal"]
    loaded = _preload(names + ["greenloop_pytest"])
    loaded += _preload(plugins)
    _forget(plugins + rewritten)
    greenloop_reaper.become_subreaper()  # a test's orphans (new sessions, daemons) are handed to us, not init
    spawner, spawn_error = None, None
    if config.get("spawn"):
        try:
            spawner = greenloop_spawn.Spawner(config["spawn"])
        except OSError as exc:  # cold xdist workers then: slower, not wrong
            spawn_error = str(exc)
    threads = threading.active_count()
    _answer({"ready": True, "preloaded": loaded, "threads": threads, "fork_safe": threads == 1,
             "site": _site_dirs(), "spawn": spawner.path if spawner is not None else None,
             "spawn_error": spawn_error})
    serve(_Lines(sys.stdin.fileno()), spawner)


if __name__ == "__main__":
    main()
