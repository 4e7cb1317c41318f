"""The file-system half of the `unshare` sandbox (`greenloop.run.contain`), run inside fresh namespaces.

util-linux `unshare` gives the new mount, PID, network, IPC and UTS namespaces and a fresh /proc, but a new mount
namespace starts as a copy of the host's: still writable, still holding the user's files. This script makes it
what bubblewrap's prefix makes, then execs the command:
- propagation private, so no mount made here reaches the host;
- every mount read-only but the `--rw` folders (bound onto themselves, or back from the host when covered);
- `--tmpfs` folders (/tmp, the temp and home folders) empty and private, with the `--ro`/`--rw` paths that lie
  under them bound back from the host, so the interpreter and the sandbox copy stay reachable;
- a private /dev holding only the harmless device nodes (the host's /dev has the disks, and the
  read-only flag does not stop writes to a device);
- no capabilities left and no new privileges (as root, a capability would undo all of this), a new session;
- TMPDIR unset, the working folder `--chdir`.
It then checks its own work, every reachable mount read-only but those it meant writable, and refuses to run the
command if not: a failed set-up must never look like a sandbox.

Run as `python -I -S namespace_root.py [--ro PATH]... [--rw PATH]... [--tmpfs PATH]... --chdir DIR -- CMD...`:
standard library only, every import at the top (once /tmp or the home folder is covered, whatever the interpreter
would import from there is gone), nothing of the project's.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import stat
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
KEPT_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC  # statvfs reports these with the same values as mount takes them
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
CAPABILITY_VERSION_3 = 0x20080522
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
         "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
ESCAPE = re.compile(rb"\\([0-7]{3})")  # mountinfo writes space, tab, newline and backslash as octal

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


class SetupError(Exception):
    pass


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if libc.mount(source and os.fsencode(source), os.fsencode(target), fstype and fstype.encode(), flags,
                  data and data.encode()) != 0:
        err = ctypes.get_errno()
        raise SetupError("mount %s on %s (flags %#x): %s" % (source, target, flags, os.strerror(err)))


def prctl(option: int, value: int, arg: int = 0) -> int:
    """0, or the errno of a failed prctl."""
    if libc.prctl(option, value, arg, 0, 0) != 0:
        return ctypes.get_errno()
    return 0


def fd_path(fd: int) -> str:
    return "/proc/self/fd/%d" % fd


def mount_id(fd: int) -> int:
    """The id (as in /proc/self/mountinfo) of the mount `fd` lies on."""
    with open("/proc/self/fdinfo/%d" % fd) as handle:
        for line in handle:
            if line.startswith("mnt_id:"):
                return int(line.split()[1])
    raise SetupError("this kernel does not report mount ids")


def mounts() -> list[tuple[int, str]]:
    """(id, mount point) of every mount in this namespace, parents first."""
    found = []
    with open("/proc/self/mountinfo", "rb") as handle:
        for line in handle:
            fields = line.split()
            point = ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]), fields[4])
            found.append((int(fields[0]), os.fsdecode(point)))
    return found


def reach(mid: int, point: str) -> int | None:
    """An O_PATH descriptor on mount `mid` at `point`, or None where the mount cannot be reached there (covered
    by a later mount, or behind a folder we may not enter: then the command cannot reach it either)."""
    try:
        fd = os.open(point, os.O_PATH)
    except OSError:
        return None
    if mount_id(fd) != mid:
        os.close(fd)
        return None
    return fd


def remount(fd: int, readonly: bool) -> None:
    """Remount the mount under `fd` read-only or writable, keeping its nosuid/nodev/noexec (in a user namespace
    the kernel refuses to drop them)."""
    flags = MS_REMOUNT | MS_BIND | (os.statvfs(fd_path(fd)).f_flag & KEPT_FLAGS) | (MS_RDONLY if readonly else 0)
    mount(None, fd_path(fd), None, flags)


def under(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def depth(path: str) -> int:
    return len([p for p in path.split("/") if p])


def make_point(target: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))


def bind_back(fd: int, target: str, readonly: bool) -> int:
    """Bind the host path held by `fd` onto `target` (made in a private folder); returns the new mount's fd."""
    make_point(target, stat.S_ISDIR(os.fstat(fd).st_mode))
    mount(fd_path(fd), target, None, MS_BIND | MS_REC)
    new = os.open(target, os.O_PATH)
    remount(new, readonly)
    return new


def private_dev(held: dict[str, int], writable_ids: set[int]) -> None:
    """A tmpfs /dev with bubblewrap's nodes: the harmless devices bound from the host, a fresh pty instance."""
    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    writable_ids.add(mount_id_of("/dev"))
    for name, fd in held.items():
        make_point("/dev/" + name, False)
        mount(fd_path(fd), "/dev/" + name, None, MS_BIND)
    for name, target in LINKS.items():
        os.symlink(target, "/dev/" + name)
    os.mkdir("/dev/shm")
    os.chmod("/dev/shm", 0o1777)
    os.mkdir("/dev/pts")
    try:
        mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
        writable_ids.add(mount_id_of("/dev/pts"))
    except SetupError:
        pass  # no pseudo-terminals here: the rest of the sandbox stands without them


def mount_id_of(path: str) -> int:
    fd = os.open(path, os.O_PATH)
    try:
        return mount_id(fd)
    finally:
        os.close(fd)


def drop_privileges() -> None:
    """No capability in any set, none to regain on exec (root keeps its uid: files stay its own)."""
    with open("/proc/sys/kernel/cap_last_cap") as handle:
        last = int(handle.read())
    for cap in range(last + 1):
        err = prctl(PR_CAPBSET_DROP, cap)
        if err and err != 22:  # EINVAL: a capability this kernel does not have
            raise SetupError("cannot drop capability %d: %s" % (cap, os.strerror(err)))
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)  # fails only on kernels without ambient capabilities

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    if libc.capset(ctypes.byref(Header(CAPABILITY_VERSION_3, 0)), (Data * 2)()) != 0:
        raise SetupError("capset: %s" % os.strerror(ctypes.get_errno()))
    err = prctl(PR_SET_NO_NEW_PRIVS, 1)
    if err:
        raise SetupError("no_new_privs: %s" % os.strerror(err))


def check(writable_ids: set[int]) -> None:
    """Fail closed: every mount the command can reach is read-only, but those made writable on purpose, and no
    capability is left."""
    for mid, point in mounts():
        fd = reach(mid, point)
        if fd is None:
            continue
        try:
            if mid not in writable_ids and not os.statvfs(fd_path(fd)).f_flag & MS_RDONLY:
                raise SetupError("%s is still writable" % point)
        finally:
            os.close(fd)
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")) and int(line.split()[1], 16):
                raise SetupError("capabilities left: " + line.strip())


def parse(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    options: dict[str, list[str]] = {"--ro": [], "--rw": [], "--tmpfs": [], "--chdir": ["/"]}
    while argv and argv[0] != "--":
        if argv[0] not in options or len(argv) < 2:
            raise SetupError("usage: namespace_root.py [--ro|--rw|--tmpfs PATH]... [--chdir DIR] -- CMD...")
        options[argv[0]].append(argv[1])
        argv = argv[2:]
    if len(argv) < 2:
        raise SetupError("no command given")
    return options, argv[1:]


def setup(options: dict[str, list[str]]) -> set[int]:
    """Build the sandbox's mounts; returns the ids of the mounts left writable on purpose."""
    private, writable, visible = options["--tmpfs"], options["--rw"], options["--ro"]
    writable_ids: set[int] = set()
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Hold what the covers will hide: paths under the private folders, and the device nodes.
    hidden = [(p, True) for p in sorted(visible, key=depth) if under(p, private) and os.path.exists(p)]
    hidden += [(p, False) for p in sorted(writable, key=depth) if under(p, private)]
    held = [(p, readonly, os.open(p, os.O_PATH)) for p, readonly in hidden]
    devices = {name: os.open("/dev/" + name, os.O_PATH) for name in DEVICES if os.path.exists("/dev/" + name)}
    for path in sorted(writable, key=depth):
        if not under(path, private):
            mount(path, path, None, MS_BIND | MS_REC)
            writable_ids.add(mount_id_of(path))
    for mid, point in mounts():
        fd = None if mid in writable_ids else reach(mid, point)
        if fd is not None:
            try:
                if not os.statvfs(fd_path(fd)).f_flag & MS_RDONLY:
                    remount(fd, True)
            finally:
                os.close(fd)
    for folder in sorted(private, key=depth):
        mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        writable_ids.add(mount_id_of(folder))
    private_dev(devices, writable_ids)
    for path, readonly, fd in held:
        new = bind_back(fd, path, readonly)
        if not readonly:
            writable_ids.add(mount_id(new))
        os.close(new)
    for fd in [fd for _, _, fd in held] + list(devices.values()):
        os.close(fd)
    return writable_ids


def main(argv: list[str]) -> int:
    try:
        options, command = parse(argv)
        writable_ids = setup(options)
        drop_privileges()
        check(writable_ids)
        os.chdir(options["--chdir"][-1])
    except (SetupError, OSError, ValueError) as exc:
        sys.stderr.write("greenloop sandbox (unshare): %s\n" % exc)
        return 125
    env = {k: v for k, v in os.environ.items() if k != "TMPDIR"}
    return run_as_init(command, env)


def run_as_init(command: list[str], env: dict[str, str]) -> int:
    """Be the namespace's first process while the command runs as its child: PID 1 gets no default signal
    actions (a test's `kill(os.getpid(), SIGTERM)` would do nothing) and inherits every orphan, so it must pass
    signals on and reap. The command's exit status is returned (128 + N when signal N ended it); when this
    process ends, the kernel ends whatever is left in the namespace."""
    child = os.fork()
    if child == 0:
        os.setsid()
        os._exit(exec_command(command, env))
    for signum in FORWARDED:
        signal.signal(signum, lambda number, _frame: os.kill(child, number))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 127
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code


def exec_command(command: list[str], env: dict[str, str]) -> int:
    """Replace this process with the command; 127 (and a line on stderr) when it cannot be run."""
    # Not os.execvpe: it imports a module lazily, from an interpreter that may now be out of sight.
    folders = [""] if "/" in command[0] else env.get("PATH", os.defpath).split(os.pathsep)
    error: OSError | None = None
    for folder in folders:
        try:
            os.execve(os.path.join(folder, command[0]), command, env)
        except OSError as exc:
            error = error or (exc if not isinstance(exc, FileNotFoundError) else None)
    sys.stderr.write("greenloop sandbox (unshare): cannot run %s: %s\n" % (command[0], error or "not found"))
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
