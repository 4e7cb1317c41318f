"""The "python" that pytest-xdist starts for each worker: it asks greenloop's warm worker to fork one instead.

A cold xdist worker pays for starting Python and importing pytest, its plugins and the project's third-party
packages (~0.3 s of CPU each on networkx, while the tests it then runs share the same two cores). The warm
worker has all of that imported already, so xdist is pointed at this file through execnet's own option
(`--tx popen//python=<python> -I -S greenloop_xdist_shim.py <socket>`), and execnet runs it as
`... <socket> -u -c <bootstrap>`. The shim connects to the warm worker's socket, hands over its stdin, stdout
and stderr (the execnet pipes) with its working directory, environment and CPU priority, and waits: the warm
worker forks a child that runs the bootstrap on those pipes exactly as the cold interpreter would. Everything
after that is xdist's and execnet's own protocol.

- The shim lives as long as that child and exits with its code, so xdist and greenloop see a worker process
  as usual; when the shim is killed (the run was cancelled or timed out), the warm worker sees its connection
  close and kills the child.
- When the warm worker is not there (it died, or never started), the shim becomes the cold interpreter
  (`exec`), so a run never fails for want of it.

Runs under `python -I -S`: the standard library only, from Python 3.8 on.
"""

import array
import json
import os
import socket
import sys


def _cold(argv):
    """Be the interpreter execnet asked for."""
    os.execv(sys.executable, [sys.executable, *argv])


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: greenloop_xdist_shim.py SOCKET -u -c CODE\n")
        return 2
    path, argv = sys.argv[1], sys.argv[2:]
    header = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ),
                         "nice": os.nice(0)}).encode("utf-8") + b"\n"
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        fds = array.array("i", [0, 1, 2])
        connection.sendmsg([header[:1]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
        connection.sendall(header[1:])
    except OSError:
        connection.close()
        _cold(argv)
        return 127  # not reached: exec replaced us
    # From here the child owns our pipes: let go of them, so that xdist sees them close when the child ends.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    answer = b""
    while True:
        try:
            data = connection.recv(4096)
        except InterruptedError:
            continue
        except OSError:
            data = b""
        if not data:
            break
        answer += data
        if answer.endswith(b"\n"):
            break
    try:
        return int(json.loads(answer.decode("utf-8"))["exit"])
    except (ValueError, KeyError, TypeError):
        return 1  # the warm worker went away before the child ended


if __name__ == "__main__":
    sys.exit(main())
