"""Child processes: killed as a whole group at the timeout, output bounded, never left running."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processes import alive, cancelled_and_gone

from greenloop.run import process


async def test_output_and_exit_code_come_back(tmp_path: Path) -> None:
    done = await process.run([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], cwd=tmp_path, timeout=30)
    assert (done.returncode, done.stdout.strip(), done.timed_out) == (3, "out", False)


async def test_the_timeout_kills_grandchildren_too(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)\n"
    )
    started = time.monotonic()
    done = await process.run([sys.executable, "-c", script], cwd=tmp_path, timeout=1.5)
    assert done.timed_out and done.returncode is None
    assert time.monotonic() - started < 30
    grandchild = int(pidfile.read_text())
    await asyncio.sleep(0.2)
    assert not alive(grandchild)


async def test_megabytes_of_output_are_bounded_not_fatal(tmp_path: Path) -> None:
    code = "import sys\nfor _ in range(200): sys.stdout.write('x' * 65536)\nsys.stdout.write('END')"
    done = await process.run([sys.executable, "-c", code], cwd=tmp_path, timeout=60)
    assert done.returncode == 0
    assert len(done.stdout) < process.OUTPUT_LIMIT + 200
    assert done.stdout.endswith("END") and "bytes of output omitted" in done.stdout


async def test_cancelling_a_run_kills_its_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    code = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    await cancelled_and_gone(asyncio.ensure_future(process.run([sys.executable, "-c", code], cwd=tmp_path, timeout=600)), pidfile)


async def test_a_missing_program_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        await process.run([str(tmp_path / "nope")], cwd=tmp_path, timeout=5)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU times from /proc")
async def test_a_niced_child_yields_the_cpu_to_greenloops_own_busy_work(tmp_path: Path) -> None:
    """Background runs are niced to 19, and that must hold against the server and the check the user waits for,
    also where the kernel shares the CPU equally between sessions (autogroup): children stay in our session."""
    cpu = min(os.sched_getaffinity(0))
    spin = f"import os; os.sched_setaffinity(0, {{{cpu}}}); exec('while True: pass')"
    ours = subprocess.Popen([sys.executable, "-c", spin])  # stands for the server's own work: same session as us
    background = await process.Child.start(["nice", "-n", "19", sys.executable, "-c", spin], cwd=tmp_path)
    try:
        await asyncio.sleep(1.0)  # both started and spinning on the one core
        before = _cpu_seconds(background.proc.pid), _cpu_seconds(ours.pid)
        await asyncio.sleep(3.0)
        after = _cpu_seconds(background.proc.pid), _cpu_seconds(ours.pid)
    finally:
        ours.kill()
        ours.wait()
        await background.finish()
    niced, busy = after[0] - before[0], after[1] - before[1]
    assert busy > 0.5, "the busy peer never ran: the measurement says nothing"
    assert niced / (niced + busy) < 0.2  # ~0.015 in one session; 0.5 when the child had a session of its own
