"""Child processes: killed as a whole group at the timeout, output bounded, never left running."""

import asyncio
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
