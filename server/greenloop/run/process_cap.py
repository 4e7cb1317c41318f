"""A cap on how many processes a sandboxed run may have at once: a pids cgroup.

Why a cgroup: candidate code that forks without end (a recursion through `subprocess`, a fork bomb a model wrote)
would otherwise fill the machine's process table until the per-test timeout stops it, and the user's editor, shell
and greenloop itself could not start a process meanwhile. A PID namespace does not help (its processes count in
the host's table), and `RLIMIT_NPROC` counts every process of the user, the editor's included, and is not
enforced for root. A pids cgroup counts exactly the run's processes and threads, whatever session they are in.

Where the cgroup file system lets us (cgroup v1's `pids` hierarchy, or a cgroup v2 subtree delegated with the
`pids` controller, as systemd does for user services), each sandbox makes a cgroup of its own beside ours, sets
`pids.max`, and every sandboxed command moves itself in before it starts the isolation (children inherit it).
Where it cannot (no write access), there is no cap and `ProcessCap.how` says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

PROCESS_LIMIT = 512  # processes and threads at once: pytest with xdist workers needs dozens, not hundreds
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class ProcessCap:
    path: Path  # the cgroup's folder
    limit: int

    @property
    def how(self) -> str:
        return f"at most {self.limit} processes"

    def prefix(self) -> list[str]:
        """The command prefix that moves the command into the cgroup, then runs it."""
        shell = shutil.which("sh") or "/bin/sh"
        return [shell, "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs")]

    def close(self) -> None:
        """Remove the cgroup; whatever is still in it (nothing, normally: runs kill their trees) is killed first."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                self._kill_members()
                time.sleep(0.02)

    def _kill_members(self) -> None:
        try:
            members = [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue


def _own_cgroups() -> list[Path]:
    """Our cgroup's folder in each hierarchy that can cap processes: v1's `pids`, or a v2 cgroup whose children
    get the `pids` controller."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if "pids" in controllers.split(","):
            found.append(CGROUP_ROOT / "pids" / path.lstrip("/"))
        elif controllers == "":
            own = CGROUP_ROOT / path.lstrip("/")
            try:
                if "pids" in (own / "cgroup.subtree_control").read_text().split():
                    found.append(own)
            except OSError:
                continue
    return found


def make(limit: int = PROCESS_LIMIT) -> ProcessCap | None:
    """A new cgroup capping processes at `limit`, or None where none can be made here."""
    for parent in _own_cgroups():
        folder = parent / f"greenloop-sandbox-{uuid.uuid4().hex[:12]}"
        try:
            folder.mkdir()
        except OSError:
            continue
        try:
            (folder / "pids.max").write_text(f"{limit}\n")
        except OSError:
            ProcessCap(folder, limit).close()
            continue
        return ProcessCap(folder, limit)
    return None
