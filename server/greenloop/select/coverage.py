"""Which functions each test executed, kept in `.greenloop/coverage.sqlite3` and updated by every run.

Every test run records, per test, the functions it executed (the pytest plugin's cheap function-level events).
Each hit is stored against the function's fingerprint *as it was when the test ran* (as pytest-testmon does with
its blocks), so "is this test affected by the file as it is now?" is one comparison: a test is affected when it
executed a function whose current fingerprint differs from the recorded one, or that no longer exists. A hit whose
file changed while the test was running is stored with `fingerprint.UNKNOWN`, which matches nothing: that test
stays selected by any later change of that file until it runs again.

Module-level code (imports, constants, class bodies, decorators) runs at import time, outside any test, so it
cannot be attributed; the store keeps each file's *skeleton* fingerprint as of the last complete check instead,
and the selector falls back to the import graph when a skeleton changed.

All methods are synchronous and quick (SQLite with indexes); the engine calls the bulk ones off the event loop.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenloop.state import state_dir

SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS tests (
    id INTEGER PRIMARY KEY, nodeid TEXT UNIQUE NOT NULL, file TEXT NOT NULL,
    duration REAL NOT NULL DEFAULT 0, outcome TEXT NOT NULL DEFAULT '', recorded_at REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS functions (
    id INTEGER PRIMARY KEY, file TEXT NOT NULL, qualname TEXT NOT NULL, fingerprint TEXT NOT NULL,
    UNIQUE (file, qualname, fingerprint));
CREATE TABLE IF NOT EXISTS hits (
    test_id INTEGER NOT NULL, function_id INTEGER NOT NULL, PRIMARY KEY (test_id, function_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hits_by_function ON hits (function_id);
CREATE TABLE IF NOT EXISTS skeletons (file TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
"""


@dataclass(frozen=True)
class TestRecord:
    """What one run says about one test: where it lives, how long it took, what it executed."""

    __test__ = False

    nodeid: str
    file: str  # the test file, relative to the project root
    duration: float
    outcome: str
    functions: frozenset[tuple[str, str, str]]  # (file relative to the root, qualname, fingerprint)


class CoverageStore:
    @classmethod
    def open(cls, root: Path) -> CoverageStore:
        return cls(state_dir(root) / "coverage.sqlite3")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._version()
        if version not in (None, SCHEMA_VERSION):
            self._db.executescript("DROP TABLE IF EXISTS hits; DROP TABLE IF EXISTS functions; "
                                   "DROP TABLE IF EXISTS tests; DROP TABLE IF EXISTS skeletons;")
        self._db.executescript(SCHEMA)
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def _version(self) -> str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reading -------------------------------------------------------------------------------------------

    def test_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM tests").fetchone()[0]

    def has_data(self) -> bool:
        return self.test_count() > 0

    def knows(self, nodeid: str) -> bool:
        return self._db.execute("SELECT 1 FROM tests WHERE nodeid = ?", (nodeid,)).fetchone() is not None

    def recorded_functions(self, file: str) -> dict[str, set[str]]:
        """qualname -> fingerprints some recorded test executed, for one file."""
        result: dict[str, set[str]] = {}
        for qualname, print_ in self._db.execute(
                "SELECT qualname, fingerprint FROM functions WHERE file = ?", (file,)):
            result.setdefault(qualname, set()).add(print_)
        return result

    def tests_executing(self, file: str, stale: Iterable[tuple[str, str]]) -> dict[str, str]:
        """node id -> the (first) changed function it executed, for the given (qualname, fingerprint) versions."""
        stale = list(stale)
        found: dict[str, str] = {}
        for start in range(0, len(stale), 400):
            chunk = stale[start:start + 400]
            where = " OR ".join("(f.qualname = ? AND f.fingerprint = ?)" for _ in chunk)
            params = [file] + [value for pair in chunk for value in pair]
            for nodeid, qualname in self._db.execute(
                    "SELECT t.nodeid, f.qualname FROM functions f JOIN hits h ON h.function_id = f.id "
                    f"JOIN tests t ON t.id = h.test_id WHERE f.file = ? AND ({where})", params):
                found.setdefault(nodeid, qualname)
        return found

    def _for_tests(self, query: str, nodeids: Iterable[str]) -> Iterator[Any]:
        """Rows of `query`, whose `{marks}` is the IN list of node ids, 500 ids at a time (SQLite's limit on
        parameters)."""
        ids = list(nodeids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            yield from self._db.execute(query.format(marks=",".join("?" * len(chunk))), chunk)

    def durations(self, nodeids: Iterable[str]) -> dict[str, float]:
        return dict(self._for_tests("SELECT nodeid, duration FROM tests WHERE nodeid IN ({marks})", nodeids))

    def breadth(self, nodeids: Iterable[str]) -> dict[str, tuple[int, float]]:
        """node id -> (how many functions it executed, its duration in seconds): a narrow test is a focused one."""
        # A count per test by its primary key: a join grouped over every hit took 25 ms for networkx's 621 tests.
        return {nodeid: (count, duration) for nodeid, duration, count in self._for_tests(
            "SELECT t.nodeid, t.duration, (SELECT count(*) FROM hits h WHERE h.test_id = t.id) FROM tests t "
            "WHERE t.nodeid IN ({marks})", nodeids)}

    def tests_in(self, file: str) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT nodeid FROM tests WHERE file = ?", (file,))]

    def recorded_test_files(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT DISTINCT file FROM tests")}

    def skeleton(self, file: str) -> str | None:
        row = self._db.execute("SELECT fingerprint FROM skeletons WHERE file = ?", (file,)).fetchone()
        return row[0] if row else None

    # -- writing -------------------------------------------------------------------------------------------

    def record(self, records: Iterable[TestRecord]) -> int:
        """Replace what is known about each test with what this run saw. Returns how many tests were stored."""
        count = 0
        now = time.time()
        ids: dict[tuple[str, str, str], int] = {}  # tests share most functions: look each up once per call
        with self._transaction() as db:
            for record in records:
                db.execute(
                    "INSERT INTO tests (nodeid, file, duration, outcome, recorded_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (nodeid) DO UPDATE SET file = excluded.file, duration = excluded.duration, "
                    "outcome = excluded.outcome, recorded_at = excluded.recorded_at",
                    (record.nodeid, record.file, record.duration, record.outcome, now))
                test_id = db.execute("SELECT id FROM tests WHERE nodeid = ?", (record.nodeid,)).fetchone()[0]
                db.execute("DELETE FROM hits WHERE test_id = ?", (test_id,))
                for function in record.functions:
                    if function not in ids:
                        ids[function] = self._function_id(db, *function)
                db.executemany("INSERT OR IGNORE INTO hits VALUES (?, ?)",
                               [(test_id, ids[function]) for function in record.functions])
                count += 1
        return count

    def _function_id(self, db: sqlite3.Connection, file: str, qualname: str, print_: str) -> int:
        row = db.execute("SELECT id FROM functions WHERE file = ? AND qualname = ? AND fingerprint = ?",
                         (file, qualname, print_)).fetchone()
        if row:
            return row[0]
        cursor = db.execute("INSERT INTO functions (file, qualname, fingerprint) VALUES (?, ?, ?)",
                            (file, qualname, print_))
        return int(cursor.lastrowid or 0)

    def forget_tests(self, nodeids: Iterable[str]) -> None:
        """Tests that no longer exist (their file was deleted, or a run collected the file without them)."""
        with self._transaction() as db:
            for nodeid in nodeids:
                row = db.execute("SELECT id FROM tests WHERE nodeid = ?", (nodeid,)).fetchone()
                if row:
                    db.execute("DELETE FROM hits WHERE test_id = ?", row)
                    db.execute("DELETE FROM tests WHERE id = ?", row)

    def set_skeletons(self, skeletons: dict[str, str], replace: bool = True) -> None:
        """Store module-level fingerprints; with `replace` False, only for files that have none yet."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self._transaction() as db:
            db.executemany(f"{verb} INTO skeletons VALUES (?, ?)", list(skeletons.items()))

    def prune(self) -> None:
        """Drop function versions no test refers to any more (old fingerprints)."""
        self._db.execute("DELETE FROM functions WHERE id NOT IN (SELECT DISTINCT function_id FROM hits)")
