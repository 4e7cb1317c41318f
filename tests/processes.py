"""Helpers for tests that prove a process is gone: is a pid still running, and wait for a test to write its pid."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest


def alive(pid: int) -> bool:
    """Running, not a zombie (a killed orphan may wait a while for a reaper that never comes in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def pid_written(pidfile: Path, tries: int = 200) -> None:
    """Wait until a child has written its pid into `pidfile` (0.05 s between looks)."""
    for _ in range(tries):
        if pidfile.exists() and pidfile.read_text():
            return
        await asyncio.sleep(0.05)


async def cancelled_and_gone(task: asyncio.Future[object], pidfile: Path) -> None:
    """Once the process behind `task` has written its pid: cancel the task, which must end cancelled and take
    the process with it."""
    await pid_written(pidfile)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert not alive(int(pidfile.read_text()))
