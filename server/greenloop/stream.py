"""Stream a check's report to its listener while tests still run: at once for a new failure, otherwise at most
every PUBLISH_EVERY seconds, and never after the check ended or was cancelled (a superseded check must not
publish what it computed from older text)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

PUBLISH_EVERY = 0.25  # seconds between streamed updates
PUBLISH_URGENT = 0.03  # ... when a new failure arrived


class Publisher:
    """Streams the report to `on_update`: at once for a first failure, otherwise at most every PUBLISH_EVERY s.
    Stopped when the check ends or is cancelled, so nothing from an outdated check is published later."""

    def __init__(self, report: Any, refresh: Callable[[], None],
                 on_update: Callable[[Any], None] | None) -> None:
        self.report = report
        self.refresh = refresh
        self.on_update = on_update
        self._timer: asyncio.TimerHandle | None = None
        self._last = self._due = 0.0
        self._stopped = False

    def soon(self, urgent: bool = False) -> None:
        if self.on_update is None or self._stopped:
            return
        now = time.monotonic()
        due = max(now, self._last + (PUBLISH_URGENT if urgent else PUBLISH_EVERY))
        if self._timer is not None:
            if self._due <= due:
                return
            self._timer.cancel()
        self._due = due
        self._timer = asyncio.get_running_loop().call_later(due - now, self.now)

    def now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.on_update is None or self._stopped:
            return
        self._last = time.monotonic()
        self.refresh()
        self.on_update(self.report)

    def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
