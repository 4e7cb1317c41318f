"""The attempt ledger: every repair and every attempt, in SQLite under `.greenloop/` in the workspace.

It is the loop's memory across sessions and the source of `greenloop log` and `greenloop stats`: how often
repairs converge, in how many rounds, at what cost in tokens, money and time, and how many regressions the
judge caught before a person saw them. `.greenloop/` gets its own `.gitignore`, so it never lands in a commit.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greenloop.repair.records import Attempt, RepairResult
from greenloop.state import state_dir

SCHEMA = """
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
    user_action TEXT                  -- accepted / rejected / accepted_then_edited / applied_by_cli
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


class Ledger:
    def __init__(self, root: Path) -> None:
        self.path = state_dir(root) / "ledger.sqlite3"
        self.db = sqlite3.connect(self.path)
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def start(self, path: str, proposer: str, targets: list[str]) -> int:
        cursor = self.db.execute("INSERT INTO repairs (started, path, proposer, targets, failing_before) "
                                 "VALUES (?, ?, ?, ?, ?)", (time.time(), path, proposer, json.dumps(targets),
                                                            len(targets)))
        self.db.commit()
        return int(cursor.lastrowid or 0)

    def record(self, repair_id: int, attempt: Attempt, targets_total: int) -> None:
        verdict, proposal = attempt.verdict, attempt.proposal
        failures = [{"nodeid": f.nodeid, "outcome": f.outcome.value, "message": f.message[:2000]}
                    for f in verdict.failures]
        self.db.execute(
            "INSERT INTO attempts (repair_id, round, candidate, proposer, verdict, reason, hypothesis, diff, error, "
            "targets_passed, targets_total, regressions, type_errors, failures, tokens_in, tokens_out, cost, "
            "seconds, model_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (repair_id, attempt.round, attempt.candidate, proposal.proposer, verdict.status.value, verdict.reason,
             proposal.hypothesis, attempt.diff, proposal.error, len(verdict.targets_passed), targets_total,
             json.dumps(verdict.regressions), json.dumps(verdict.new_type_errors), json.dumps(failures),
             proposal.usage.tokens_in, proposal.usage.tokens_out, proposal.usage.cost, attempt.seconds,
             proposal.usage.seconds),
        )
        self.db.commit()

    def finish(self, repair_id: int, result: RepairResult) -> None:
        caught = sum(1 for a in result.attempts if a.verdict.regressions or a.verdict.new_type_errors)
        self.db.execute(
            "UPDATE repairs SET finished=?, status=?, stop_reason=?, rounds=?, candidates=?, failing_after=?, "
            "regressions_caught=?, tokens_in=?, tokens_out=?, cost=?, seconds=?, model_seconds=?, patch=?, "
            "handoff=? WHERE id=?",
            (time.time(), result.status.value, result.stop_reason, result.rounds, result.candidates,
             result.targets_failing_after, caught, result.usage.tokens_in, result.usage.tokens_out,
             result.usage.cost, result.seconds, result.usage.seconds, result.diff, result.handoff, repair_id),
        )
        self.db.commit()

    def set_user_action(self, repair_id: int, action: str) -> None:
        self.db.execute("UPDATE repairs SET user_action=? WHERE id=?", (action, repair_id))
        self.db.commit()

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
            rejected=sum(1 for r in rows if r["user_action"] == "rejected"),
        )
