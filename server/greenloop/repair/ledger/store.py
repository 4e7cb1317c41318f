"""The attempt ledger: every repair and every attempt, in SQLite under `.greenloop/` in the workspace.

It is the loop's memory across sessions and the source of `greenloop log` and `greenloop stats`: how often
repairs converge, in how many rounds, at what cost in tokens, money and time, how many regressions the judge
caught before a person saw them, and what the user did with each fix. `.greenloop/` gets its own `.gitignore`,
so it never lands in a commit.

A record, once written, must survive whatever happens next: the server killed mid-repair, the editor closed, a
crash. So every write is one transaction (all of it or none of it), the database runs in write-ahead-log mode
with full syncs (a killed writer leaves the log to be replayed, never a half-written page; readers such as
`greenloop log` do not block the server's writes), and a file SQLite cannot read no longer stops repairs: it is
moved aside, kept for the user, and a new ledger is started, with a notice saying where the old one went.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenloop.repair.records import Attempt, RepairResult
from greenloop.state import state_dir

log = logging.getLogger(__name__)

BUSY_SECONDS = 10.0  # another process (the CLI, a second server) may be writing: wait for it, do not fail
UNREADABLE = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}  # the file's content is broken, not its access
COMPANIONS = ("-wal", "-shm", "-journal")  # SQLite's side files, which belong to the database they sit next to

SCHEMA = """
BEGIN;
CREATE TABLE IF NOT EXISTS repairs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    path TEXT NOT NULL,
    proposer TEXT NOT NULL,
    targets TEXT NOT NULL,            -- JSON list of node ids
    status TEXT NOT NULL DEFAULT 'running',
    stop_reason TEXT,
    rounds INTEGER DEFAULT 0,
    candidates INTEGER DEFAULT 0,
    failing_before INTEGER DEFAULT 0,
    failing_after INTEGER,
    regressions_caught INTEGER DEFAULT 0,
    tokens_in INTEGER DEFAULT 0,
    tokens_out INTEGER DEFAULT 0,
    cost REAL DEFAULT 0,
    seconds REAL,
    model_seconds REAL DEFAULT 0,
    patch TEXT,
    handoff TEXT,
    user_action TEXT                  -- accepted / rejected / declined / accepted_then_edited / applied_by_cli
);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    repair_id INTEGER NOT NULL REFERENCES repairs(id),
    round INTEGER NOT NULL,
    candidate INTEGER NOT NULL,
    proposer TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT,
    hypothesis TEXT,
    diff TEXT,
    error TEXT,
    targets_passed INTEGER DEFAULT 0,
    targets_total INTEGER DEFAULT 0,
    regressions TEXT,                 -- JSON list
    type_errors TEXT,                 -- JSON list
    failures TEXT,                    -- JSON list of {nodeid, outcome, message}
    tokens_in INTEGER DEFAULT 0,
    tokens_out INTEGER DEFAULT 0,
    cost REAL DEFAULT 0,
    seconds REAL,
    model_seconds REAL DEFAULT 0
);
COMMIT;
"""


@dataclass
class Stats:
    repairs: int
    green: int
    partial: int
    failed: int
    other: int
    convergence: float  # green / (repairs that had something to fix)
    median_rounds_to_green: float | None
    median_tokens_per_fix: float | None
    median_cost_per_fix: float | None
    median_seconds_per_fix: float | None
    total_tokens: int
    total_cost: float
    regressions_caught: int
    candidates: int
    accepted: int
    rejected: int


Mask = Callable[[str], str]


def _keep(text: str) -> str:
    return text


class LedgerUnreadable(sqlite3.DatabaseError):
    """The ledger file is not a database SQLite can read (garbage, cut short, a malformed page)."""


class Ledger:
    """One connection to a workspace's ledger, opened for a repair, a user action or `greenloop log` and closed
    after: the server and the command line share the file, and SQLite's locks keep their writes apart."""

    def __init__(self, root: Path) -> None:
        self.path = state_dir(root) / "ledger.sqlite3"
        self.notice: str | None = None  # why an unreadable ledger was moved aside (also logged): callers show it
        try:
            self.db = _open(self.path)
        except sqlite3.DatabaseError as exc:
            if not _unreadable(exc):
                raise
            try:
                moved = _move_aside(self.path)
            except OSError as error:  # a read-only folder: repair anyway, remembering nothing this time
                self.notice = (f"the repair ledger {self.path} could not be read ({exc}) nor moved aside "
                               f"({error}); this repair is not recorded")
                self.db = _open(":memory:")
            else:
                self.notice = (f"the repair ledger {self.path} could not be read ({exc}); it was moved "
                               f"to {moved} and a new ledger was started")
                self.db = _open(self.path)
            log.warning("%s", self.notice)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """One write as one transaction: committed whole, or (on an error, or a crash before the commit) not at
        all."""
        with self.db:
            cursor = self.db.execute(sql, parameters)
        return int(cursor.lastrowid or 0)

    def start(self, path: str, proposer: str, targets: list[str]) -> int:
        return self._write("INSERT INTO repairs (started, path, proposer, targets, failing_before) "
                           "VALUES (?, ?, ?, ?, ?)", (time.time(), path, proposer, json.dumps(targets), len(targets)))

    def record(self, repair_id: int, attempt: Attempt, targets_total: int, redact: Mask = _keep) -> None:
        """`redact`: masks credential values in every text written (see repair.secrets)."""
        verdict, proposal = attempt.verdict, attempt.proposal
        failures = [{"nodeid": f.nodeid, "outcome": f.outcome.value, "message": redact(f.message[:2000])}
                    for f in verdict.failures]
        self._write(
            "INSERT INTO attempts (repair_id, round, candidate, proposer, verdict, reason, hypothesis, diff, error, "
            "targets_passed, targets_total, regressions, type_errors, failures, tokens_in, tokens_out, cost, "
            "seconds, model_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (repair_id, attempt.round, attempt.candidate, proposal.proposer, verdict.status.value,
             redact(verdict.reason), redact(proposal.hypothesis), redact(attempt.diff),
             redact(proposal.error) if proposal.error else None, len(verdict.targets_passed), targets_total,
             json.dumps(verdict.regressions), json.dumps(verdict.new_type_errors), json.dumps(failures),
             proposal.usage.tokens_in, proposal.usage.tokens_out, proposal.usage.cost, attempt.seconds,
             proposal.usage.seconds),
        )

    def finish(self, repair_id: int, result: RepairResult, redact: Mask = _keep) -> None:
        caught = sum(1 for a in result.attempts if a.verdict.regressions or a.verdict.new_type_errors)
        self._write(
            "UPDATE repairs SET finished=?, status=?, stop_reason=?, rounds=?, candidates=?, failing_after=?, "
            "regressions_caught=?, tokens_in=?, tokens_out=?, cost=?, seconds=?, model_seconds=?, patch=?, "
            "handoff=? WHERE id=?",
            (time.time(), result.status.value, redact(result.stop_reason), result.rounds, result.candidates,
             result.targets_failing_after, caught, result.usage.tokens_in, result.usage.tokens_out,
             result.usage.cost, result.seconds, result.usage.seconds, redact(result.diff), redact(result.handoff),
             repair_id),
        )

    def set_user_action(self, repair_id: int, action: str) -> None:
        self._write("UPDATE repairs SET user_action=? WHERE id=?", (action, repair_id))

    def repairs(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM repairs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(row) for row in rows]

    def repair(self, repair_id: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT * FROM repairs WHERE id=?", (repair_id,)).fetchone()
        return dict(row) if row else None

    def attempts(self, repair_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM attempts WHERE repair_id=? ORDER BY id", (repair_id,)).fetchall()
        return [dict(row) for row in rows]

    def stats(self) -> Stats:
        rows = [dict(r) for r in self.db.execute("SELECT * FROM repairs WHERE status != 'running'").fetchall()]
        by_status = {s: sum(1 for r in rows if r["status"] == s) for s in ("green", "partial", "failed")}
        attempted = [r for r in rows if r["status"] not in ("nothing_to_do", "flaky")]
        fixes = [r for r in rows if r["status"] == "green" and r["rounds"]]

        def median(values: list[float]) -> float | None:
            return statistics.median(values) if values else None

        return Stats(
            repairs=len(rows),
            green=by_status["green"],
            partial=by_status["partial"],
            failed=by_status["failed"],
            other=len(rows) - sum(by_status.values()),
            convergence=(by_status["green"] / len(attempted)) if attempted else 0.0,
            median_rounds_to_green=median([r["rounds"] for r in fixes]),
            median_tokens_per_fix=median([r["tokens_in"] + r["tokens_out"] for r in fixes]),
            median_cost_per_fix=median([r["cost"] for r in fixes]),
            median_seconds_per_fix=median([r["seconds"] or 0.0 for r in fixes]),
            total_tokens=sum(r["tokens_in"] + r["tokens_out"] for r in rows),
            total_cost=sum(r["cost"] for r in rows),
            regressions_caught=sum(r["regressions_caught"] or 0 for r in rows),
            candidates=sum(r["candidates"] for r in rows),
            accepted=sum(1 for r in rows if (r["user_action"] or "").startswith(("accepted", "applied"))),
            rejected=sum(1 for r in rows if r["user_action"] in ("rejected", "declined")),
        )


def _open(path: Path | str) -> sqlite3.Connection:
    """A connection to the ledger at `path`, its schema in place, after SQLite has read every page once."""
    db = sqlite3.connect(path, timeout=BUSY_SECONDS)
    try:
        db.row_factory = sqlite3.Row
        problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise LedgerUnreadable("; ".join(str(p) for p in problems[:3]))
        try:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: set once by whoever opens the file first
        except sqlite3.OperationalError as exc:  # another process holds it: the rollback journal is safe too
            log.info("the ledger stays in its journal mode: %s", exc)
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


def _unreadable(exc: sqlite3.DatabaseError) -> bool:
    if isinstance(exc, LedgerUnreadable):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in UNREADABLE


def _move_aside(path: Path) -> Path:
    """Rename the unreadable ledger (and its side files, which would otherwise be replayed into the new one) to a
    name that says what it is and when it was found; nothing is deleted."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.unreadable-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.unreadable-{stamp}-{n}")
    path.rename(target)
    for suffix in COMPANIONS:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target
