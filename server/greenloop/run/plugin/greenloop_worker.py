"""greenloop's warm pytest worker: import pytest (and the project's third-party modules) once, fork per run.

Runs in the *project's* interpreter, so it uses only the standard library and pytest. Each request on stdin is
one JSON line; the worker forks, and the child (in its own process group, with fresh module state for the
project's code) runs `pytest.main(args)` with greenloop's plugin writing its JSON-lines report, then exits. The
parent waits up to the request's timeout, kills the child's whole group if needed, and answers one JSON line:
{"exit": code|null, "timed_out": bool, "duration": seconds}.

Forking is only safe in a single-threaded process: if importing the preloaded modules started a thread, the
worker says so in its greeting and greenloop falls back to cold pytest processes.
"""

import importlib
import json
import os
import signal
import sys
import threading
import time


def _answer(payload):
    sys.__stdout__.write(json.dumps(payload) + "\n")
    sys.__stdout__.flush()


def _child(request):
    try:
        os.setpgid(0, 0)
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


def _wait(pid, timeout):
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), False
        if time.monotonic() >= deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return None, True
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


def main():
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    import pytest  # noqa: F401 - the point of the worker: paid once

    loaded = []
    names = list(config.get("preload", []))
    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        # pytest plugins installed in the environment are imported by every run: import them once, here.
        from importlib import metadata

        names += [ep.value.split(":")[0] for ep in metadata.entry_points(group="pytest11")]
        names += ["_pytest.python", "_pytest.fixtures", "_pytest.assertion.rewrite", "_pytest.terminal"]
    for name in names:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except BaseException:  # noqa: BLE001 - a module that fails to import is simply not preloaded
            pass
    threads = threading.active_count()
    _answer({"ready": True, "preloaded": loaded, "threads": threads, "fork_safe": threads == 1})
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "exit":
            break
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        code, timed_out = _wait(pid, float(request.get("timeout", 60)))
        _answer({"exit": code, "timed_out": timed_out, "duration": time.monotonic() - started})


if __name__ == "__main__":
    main()
