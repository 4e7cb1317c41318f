"""How far candidate code is kept from the user's machine: the isolation a sandboxed test run gets here.

Levels, weakest first (`LEVELS`); the `sandbox` setting names the least a repair accepts:
- "none": only the private copy of the project and resource limits.
- "network": also no network (`unshare -n` in a network namespace: as root, or with a user namespace).
- "full": the whole file system read-only except the sandbox's own folder, a private `/tmp` and home folder
  (empty, thrown away), a private `/dev` with only the harmless devices, no network, its own PID, IPC and UTS
  namespaces, no capabilities, killed with its parent. The interpreter, its environment and greenloop's plugin
  stay visible (read-only) even when they live under `/tmp` or the home folder. Two ways there:
  - bubblewrap (`bwrap`, Debian's `bubblewrap` package), the first choice: a tool made for this, and maintained;
  - util-linux `unshare` (new mount, PID, network, IPC and UTS namespaces; as root, or with a user namespace)
    running `namespace_root.py`, which builds the same file system inside them, checks it, then execs the
    command: for machines where bubblewrap is missing or cannot run (a container that forbids its set-up).
  `Isolation.how` names the one in force ("bubblewrap: ..." or "unshare: ...").

Each mechanism is probed once, by running `true` under it: a kernel or container that forbids namespaces makes
the probe fail, and the level drops, said in `Isolation.how`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LEVELS = ("none", "network", "full")
PROBE_TIMEOUT = 10.0
NAMESPACE_ROOT = Path(__file__).with_name("namespace_root.py")
# --fork: namespace_root.py is the new PID namespace's first process (an init running the command as its child), so
# when it ends the kernel ends every process left in it (also those in their own session); --kill-child: and it
# ends when unshare is killed.
NAMESPACES = ("--mount", "--pid", "--fork", "--mount-proc", "--kill-child", "--net", "--ipc", "--uts")
FULL = "read-only file system except the sandbox copy, private /tmp and home folder, no network, own process namespace"


@dataclass(frozen=True)
class Isolation:
    level: str  # one of LEVELS
    how: str  # what is in force, for people: shown with the repair's baseline and in its result

    def at_least(self, minimum: str) -> bool:
        return LEVELS.index(self.level) >= LEVELS.index(minimum)


def _works(argv: Sequence[str]) -> bool:
    try:
        return subprocess.run([*argv, "true"], capture_output=True, timeout=PROBE_TIMEOUT).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def bubblewrap() -> str | None:
    """The `bwrap` executable, if it can build a sandbox here."""
    found = shutil.which("bwrap")
    if found and _works([found, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--ro-bind", "/", "/",
                         "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--"]):
        return found
    return None


@functools.cache
def no_network() -> tuple[str, ...]:
    """The `unshare` prefix that cuts a child off the network here (as root, or in a user namespace), or ()."""
    unshare = shutil.which("unshare")
    if unshare:
        for argv in ([unshare, "-n", "--"], [unshare, "-rn", "--"]):
            if _works(argv):
                return tuple(argv)
    return ()


def _hidden_by(path: Path, covers: Sequence[Path]) -> bool:
    return any(path == cover or path.is_relative_to(cover) for cover in covers)


def _private_folders() -> list[Path]:
    """Folders the sandbox replaces with empty throwaway ones: the temp folder and the home folder."""
    folders = [Path("/tmp"), Path(tempfile.gettempdir())]
    home = os.environ.get("HOME")
    if home and Path(home).resolve() != Path("/"):
        folders.append(Path(home))
    resolved: list[Path] = []
    for folder in folders:
        folder = folder.resolve()
        if folder.is_dir() and folder not in resolved and not any(folder.is_relative_to(r) for r in resolved):
            resolved.append(folder)
    return resolved


def bubblewrap_prefix(bwrap: str, writable: Sequence[Path], visible: Sequence[Path], cwd: Path) -> list[str]:
    """The `bwrap` arguments that run a command with only `writable` writable and `visible` readable under the
    private folders (everything else read-only, as it is on the host)."""
    private = _private_folders()
    # --cap-drop ALL: run as root, bwrap keeps every capability, and one is enough to remount `/` writable.
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    # bwrap leaves the new /proc writable and may leave /proc/sys so too (it does on some kernels): as root, even
    # without capabilities, that is the host's kernel settings (core_pattern runs a program as root on the host).
    for cover in ("/proc/sys", "/proc/sysrq-trigger"):
        argv += ["--ro-bind-try", cover, cover]
    for folder in private:
        argv += ["--tmpfs", str(folder)]
    # Binds come after the folders they sit in (bwrap applies them in order; sources are read from the host).
    for path in sorted({Path(p).resolve() for p in visible}, key=lambda p: len(p.parts)):
        if _hidden_by(path, private) and path.exists():
            argv += ["--ro-bind", str(path), str(path)]
    for path in sorted({Path(p).resolve() for p in writable}, key=lambda p: len(p.parts)):
        argv += ["--bind", str(path), str(path)]
    argv += ["--unsetenv", "TMPDIR", "--chdir", str(cwd.resolve()), "--"]
    return argv


def unshare_prefix(unshare: Sequence[str], writable: Sequence[Path], visible: Sequence[Path],
                   cwd: Path) -> list[str]:
    """The `unshare` command that runs a command in new namespaces through `namespace_root.py`, which then
    gives it what `bubblewrap_prefix` gives. The interpreter running greenloop runs the helper, isolated (`-I`,
    `-S`): nothing of the project or its environment is imported before the file system is locked."""
    argv = [*unshare, "--", sys.executable, "-I", "-S", str(NAMESPACE_ROOT)]
    for path in sorted({Path(p).resolve() for p in visible}, key=lambda p: len(p.parts)):
        argv += ["--ro", str(path)]
    for path in sorted({Path(p).resolve() for p in writable}, key=lambda p: len(p.parts)):
        argv += ["--rw", str(path)]
    for folder in _private_folders():
        argv += ["--tmpfs", str(folder)]
    return [*argv, "--chdir", str(cwd.resolve()), "--"]


@functools.cache
def unshare_namespaces() -> tuple[str, ...]:
    """The `unshare` command that builds the full sandbox here (as root, else in a user namespace), or ().
    Probed with the whole prefix, a writable folder under /tmp included: the helper refuses to run anything
    unless every mount it can see is as it should be, so a probe that passes means the set-up holds."""
    unshare = shutil.which("unshare")
    if not unshare:
        return ()
    with tempfile.TemporaryDirectory(prefix="greenloop-probe-") as probe:
        for argv in ((unshare, *NAMESPACES), (unshare, "--map-root-user", *NAMESPACES)):
            if _works(unshare_prefix(argv, [Path(probe)], [], Path(probe))):
                return argv
    return ()


def sandbox(writable: Sequence[Path], visible: Sequence[Path], cwd: Path) -> tuple[list[str], Isolation]:
    """The command prefix for a sandboxed run, and the isolation it gives."""
    bwrap = bubblewrap()
    if bwrap:
        return bubblewrap_prefix(bwrap, writable, visible, cwd), Isolation("full", f"bubblewrap: {FULL}")
    namespaces = unshare_namespaces()
    if namespaces:
        how = "as root" if "--map-root-user" not in namespaces else "in a user namespace"
        return unshare_prefix(namespaces, writable, visible, cwd), Isolation(
            "full", f"unshare: {FULL} ({how}; bubblewrap is not installed or cannot run here)")
    network = no_network()
    if network:
        return list(network), Isolation(
            "network", "no network (unshare), but the file system is not protected: install bubblewrap "
                       "(Debian/Ubuntu: apt install bubblewrap) for a read-only file system")
    return [], Isolation("none", "not isolated: neither bubblewrap nor unshare works here; install bubblewrap "
                                 "(Debian/Ubuntu: apt install bubblewrap)")


def interpreter_folders(python: str) -> list[Path]:
    """What running `python` needs to read: its environment (a venv's folder) and the installation behind it."""
    path = Path(python)
    if not path.is_absolute():
        found = shutil.which(python)
        path = Path(found) if found else path
    folders = [path.parent.parent, path.resolve().parent.parent]
    return [f for f in dict.fromkeys(folders) if f != Path("/")]
