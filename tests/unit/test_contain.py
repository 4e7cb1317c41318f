"""Full isolation, looked at from inside: what a command run under `contain.sandbox` can see, write and keep.

Run under each mechanism that works here (bubblewrap, and util-linux `unshare` with `namespace_root.py`, forced
by hiding bubblewrap); one that cannot run on this machine is skipped, saying why. Nothing of either is faked:
every test runs real commands in real namespaces.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from processes import alive

from greenloop.run import contain

# Run inside the sandbox: what it finds, as JSON. `sys.argv[1:]`: paths to try writing.
LOOK = r"""
import json, os, socket, stat, sys

def write(path):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write("planted")
        return "written"
    except OSError as exc:
        return type(exc).__name__

def opens_for_writing(path):
    try:
        os.close(os.open(path, os.O_WRONLY))  # nothing is written
        return True
    except OSError:
        return False

status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({
    "cwd": os.getcwd(),
    "tmpdir": os.environ.get("TMPDIR"),
    "caps": {k: int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
    "dev": sorted(os.listdir("/dev")),
    "block_devices": [n for n in os.listdir("/dev") if stat.S_ISBLK(os.lstat("/dev/" + n).st_mode)],
    "null": opens_for_writing("/dev/null"),
    "proc_sys": opens_for_writing("/proc/sys/vm/swappiness"),
    "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
    "interfaces": [name for _, name in socket.if_nameindex()],
    "writes": {path: write(path) for path in sys.argv[1:]},
}))
"""


def test_the_isolation_names_the_mechanism_in_force(mechanism: str, tmp_path: Path) -> None:
    prefix, isolation = contain.sandbox([tmp_path], [], tmp_path)
    assert isolation.level == "full" and isolation.at_least("full")
    assert isolation.how.startswith(f"{mechanism}: ")
    assert Path(prefix[0]).name == ("bwrap" if mechanism == "bubblewrap" else "unshare")


def test_inside_only_the_writable_folder_keeps_writes(mechanism: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    work, shown = tmp_path / "work", tmp_path / "shown"
    work.mkdir()
    shown.mkdir()
    (shown / "data.txt").write_text("seen")
    (tmp_path / "hidden.txt").write_text("secret")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    mark = f"greenloop-contain-{uuid.uuid4().hex}"
    home = Path.home()
    targets = {"work": work / "out.txt", "shown": shown / "planted.txt", "beside": tmp_path / "planted.txt",
               "home": home / mark, "var_tmp": Path("/var/tmp") / mark, "project": Path.cwd() / mark}
    prefix, _ = contain.sandbox([work], [shown, *contain.interpreter_folders(sys.executable)], work)
    script = LOOK + ("\nassert open(%r).read() == 'seen'\nassert not os.path.exists(%r)\n"
                     % (str(shown / "data.txt"), str(tmp_path / "hidden.txt")))
    try:
        run = subprocess.run([*prefix, sys.executable, "-I", "-c", script, *map(str, targets.values())],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        seen = json.loads(run.stdout)
        writes = dict(zip(targets, seen["writes"].values(), strict=True))
        assert writes["work"] == "written" and (work / "out.txt").read_text() == "planted"
        assert writes["shown"] != "written"  # shown, read-only
        assert writes["var_tmp"] != "written"
        # The project may lie under /tmp (a clone in CI), which is private inside: a write there may succeed, and
        # is thrown away. What counts is that nothing lands on the host.
        landed = [name for name, path in targets.items() if name != "work" and path.exists()]
        assert landed == []
        assert seen["cwd"] == str(work.resolve()) and seen["tmpdir"] is None
        assert seen["caps"] == dict.fromkeys(("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"), 0)
        assert seen["block_devices"] == [] and seen["null"]
        assert set(seen["dev"]) <= {"null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout",
                                    "stderr", "ptmx", "pts", "shm", "core"}
        assert not seen["proc_sys"]
        assert seen["processes"] <= 3  # own PID namespace: the command (and bwrap's init), nothing of the host
        assert seen["interfaces"] == ["lo"]
    finally:
        for path in targets.values():
            if path != targets["work"]:
                path.unlink(missing_ok=True)


SLEEPER = b"sleep\x00617.5\x00"


def _sleepers() -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes() == SLEEPER and alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_killing_the_sandbox_ends_everything_in_it(mechanism: str, tmp_path: Path) -> None:
    """Also what a child started in its own session: greenloop killed must not leave candidate code running."""
    prefix, _ = contain.sandbox([tmp_path], [], tmp_path)
    child = subprocess.Popen([*prefix, "sh", "-c", "setsid sleep 617.5 & wait"], start_new_session=True)
    try:
        for _ in range(200):
            if _sleepers():
                break
            time.sleep(0.025)
        assert _sleepers(), "the sleeper never started"
        os.kill(child.pid, signal.SIGKILL)  # bwrap or unshare itself, not its group
        child.wait(10)
        for _ in range(100):
            if not _sleepers():
                break
            time.sleep(0.02)
        assert _sleepers() == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        for pid in _sleepers():
            os.kill(pid, signal.SIGKILL)


def test_the_unshare_helper_runs_nothing_it_could_not_set_up(tmp_path: Path) -> None:
    """A folder that cannot be made writable stops the run before the command starts (fail closed)."""
    namespaces = contain.unshare_namespaces()
    if not namespaces:
        pytest.skip("unshare cannot build the sandbox here")
    marker = tmp_path / "ran"
    prefix = contain.unshare_prefix(namespaces, [tmp_path / "missing"], [], tmp_path)
    run = subprocess.run([*prefix, "touch", str(marker)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 125 and "greenloop sandbox (unshare)" in run.stderr
    assert not marker.exists()
    missing = subprocess.run([*contain.unshare_prefix(namespaces, [tmp_path], [], tmp_path), "no-such-command-x"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 127 and "cannot run no-such-command-x" in missing.stderr


def test_a_command_that_signals_itself_ends_as_it_would_outside(mechanism: str, tmp_path: Path) -> None:
    """The command is not the namespace's first process (which gets no default signal actions): a test that
    sends itself SIGTERM ends, reported as a signal's end, and its orphans are reaped, not left as zombies."""
    prefix, _ = contain.sandbox([tmp_path], contain.interpreter_folders(sys.executable), tmp_path)
    script = ("import os, signal, subprocess\n"
              "subprocess.Popen(['sh', '-c', 'sleep 0.1 &'])\n"  # an orphan for the first process to reap
              "os.kill(os.getpid(), signal.SIGTERM)\n"
              "import time; time.sleep(30)\n")
    started = time.monotonic()
    run = subprocess.run([*prefix, sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM), (run.returncode, run.stderr)
    assert time.monotonic() - started < 20
