"""The stall watch (lsp/stalls.py): a callback that blocks the event loop is reported with its length and the
stack it blocked in; a loop that keeps turning is not reported; the switch is a number of milliseconds."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from greenloop.lsp import stalls


def block_the_loop_for(seconds: float) -> None:
    time.sleep(seconds)


async def test_a_blocking_callback_is_reported_with_its_stack() -> None:
    watch = stalls.StallWatch(asyncio.get_running_loop(), threshold=0.05).start()
    try:
        await asyncio.sleep(0.1)
        block_the_loop_for(0.25)
        await asyncio.sleep(0.2)
    finally:
        watch.stop()
    [(seconds, stack)] = watch.reports
    assert 0.15 < seconds < 0.6, seconds
    assert "block_the_loop_for" in stack


async def test_a_loop_that_keeps_turning_is_not_reported() -> None:
    watch = stalls.StallWatch(asyncio.get_running_loop(), threshold=0.1).start()
    try:
        for _ in range(20):
            block_the_loop_for(0.005)
            await asyncio.sleep(0.01)
    finally:
        watch.stop()
    assert watch.reports == []


@pytest.mark.parametrize("value, threshold", [("", None), ("0", None), ("soon", None), ("80", 0.08)])
def test_the_switch_is_milliseconds_in_the_environment(monkeypatch: pytest.MonkeyPatch, value: str,
                                                       threshold: float | None) -> None:
    monkeypatch.setenv("GREENLOOP_STALLS", value)
    assert stalls.from_environment() == threshold


def test_a_long_garbage_collection_is_reported_with_its_generation() -> None:
    """A collection holds the GIL wherever it was triggered: its stack would blame an innocent allocation."""
    loop = asyncio.new_event_loop()
    watch = stalls.StallWatch(loop, threshold=0.0001).start()
    try:
        cycles = [[] for _ in range(200_000)]
        for cycle in cycles:
            cycle.append(cycle)
        del cycles
        gc.collect()
    finally:
        watch.stop()
        loop.close()
    assert any(generation == 2 for _, generation in watch.collections), watch.collections
    seen = len(watch.collections)
    gc.collect()
    assert len(watch.collections) == seen  # stopped: no longer listening
