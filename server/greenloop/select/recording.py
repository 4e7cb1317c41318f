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
from greenloop.records import Outcome, TestResult
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
    files: dict[str, tuple[str, FileFingerprint | None] | None] = {}  # None: not a project file
    hit_of: dict[tuple[str, str | None, int], tuple[str, str, str] | None] = {}  # tests share most hits
    found = []
    for result in results:
        if result.functions is None or ("::" not in result.nodeid and result.outcome is not Outcome.SKIPPED):
            continue  # a test file skipped as a whole is kept: known, so only its own changes select it again
        hits: set[tuple[str, str, str]] = set()
        for key in result.functions:
            if key not in hit_of:
                hit_of[key] = _hit(root, prints, files, *key)
            hit = hit_of[key]
            if hit is not None:
                hits.add(hit)
        test_file = result.nodeid.split("::", 1)[0]
        found.append(TestRecord(result.nodeid, test_file, result.duration, result.outcome.value,
                                frozenset(hits)))
    return found


def _hit(root: Path, prints: _Fingerprints, files: dict[str, tuple[str, FileFingerprint | None] | None],
         path: str, qualname: str | None, line: int) -> tuple[str, str, str] | None:
    """(file, function, fingerprint) for one executed code object; None outside the project or outside any
    function (module-level code)."""
    if path not in files:
        where = Path(path)
        files[path] = (project.relpath(root, where), prints.get(where)) \
            if project.is_project_file(root, where) else None
    known = files[path]
    if known is None:
        return None
    rel, current = known
    if current is None:
        return (rel, qualname or f"<line {line}>", UNKNOWN)
    owner = current.resolve(qualname, line)
    return None if owner is None else (rel, owner, current.functions[owner].fingerprint)
