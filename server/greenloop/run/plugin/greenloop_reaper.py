"""Whatever a test starts dies with its run: a launcher that adopts and kills a command's whole process tree.

A test may start processes in their own session or process group (`start_new_session=True`, a daemon's double
fork); killing the run's process group misses them, and they outlive the run, the check and the server. Linux
hands an orphan to its nearest ancestor marked as a *child subreaper* instead of to init, so this launcher marks
itself one, runs the command, and when the command ends (or greenloop asks it to stop, or greenloop itself dies)
kills every process left below it: each is either still a descendant or was handed to the launcher.

Used two ways, with no dependency beyond the standard library (it runs under any Python 3):
- `python greenloop_reaper.py -- COMMAND...`: the launcher for a cold pytest run; exits with the command's code.
- `import greenloop_reaper`: the warm worker marks itself a subreaper and calls `kill_descendants` after each run.
"""

import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option, value):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux, or no libc symbol: nothing to adopt with
        return False


def become_subreaper():
    """Adopt the orphans of every descendant; True where the system allows it (Linux)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(sig=signal.SIGTERM):
    """Receive `sig` when the process that started us dies (greenloop killed or crashed)."""
    return _prctl(PR_SET_PDEATHSIG, int(sig))


def _children():
    found = set()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open("/proc/self/task/%s/children" % task) as handle:
                found.update(int(pid) for pid in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def _descendants(spare=()):
    """Our children, their children, and so on, but not `spare` nor what is below them (a snapshot: the tree
    may change while it is read)."""
    parents, seen = {}, set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return _children()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
        if len(fields) > 1:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    todo = [os.getpid()]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in seen and child not in spare:
                seen.add(child)
                todo.append(child)
    return seen


def _reap(pids=None):
    """Collect the exit status of ended children: all of them, or only `pids`."""
    if pids is not None:
        for pid in pids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        return
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_descendants(keep=(), patience=5.0, spare=()):
    """SIGKILL every process below us but `keep`, again and again until none is left (a killed process's own
    children are handed to us, a subreaper, and killed in the next round). Reaps what ends.

    `spare`: children that live on, with everything below them (the warm worker's forked xdist workers, which
    belong to another run); what ends is then reaped by pid, so their exit status stays for their owner."""
    spare = set(spare)
    deadline = time.monotonic() + patience
    killed = set()
    while True:
        found = (_descendants(spare) | _children()) - set(keep) - spare
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGSTOP)  # a stopped process cannot fork again while its siblings die
            except (ProcessLookupError, PermissionError):
                pass
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        killed |= found
        time.sleep(0.005)
        _reap(killed if spare else None)
        if time.monotonic() > deadline:
            break
    _reap(killed if spare else None)


def launch(argv):
    """Run `argv` as our child; when it ends, or when we are told to stop, end everything below us."""
    become_subreaper()
    die_with_parent(signal.SIGTERM)
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            sys.stderr.write("greenloop: cannot run %s: %s\n" % (argv[0], exc))
        os._exit(127)

    def stop(signum, frame):
        kill_descendants()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            status = 0
            break
        except InterruptedError:
            continue
    kill_descendants()
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.stderr.write("usage: greenloop_reaper.py -- COMMAND [ARG...]\n")
        sys.exit(2)
    sys.exit(launch(args))
