"""Turn a run's per-test function hits into coverage records, each hit fingerprinted as the test saw it.

The pytest plugin reports code objects (file, qualified name, first line); the fingerprint of each function is
taken from the file on disk after the run. If the file was modified after the run started, the text the test
executed is unknown, and the hit is stored with `fingerprint.UNKNOWN` so that later changes of that file always
select the test until it runs again. The same goes for a file rewritten while it is being read (an editor saves
by truncating and writing: a read in between sees half a file, whose later functions would seem not to exist and
their hits would be lost), for a file that does not parse, and for a file that lacks a function the test executed
(caught mid-truncation, it can look unchanged): a hit is never dropped for want of a trustworthy text, since a
dropped hit is a test that a later change of that function would not select.

Module-level and class-body code (no enclosing function) is not a hit: changes there are caught by the skeleton
comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from greenloop import project
from greenloop.records import Outcome, TestResult
from greenloop.select.coverage import TestRecord
from greenloop.select.fingerprint import UNKNOWN, FileFingerprint, fingerprint


class _Files:
    """Each executed file looked at once per run: outside the project (None), or its relative path and its
    fingerprint (None when it changed after the run started or cannot be read)."""

    def __init__(self, root: Path, started_ns: int) -> None:
        self.root = root
        self.started_ns = started_ns
        self._cache: dict[str, tuple[str, FileFingerprint | None] | None] = {}

    def get(self, name: str) -> tuple[str, FileFingerprint | None] | None:
        if name not in self._cache:
            path = Path(name)
            self._cache[name] = (project.relpath(self.root, path), self._fingerprint(path)) \
                if project.is_project_file(self.root, path) else None
        return self._cache[name]

    def _fingerprint(self, path: Path) -> FileFingerprint | None:
        data = _stable_read(path, self.started_ns)
        if data is None:
            return None
        current = fingerprint(data)
        return current if current.complete else None


def _stable_read(path: Path, started_ns: int) -> bytes | None:
    """The file's bytes if it is unchanged since `started_ns` and was not rewritten while being read."""
    try:
        before = path.stat()
        if before.st_mtime_ns > started_ns:
            return None
        data = path.read_bytes()
        after = path.stat()
    except OSError:
        return None
    same = (after.st_mtime_ns, after.st_size, after.st_ino) == (before.st_mtime_ns, before.st_size, before.st_ino)
    return data if same and len(data) == before.st_size else None


def recordable(result: TestResult) -> bool:
    """A test, or a test file skipped as a whole: recorded, the file is known, so only its own changes (or those
    of what it imports at module level) select it again."""
    return "::" in result.nodeid or result.outcome is Outcome.SKIPPED


def records(root: Path, results: Iterable[TestResult], started_ns: int) -> list[TestRecord]:
    """Records for every test of the run that was recorded (`functions` is not None)."""
    files = _Files(root, started_ns)
    hit_of: dict[tuple[str, str | None, int], tuple[str, str, str] | None] = {}  # tests share most hits
    found = []
    for result in results:
        if result.functions is None or not recordable(result):
            continue
        hits: set[tuple[str, str, str]] = set()
        for key in result.functions:
            if key not in hit_of:
                hit_of[key] = _hit(files, *key)
            hit = hit_of[key]
            if hit is not None:
                hits.add(hit)
        test_file = result.nodeid.split("::", 1)[0]
        found.append(TestRecord(result.nodeid, test_file, result.duration, result.outcome.value,
                                frozenset(hits)))
    return found


def _hit(files: _Files, path: str, qualname: str | None, line: int) -> tuple[str, str, str] | None:
    """(file, function, fingerprint) for one executed code object; None outside the project or outside any
    function (module-level code)."""
    known = files.get(path)
    if known is None:
        return None
    rel, current = known
    if current is None:
        return (rel, qualname or f"<line {line}>", UNKNOWN)
    owner = current.resolve(qualname, line)
    if owner is not None:
        return (rel, owner, current.functions[owner].fingerprint)
    if qualname is None or current.runs_at_import(qualname):
        return None
    # A function the test executed is not in the text read, so that text is not the one the test ran. The check
    # of the file's mtime cannot always tell: a save that opens the file with O_TRUNC makes it empty before the
    # kernel updates its mtime, and a read in between sees an empty file that looks older than the run.
    return (rel, qualname, UNKNOWN)
