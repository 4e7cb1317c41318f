"""Which tests greenloop ran in one check, read from the server's window/logMessage lines.

Two channels, the exact one preferred:

1. `check report {JSON}`: one log line per check whose JSON has the shape of `greenloop check --json`
   (`present.as_json`): `"tests": [{"nodeid": ..., "outcome": ...}, ...]` and `"selected": {"whole_project",
   "files", "nodeids"}`. It says which tests produced a result, so a killed run is measured exactly.
   The server does not emit it yet (see docs/benchmarks.md: what the benchmark needs from the server).
2. The selection lines the server logs today (`selector.explain`): `selected <test file or node id> ...`,
   `running every test: ...`, `no tests selected: ...`. They say what was *selected*, not what produced a
   result: when the run was killed at the timeout, the executed set is unknown and is reported as such.

`Ran.missed(ids)` answers: which of these tests (testmon's selection) did greenloop not run?
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

REPORT_PREFIX = "check report "
DONE = re.compile(r"^check done in ([0-9.]+) s")
NOT_A_RESULT = frozenset({"timeout"})  # a test killed at the timeout produced no verdict


@dataclass
class Ran:
    source: str = "none"  # "check report", "selected lines" or "none"
    whole_project: bool = False
    files: set[str] = field(default_factory=set)  # test files selected whole (relative to the root)
    nodeids: set[str] = field(default_factory=set)  # single tests selected
    results: dict[str, str] | None = None  # node id -> outcome, when the server reported it
    run_killed: bool = False  # the log or a message said the run timed out

    def selected(self, nodeid: str) -> bool:
        return self.whole_project or nodeid in self.nodeids or nodeid.split("::", 1)[0] in self.files

    def ran(self, nodeid: str) -> bool | None:
        """True/False when known; None when only the selection is known and the run was killed."""
        if self.results is not None:
            if nodeid in self.results:
                return self.results[nodeid] not in NOT_A_RESULT
            # a parametrised or subtest id may be reported under its parent's id
            return any(key.startswith(nodeid + "[") for key in self.results)
        if not self.selected(nodeid):
            return False
        return None if self.run_killed else True

    def missed(self, ids: list[str]) -> dict[str, list[str]]:
        """`missed`: certainly not run; `unknown`: selected, but the run was killed before we know."""
        verdicts = {nodeid: self.ran(nodeid) for nodeid in ids}
        return {"missed": [i for i, v in verdicts.items() if v is False],
                "unknown": [i for i, v in verdicts.items() if v is None]}

    def count(self, all_ids: list[str]) -> int | None:
        """How many tests greenloop ran (or selected, when that is all the log says)."""
        if self.results is not None:
            return sum(1 for outcome in self.results.values() if outcome not in NOT_A_RESULT)
        return sum(1 for nodeid in all_ids if self.selected(nodeid)) if all_ids else None

    def as_dict(self) -> dict:
        return {"source": self.source, "whole_project": self.whole_project, "files": sorted(self.files),
                "nodeids": sorted(self.nodeids), "run_killed": self.run_killed,
                "results": None if self.results is None else len(self.results)}


def _from_report(document: dict, ran: Ran) -> None:
    ran.source = "check report"
    selected = document.get("selected") or {}
    ran.whole_project = bool(selected.get("whole_project"))
    ran.files = set(selected.get("files") or [])
    ran.nodeids = set(selected.get("nodeids") or [])
    ran.results = {t["nodeid"]: str(t.get("outcome")) for t in document.get("tests") or [] if "nodeid" in t}
    ran.run_killed = any("timed out" in str(p) for p in document.get("problems") or [])


def parse(lines: list[str]) -> Ran:
    """Read one check's log lines (and shown messages) into a `Ran`."""
    ran = Ran()
    for line in lines:
        if line.startswith(REPORT_PREFIX):
            try:
                _from_report(json.loads(line[len(REPORT_PREFIX):]), ran)
                return ran
            except (json.JSONDecodeError, TypeError, KeyError):
                continue
    for line in lines:
        if line.startswith("selected "):
            ran.source = "selected lines"
            token = line[len("selected "):].split(" ", 1)[0]
            (ran.nodeids if "::" in token else ran.files).add(token)
        elif line.startswith("running every test"):
            ran.source = "selected lines"
            ran.whole_project = True
        elif line.startswith("no tests selected"):
            ran.source = "selected lines"
        if "timed out" in line:
            ran.run_killed = True
    return ran


def check_duration(line: str) -> float | None:
    """The server's own figure from `check done in 1.23 s: ...`."""
    match = DONE.match(line)
    return float(match.group(1)) if match else None
