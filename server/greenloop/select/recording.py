"""Turn a run's per-test function hits into coverage records, each hit fingerprinted as the test saw it.

The pytest plugin reports code objects (file, qualified name, first line); the fingerprint of each function is
taken from the file on disk after the run. If the file was modified after the run started, the text the test
executed is unknown, and the hit is stored with `fingerprint.UNKNOWN` so that later changes of that file always
select the test until it runs again. Module-level and class-body code (no enclosing function) is not a hit:
changes there are caught by the skeleton comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from greenloop import project
from greenloop.records import TestResult
from greenloop.select.coverage import TestRecord
from greenloop.select.fingerprint import UNKNOWN, FileFingerprint, fingerprint


class _Fingerprints:
    """Each file read and parsed once per run."""

    def __init__(self, started_ns: int) -> None:
        self.started_ns = started_ns
        self._cache: dict[Path, FileFingerprint | None] = {}

    def get(self, path: Path) -> FileFingerprint | None:
        if path not in self._cache:
            try:
                stat = path.stat()
                fresh = stat.st_mtime_ns <= self.started_ns
                self._cache[path] = fingerprint(path.read_bytes()) if fresh else None
            except OSError:
                self._cache[path] = None
        return self._cache[path]


def records(root: Path, results: Iterable[TestResult], started_ns: int) -> list[TestRecord]:
    """Records for every test of the run that was recorded (`functions` is not None)."""
    prints = _Fingerprints(started_ns)
    found = []
    for result in results:
        if result.functions is None or "::" not in result.nodeid:
            continue
        hits: set[tuple[str, str, str]] = set()
        for path, qualname, line in result.functions:
            path = Path(path)
            if not project.is_project_file(root, path):
                continue
            rel = project.relpath(root, path)
            current = prints.get(path)
            if current is None:
                hits.add((rel, qualname or f"<line {line}>", UNKNOWN))
                continue
            owner = current.resolve(qualname, line)
            if owner is not None:
                hits.add((rel, owner, current.functions[owner].fingerprint))
        test_file = result.nodeid.split("::", 1)[0]
        found.append(TestRecord(result.nodeid, test_file, result.duration, result.outcome.value,
                                frozenset(hits)))
    return found
