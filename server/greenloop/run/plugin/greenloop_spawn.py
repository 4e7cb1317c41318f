"""pytest-xdist workers forked from the warm worker: the worker's half of greenloop_xdist_shim.

The warm worker listens on a Unix socket. Each connection is one xdist worker that execnet started as the shim:
it brings the execnet pipes (as file descriptors), its working directory, environment, CPU priority and the
interpreter arguments execnet asked for (`-u -c <bootstrap>`). The worker forks a child that takes those pipes
as its stdin, stdout and stderr and runs the bootstrap as `python -c` would, so xdist's own protocol takes over
in a process that already has pytest, its plugins and the project's third-party packages imported.

Lifetimes: the child lives in its own process group; when it ends, the shim is told its exit code and exits
with it; when the shim goes away first (its run was killed), the child's group is killed. The warm worker's
clean-up after each of its own runs spares these children (`pids()`): they belong to a run of the cold xdist
controller, which may still be going on.

Standard library only (Python 3.8 on): it runs in the project's interpreter.
"""

import array
import atexit
import json
import os
import signal
import socket
import sys
import types

HEADER_LIMIT = 1 << 22  # bytes: an environment is a few kB; anything near this is not a shim


def open_pidfd(pid):
    """A descriptor that becomes readable when child `pid` ends, to wait on with select (None where the system
    has none: then the child's end is noticed by polling)."""
    if hasattr(os, "pidfd_open"):
        try:
            return os.pidfd_open(pid)
        except OSError:
            return None
    return None


class _Spawned:
    def __init__(self, connection, pid):
        self.connection = connection
        self.pid = pid
        self.pidfd = open_pidfd(pid)


class Spawner:
    """The listening socket and the children forked for it."""

    def __init__(self, path):
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.children = {}  # the shim's connection's fd -> _Spawned

    def fds(self):
        """What to wait on: new shims, shims going away, children ending (pidfds)."""
        waits = [self.listener.fileno(), *self.children]
        waits += [child.pidfd for child in self.children.values() if child.pidfd is not None]
        return waits

    def polling(self):
        """True when a child's end can only be noticed by polling (no pidfd on this system)."""
        return any(child.pidfd is None for child in self.children.values())

    def pids(self):
        return [child.pid for child in self.children.values()]

    def service(self, before_fork=None):
        """Accept waiting shims, fork their children; notice children that ended and shims that went away."""
        while True:
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            self._spawn(connection, before_fork)
        for fd, child in list(self.children.items()):
            done, status = _wait(child.pid)
            if done:
                self._finish(fd, child, status)
            elif _closed(child.connection):  # the shim was killed: so is its child
                kill_group(child.pid)

    def _spawn(self, connection, before_fork):
        fds = []
        try:
            connection.setblocking(True)
            connection.settimeout(5.0)
            header, fds = _receive(connection)
            request = json.loads(header.decode("utf-8"))
            if len(fds) != 3:
                raise ValueError("expected stdin, stdout and stderr")
        except (OSError, ValueError) as exc:
            for fd in fds:
                os.close(fd)
            _send(connection, {"exit": 1, "error": str(exc)})
            connection.close()
            return
        if before_fork is not None:
            before_fork()
        pid = os.fork()
        if pid == 0:
            self._child(connection, fds, request)
        for fd in fds:
            os.close(fd)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        connection.setblocking(False)
        self.children[connection.fileno()] = _Spawned(connection, pid)

    def _child(self, connection, fds, request):
        code = 1
        try:
            os.setpgid(0, 0)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            for fd in fds:
                if fd > 2:
                    os.close(fd)
            connection.close()
            self.forget()
            wanted = int(request.get("nice", 0)) - os.nice(0)
            if wanted > 0:
                os.nice(wanted)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            code = _run_like_python(request["argv"])
        except SystemExit as exc:
            code = _exit_code(exc)
        except BaseException:  # noqa: BLE001 - a child must never return into the worker's loop
            code = 1
        os._exit(code)

    def _finish(self, fd, child, status):
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else 1
        kill_group(child.pid)  # whatever its tests left in its group
        _send(child.connection, {"exit": code})
        child.connection.close()
        if child.pidfd is not None:
            os.close(child.pidfd)
        del self.children[fd]

    def forget(self):
        """In a forked child: let go of the socket and the other children, which are the worker's."""
        self.listener.close()
        for child in self.children.values():
            child.connection.close()
            if child.pidfd is not None:
                os.close(child.pidfd)

    def close(self):
        for fd, child in list(self.children.items()):
            kill_group(child.pid)
            try:
                os.waitpid(child.pid, 0)
            except ChildProcessError:
                pass
            self._finish(fd, child, None)
        self.listener.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _run_like_python(argv):
    """`python -u [-B] -c CODE [ARGS]`, in this already running interpreter: the exit code."""
    if "-c" not in argv:
        raise ValueError("only `-c CODE` is supported")
    at = argv.index("-c")
    if "-B" in argv[:at]:
        sys.dont_write_bytecode = True
    sys.argv = ["-c", *argv[at + 2:]]
    encoding = (os.environ.get("PYTHONIOENCODING") or "utf-8").split(":")[0]
    sys.stdin = open(0, "r", encoding=encoding, closefd=False)  # noqa: SIM115 - lives as long as the process
    sys.stdout = open(1, "w", buffering=1, encoding=encoding, errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding=encoding, errors="backslashreplace", closefd=False)  # noqa: SIM115
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    code = 0
    try:
        exec(compile(argv[at + 1], "<string>", "exec"), main.__dict__)
    except SystemExit as exc:
        code = _exit_code(exc)
    try:
        atexit._run_exitfuncs()  # as the interpreter would at its end
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    return code


def _exit_code(exc):
    """The status `python` would exit with for this SystemExit."""
    return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _receive(connection):
    """The shim's header line and the descriptors sent with its first byte."""
    size = array.array("i").itemsize
    first, ancillary, _, _ = connection.recvmsg(1, socket.CMSG_LEN(3 * size))
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % size])
    header = first
    while not header.endswith(b"\n"):
        data = connection.recv(65536)
        if not data:
            break
        header += data
        if len(header) > HEADER_LIMIT:
            raise ValueError("header too long")
    return header, list(fds)


def _send(connection, message):
    try:
        connection.setblocking(True)
        connection.settimeout(1.0)
        connection.sendall(json.dumps(message).encode("utf-8") + b"\n")
    except OSError:
        pass


def _wait(pid):
    """(True, status) once `pid` ended (status None if someone else reaped it), else (False, None)."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True, None
    return (True, status) if done else (False, None)


def _closed(connection):
    """The shim hung up (it sends nothing after its header, so any readable end is its end)."""
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def kill_group(pid):
    """SIGKILL the process group `pid` leads (a child forked into its own group), if it is still there."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
