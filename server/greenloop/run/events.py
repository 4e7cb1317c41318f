"""The plugin's JSON-lines report, read while pytest still writes it, turned into TestResult records.

The plugin appends one event per line (see plugin/greenloop_pytest.py); `ReportTail` returns the complete lines
that arrived since the last read, so results reach the editor while the run goes on. `Ledger` keeps what a
whole run (possibly several pytest processes, after a hung test was killed) has reported so far.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from greenloop.records import Frame, Outcome, TestResult

Event = dict[str, Any]


class ReportTail:
    """Complete lines appended to a report file since the last `read` (a half-written last line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def read(self) -> list[Event]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        events = []
        for line in lines:
            try:
                event = json.loads(line.decode("utf-8", errors="replace"))
            except json.JSONDecodeError:
                continue  # not ours (or corrupt): skip it
            if isinstance(event, dict):
                events.append(event)
        return events


def _frames(raw: list[dict] | None, base: Path) -> list[Frame]:
    frames = []
    for item in raw or []:
        path = Path(item.get("path") or "")
        if not path.is_absolute():
            path = base / path
        frames.append(Frame(path, int(item.get("line") or 1), str(item.get("name") or "")))
    return frames


def _functions(raw: str | list | None) -> tuple[tuple[str, str, int], ...] | None:
    """A tuple of plain tuples of atoms (no Path objects, no list): a networkx run carries ~100,000 rows, and the
    garbage collector stops tracking such tuples, so they cost the server's event loop no collection pauses. The plugin
    sends them as a tab-separated table in one string (`greenloop_record.table`), or as a list of rows."""
    if raw is None:
        return None
    if isinstance(raw, str):
        rows = (row.split("\t") for row in raw.split("\n") if row)
        return tuple((path, name, int(line)) for path, name, line in rows)
    return tuple((str(path), str(name), int(line)) for path, name, line in raw)


class Ledger:
    """Every result of one run so far, in arrival order, each test once."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.rootdir = cwd
        self.results: list[TestResult] = []
        self.done: set[str] = set()  # node ids with a result
        self.collected: int | None = None  # tests the first pytest process selected
        self.conftest_failed = False
        self._once: set[tuple[str, str]] = set()  # file-level events: every xdist worker (and a resume) collects

    def feed(self, event: Event) -> TestResult | None:
        """Absorb one event; return the new result it carries, if any."""
        kind = event.get("event")
        if kind == "config":
            self.rootdir = Path(event.get("rootdir") or self.cwd)
        elif kind == "collected":
            if self.collected is None:
                self.collected = int(event.get("count") or 0)
        elif kind == "result" and event.get("nodeid") not in self.done:
            return self.add(self._result(event))
        elif kind == "skipped_file":
            key = (kind, str(event.get("nodeid") or ""))
            if key not in self._once:
                self._once.add(key)
                return self.add(TestResult(nodeid=str(event.get("nodeid") or ""), outcome=Outcome.SKIPPED,
                                           when="collect", message=event.get("message") or "", functions=()))
        elif kind in ("collect_error", "conftest_error"):
            key = (kind, str(event.get("nodeid") or event.get("path") or ""))
            if key not in self._once:
                self._once.add(key)
                self.conftest_failed |= kind == "conftest_error"
                return self.add(self._error(event))
        return None

    def add(self, result: TestResult) -> TestResult:
        self.results.append(result)
        if result.when not in ("collect", "conftest"):
            self.done.add(result.nodeid)
        return result

    @property
    def remaining(self) -> bool:
        """Whether some selected test has no result yet (unknown before collection ended: then True)."""
        return self.collected is None or len(self.done) < self.collected

    def _result(self, event: Event) -> TestResult:
        return TestResult(
            nodeid=event["nodeid"],
            outcome=Outcome(event["outcome"]),
            when=event.get("when", "call"),
            duration=float(event.get("duration") or 0.0),
            message=event.get("message") or "",
            path=Path(self.rootdir, event["path"]) if event.get("path") else None,
            line=event.get("line"),
            frames=_frames(event.get("frames"), self.cwd),
            covered={Path(p): lines for p, lines in (event.get("covered") or {}).items()},
            functions=_functions(event.get("functions")),
        )

    def _error(self, event: Event) -> TestResult:
        path = Path(event["path"]) if event.get("path") else None
        if path is not None and not path.is_absolute():
            path = self.rootdir / path
        conftest = event.get("event") == "conftest_error"
        return TestResult(
            nodeid=event.get("nodeid") or (str(path) if path else "<conftest>"),
            outcome=Outcome.ERROR,
            when="conftest" if conftest else "collect",
            message=event.get("message") or "",
            path=path,
            frames=_frames(event.get("frames"), self.cwd),
        )

    def unfinished(self, start: Event, outcome: Outcome, message: str) -> TestResult:
        """A test that started but never reported: it hung (and was killed) or took its process down."""
        nodeid = start["nodeid"]
        path = self.rootdir / (start.get("path") or nodeid.split("::", 1)[0])
        return TestResult(nodeid=nodeid, outcome=outcome, when="call", message=message, path=path,
                          line=start.get("line"))
