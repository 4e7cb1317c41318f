"""How far candidate code is kept from the user's machine: the isolation a sandboxed test run gets here.

Levels, weakest first (`LEVELS`); the `sandbox` setting names the least a repair accepts:
- "none": only the private copy of the project and resource limits.
- "network": also no network (`unshare -n` in a network namespace: as root, or with a user namespace).
- "full": bubblewrap (`bwrap`, Debian's `bubblewrap` package): the whole file system read-only except the
  sandbox's own folder, a private `/tmp` and home folder (empty, thrown away), no network, its own PID, IPC and
  UTS namespaces, killed with its parent. The interpreter, its environment and greenloop's plugin stay visible
  (read-only) even when they live under `/tmp` or the home folder.

Each mechanism is probed once, by running `true` under it: a kernel or container that forbids namespaces makes
the probe fail, and the level drops, said in `Isolation.how`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LEVELS = ("none", "network", "full")
PROBE_TIMEOUT = 10.0


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
    if found and _works([found, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
                         "--proc", "/proc", "--tmpfs", "/tmp", "--"]):
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
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/",
            "--dev", "/dev", "--proc", "/proc"]
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


def sandbox(writable: Sequence[Path], visible: Sequence[Path], cwd: Path) -> tuple[list[str], Isolation]:
    """The command prefix for a sandboxed run, and the isolation it gives."""
    bwrap = bubblewrap()
    if bwrap:
        return bubblewrap_prefix(bwrap, writable, visible, cwd), Isolation(
            "full", "bubblewrap: read-only file system except the sandbox copy, private /tmp and home folder, "
                    "no network, own process namespace")
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
